"""Short promotional videos and their cumulative traffic snapshots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .streams import weighted_pick


def make_videos(
    rng: np.random.Generator,
    streams: pd.DataFrame,
    items: pd.DataFrame,
    followers: np.ndarray,
    video_hype: np.ndarray | None = None,
) -> pd.DataFrame:
    """1-6 short videos per stream, published 12-120 h before it, 60% featuring one SKU of the
    lineup; `_scale` is the views a video tends to (followers^0.7 x hype x noise), `_tau` (h)
    how fast it gets there. The hype the videos follow is the stream's own unless `video_hype`
    (one per stream) says otherwise."""
    fest = streams["_fest"].to_numpy()
    loghype = streams["_loghype"].to_numpy() if video_hype is None else video_hype
    k = np.clip(1 + rng.poisson(1.0 + fest + 0.6 * np.maximum(loghype, 0.0)), 1, 6)
    s = np.repeat(np.arange(len(streams)), k)
    nv = s.size
    published = streams["_start"].to_numpy()[s] - np.round(rng.uniform(12, 120, nv) * 60)
    bounds = np.searchsorted(items["_s"].to_numpy(), np.arange(len(streams) + 1))
    featured = items["featured"].to_numpy()
    sku = np.full(nv, -1)
    with_sku = np.flatnonzero(rng.random(nv) < 0.6)
    u = rng.random(with_sku.size)  # one uniform per pick, as rng.choice(p=...) draws
    for v, x in zip(with_sku.tolist(), u.tolist(), strict=True):
        lo, hi = bounds[s[v]], bounds[s[v] + 1]
        sku[v] = lo + int(weighted_pick(1.0 + 2.0 * featured[lo:hi], x))  # row of items
    scale = (
        2.5
        * followers[streams["_h"].to_numpy()[s]] ** 0.7
        * np.exp(loghype[s])
        * np.exp(rng.normal(0.0, 0.5, nv))
        * (1.0 + 0.5 * fest[s])
    )
    out = pd.DataFrame(
        {
            "_s": s,
            "_published": published.astype(np.int64),
            "_item": sku,
            "_scale": scale,
            "_tau": rng.uniform(8.0, 40.0, nv),
        }
    )
    out = out.sort_values(["_s", "_published"], kind="stable").reset_index(drop=True)
    out.insert(0, "video_id", [f"V{i + 1:07d}" for i in range(len(out))])
    return out


def video_snapshots(
    rng: np.random.Generator,
    videos: pd.DataFrame,
    streams: pd.DataFrame,
    catalog: pd.DataFrame,
    items: pd.DataFrame,
    as_of_min: int,
    first: pd.Timestamp,
) -> pd.DataFrame:
    """Cumulative counts every 6-12 h from publish, plus one 1 h before the stream starts,
    keeping only what had been observed by the as-of time."""
    nv, width = len(videos), 20
    published = videos["_published"].to_numpy()
    end = (streams["_start"].to_numpy()[videos["_s"]] - 60 - published)[:, None]
    t = np.cumsum(rng.integers(360, 721, size=(nv, width)), axis=1)
    valid = np.concatenate([t < end, np.ones((nv, 1), dtype=bool)], axis=1)
    t = np.concatenate([np.minimum(t, end), end], axis=1)
    views = np.floor(
        videos["_scale"].to_numpy()[:, None]
        * (1.0 - np.exp(-t / 60.0 / videos["_tau"].to_numpy()[:, None]))
    )
    counts = {"views": views}
    for name, share in (("likes", 0.04), ("comments", 0.004), ("shares", 0.002)):
        rate = share * np.exp(rng.normal(0.0, 0.4, size=(nv, 1)))
        noisy = np.floor(views * rate * np.exp(rng.normal(0.0, 0.1, size=views.shape)))
        counts[name] = np.maximum.accumulate(np.minimum(noisy, views), axis=1)
    observed = published[:, None] + t
    valid &= observed <= as_of_min
    row = np.repeat(np.arange(nv), valid.sum(axis=1))
    item = videos["_item"].to_numpy()[row]
    sku_ids = catalog["sku_id"].to_numpy()[items["_k"].to_numpy()[np.maximum(item, 0)]]
    return pd.DataFrame(
        {
            "video_id": videos["video_id"].to_numpy()[row],
            "stream_id": streams["stream_id"].to_numpy()[videos["_s"].to_numpy()[row]],
            "sku_id": np.where(item >= 0, sku_ids, None),
            "published_at": first + pd.to_timedelta(published[row], unit="min"),
            "observed_at": first + pd.to_timedelta(observed[valid], unit="min"),
            **{c: v[valid].astype(np.int64) for c, v in counts.items()},
        }
    )
