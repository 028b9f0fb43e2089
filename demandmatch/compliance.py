"""Compliance signals on a plan: the risks a stream carries that a merchant should see before
sending it stock.

- `unverified_streamer`: the stream's streamer has `qualification_verified` false (or is not in
  streamers at all). With `compliance.unverified: withhold` the optimiser is given no demand for
  those stream items (`withhold`), so it sends them no stock.
- `scarcity_claim_false` / `scarcity_claim_short`: the stream announces `claimed_stock` units
  ("only N left") and the plan allocates far more (the scarcity is false) or less (a promise it
  cannot keep).
- `return_risk`: a SKU whose forecast return rate is far above the rest of its category's.

`check_compliance` returns one row per finding (COMPLIANCE_COLUMNS): stream items for the first
three, SKUs (blank stream_id and streamer_id) for the last, each with a sentence and the money at
risk in yuan.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from demandmatch.config import ComplianceConfig
from demandmatch.data.schema import COMPLIANCE_COLUMNS, COMPLIANCE_FLAGS

UNVERIFIED, CLAIM_FALSE, CLAIM_SHORT, RETURN_RISK = COMPLIANCE_FLAGS
EXPLANATIONS: dict[str, str] = {
    UNVERIFIED: "the streamer's identity and qualifications are not verified by the platform",
    CLAIM_FALSE: "the stream announces far less stock than it is given: a false scarcity claim",
    CLAIM_SHORT: "the stream announces more stock than it is given: a promise it cannot keep",
    RETURN_RISK: "expected to come back far more often than the rest of its category",
}
MONEY_AT_RISK: dict[str, str] = {
    UNVERIFIED: "sales value (live price) of the stock sent to the stream; 0 when withheld",
    CLAIM_FALSE: "sales value of the units beyond the claim",
    CLAIM_SHORT: "sales value of the claimed units the stream does not have",
    RETURN_RISK: "refunds expected beyond the category's return rate",
}
_KEYS = ["stream_id", "sku_id"]


def unverified_rows(lineup: pd.DataFrame, streamers: pd.DataFrame) -> np.ndarray:
    """Per lineup row: its streamer is not verified (false, blank or unknown streamer)."""
    verified = streamers.drop_duplicates("streamer_id").set_index("streamer_id")
    flag = lineup["streamer_id"].map(verified["qualification_verified"])
    return ~flag.map(lambda v: v is True or v is np.True_).to_numpy(dtype=bool)


def withhold(survival: Sequence[np.ndarray], rows: np.ndarray) -> list[np.ndarray]:
    """The survival arrays with `rows`' demand set to none, so that a plan gives them no stock."""
    return [np.zeros(0) if w else s for s, w in zip(survival, rows, strict=True)]


def check_compliance(
    lineup: pd.DataFrame,
    forecasts: pd.DataFrame,
    plan: pd.DataFrame,
    allocation: pd.DataFrame,
    streamers: pd.DataFrame,
    settings: ComplianceConfig,
) -> pd.DataFrame:
    """Every finding on the plan, COMPLIANCE_COLUMNS.

    `lineup`: the upcoming stream items (stream_id, sku_id, merchant_id, streamer_id, category,
    live_price, optional claimed_stock); `forecasts`: their mean and return_rate; `plan` its
    expected_sales per (merchant_id, sku_id); `allocation` its allocated_units per stream item;
    `streamers`: qualification_verified per streamer_id. With `settings.unverified` "withhold"
    the plan is taken as made without those streams' demand (see `withhold`).
    """
    items = _items(lineup, forecasts, allocation)
    found = [
        _unverified(items, streamers, settings.unverified == "withhold"),
        _scarcity(items, settings),
        _return_risk(items, plan, settings),
    ]
    out = pd.concat([f for f in found if len(f)] or [_empty()], ignore_index=True)
    out["money_at_risk"] = out["money_at_risk"].astype(float).round(2)
    return out[list(COMPLIANCE_COLUMNS)]


def annotate(frame: pd.DataFrame, findings: pd.DataFrame, per_stream: bool) -> pd.Series:
    """Per row of `frame`, the compliance flags of its findings joined by ";" (blank for none).

    Plan rows (`per_stream` False) match every finding of their (merchant_id, sku_id); stream
    items (stream_id, sku_id, merchant_id) match their own findings and their SKU's."""
    out = pd.Series([""] * len(frame), index=frame.index, dtype=object)
    if findings.empty or frame.empty:
        return out
    cols = ["stream_id", "sku_id", "merchant_id"] if per_stream else ["merchant_id", "sku_id"]
    pos = pd.DataFrame({c: frame[c].astype(str).to_numpy() for c in cols})
    pos["_pos"] = np.arange(len(frame))
    f = findings[["stream_id", "sku_id", "merchant_id", "flag"]].astype(str)
    if per_stream:
        own = f[f["stream_id"] != ""].drop(columns="merchant_id")
        sku = f[f["stream_id"] == ""].drop(columns="stream_id")
        hits = pd.concat(
            [pos.merge(own, on=["stream_id", "sku_id"]), pos.merge(sku)], ignore_index=True
        )
    else:
        hits = pos.merge(f.drop(columns="stream_id"), on=["merchant_id", "sku_id"])
    rank = {flag: i for i, flag in enumerate(COMPLIANCE_FLAGS)}
    hits = hits.drop_duplicates(["_pos", "flag"])
    hits = hits.assign(_r=hits["flag"].map(rank))
    joined = hits.sort_values(["_pos", "_r"]).groupby("_pos")["flag"].agg(";".join)
    out.iloc[joined.index.to_numpy()] = joined.to_numpy()
    return out


def compliance_summary(findings: pd.DataFrame, settings: ComplianceConfig) -> dict[str, object]:
    """The run summary's figures: counts per flag and the money at risk."""
    f = findings
    stream_items = f[f["flag"] == UNVERIFIED]
    return {
        "compliance_unverified": settings.unverified,
        "n_unverified_streams": int(stream_items["stream_id"].nunique()),
        "n_scarcity_claim_false": int((f["flag"] == CLAIM_FALSE).sum()),
        "n_scarcity_claim_short": int((f["flag"] == CLAIM_SHORT).sum()),
        "n_return_risk_skus": int((f["flag"] == RETURN_RISK).sum()),
        "compliance_money_at_risk": float(f["money_at_risk"].sum()),
    }


# ---- the checks -----------------------------------------------------------------------------


def _items(lineup: pd.DataFrame, forecasts: pd.DataFrame, allocation: pd.DataFrame) -> pd.DataFrame:
    cols = ["stream_id", "sku_id", "merchant_id", "streamer_id", "category", "live_price"]
    items = lineup[cols + (["claimed_stock"] if "claimed_stock" in lineup else [])]
    fc = forecasts[[*_KEYS, "mean", "return_rate"]]
    alloc = allocation[[*_KEYS, "allocated_units"]]
    items = items.merge(fc, on=_KEYS, how="left").merge(alloc, on=_KEYS, how="left")
    return items.assign(allocated_units=items["allocated_units"].fillna(0).astype(np.int64))


def _unverified(items: pd.DataFrame, streamers: pd.DataFrame, withheld: bool) -> pd.DataFrame:
    rows = items[unverified_rows(items, streamers)]
    if withheld:
        detail = [
            f"streamer {h} is not verified: stock withheld, forecast demand "
            f"{m:,.1f} units (\u00a5{m * p:,.0f} at the live price) not planned for"
            for h, m, p in zip(rows["streamer_id"], rows["mean"], rows["live_price"], strict=True)
        ]
        money = np.zeros(len(rows))
    else:
        detail = [
            f"streamer {h} is not verified; {a:,} units allocated"
            for h, a in zip(rows["streamer_id"], rows["allocated_units"], strict=True)
        ]
        money = rows["allocated_units"].to_numpy() * rows["live_price"].to_numpy(dtype=float)
    return _rows(rows, UNVERIFIED, detail, money)


def _scarcity(items: pd.DataFrame, s: ComplianceConfig) -> pd.DataFrame:
    if "claimed_stock" not in items:
        return _empty()
    claimed = pd.to_numeric(items["claimed_stock"], errors="coerce").to_numpy(dtype=float)
    a = items["allocated_units"].to_numpy(dtype=float)
    price = items["live_price"].to_numpy(dtype=float)
    known = ~np.isnan(claimed)
    c = np.nan_to_num(claimed)
    false = known & (a > s.claim_false_ratio * c) & (a - c >= s.claim_min_units)
    short = known & (a < s.claim_short_share * c) & (c - a >= s.claim_min_units)
    out = []
    for mask, flag, words in (
        (false, CLAIM_FALSE, "claims {c:,} units left but is given {a:,}"),
        (short, CLAIM_SHORT, "claims {c:,} units but is given only {a:,}"),
    ):
        detail = [
            words.format(c=int(ci), a=int(ai)) for ci, ai in zip(c[mask], a[mask], strict=True)
        ]
        out.append(_rows(items[mask], flag, detail, np.abs(a[mask] - c[mask]) * price[mask]))
    return pd.concat(out, ignore_index=True)


def _return_risk(items: pd.DataFrame, plan: pd.DataFrame, s: ComplianceConfig) -> pd.DataFrame:
    """A SKU's rate is its forecast return rates weighted by expected demand; its category's is
    the same over the category's other SKUs (none: the SKU is not compared)."""
    w = items["mean"].fillna(0.0).clip(lower=0.0).to_numpy(dtype=float)
    w = np.where(w.sum() > 0, w, 1.0)
    df = items.assign(_w=w, _wr=w * items["return_rate"].fillna(0.0), _wp=w * items["live_price"])
    sku = df.groupby(["merchant_id", "sku_id", "category"], as_index=False)[["_w", "_wr", "_wp"]]
    sku = sku.sum()
    cat = sku.groupby("category")[["_w", "_wr"]].transform("sum")
    other_w, other_wr = cat["_w"] - sku["_w"], cat["_wr"] - sku["_wr"]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(sku["_w"] > 0, sku["_wr"] / sku["_w"], 0.0)
        price = np.where(sku["_w"] > 0, sku["_wp"] / sku["_w"], 0.0)
        norm = np.where(other_w > 0, other_wr / other_w, np.nan)
    risky = ~np.isnan(norm) & (rate > s.return_risk_ratio * np.nan_to_num(norm))
    risky &= rate - np.nan_to_num(norm) >= s.return_risk_min_gap
    sku = sku.assign(rate=rate, norm=norm, price=price)[risky]
    if sku.empty:
        return _empty()
    sales = plan.set_index(["merchant_id", "sku_id"])["expected_sales"]
    sold = sales.reindex(pd.MultiIndex.from_frame(sku[["merchant_id", "sku_id"]])).fillna(0.0)
    sold = sold.to_numpy(dtype=float)
    money = sold * (sku["rate"] - sku["norm"]).to_numpy() * sku["price"].to_numpy()
    detail = [
        f"{r:.0%} of units sold expected back against {n:.0%} for the rest of {c}; "
        f"{u * (r - n):,.1f} more of its {u:,.1f} expected sales returned"
        for r, n, c, u in zip(sku["rate"], sku["norm"], sku["category"], sold, strict=True)
    ]
    sku = sku.assign(stream_id="", streamer_id="")
    return _rows(sku, RETURN_RISK, detail, money)


def _rows(items: pd.DataFrame, flag: str, detail: list[str], money: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stream_id": items["stream_id"].to_numpy(dtype=object),
            "sku_id": items["sku_id"].to_numpy(dtype=object),
            "merchant_id": items["merchant_id"].to_numpy(dtype=object),
            "streamer_id": items["streamer_id"].to_numpy(dtype=object),
            "flag": flag,
            "detail": pd.Series(detail, dtype=object).to_numpy(),
            "money_at_risk": np.asarray(money, dtype=float),
        }
    )


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in COMPLIANCE_COLUMNS})
    return frame.astype({"money_at_risk": float})
