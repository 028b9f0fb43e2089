"""What a world is like, measured from its tables and truth: the figures each scenario claims
to change (sold-out share, new SKUs and streamers, NB size, lead times, video ties)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def world_stats(
    tables: dict[str, pd.DataFrame], truth: pd.DataFrame, as_of: pd.Timestamp
) -> dict[str, float]:
    """Figures of one world (tables as simulate_world returns them, truth as load_truth does).

    sold_out_share: past stream items with units_sold >= stock_allocated (blank stock: not sold
    out), overall and the least and most of any merchant; new_sku_share: upcoming items whose
    SKU has no past stream; new_streamer_share: upcoming streams whose host has none;
    nb_size_mean/min/max: of upcoming items; lead_days_<d>: share of SKUs with that lead time
    (4 stands for 4 or more); late_share: SKUs in an upcoming lineup whose order, placed at
    as_of, lands after their first upcoming stream; video_hype_corr: over past streams, the
    correlation of log(views of the stream's videos / followers^0.7) with the stream's hidden
    log hype; hype_kurtosis: of the hype around its festival centre, one per stream."""
    items, streams = tables["stream_items"], tables["streams"]
    catalog = tables["catalog"]
    start = items["stream_id"].map(streams.set_index("stream_id")["start_time"])
    past = (start < as_of).to_numpy()
    sold, stock = items["units_sold"], items["stock_allocated"]
    out_flag = (sold >= stock).fillna(False).to_numpy(dtype=bool)
    merchant = truth["merchant_id"].to_numpy()
    by_merchant = pd.Series(out_flag[past]).groupby(merchant[past]).mean()
    skus = truth["merchant_id"] + "/" + truth["sku_id"]
    seen = set(skus[past])
    up = ~past
    new_sku = ~skus[up].isin(seen)
    upcoming_streams = streams[streams["start_time"] >= as_of]
    past_hosts = set(streams.loc[streams["start_time"] < as_of, "streamer_id"])
    size = truth.loc[up, "size"]
    lead = catalog["lead_time_days"].clip(upper=4)
    row = {
        "past_items": float(past.sum()),
        "upcoming_items": float(up.sum()),
        "sold_out_share": float(out_flag[past].mean()),
        "sold_out_merchant_min": float(by_merchant.min()),
        "sold_out_merchant_max": float(by_merchant.max()),
        "new_sku_share": float(new_sku.mean()),
        "new_streamer_share": float((~upcoming_streams["streamer_id"].isin(past_hosts)).mean()),
        "nb_size_mean": float(size.mean()),
        "nb_size_min": float(size.min()),
        "nb_size_max": float(size.max()),
        **{f"lead_days_{d}": float((lead == d).mean()) for d in range(5)},
        "late_share": late_share(tables, truth, as_of),
        "video_hype_corr": video_hype_corr(tables, truth, as_of),
        "hype_kurtosis": hype_kurtosis(truth),
    }
    return row


def late_share(tables: dict[str, pd.DataFrame], truth: pd.DataFrame, as_of: pd.Timestamp) -> float:
    """Share of SKUs in an upcoming lineup whose order placed at as_of arrives after their first
    upcoming stream starts."""
    streams = tables["streams"].set_index("stream_id")
    up = truth[truth["upcoming"]]
    first = up.assign(start=up["stream_id"].map(streams["start_time"]))
    first = first.groupby(["merchant_id", "sku_id"])["start"].min()
    lead = tables["catalog"].set_index(["merchant_id", "sku_id"])["lead_time_days"]
    arrival = as_of + pd.to_timedelta(lead.reindex(first.index).to_numpy(), unit="D")
    return float((arrival > first.to_numpy()).mean())


def video_hype_corr(
    tables: dict[str, pd.DataFrame], truth: pd.DataFrame, as_of: pd.Timestamp
) -> float:
    """Correlation over past streams of the log views of their videos (the last snapshot of each,
    summed, per follower^0.7) with their hidden log hype; NaN without videos."""
    v = tables["video_traffic"]
    if v.empty:
        return float("nan")
    last = v.groupby("video_id").agg(stream_id=("stream_id", "first"), views=("views", "max"))
    views = last.groupby("stream_id")["views"].sum()
    streams = tables["streams"].set_index("stream_id")
    followers = streams["streamer_id"].map(
        tables["streamers"].set_index("streamer_id")["followers"]
    )
    hype = truth.groupby("stream_id")["log_hype"].first()
    past = streams.index[streams["start_time"] < as_of]
    ids = past.intersection(views.index)
    reach = np.log1p(views.reindex(ids).to_numpy()) - 0.7 * np.log(followers.reindex(ids))
    return float(np.corrcoef(reach, hype.reindex(ids).to_numpy())[0, 1])


def hype_kurtosis(truth: pd.DataFrame) -> float:
    """Kurtosis (3 for a normal) of each stream's hidden log hype around its festival centre."""
    per_stream = truth.groupby("stream_id")[["log_hype", "hype_center"]].first()
    dev = (per_stream["log_hype"] - per_stream["hype_center"]).to_numpy()
    dev = dev - dev.mean()
    return float(np.mean(dev**4) / np.mean(dev**2) ** 2)
