"""The schedule: past and upcoming streams, their lineups and live prices."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .profiles import (
    DURATION_P,
    DURATIONS,
    EVENING_HOURS,
    EVENING_P,
    HORIZON_START,
    WEEKDAY_RATE,
    WorldSize,
    festival_intensity,
)

HYPE_SD = 0.45  # a stream's hidden log hype: normal, this spread, ...
HYPE_FESTIVAL = 0.3  # ... centred this much higher at full festival intensity
LAUNCH_PUSH = 3.0  # a new SKU is this many times as likely to be picked into an upcoming lineup


def make_streams(
    rng: np.random.Generator,
    ws: WorldSize,
    merchants: pd.DataFrame,
    streamers: pd.DataFrame,
    catalog: pd.DataFrame,
    hype_sd: Callable[[int], np.ndarray] | None = None,
) -> pd.DataFrame:
    """Past and upcoming streams: day, start minute (local, from the first day), merchant,
    streamer, duration and hidden hype. Every merchant and every debuting streamer gets at
    least one upcoming stream.

    The hype is normal around its festival centre with spread HYPE_SD, or with a spread per
    stream from `hype_sd(n)` (a scale mixture: heavier tails)."""
    n_days = ws.history_days + ws.horizon_days
    first = HORIZON_START - pd.Timedelta(days=ws.history_days)
    dates = pd.date_range(first, periods=n_days, freq="D")
    fest = festival_intensity(dates)
    rate = ws.streams_per_day * WEEKDAY_RATE[dates.weekday] * (1 + 1.2 * fest)
    rate = rate * np.linspace(0.85, 1.0, n_days) / 0.97
    day = np.repeat(np.arange(n_days), rng.poisson(rate))
    size = catalog.groupby("_m").size().reindex(range(len(merchants)), fill_value=0)
    merchant = rng.choice(len(merchants), size=day.size, p=(size / size.sum()).to_numpy())
    upcoming = day >= ws.history_days
    missing = [m for m in range(len(merchants)) if not (merchant[upcoming] == m).any()]
    extra = rng.integers(ws.history_days, n_days, size=len(missing))
    day, merchant = np.append(day, extra), np.append(merchant, missing).astype(int)
    streamer = _pick_streamers(rng, day >= ws.history_days, merchant, streamers)
    day, merchant, streamer = _debut_streams(rng, ws, day, merchant, streamer, streamers)
    n = day.size
    evening = rng.random(n) >= 0.2
    hour = np.where(
        evening, rng.choice(EVENING_HOURS, size=n, p=EVENING_P), rng.integers(13, 17, size=n)
    )
    minute = rng.choice([0, 15, 30, 45], size=n, p=[0.5, 0.1, 0.3, 0.1])
    duration = rng.choice(DURATIONS, size=n, p=DURATION_P)
    out = pd.DataFrame(
        {
            "_day": day,
            "_start": day * 1440 + hour * 60 + minute,
            "_m": merchant,
            "_h": streamer,
            "duration_min": duration.astype(np.int64),
            "_hour": hour,
            "_weekday": dates.weekday.to_numpy()[day],
            "_fest": fest[day],
        }
    )
    sd = HYPE_SD if hype_sd is None else hype_sd(n)
    out["_loghype"] = rng.normal(0.0, sd, size=n) + HYPE_FESTIVAL * out["_fest"].to_numpy()
    out = out.sort_values(["_start", "_m", "_h"], kind="stable").reset_index(drop=True)
    out["_upcoming"] = out["_day"] >= ws.history_days
    out.insert(0, "stream_id", [f"S{i + 1:06d}" for i in range(len(out))])
    out.insert(1, "merchant_id", merchants["merchant_id"].to_numpy()[out["_m"]])
    out.insert(2, "streamer_id", streamers["streamer_id"].to_numpy()[out["_h"]])
    out.insert(3, "start_time", first + pd.to_timedelta(out["_start"], unit="min"))
    return out


def _pick_streamers(
    rng: np.random.Generator, upcoming: np.ndarray, merchant: np.ndarray, streamers: pd.DataFrame
) -> np.ndarray:
    """Mostly a streamer who works with the merchant, sometimes a guest; debut streamers only
    in the upcoming horizon, where new faces are pushed."""
    activity = streamers["_activity"].to_numpy()
    debut = streamers["_debut"].to_numpy()
    links = streamers["_merchants"].tolist()
    out = np.empty(merchant.size, dtype=int)
    guests = rng.random(merchant.size) < 0.05
    # one uniform per stream, as rng.choice(len(w), p=w / w.sum()) per stream would draw; the
    # weights take few distinct values (past or upcoming, linked or guest, the merchant), so
    # each group's pick is one searchsorted on the cumulative weights choice would build
    u = rng.random(merchant.size)
    up = np.asarray(upcoming, dtype=bool)
    for m in np.unique(merchant).tolist():
        linked = np.array([m in ms for ms in links])
        for is_up in (False, True):
            w = activity * np.where(debut, 3.0 * is_up, 1.0)
            mine = (merchant == m) & (up == is_up)
            if not mine.any():
                continue
            if (w * linked).sum() > 0:
                at_home = mine & ~guests
                out[at_home] = weighted_pick(w * linked, u[at_home])
                mine &= guests
            out[mine] = weighted_pick(w, u[mine])
    return out


def weighted_pick(w: np.ndarray, u: np.ndarray | float) -> np.ndarray:
    """Indices drawn with weights `w` from uniforms `u`, exactly as Generator.choice(len(w),
    p=w / w.sum()) draws them from its uniforms: the first index whose cumulative probability
    exceeds the uniform. Drawing the uniforms at once makes a loop of choices one call."""
    cdf = (w / w.sum()).cumsum()
    cdf /= cdf[-1]
    return cdf.searchsorted(u, side="right")


def _debut_streams(
    rng: np.random.Generator,
    ws: WorldSize,
    day: np.ndarray,
    merchant: np.ndarray,
    streamer: np.ndarray,
    streamers: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adds an upcoming stream for every debuting streamer that got none."""
    booked = set(streamer[day >= ws.history_days].tolist())  # streamers with an upcoming stream
    for h in np.flatnonzero(streamers["_debut"].to_numpy()):
        if h in booked:
            continue
        links = streamers["_merchants"].iloc[h]
        day = np.append(day, rng.integers(ws.history_days, ws.history_days + ws.horizon_days))
        merchant = np.append(merchant, links[int(rng.integers(len(links)))])
        streamer = np.append(streamer, h)
    return day, merchant, streamer


def make_lineups(
    rng: np.random.Generator,
    streams: pd.DataFrame,
    catalog: pd.DataFrame,
    launch_push: float = LAUNCH_PUSH,
) -> pd.DataFrame:
    """5-30 SKUs of the stream's merchant per stream, hits first, 1-3 featured; new SKUs only
    in upcoming streams, and then `launch_push` times as likely to be picked as another SKU of
    the same popularity. Every new SKU ends up in some upcoming lineup."""
    pop = catalog["_pop"].to_numpy()
    launch = catalog["_launch"].to_numpy()
    new = catalog["_new"].to_numpy()
    weight = np.exp(0.5 * pop) * np.where(new, launch_push, 1.0)
    by_merchant = {
        m: (k, launch[k], new[k], weight[k])
        for m, k in ((m, g.index.to_numpy()) for m, g in catalog.groupby("_m"))
    }
    log13 = np.log(13)
    chosen: list[np.ndarray] = []
    columns = ("_m", "_day", "_upcoming")
    for m, day, upcoming in zip(*(streams[c].tolist() for c in columns), strict=True):
        skus, launched, is_new, w = by_merchant[m]
        ok = (launched <= day) & (~is_new | upcoming)
        skus, w = skus[ok], w[ok]
        n = min(len(skus), min(max(round(np.exp(rng.normal(log13, 0.4))), 5), 30))
        chosen.append(rng.choice(skus, size=n, replace=False, p=w / w.sum()))
    _place_new_skus(rng, streams, catalog, chosen)
    ordered, featured = [], []
    by_slot: dict[int, np.ndarray] = {}  # lineup size -> featured odds, 1 / slot
    for skus in chosen:
        order = np.argsort(-(pop[skus] + rng.normal(0.0, 1.0, size=len(skus))), kind="stable")
        ordered.append(skus[order])
        n_feat = min(len(skus), 1 + int(rng.binomial(2, 0.4)))
        p = by_slot.get(len(skus))
        if p is None:
            p = by_slot[len(skus)] = 1.0 / np.arange(1, len(skus) + 1)
            p /= p.sum()
        flags = np.zeros(len(skus), dtype=bool)
        flags[rng.choice(len(skus), size=n_feat, replace=False, p=p)] = True
        featured.append(flags)
    sizes = np.array([len(skus) for skus in chosen])
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return pd.DataFrame(
        {
            "_s": np.repeat(np.arange(len(chosen)), sizes),
            "_k": np.concatenate(ordered),
            "slot": np.arange(sizes.sum()) - starts + 1,
            "featured": np.concatenate(featured),
        }
    )


def _place_new_skus(
    rng: np.random.Generator,
    streams: pd.DataFrame,
    catalog: pd.DataFrame,
    chosen: list[np.ndarray],
) -> None:
    """Puts each new SKU that no upcoming lineup picked into one of its merchant's upcoming
    lineups (appended, or in place of the last other pick of a full lineup)."""
    shown = set(np.concatenate(chosen).tolist()) if chosen else set()
    upcoming = streams["_upcoming"].to_numpy()
    for k in np.flatnonzero(catalog["_new"].to_numpy()):
        if k in shown:
            continue
        options = np.flatnonzero(upcoming & (streams["_m"].to_numpy() == catalog["_m"].iloc[k]))
        i = int(options[rng.integers(len(options))])
        keep = chosen[i]
        if len(keep) >= 30:  # drop the last pick that is not itself new
            keep = np.delete(keep, np.flatnonzero(~catalog["_new"].to_numpy()[keep])[-1])
        chosen[i] = np.append(keep, k)
        shown.add(k)


def set_prices(
    rng: np.random.Generator, items: pd.DataFrame, streams: pd.DataFrame, catalog: pd.DataFrame
) -> None:
    """Live prices: list price less a 0-50% discount, deeper at festivals and on featured items.
    Sets `live_price` and the effective `_discount` in place."""
    n = len(items)
    fest = streams["_fest"].to_numpy()[items["_s"]]
    d = rng.beta(2.0, 10.0, size=n) + 0.12 * fest + 0.05 * items["featured"].to_numpy()
    d = np.where(rng.random(n) < 0.15, 0.0, d).clip(0.0, 0.5)
    list_price = catalog["list_price"].to_numpy()[items["_k"]]
    live = np.maximum(np.round(list_price * (1.0 - d), 1), 0.1)
    items["live_price"] = live
    items["_discount"] = (1.0 - live / list_price).clip(0.0, None)
