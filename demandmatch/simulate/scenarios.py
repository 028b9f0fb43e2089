"""The world zoo: worlds whose structure differs, not only their seed.

The demo world and the engine grew up together, so the demo can hide the engine's assumptions.
Each scenario below changes one habit of the world (a few knobs of `Scenario`, whose defaults
are the demo's) and keeps everything else, including the data contract and the truth file.
Scenarios compose: `scenario("no_launch_boost,heavy_hype")` takes the knobs of both (two
scenarios that set the same knob differently are an error).

    demo                the default: the demo world, byte for byte as it has always been.
    launch_boost        a SKU launched during the calendar (first shown after the first day of
                        the history, or new in the horizon) sells exp(0.9) = 2.5x more in its
                        first stream, fading linearly to nothing by its fifth.
                        Hard: the first streams of a launch overstate its steady level, and a new
                        SKU's level must come from past launches, not from average SKUs.
    no_launch_boost     no launch boost and no launch push: a new SKU is picked into upcoming
                        lineups like any other SKU (the demo picks it 3x as often) and sells like
                        any SKU of the same popularity, so new and comparable SKUs have the same
                        mean demand. Hard: a forecaster that learned launches from pushed demo
                        SKUs, or expects a launch bump, forecasts new SKUs too high.
    no_brand_signal     brands carry no signal: a SKU's popularity is its own, with no shared
                        brand effect. Hard: a cold-start SKU's brand no longer tells its level, so
                        brand-level pooling only adds noise.
    heavy_hype          the stream's hidden hype has heavier tails at the same spread: a normal
                        mixture, 80% with sd 0.3 and 20% with sd 0.8 (sd 0.447, kurtosis 6.6; the
                        demo's is normal with sd 0.45, kurtosis 3). Hard: most streams are calmer
                        and a few explode, so q90/q95 and the mean of the stock needed are driven
                        by rare streams a negative binomial with lognormal hype under-covers.
    lead_0_3            every SKU's lead time is 0-3 days (uniform), NOT fitted to the lineup
                        (the demo cuts lead times so that an order mostly arrives before each
                        SKU's first upcoming stream). Hard: for many SKUs an order lands between
                        upcoming streams, so the plan must stock the streams after the arrival
                        and leave the ones before it to stock on hand.
    sellout_10_50       merchants' stock rules differ: their gut stock centres are spread so that
                        from about 10% to about 50% of a merchant's past stream items sold out
                        (the demo's merchants all stock alike, 10-25% sold out). Hard: heavy and
                        uneven censoring; units sold understate demand most for the merchants
                        who stock least.
    weak_video          short videos are weakly tied to demand: their reach follows the stream's
                        hype with correlation 0.3 instead of 1 (the rest is independent noise of
                        the same size). Hard: video features promise less than on the demo;
                        a forecaster that leans on them overreacts.
    many_new_streamers  35% of streamers debut in the horizon (the demo: 7%), and debuting
                        streamers are pushed into upcoming streams, so most upcoming streams have
                        a host with no past stream. Hard: streamer cold start dominates.
    nb_size_low         each SKU's negative binomial size is drawn from 0.5-2 (log-uniform; the
                        demo's is its category's, 2.5-8). Hard: very overdispersed demand, wide
                        fans, frequent zeros; over-stocking to a mean wastes.
    nb_size_high        each SKU's size is drawn from 5-20: close to Poisson. Hard: a forecaster
                        with a fixed wide dispersion over-covers and plans too much safety stock.

Growth worlds (any scenario at any size) come from `profiles.SIZES` (x1 ... x16, million) or
`profiles.scaled`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .entities import BRAND_SD, DEBUT_SHARE
from .history import GUT_CENTER
from .streams import HYPE_SD, LAUNCH_PUSH


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """The knobs of a world's structure; the defaults are the demo world's.

    launch_boost: log demand a launched SKU gains in its first stream (fading linearly over
        `truth.LAUNCH_STREAMS` streams).
    launch_push: how many times as likely a new SKU is picked into an upcoming lineup.
    brand_sd: spread of the brand effects on log demand (0: brands carry no signal).
    hype: the stream's hidden log hype around its festival centre, a normal scale mixture given
        as (weight, sd) pairs; the demo's is one normal with sd HYPE_SD.
    lead_days: (lo, hi): every SKU's lead time uniform in lo..hi days; None: the demo's lead
        times, fitted to the upcoming lineup.
    gut_center: (lo, hi): merchants' stock centres (stock = gut x recent sales), spread evenly
        in log over the merchants in a seeded order; lower centres sell out more often.
    video_tie: correlation of a stream's video reach with its hidden hype (1: the same hype).
    debut_share: share of streamers whose first stream is in the horizon.
    nb_size: (lo, hi): each SKU's negative binomial size, log-uniform; None: its category's.
    """

    name: str = "demo"
    launch_boost: float = 0.0
    launch_push: float = LAUNCH_PUSH
    brand_sd: float = BRAND_SD
    hype: tuple[tuple[float, float], ...] = ((1.0, HYPE_SD),)
    lead_days: tuple[int, int] | None = None
    gut_center: tuple[float, float] = (GUT_CENTER, GUT_CENTER)
    video_tie: float = 1.0
    debut_share: float = DEBUT_SHARE
    nb_size: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        weights = [w for w, _ in self.hype]
        problems = [
            (self.launch_push <= 0, "launch_push must be > 0"),
            (self.brand_sd < 0, "brand_sd must be >= 0"),
            (not self.hype or min(weights) <= 0, "hype weights must be > 0"),
            (abs(sum(weights) - 1.0) > 1e-9, "hype weights must sum to 1"),
            (any(sd < 0 for _, sd in self.hype), "hype sds must be >= 0"),
            (not 0.0 <= self.video_tie <= 1.0, "video_tie must be in [0, 1]"),
            (not 0.0 < self.debut_share < 1.0, "debut_share must be in (0, 1)"),
            (not 0.0 < self.gut_center[0] <= self.gut_center[1], "gut_center: 0 < lo <= hi"),
        ]
        if self.lead_days is not None:
            lo, hi = self.lead_days
            problems.append((not 0 <= lo <= hi, "lead_days: 0 <= lo <= hi"))
        if self.nb_size is not None:
            lo, hi = self.nb_size
            problems.append((not 0.0 < lo <= hi, "nb_size: 0 < lo <= hi"))
        bad = [text for failed, text in problems if failed]
        if bad:
            raise ValueError(f"scenario {self.name!r}: " + "; ".join(bad))

    @property
    def hype_sd(self) -> float:
        """The overall spread of the hidden log hype around its centre."""
        return math.sqrt(sum(w * sd**2 for w, sd in self.hype))

    def knobs(self) -> dict[str, Any]:
        """Every knob (not the name), JSON-ready."""
        return {k: v for k, v in asdict(self).items() if k != "name"}

    def to_json(self) -> str:
        about = " + ".join(ABOUT.get(part, "custom knobs") for part in self.name.split(","))
        body = {"name": self.name, "about": about, "hype_sd": self.hype_sd, **self.knobs()}
        return json.dumps(body, indent=2) + "\n"


DEMO = Scenario()

_SETS: dict[str, dict[str, Any]] = {
    "demo": {},
    "launch_boost": {"launch_boost": 0.9},
    "no_launch_boost": {"launch_boost": 0.0, "launch_push": 1.0},
    "no_brand_signal": {"brand_sd": 0.0},
    "heavy_hype": {"hype": ((0.8, 0.3), (0.2, 0.8))},
    "lead_0_3": {"lead_days": (0, 3)},
    "sellout_10_50": {"gut_center": (0.72, 3.5)},
    "weak_video": {"video_tie": 0.3},
    "many_new_streamers": {"debut_share": 0.35},
    "nb_size_low": {"nb_size": (0.5, 2.0)},
    "nb_size_high": {"nb_size": (5.0, 20.0)},
}

ABOUT: dict[str, str] = {
    "demo": "the demo world",
    "launch_boost": "launched SKUs sell 2.5x in their first stream, fading over four",
    "no_launch_boost": "new SKUs are neither pushed into lineups nor boosted",
    "no_brand_signal": "brands carry no signal",
    "heavy_hype": "heavier-tailed stream hype at the same spread",
    "lead_0_3": "lead times 0-3 days for every SKU, not fitted to the lineup",
    "sellout_10_50": "merchants' stock rules sell out from ~10% to ~50% of past items",
    "weak_video": "short videos weakly tied to demand (correlation 0.3 with the hype)",
    "many_new_streamers": "35% of streamers debut in the horizon",
    "nb_size_low": "NB size 0.5-2 per SKU (very overdispersed)",
    "nb_size_high": "NB size 5-20 per SKU (close to Poisson)",
}

SCENARIOS: dict[str, Scenario] = {
    name: replace(DEMO, name=name, **sets) for name, sets in _SETS.items()
}


def scenario(spec: str | Scenario) -> Scenario:
    """The scenario named `spec`, or several joined by commas and composed; a Scenario as is."""
    if isinstance(spec, Scenario):
        return spec
    names = [part.strip() for part in str(spec).split(",") if part.strip()]
    unknown = [n for n in names if n not in _SETS]
    if not names or unknown:
        raise ValueError(
            f"unknown scenario {', '.join(unknown) or repr(spec)}; choose from "
            f"{', '.join(_SETS)} (or several joined by commas)"
        )
    if len(names) == 1:
        return SCENARIOS[names[0]]
    merged: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for name in names:
        for knob, value in _SETS[name].items():
            if knob in merged and merged[knob] != value:
                raise ValueError(
                    f"scenarios {owner[knob]!r} and {name!r} both set {knob} "
                    f"({merged[knob]!r} vs {value!r}); they cannot compose"
                )
            merged[knob], owner[knob] = value, name
    return replace(DEMO, name=",".join(names), **merged)


def load_scenario(world_dir: Path) -> Scenario:
    """The scenario a world folder was built with (OUT/scenario.json, written by write_world);
    the demo for a folder written before scenarios existed."""
    path = Path(world_dir) / "scenario.json"
    if not path.exists():
        return DEMO
    data = json.loads(path.read_text())
    known = {f.name for f in fields(Scenario)}
    kw: dict[str, Any] = {k: v for k, v in data.items() if k in known}
    kw["hype"] = tuple(tuple(pair) for pair in kw.get("hype", DEMO.hype))
    for pair in ("lead_days", "gut_center", "nb_size"):
        if kw.get(pair) is not None:
            kw[pair] = tuple(kw[pair])
    return Scenario(**kw)
