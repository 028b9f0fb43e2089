"""What is typical in the demo world: sizes, categories, names, the calendar of festivals."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

TZ = "Asia/Shanghai"
HORIZON_START = pd.Timestamp("2024-11-01", tz=TZ)  # first upcoming day: the run-up to Double 11
FESTIVALS = ((6, 18), (11, 11), (12, 12))  # 618, Double 11, 12.12 (month, day)
RUNUP_DAYS = 10


@dataclass(frozen=True, kw_only=True)
class WorldSize:
    """How big a world to build; `streams_per_day` is the platform-wide average."""

    n_merchants: int
    skus_per_merchant: tuple[int, int]  # inclusive range
    n_streamers: int
    history_days: int
    horizon_days: int = 14
    streams_per_day: float


SIZES: dict[str, WorldSize] = {
    "tiny": WorldSize(
        n_merchants=2,
        skus_per_merchant=(15, 25),
        n_streamers=8,
        history_days=60,
        streams_per_day=2.5,
    ),
    "small": WorldSize(
        n_merchants=3,
        skus_per_merchant=(35, 45),
        n_streamers=20,
        history_days=150,
        streams_per_day=3.6,
    ),
    "demo": WorldSize(
        n_merchants=5,
        skus_per_merchant=(60, 100),
        n_streamers=60,
        history_days=400,
        streams_per_day=8.0,
    ),
}


def scaled(size: WorldSize, k: float) -> WorldSize:
    """`size` with k times its merchants, streamers and streams per day (the same history and
    horizon): about k times its stream items."""
    if k <= 0:
        raise ValueError(f"scale must be > 0, not {k}")
    return replace(
        size,
        n_merchants=max(1, round(size.n_merchants * k)),
        n_streamers=max(1, round(size.n_streamers * k)),
        streams_per_day=size.streams_per_day * k,
    )


# growth worlds: k times the demo (x1 is the demo under another name), and a world of about
# 1,000,000 past stream items and 100,000 upcoming ones (46x the demo's platform over a 200-day
# history, so that the 14-day horizon holds a tenth as many items as the history)
SIZES |= {f"x{k}": scaled(SIZES["demo"], k) for k in (1, 2, 4, 8, 16)}
SIZES["million"] = replace(scaled(SIZES["demo"], 46), history_days=200)


@dataclass(frozen=True)
class Category:
    """What is typical of a product category; `size` is the negative binomial size r."""

    name: str
    price: float  # median list price, yuan
    price_sigma: float
    cost_share: tuple[float, float]  # unit_cost / list_price
    salvage_share: tuple[float, float]  # salvage_value / unit_cost
    return_rate: float
    case_packs: tuple[int, ...]
    shelf_life: tuple[int, int] | None  # days; None = keeps
    volume_l: tuple[float, float]
    size: float
    effect: float  # log demand level
    elasticity: float  # log demand per unit of discount
    brands: tuple[str, ...]
    items: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        name="apparel",
        price=129,
        price_sigma=0.5,
        cost_share=(0.35, 0.55),
        salvage_share=(0.2, 0.3),
        return_rate=0.4,
        case_packs=(1, 6, 12),
        shelf_life=None,
        volume_l=(0.4, 3.0),
        size=3.0,
        effect=0.0,
        elasticity=2.2,
        brands=("Maple Thread", "Urban Loom", "Silk Road", "Nordwind"),
        items=("T-shirt", "hoodie", "jeans", "dress", "puffer jacket", "sneakers", "cardigan"),
    ),
    Category(
        name="beauty",
        price=159,
        price_sigma=0.6,
        cost_share=(0.35, 0.55),
        salvage_share=(0.15, 0.3),
        return_rate=0.08,
        case_packs=(1, 6, 12, 24),
        shelf_life=None,
        volume_l=(0.05, 0.5),
        size=4.0,
        effect=0.2,
        elasticity=1.8,
        brands=("Lotus Dew", "Glow Lab", "Pearl Bay", "Aurora"),
        items=(
            "serum",
            "face cream",
            "lipstick",
            "sunscreen",
            "sheet masks",
            "cleanser",
            "eye cream",
        ),
    ),
    Category(
        name="snacks",
        price=39,
        price_sigma=0.45,
        cost_share=(0.45, 0.7),
        salvage_share=(0.0, 0.1),
        return_rate=0.025,
        case_packs=(12, 24),
        shelf_life=(90, 365),
        volume_l=(0.3, 2.0),
        size=6.0,
        effect=0.6,
        elasticity=2.5,
        brands=("Golden Hill", "Crunchy Panda", "Sweet Orchard"),
        items=("mixed nuts", "beef jerky", "dried mango", "spicy noodles", "seaweed snacks"),
    ),
    Category(
        name="home",
        price=89,
        price_sigma=0.6,
        cost_share=(0.4, 0.65),
        salvage_share=(0.2, 0.4),
        return_rate=0.1,
        case_packs=(1, 4, 6, 12),
        shelf_life=None,
        volume_l=(1.0, 20.0),
        size=3.0,
        effect=-0.1,
        elasticity=1.6,
        brands=("Nest & Co", "Bamboo Home", "Clearwater"),
        items=("storage box", "bedding set", "non-stick pan", "towel set", "desk lamp", "flask"),
    ),
    Category(
        name="electronics",
        price=399,
        price_sigma=0.7,
        cost_share=(0.55, 0.75),
        salvage_share=(0.45, 0.55),
        return_rate=0.1,
        case_packs=(1, 5, 10),
        shelf_life=None,
        volume_l=(0.3, 5.0),
        size=2.5,
        effect=-0.6,
        elasticity=1.5,
        brands=("Voltix", "Skyline", "Mosaic Audio"),
        items=("wireless earbuds", "power bank", "smart watch", "charger", "speaker", "hair dryer"),
    ),
    Category(
        name="fresh",
        price=49,
        price_sigma=0.4,
        cost_share=(0.5, 0.75),
        salvage_share=(0.0, 0.05),
        return_rate=0.02,
        case_packs=(6, 10, 12),
        shelf_life=(3, 14),
        volume_l=(1.0, 5.0),
        size=8.0,
        effect=0.4,
        elasticity=2.8,
        brands=("Green Valley", "Farm Fresh", "Sunny Orchard"),
        items=("navel oranges", "kiwifruit", "cherry tomatoes", "hairy crab", "blueberries"),
    ),
)
MERCHANT_NAMES = (
    "Jade River Trading",
    "Red Lantern Goods",
    "Blue Harbor Supply",
    "Golden Wheat Co.",
    "Silver Peak Retail",
    "Morning Dew Commerce",
    "Lucky Cloud Mart",
    "East Wind Brands",
)
WEEKDAY_RATE = np.array([0.85, 0.85, 0.85, 0.9, 1.1, 1.3, 1.15])  # Mon..Sun, mean 1
DURATIONS = np.array([60, 90, 120, 150, 180, 240])
DURATION_P = np.array([0.1, 0.2, 0.3, 0.15, 0.15, 0.1])
EVENING_HOURS = np.array([19, 20, 21, 22])
EVENING_P = np.array([0.25, 0.35, 0.25, 0.15])


def festival_intensity(dates: pd.DatetimeIndex) -> np.ndarray:
    """1 on a festival day, decaying over the RUNUP_DAYS before it, 0 otherwise."""
    out = np.zeros(len(dates))
    for year in sorted(set(dates.year)):
        for month, day in FESTIVALS:
            gap = (pd.Timestamp(year=year, month=month, day=day, tz=TZ) - dates).days.to_numpy()
            near = (gap >= 0) & (gap <= RUNUP_DAYS)
            out = np.maximum(out, np.where(near, np.exp(-gap / 3.5), 0.0))
    return out
