"""Merchants, their catalogs and the streamers, with the hidden traits that drive demand;
and, once the schedule is known, lead times, stock on hand and merchants' budgets and space."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .profiles import CATEGORIES, MERCHANT_NAMES, WorldSize

POP_SD = 0.7  # a SKU's hidden popularity around its brand's: log-normal, this spread
BRAND_SD = 0.3  # a brand's effect on log demand: normal, this spread
SKILL_SD = 0.45  # a streamer's hidden selling skill
DEBUT_SHARE = 0.07  # streamers whose first stream is in the upcoming horizon


def make_merchants(rng: np.random.Generator, ws: WorldSize) -> pd.DataFrame:
    """Merchants with one or two categories each (indices into CATEGORIES)."""
    order = rng.permutation(len(CATEGORIES))
    names = rng.permutation(len(MERCHANT_NAMES))
    rows = []
    for i in range(ws.n_merchants):
        cats = [int(order[i % len(order)])]
        if rng.random() < 0.45:
            other = int(rng.integers(len(CATEGORIES)))
            if other != cats[0]:
                cats.append(other)
        rows.append(
            {
                "merchant_id": f"M{i + 1:02d}",
                "name": MERCHANT_NAMES[names[i % len(names)]],
                "_cats": tuple(cats),
            }
        )
    return pd.DataFrame(rows)


def make_catalog(
    rng: np.random.Generator, ws: WorldSize, merchants: pd.DataFrame, brand_sd: float = BRAND_SD
) -> pd.DataFrame:
    """Every merchant's SKUs with their economics and hidden popularity (its own plus its
    brand's effect, normal with spread `brand_sd`).

    `_launch` is the day a SKU can first appear in a lineup; `_new` SKUs first appear in the
    upcoming horizon (cold start).
    """
    frames = []
    lo, hi = ws.skus_per_merchant
    for m, row in merchants.iterrows():
        n = int(rng.integers(lo, hi + 1))
        cats = np.array(row["_cats"])[rng.integers(len(row["_cats"]), size=n)]
        frames.append(_skus(rng, int(m), str(row["merchant_id"]), cats, ws.history_days, brand_sd))
    return pd.concat(frames, ignore_index=True)


def _skus(
    rng: np.random.Generator,
    m: int,
    merchant_id: str,
    cats: np.ndarray,
    history_days: int,
    brand_sd: float,
) -> pd.DataFrame:
    n = len(cats)
    rows = []
    brand_effects = {}
    for j, c in enumerate(cats):
        cat = CATEGORIES[int(c)]
        brand = cat.brands[int(rng.integers(len(cat.brands)))]
        if brand not in brand_effects:
            brand_effects[brand] = float(rng.normal(0.0, brand_sd))
        price = float(np.exp(rng.normal(np.log(cat.price), cat.price_sigma)))
        price = round(max(round(price) - 0.1, 4.9), 2)  # 129.9-style price points
        cost = round(price * rng.uniform(*cat.cost_share), 2)
        pack = int(cat.case_packs[int(rng.integers(len(cat.case_packs)))])
        lead = int(rng.choice([0, 1, 2, 3], p=[0.3, 0.35, 0.2, 0.15]))
        if rng.random() < 0.12:
            lead = int(rng.integers(4, 21))
        rows.append(
            {
                "merchant_id": merchant_id,
                "sku_id": f"{merchant_id}-{j + 1:04d}",
                "title": f"{brand} {cat.items[int(rng.integers(len(cat.items)))]} #{j + 1}",
                "category": cat.name,
                "brand": brand,
                "list_price": price,
                "unit_cost": cost,
                "salvage_value": round(cost * rng.uniform(*cat.salvage_share), 2),
                "case_pack": pack,
                "moq": 0 if rng.random() < 0.6 else pack * int(rng.choice([2, 3, 5])),
                "lead_time_days": lead,
                "shelf_life_days": (
                    int(rng.integers(cat.shelf_life[0], cat.shelf_life[1] + 1))
                    if cat.shelf_life
                    else pd.NA
                ),
                "unit_volume_l": round(float(np.exp(rng.uniform(*np.log(cat.volume_l)))), 3),
                "_m": m,
                "_cat": int(c),
                "_pop_own": (own := float(rng.normal(0.0, POP_SD))),
                "_pop": own + brand_effects[brand],
                "_ret": float(np.exp(rng.normal(0.0, 0.15))),
                "_launch": int(rng.integers(0, history_days * 2 // 3)) if rng.random() < 0.3 else 0,
            }
        )
    out = pd.DataFrame(rows)
    new = np.zeros(n, dtype=bool)
    new[rng.choice(n, size=max(1, round(0.06 * n)), replace=False)] = True
    out["_new"] = new
    return out


def make_streamers(
    rng: np.random.Generator, ws: WorldSize, n_merchants: int, debut_share: float = DEBUT_SHARE
) -> pd.DataFrame:
    """Hosts: heavy-tailed followers, hidden skill and category tastes, the merchants they
    work with; `_debut` hosts (a `debut_share` of them) have no past stream (cold start)."""
    n = ws.n_streamers
    followers = np.exp(rng.normal(np.log(5e4), 1.5, size=n)).clip(1e3, 1e7).round()
    affinity = rng.normal(0.0, 0.15, size=(n, len(CATEGORIES)))
    for h in range(n):
        if rng.random() < 0.4:
            affinity[h, rng.integers(len(CATEGORIES))] += rng.uniform(0.5, 0.9)
        if rng.random() < 0.3:
            affinity[h, rng.integers(len(CATEGORIES))] -= rng.uniform(0.3, 0.6)
    links = []
    for _ in range(n):
        k = min(n_merchants, int(rng.choice([1, 2, 3], p=[0.55, 0.3, 0.15])))
        links.append(tuple(sorted(int(x) for x in rng.choice(n_merchants, k, replace=False))))
    for m in range(n_merchants):  # every merchant works with someone
        if not any(m in ms for ms in links):
            h = int(rng.integers(n))
            links[h] = tuple(sorted({*links[h], m}))
    debut = np.zeros(n, dtype=bool)
    debut[rng.choice(n, size=max(1, round(debut_share * n)), replace=False)] = True
    return pd.DataFrame(
        {
            "streamer_id": [f"H{h + 1:03d}" for h in range(n)],
            "followers": followers.astype(np.int64),
            "qualification_verified": rng.random(n) < 0.88,
            "_skill": rng.normal(0.0, SKILL_SD, size=n),
            "_affinity": list(affinity),
            "_merchants": links,
            "_activity": np.exp(rng.normal(0.0, 0.6, size=n)) * (followers / 5e4) ** 0.15,
            "_ret": np.exp(rng.normal(0.0, 0.1, size=n)),
            "_debut": debut,
        }
    )


def plan_lead_times(
    rng: np.random.Generator,
    catalog: pd.DataFrame,
    items: pd.DataFrame,
    streams: pd.DataFrame,
    as_of_min: int,
) -> np.ndarray:
    """The merchant planned ahead: a SKU in an upcoming lineup can mostly be delivered before
    its first upcoming stream (its lead time is cut to the whole days until then), except for
    a few (about 6%, at least one) whose lead time is longer than that gap."""
    lead = catalog["lead_time_days"].to_numpy().copy()
    up = items[streams["_upcoming"].to_numpy()[items["_s"]]]
    first = pd.Series(streams["_start"].to_numpy()[up["_s"]]).groupby(up["_k"].to_numpy()).min()
    k = first.index.to_numpy()
    gap = (first.to_numpy() - as_of_min) // 1440
    late = np.zeros(len(k), dtype=bool)
    late[rng.choice(len(k), size=max(1, round(0.06 * len(k))), replace=False)] = True
    cut = rng.integers(0, gap + 1)
    lead[k] = np.where(
        late,
        np.minimum(gap + rng.integers(1, 8, len(k)), 20),
        np.where(lead[k] > gap, cut, lead[k]),
    )
    return lead.astype(np.int64)


def stock_on_hand(
    rng: np.random.Generator, items: pd.DataFrame, catalog: pd.DataFrame
) -> np.ndarray:
    """Stock now: for about 60% of SKUs, 0-2.5x their mean past sales (two cases if none)."""
    past = items.dropna(subset=["units_sold"])
    mean_sold = past.groupby("_k")["units_sold"].mean().reindex(catalog.index)
    base = mean_sold.fillna(2.0 * catalog["case_pack"]).to_numpy(dtype=float)
    n = len(catalog)
    has = rng.random(n) < 0.6
    return np.where(has, np.round(base * rng.uniform(0.0, 2.5, n)), 0).astype(np.int64)


def merchant_limits(
    rng: np.random.Generator,
    merchants: pd.DataFrame,
    catalog: pd.DataFrame,
    items: pd.DataFrame,
    streams: pd.DataFrame,
) -> pd.DataFrame:
    """Budgets at 12-30% of the cost of the upcoming mean demand, below what the best plan under
    the true demand would spend, so that they bind (blank for every third merchant in a
    shuffled order, so at least one); warehouse space binding for the first merchant in that
    order, loose for the third, blank for the others."""
    up = items[streams["_upcoming"].to_numpy()[items["_s"]]]
    k = up["_k"].to_numpy()
    need = (
        pd.Series(up["_mean"].to_numpy() * catalog["unit_cost"].to_numpy()[k])
        .groupby(up["_m"].to_numpy())
        .sum()
        .reindex(merchants.index, fill_value=0.0)
    )
    litres = (
        pd.Series(up["_mean"].to_numpy() * catalog["unit_volume_l"].to_numpy()[k])
        .groupby(up["_m"].to_numpy())
        .sum()
        .reindex(merchants.index, fill_value=0.0)
    )
    held = (catalog["on_hand"] * catalog["unit_volume_l"]).groupby(catalog["_m"]).sum()
    held = held.reindex(merchants.index, fill_value=0.0)
    order = rng.permutation(len(merchants))
    share = rng.uniform(0.12, 0.3, len(merchants))
    budget = np.full(len(merchants), np.nan)
    capacity = np.full(len(merchants), np.nan)
    for rank, m in enumerate(order):
        if rank % 3 != 0:
            budget[m] = max(100.0, round(share[m] * need.iloc[m], -2))
        if rank == 0:
            capacity[m] = np.ceil(held.iloc[m] + 0.25 * litres.iloc[m]) + 1.0
        elif rank == 2:
            capacity[m] = np.ceil(held.iloc[m] + 3.0 * litres.iloc[m]) + 100.0
    return merchants.assign(budget=budget, capacity_l=capacity)
