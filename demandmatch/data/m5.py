"""M5 subset (one store, one department) for the real-data benchmark: loading, the long frames
the peers read, M5 level-12 weights, and the leakage-safe direct features of the project's
demand model (each day of an item's series is an "event" forecast from an origin h days before).

Day index j = 0 .. T-1 stands for d_{j+1}. An origin o is the last observed day; a row (item i,
origin o, days ahead h) forecasts day t = o + h from Y[i, :o + 1], the calendar and the price
of day t (M5 publishes prices ahead, as planned promotions are known ahead).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import lfilter

SALES_FILE = "sales_d1_d1969.csv.gz"
PRICES_FILE = "sell_prices_tx3_foods3.csv.gz"
CALENDAR_FILE = "calendar.csv.gz"
EWM_ALPHAS = (0.03, 0.1)
NO_THINNING = (0.0, 1.0)  # (units a day below which an item's rows are thinned, share kept)
EVENT_TYPES = ("Cultural", "National", "Religious", "Sporting")


@dataclass(frozen=True)
class M5:
    """Daily unit sales (n, T), daily sell price (n, T; NaN when not on sale), the calendar
    (T rows) and the identifiers of each series."""

    ids: np.ndarray
    item_id: np.ndarray
    dept_id: np.ndarray
    store_id: np.ndarray
    sales: np.ndarray
    price: np.ndarray
    calendar: pd.DataFrame
    state: str = "TX"

    @property
    def n_series(self) -> int:
        return len(self.ids)

    def head(self, n_days: int) -> M5:
        """The same data cut after the first `n_days` days (what a forecaster may see)."""
        return M5(
            self.ids,
            self.item_id,
            self.dept_id,
            self.store_id,
            self.sales[:, :n_days],
            self.price,
            self.calendar,
            self.state,
        )


def load_m5(data_dir: Path | str, n_series: int | None = None, seed: int = 0) -> M5:
    """Read the three tables; `n_series` keeps a seeded random sample of the items."""
    d = Path(data_dir)
    missing = [f for f in (SALES_FILE, PRICES_FILE, CALENDAR_FILE) if not (d / f).exists()]
    if missing:
        raise FileNotFoundError(f"{d}: missing {', '.join(missing)} (the M5 subset folder)")
    sales = pd.read_csv(d / SALES_FILE)
    if n_series is not None and n_series < len(sales):
        keep = np.sort(np.random.default_rng(seed).choice(len(sales), n_series, replace=False))
        sales = sales.iloc[keep].reset_index(drop=True)
    day_cols = [c for c in sales.columns if c.startswith("d_")]
    cal = pd.read_csv(d / CALENDAR_FILE)
    cal = cal.set_index("d").loc[day_cols].reset_index()
    cal["date"] = pd.to_datetime(cal["date"])
    prices = pd.read_csv(d / PRICES_FILE)
    weeks = cal["wm_yr_wk"].to_numpy()
    wide = prices.pivot_table(
        index=["store_id", "item_id"], columns="wm_yr_wk", values="sell_price", aggfunc="last"
    )
    keys = pd.MultiIndex.from_arrays([sales["store_id"], sales["item_id"]])
    wide = wide.reindex(index=keys, columns=np.unique(weeks))
    col = np.searchsorted(wide.columns.to_numpy(), weeks)
    price = wide.to_numpy(dtype=float)[:, col]
    state = str(sales["state_id"].iloc[0]) if "state_id" in sales else "TX"
    return M5(
        ids=sales["id"].to_numpy(dtype=str),
        item_id=sales["item_id"].to_numpy(dtype=str),
        dept_id=sales["dept_id"].to_numpy(dtype=str),
        store_id=sales["store_id"].to_numpy(dtype=str),
        sales=sales[day_cols].to_numpy(dtype=float),
        price=price,
        calendar=cal,
        state=state,
    )


def first_sale(sales: np.ndarray) -> np.ndarray:
    """Index of each series' first non-zero day (its length when it never sold)."""
    pos = sales > 0
    return np.where(pos.any(axis=1), pos.argmax(axis=1), sales.shape[1])


def level12_weights(m5: M5, end: int, days: int = 28) -> np.ndarray:
    """M5 level-12 weights: each series' dollar sales over the `days` days before `end`."""
    window = slice(end - days, end)
    dollars = np.nansum(m5.sales[:, window] * np.nan_to_num(m5.price[:, window]), axis=1)
    return dollars / dollars.sum()


def long_frame(m5: M5, end: int) -> pd.DataFrame:
    """unique_id, ds, y of days [first sale, end) per series: what the peers train on."""
    start = np.minimum(first_sale(m5.sales[:, :end]), end - 1)
    lengths = end - start
    rows = np.repeat(np.arange(m5.n_series), lengths)
    offs = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    day = np.repeat(start, lengths) + offs
    return pd.DataFrame(
        {
            "unique_id": m5.ids[rows],
            "ds": m5.calendar["date"].to_numpy()[day],
            "y": m5.sales[rows, day].astype(np.float32),
        }
    )


# ---------------------------------------------------------------- direct features


def _calendar_arrays(cal: pd.DataFrame, state: str) -> dict[str, np.ndarray]:
    """Per day: weekday, month, day of month, SNAP, event type and name codes, and the
    distance in days to the nearest event before and after (capped at 30)."""
    ev_name = cal["event_name_1"].fillna("")
    names = sorted(n for n in ev_name.unique() if n)
    name_code = ev_name.map({n: i + 1 for i, n in enumerate(names)}).fillna(0).to_numpy(int)
    types = cal["event_type_1"].map({t: i + 1 for i, t in enumerate(EVENT_TYPES)})
    has_event = (ev_name != "").to_numpy() | cal["event_name_2"].notna().to_numpy()
    idx = np.arange(len(cal))
    last_ev = np.maximum.accumulate(np.where(has_event, idx, -(10**6)))
    next_ev = np.minimum.accumulate(np.where(has_event, idx, 10**6)[::-1])[::-1]
    snap_col = f"snap_{state}"
    return {
        "wday": cal["date"].dt.dayofweek.to_numpy(),
        "month": cal["date"].dt.month.to_numpy(),
        "mday": cal["date"].dt.day.to_numpy(),
        "yday": cal["date"].dt.dayofyear.to_numpy(),
        "snap": cal[snap_col].to_numpy(int) if snap_col in cal else np.zeros(len(cal), int),
        "event_type": types.fillna(0).to_numpy(int),
        "event_name": name_code,
        "days_since_event": np.minimum(idx - last_ev, 30),
        "days_to_event": np.minimum(next_ev - idx, 30),
    }


class _NanMean:
    """Running means over the non-missing values of arrays added in turn; NaN where none is."""

    def __init__(self, first: np.ndarray) -> None:
        self.sum, self.n = np.zeros(len(first)), np.zeros(len(first))
        self.add(first)

    def add(self, values: np.ndarray) -> None:
        seen = ~np.isnan(values)
        self.sum += np.where(seen, values, 0.0)
        self.n += seen

    def mean(self) -> np.ndarray:
        return np.where(self.n > 0, self.sum / np.maximum(self.n, 1), np.nan)


def _categorical(labels: np.ndarray, i: np.ndarray) -> pd.Categorical:
    """pd.Categorical(labels[i]) from the codes of the items present, not a scan of every row's
    label."""
    present = np.unique(i)
    categories, codes = np.unique(labels[present], return_inverse=True)
    item_code = np.full(len(labels), -1)
    item_code[present] = codes
    return pd.Categorical.from_codes(item_code[i], categories=categories)


class DirectFeatures:
    """Feature rows for (item, origin, days ahead) from the sales observed so far.

    Everything about sales is computed from Y[i, :o + 1]: means over the last 7..364 days
    (over the days since the item's first sale when it is younger), the same weekday's mean over
    the last 4 and 8 weeks before the origin, the sale 28 days before the target (always
    observed for h <= 28) and around the same date a year earlier, share of zero days, days since
    the last sale, and the item's age. Price of the target day relative to its usual price up to
    the origin, to its price at the origin and to its highest price so far. Calendar of the
    target day, days ahead. Id columns (merchant_id, sku_id) and the department as `category`
    come along so that any demand model (demandmatch.forecast.models) can read the frame.
    """

    def __init__(self, m5: M5) -> None:
        y = m5.sales
        self.m5 = m5
        self.n_obs = y.shape[1]
        n = y.shape[0]
        zero = np.zeros((n, 1))
        self.csum = np.hstack([zero, np.cumsum(y, axis=1)])
        self.csq = np.hstack([zero, np.cumsum(y * y, axis=1)])
        self.czero = np.hstack([zero, np.cumsum(y == 0, axis=1)])
        self.first = first_sale(y)
        idx = np.arange(y.shape[1])
        self.last_sale = np.maximum.accumulate(np.where(y > 0, idx[None, :], -1), axis=1)
        p = m5.price[:, : self.n_obs]
        self.cprice = np.hstack([zero, np.cumsum(np.nan_to_num(p), axis=1)])
        self.cpriced = np.hstack([zero, np.cumsum(~np.isnan(p), axis=1)])
        self.pmax = np.fmax.accumulate(p, axis=1)
        self.cal = _calendar_arrays(m5.calendar, m5.state)
        self.item_labels = m5.item_id.astype(object)  # a row's label: a pointer, not a new str
        self.store = y.sum(axis=0)
        self.cstore = np.concatenate([[0.0], np.cumsum(self.store)])
        # exponentially weighted levels (simple exponential smoothing of each item's sales)
        self.ewm = {a: lfilter([a], [1.0, a - 1.0], y, axis=1) for a in EWM_ALPHAS}

    def _window_mean(self, c: np.ndarray, i: np.ndarray, o: np.ndarray, k: int) -> np.ndarray:
        lo = np.maximum(o + 1 - k, self.first[i])
        span = np.maximum(o + 1 - lo, 1)
        return (c[i, o + 1] - c[i, lo]) / span

    def _store_mean(self, o: np.ndarray, k: int) -> np.ndarray:
        """Mean daily store sales over the k days up to o (fewer at the start)."""
        hi = np.maximum(o + 1, 1)
        lo = np.maximum(hi - k, 0)
        return (self.cstore[hi] - self.cstore[lo]) / np.maximum(hi - lo, 1)

    def _sales_at(self, i: np.ndarray, day: np.ndarray) -> np.ndarray:
        ok = (day >= self.first[i]) & (day >= 0)
        return np.where(ok, self.m5.sales[i, np.clip(day, 0, self.n_obs - 1)], np.nan)

    def rows(self, i: np.ndarray, o: np.ndarray, h: np.ndarray) -> pd.DataFrame:
        i, o, h = (np.asarray(a, dtype=np.int64) for a in (i, o, h))
        if (o >= self.n_obs).any():
            raise ValueError("an origin lies past the observed sales")
        t = o + h
        if (t - 28 > o).any():
            raise ValueError("days ahead must be at most 28 (lag-28 features)")
        f: dict[str, np.ndarray] = {}
        age = o - self.first[i]
        for k in (7, 14, 28, 56, 112, 364):
            f[f"mean_{k}"] = self._window_mean(self.csum, i, o, k)
        f["trend_7_28"] = f["mean_7"] / (f["mean_28"] + 0.1)
        f["trend_28_112"] = f["mean_28"] / (f["mean_112"] + 0.1)
        sq28 = self._window_mean(self.csq, i, o, 28)
        f["std_28"] = np.sqrt(np.maximum(sq28 - f["mean_28"] ** 2, 0.0))
        f["zero_share_28"] = self._window_mean(self.czero, i, o, 28)
        f["zero_share_112"] = self._window_mean(self.czero, i, o, 112)
        f["days_since_sale"] = np.minimum(o - self.last_sale[i, o], 400)
        f["age"] = np.minimum(age, 1000)
        # same weekday as the target, in the weeks up to the origin (sums of whole units, exact
        # in any order, so running sums stand in for a stacked table's row means)
        back = 7 * ((h + 6) // 7)
        f["same_wday_1"] = self._sales_at(i, t - back)
        weeks = _NanMean(f["same_wday_1"])
        for m in range(1, 8):
            weeks.add(self._sales_at(i, t - back - 7 * m))
            if m == 3:
                f["same_wday_4"] = weeks.mean()
        f["same_wday_8"] = weeks.mean()
        f["same_wday_ratio"] = f["same_wday_8"] / (f["mean_56"] + 0.1)
        f["lag_28"] = self._sales_at(i, t - 28)
        yago = _NanMean(self._sales_at(i, t - 367))
        for d in range(-2, 4):
            yago.add(self._sales_at(i, t - 364 + d))
        f["last_year_week"] = yago.mean()
        # the whole store: trend, weekday profile and last year's change from origin to target
        store_7, store_28, store_112 = (self._store_mean(o, k) for k in (7, 28, 112))
        f["store_trend"] = store_7 / np.maximum(store_28, 1.0)
        s_wday = sum(self.store[np.maximum(t - back - 7 * m, 0)] for m in range(16)) / 16
        f["store_wday"] = s_wday / np.maximum(store_112, 1.0)
        ly_target = sum(self.store[np.maximum(t - 364 + d, 0)] for d in range(-3, 4)) / 7
        ly_origin = self._store_mean(o - 364, 28)
        f["store_yoy"] = np.where(o >= 392, ly_target / np.maximum(ly_origin, 1.0), np.nan)
        # simple multiplicative baselines that trees find hard to build from their parts
        f["base_28"] = f["mean_28"] * f["store_wday"]
        f["base_7"] = f["mean_7"] * f["store_wday"]
        f["base_yoy"] = f["base_28"] * f["store_yoy"]
        # the item's own weekday profile over 8 weeks, shrunk toward the store's
        own = f["same_wday_8"] / (f["mean_56"] + 1e-9)
        n_own = 8.0 * f["mean_56"]  # about the units behind it: trust it more for busy items
        prof = (n_own * np.nan_to_num(own, nan=1.0) + 8.0 * f["store_wday"]) / (n_own + 8.0)
        for a in EWM_ALPHAS:
            lvl = self.ewm[a][i, o]
            f[f"ewm_{a}"] = lvl
            f[f"base_ewm_{a}"] = lvl * prof
        # price of the target day against the item's own history up to the origin
        p = self.m5.price[i, t]
        usual = self.cprice[i, o + 1] / np.maximum(self.cpriced[i, o + 1], 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            f["price"] = p
            f["price_rel_usual"] = p / usual
            f["price_rel_origin"] = p / self.m5.price[i, o]
            f["price_rel_max"] = p / self.pmax[i, o]
        for name, arr in self.cal.items():
            f[name] = arr[t]
        f["days_ahead"] = h
        # one float block, filled column by column: a frame built from the dict would stack
        # and then reorder every column (two copies of the whole table)
        table = np.empty((len(f), len(i)))
        for row, values in zip(table, f.values(), strict=True):
            row[:] = values
        out = pd.DataFrame(table.T, columns=list(f), copy=False)
        out["category"] = _categorical(self.m5.dept_id, i)
        out["merchant_id"] = _categorical(self.m5.store_id, i)
        out["sku_id"] = self.item_labels[i]
        return out

    def training_rows(
        self,
        window: int,
        step: int,
        horizon: int = 28,
        min_age: int = 28,
        thin: tuple[float, float] = NO_THINNING,
        seed: int = 0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item, origin, h) of every origin `step` days apart whose targets fall in the last
        `window` observed days, each with every h that stays inside the observed days, skipping
        items younger than `min_age` days at the origin; slow items' rows thinned as in
        `sampled_rows`."""
        last = self.n_obs - 1
        origins = np.arange(last - 1, max(last - window, 56) - 1, -step)
        ii, oo, hh = [], [], []
        n = self.m5.n_series
        for o in origins:
            hs = np.arange(1, min(horizon, last - o) + 1)
            young = o - self.first < min_age
            items = np.flatnonzero(~young)
            ii.append(np.repeat(items, len(hs)))
            oo.append(np.full(len(items) * len(hs), o))
            hh.append(np.tile(hs, len(items)))
        if not ii:
            raise ValueError(f"no training origins in {n} series of {self.n_obs} days")
        i, o, h = np.concatenate(ii), np.concatenate(oo), np.concatenate(hh)
        keep = self._thinned(i, o, thin, np.random.default_rng(seed))
        return i[keep], o[keep], h[keep]

    def _thinned(
        self, i: np.ndarray, o: np.ndarray, thin: tuple[float, float], rng: np.random.Generator
    ) -> np.ndarray:
        """Which rows to keep: all, but with `thin` = (below, keep) rows whose item sold less
        than `below` a day over the 28 days to the origin only with probability `keep` (a choice
        on what is known at the origin, so the mean given the features is not biased, only
        estimated from fewer rows)."""
        below, keep = thin
        if keep >= 1.0:
            return np.ones(len(i), bool)
        slow = self._window_mean(self.csum, i, np.maximum(o, 0), 28) < below
        return ~slow | (rng.random(len(i)) < keep)

    def target(self, i: np.ndarray, o: np.ndarray, h: np.ndarray) -> np.ndarray:
        return self.m5.sales[i, o + h]

    def sampled_rows(
        self,
        window: int,
        per_day: int = 1,
        horizon: int = 28,
        min_age: int = 28,
        thin: tuple[float, float] = NO_THINNING,
        seed: int = 0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item, origin, h) for every item and each of the last `window` observed days as the
        target, with `per_day` horizons drawn uniformly from 1..horizon (origin = day - h), so
        that origins fall on every weekday and days ahead is not tied to the target's weekday.
        Rows whose item is younger than `min_age` days at the origin are left out, and with
        `thin` = (below, keep) rows whose item sold less than `below` a day over the 28 days to
        the origin are kept with probability `keep` (slow items carry little of the M5 weight;
        the trees split on the level early, so thinning them costs their leaves data, not
        bias)."""
        last = self.n_obs - 1
        first_day = max(last - window + 1, 400)
        days = np.arange(first_day, last + 1)
        n = self.m5.n_series
        rng = np.random.default_rng(seed)
        i = np.tile(np.repeat(np.arange(n), len(days)), per_day)
        t = np.tile(np.tile(days, n), per_day)
        h = rng.integers(1, horizon + 1, size=len(t))
        o = t - h
        keep = o - self.first[i] >= min_age
        keep &= self._thinned(i, o, thin, rng)
        if not keep.any():
            raise ValueError(f"no training rows in {n} series of {self.n_obs} days")
        return i[keep], o[keep], h[keep]
