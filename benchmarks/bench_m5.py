"""M5 real-data benchmark: the project's demand model against mlforecast and statsforecast.

Walmart store TX_3, department FOODS_3 (823 daily item series). Every method trains on
d_1 .. d_1941 and forecasts d_1942 .. d_1969 (M5's final 28 days). Each method runs in a fresh
process (data loaded before the clock starts), so its fit+predict time and peak memory
(ru_maxrss) are its own.

- demandmatch: a demand model of the config (--model, --param), fitted as a direct
  forecaster: each (item, day) is an event forecast from an origin 1..28 days before it, with
  features known at that origin (demandmatch.data.m5).
- mlforecast: LightGBM (library defaults) on lags 7/14/28, rolling means of lags 7 and 28,
  date features, 28 steps predicted recursively; quantiles from a second fit with conformal
  prediction intervals (2 windows of 28 days), not counted in its time; the time ratio
  against that second fit (both sides' quantiles) is printed too.
- statsforecast: SeasonalNaive(7), AutoETS(7) (native intervals), CrostonOptimized and ADIDA
  (conformal intervals), and ETS/Croston chosen per item by its mean inter-demand interval
  (ADI < 1.32: ETS, else Croston, the Syntetos-Boylan cut).

Scores: RMSSE weighted as M5 level 12, WAPE, mean pinball over q05 .. q95 (units), all forecasts
clipped at 0. Symmetric intervals give q50 = the point forecast.

    python benchmarks/bench_m5.py [--data DIR] [--quick] [--model NAME] [--param key=value]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

from demandmatch.config import ModelConfig
from demandmatch.data.m5 import (
    M5,
    NO_THINNING,
    DirectFeatures,
    level12_weights,
    load_m5,
    long_frame,
)
from demandmatch.data.schema import QUANTILE_LEVELS
from demandmatch.evaluation.backtest import PIT_BAND
from demandmatch.evaluation.metrics import pinball, pit_coverage, wape, weighted_rmsse
from demandmatch.forecast.distributions import survival_from_quantiles

TRAIN_END = 1941  # days d_1 .. d_1941 are observed
HORIZON = 28
LEVELS = np.asarray(QUANTILE_LEVELS)
INTERVALS = (50, 80, 90)  # symmetric levels whose bounds are q25/q75, q10/q90, q05/q95
ADI_CUT = 1.32
# demandmatch settings chosen on the validation split (d_1914 .. d_1941), see --validate
DM_WINDOW = 728  # days of targets to learn from
DM_STEP = 28  # days between training origins
DM_PER_DAY = 0  # or: rows per target day at random days ahead
# rows of slow items (under 0.5 units a day over the 28 days to the origin: 40% of the rows,
# 3.5% of the units) kept at a quarter: a faster fit at the same accuracy
DM_THIN = (0.5, 0.25)  # (units a day, share kept)
# the config's model section for M5: daily series with no sold-out rows
DM_PARAMS = {
    "n_estimators": 150,
    "learning_rate": 0.15,
    "num_leaves": 31,
    # the held-out model grows at the final model's step, so its chosen cut is the final model's
    "holdout_rounds": 1.0,
    "min_child_samples": 50,
    "colsample_bytree": 0.5,
    # no sold-out rows and a dollar-weighted squared error: a near-Poisson working size weighs
    # the busy items fully
    "working_size": 1000.0,
    "fitted_size": False,
    # capped leaf steps keep a zero-mean row's huge Newton step from throwing its log mean out
    "max_delta_step": 0.7,
    # no per-item random effect: an item's level drifts over the years, and its lags carry it
    "effect_sd": 0.0,
}

STATS_METHODS = ("seasonal_naive", "auto_ets", "croston", "adida", "ets_croston")
ALL_METHODS = ("demandmatch", "mlforecast", *STATS_METHODS)


# ------------------------------------------------------------------------- helpers


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _quantiles_from_intervals(fc, ids: np.ndarray, alias: str) -> np.ndarray:
    """(n, h, 7) quantiles from a peer's forecast frame with <alias>-lo-/hi-<level> columns."""
    cols = [f"{alias}-lo-90", f"{alias}-lo-80", f"{alias}-lo-50", alias]
    cols += [f"{alias}-hi-50", f"{alias}-hi-80", f"{alias}-hi-90"]
    return np.stack([_wide(fc, ids, c) for c in cols], axis=-1)


def _wide(fc, ids: np.ndarray, col: str) -> np.ndarray:
    """A long forecast frame's column as (n, h), rows in the order of `ids`."""
    fc = fc.sort_values(["unique_id", "ds"])
    table = fc.pivot(index="unique_id", columns="ds", values=col)
    return table.reindex(ids).to_numpy(dtype=float)


def _adi(sales: np.ndarray) -> np.ndarray:
    """Mean interval between non-zero days since each item's first sale."""
    out = np.empty(len(sales))
    for k, row in enumerate(sales):
        nz = np.flatnonzero(row > 0)
        out[k] = (len(row) - nz[0]) / len(nz) if len(nz) else np.inf
    return out


# ------------------------------------------------------------------------- methods


def fit_demandmatch(
    m5: M5,
    model: str,
    params: dict,
    window: int,
    step: int,
    per_day: int = 0,
    thin: tuple[float, float] = NO_THINNING,
    seed: int = 0,
) -> dict:
    from demandmatch.config import load_config
    from demandmatch.forecast.stages import make_demand_model

    config = load_config(None, {"model": {"name": model, **params}, "seed": seed})
    est = make_demand_model(config)
    feats = DirectFeatures(m5)
    if per_day:  # the model's seed draws the thinned rows too
        i, o, h = feats.sampled_rows(window, per_day, thin=thin, seed=seed)
    else:
        i, o, h = feats.training_rows(window, step, thin=thin, seed=seed)
    X = feats.rows(i, o, h)
    y = feats.target(i, o, h)
    fit_kw = {"time": o + h} if est.learns_censoring else {}
    est.fit(X, y, **fit_kw)
    n = m5.n_series
    origin = m5.sales.shape[1] - 1
    ti = np.repeat(np.arange(n), HORIZON)
    th = np.tile(np.arange(1, HORIZON + 1), n)
    Xt = feats.rows(ti, np.full(len(ti), origin), th)
    mean = est.predict_mean(Xt).reshape(n, HORIZON)
    q = est.predict_quantiles(Xt).reshape(n, HORIZON, len(LEVELS))
    share = est.held_out_choices().get("model_round_share")
    return {
        "mean": mean,
        "quantiles": q,
        "quantile_source": f"{model} (own quantiles)",
        "notes": f"{len(y):,} training rows, {X.shape[1]} columns, model {params}"
        + (f", items under {thin[0]:g}/day kept at {thin[1]:.0%}" if thin[1] < 1 else "")
        + (f", {share:g} of the rounds grown" if share is not None else ""),
    }


def _mlforecast():
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    return MLForecast(
        models={"lgbm": lgb.LGBMRegressor(n_jobs=2, random_state=0, verbose=-1)},
        freq="D",
        lags=[7, 14, 28],
        lag_transforms={
            7: [RollingMean(window_size=7), RollingMean(window_size=28)],
            28: [RollingMean(window_size=7), RollingMean(window_size=28)],
        },
        date_features=["dayofweek", "month", "day"],
        num_threads=2,
    )


def fit_mlforecast(m5: M5) -> dict:
    df = long_frame(m5, m5.sales.shape[1])
    t0 = time.perf_counter()
    fc = _mlforecast().fit(df).predict(HORIZON)
    seconds = time.perf_counter() - t0
    mean = _wide(fc, m5.ids, "lgbm")
    from mlforecast.utils import PredictionIntervals

    t1 = time.perf_counter()
    mlf = _mlforecast().fit(df, prediction_intervals=PredictionIntervals(2, HORIZON))
    fc_q = mlf.predict(HORIZON, level=list(INTERVALS))
    q_seconds = time.perf_counter() - t1
    return {
        "mean": mean,
        "quantiles": _quantiles_from_intervals(fc_q, m5.ids, "lgbm"),
        "quantile_source": "conformal, 2x28-day windows",
        "seconds": seconds,
        "quantile_seconds": q_seconds,
        "notes": f"conformal-interval refit took {q_seconds:.1f} s more (not in its time)",
    }


def fit_stats(m5: M5, method: str) -> dict:
    from statsforecast import StatsForecast
    from statsforecast.models import ADIDA, AutoETS, CrostonOptimized, SeasonalNaive
    from statsforecast.utils import ConformalIntervals

    conformal = ConformalIntervals(h=HORIZON, n_windows=2)
    df = long_frame(m5, m5.sales.shape[1])
    level = list(INTERVALS)

    def run(model, alias: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        part = df[df["unique_id"].isin(set(ids))]
        sf = StatsForecast(models=[model], freq="D", n_jobs=2)
        fc = sf.forecast(h=HORIZON, df=part, level=level)
        return _wide(fc, ids, alias), _quantiles_from_intervals(fc, ids, alias)

    ids = m5.ids
    if method == "seasonal_naive":
        mean, q = run(SeasonalNaive(season_length=7), "SeasonalNaive", ids)
        source = "native intervals (residual normal)"
    elif method == "auto_ets":
        mean, q = run(AutoETS(season_length=7), "AutoETS", ids)
        source = "native intervals"
    elif method == "croston":
        mean, q = run(CrostonOptimized(prediction_intervals=conformal), "CrostonOptimized", ids)
        source = "conformal, 2x28-day windows"
    elif method == "adida":
        mean, q = run(ADIDA(prediction_intervals=conformal), "ADIDA", ids)
        source = "conformal, 2x28-day windows"
    elif method == "ets_croston":
        smooth = _adi(m5.sales) < ADI_CUT
        mean = np.empty((m5.n_series, HORIZON))
        q = np.empty((m5.n_series, HORIZON, len(LEVELS)))
        if smooth.any():
            mean[smooth], q[smooth] = run(AutoETS(season_length=7), "AutoETS", ids[smooth])
        if (~smooth).any():
            model = CrostonOptimized(prediction_intervals=conformal)
            mean[~smooth], q[~smooth] = run(model, "CrostonOptimized", ids[~smooth])
        source = f"ETS native / Croston conformal ({int(smooth.sum())} smooth items on ETS)"
    else:
        raise ValueError(method)
    return {"mean": mean, "quantiles": q, "quantile_source": source}


def run_method(method: str, data: str, n_series: int | None, opts: dict) -> dict:
    """In a fresh process: load, then time fit + predict of one method, with peak memory."""
    m5 = load_m5(data, n_series).head(opts.get("train_end", TRAIN_END))
    if method == "mlforecast":
        import lightgbm  # noqa: F401
        import mlforecast  # noqa: F401
    elif method in STATS_METHODS:
        import statsforecast  # noqa: F401
    else:
        import demandmatch.forecast.models.registry  # noqa: F401
    loaded = _rss_mb()
    t0 = time.perf_counter()
    if method == "demandmatch":
        out = fit_demandmatch(
            m5,
            opts["model"],
            opts["params"],
            opts["window"],
            opts["step"],
            opts["per_day"],
            opts["thin"],
            opts["seed"],
        )
    elif method == "mlforecast":
        out = fit_mlforecast(m5)
    else:
        out = fit_stats(m5, method)
    out.setdefault("seconds", time.perf_counter() - t0)
    out["peak_mb"] = _rss_mb()
    out["loaded_mb"] = loaded
    return out


def in_fresh_process(method: str, data: str, n_series: int | None, opts: dict) -> dict:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_method, method, data, n_series, opts).result()


# ------------------------------------------------------------------------- scoring


def score(m5: M5, end: int, out: dict) -> dict:
    history = m5.sales[:, :end]
    actual = m5.sales[:, end : end + HORIZON]
    mean = np.maximum(np.nan_to_num(out["mean"]), 0.0)
    w = level12_weights(m5, end)
    row = {
        "rmsse": weighted_rmsse(history, actual, mean, w),
        "wape": wape(actual.ravel(), mean.ravel()),
        "bias": float(mean.sum() / actual.sum() - 1.0),
    }
    q = out.get("quantiles")
    if q is not None and np.isfinite(q).all():
        q = np.sort(np.maximum(q, 0.0), axis=-1).reshape(-1, len(LEVELS))
        loss = pinball(actual.ravel(), q, LEVELS)
        row["pinball"] = float(loss.mean())
        inside = (actual.ravel() >= q[:, 1]) & (actual.ravel() <= q[:, 5])
        row["cover_10_90"] = float(inside.mean())
        # the randomised PIT's 10-90% band, of the distribution the quantiles make (as the
        # optimiser reads them): 0.8 when calibrated, where a day's count with its many zeros
        # falls inside an interval that includes its ends far more than 80% of the time
        surv = survival_from_quantiles(LEVELS, q)
        row["pit_10_90"] = float(np.mean(pit_coverage(surv, actual.ravel(), *PIT_BAND)))
    else:
        row["pinball"] = row["cover_10_90"] = row["pit_10_90"] = float("nan")
    return row


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'method':<16}{'RMSSE':>8}{'WAPE':>8}{'bias':>8}{'pinball':>9}{'cov80':>7}{'PIT80':>7}"
        f"{'fit+pred s':>11}{'peak MB':>9}{'data MB':>9}  quantiles"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['method']:<16}{r['rmsse']:>8.4f}{r['wape']:>8.4f}{r['bias']:>+8.3f}"
            f"{r['pinball']:>9.4f}{r['cover_10_90']:>7.3f}{r['pit_10_90']:>7.3f}"
            f"{r['seconds']:>11.1f}"
            f"{r['peak_mb']:>9.0f}{r['loaded_mb']:>9.0f}  {r['quantile_source']}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data",
        default=os.environ.get("DEMANDMATCH_M5_DIR"),
        help="the M5 subset folder (default: $DEMANDMATCH_M5_DIR)",
    )
    ap.add_argument("--quick", action="store_true", help="100 series, a fast check")
    ap.add_argument("--series", type=int, default=None, help="a seeded sample of this many")
    ap.add_argument("--model", default=ModelConfig().name, help="demand model name")
    ap.add_argument(
        "--param", action="append", default=[], help="a setting of the config's model section"
    )
    ap.add_argument("--seed", type=int, default=0, help="the model's seed")
    ap.add_argument("--window", type=int, default=DM_WINDOW, help="days of training targets")
    ap.add_argument("--step", type=int, default=DM_STEP, help="days between training origins")
    ap.add_argument(
        "--per-day",
        type=int,
        default=DM_PER_DAY,
        help="instead of origins every --step days: each target day this many times, from "
        "origins 1..28 days before it drawn at random (0: use --step)",
    )
    ap.add_argument(
        "--thin",
        type=lambda v: tuple(float(x) for x in v.split(",")),
        default=DM_THIN,
        help="BELOW,KEEP: keep rows of items selling under BELOW a day (28 days to the origin) "
        "with probability KEEP",
    )
    ap.add_argument(
        "--repeat", type=int, default=1, help="run each method this many times, median time"
    )
    ap.add_argument("--methods", nargs="+", default=list(ALL_METHODS), choices=ALL_METHODS)
    ap.add_argument(
        "--validate", action="store_true", help="score on d_1914..d_1941 (train to d_1913)"
    )
    args = ap.parse_args(argv)
    if not args.data:
        ap.error("give --data or set DEMANDMATCH_M5_DIR to the M5 subset folder")
    if args.repeat < 1:
        ap.error(f"--repeat must be at least 1: {args.repeat}")
    n_series = args.series or (100 if args.quick else None)
    params = dict(DM_PARAMS)
    for kv in args.param:
        key, _, value = kv.partition("=")
        params[key] = _parse(value)
    end = TRAIN_END - HORIZON if args.validate else TRAIN_END
    opts = {
        "model": args.model,
        "params": params,
        "window": args.window,
        "step": args.step,
        "per_day": args.per_day,
        "thin": args.thin,
        "seed": args.seed,
        "train_end": end,
    }
    m5 = load_m5(args.data, n_series)
    split = "validation d_1914..d_1941" if args.validate else "test d_1942..d_1969"
    print(
        f"M5 {m5.store_id[0]} {m5.dept_id[0]}: {m5.n_series} series, train d_1..d_{end}, "
        f"{split}; each method in a fresh process (cpus: {os.cpu_count()})",
        flush=True,
    )
    runs: dict[str, list[dict]] = {m: [] for m in args.methods}
    for rep in range(args.repeat):  # the methods take turns, so drift hits them alike
        for method in args.methods:
            t0 = time.perf_counter()
            runs[method].append(in_fresh_process(method, args.data, n_series, opts))
            took = time.perf_counter() - t0
            print(f"  {method} done in {took:.0f} s (run {rep + 1} of {args.repeat})", flush=True)
    rows, notes = [], []
    for method, outs in runs.items():
        out = dict(outs[0])  # the forecasts are the same in every run; the times are not
        for key in ("seconds", "quantile_seconds"):
            if key in out:
                out[key] = float(np.median([o[key] for o in outs]))
        out["peak_mb"] = max(o["peak_mb"] for o in outs)
        rows.append({"method": method, **score(m5, end, out), **out})
        if out.get("notes"):
            notes.append(f"{method}: {out['notes']}")
    print()
    if args.repeat > 1:
        print(f"seconds: the median of {args.repeat} runs; peak MB: the highest")
    print_table(rows)
    by = {r["method"]: r for r in rows}
    dm, ml, sn = by.get("demandmatch"), by.get("mlforecast"), by.get("seasonal_naive")
    print()
    if dm and ml:
        rmsse, secs = dm["rmsse"] / ml["rmsse"], dm["seconds"] / ml["seconds"]
        print(f"demandmatch / mlforecast RMSSE:     {rmsse:.3f}  (target < 1)")
        print(f"demandmatch / mlforecast time:      {secs:.2f}  (target <= 2)")
        if ml.get("quantile_seconds"):
            secs_q = dm["seconds"] / ml["quantile_seconds"]
            print(f"  ... / mlforecast with its intervals: {secs_q:.2f}  (both sides' quantiles)")
    if dm and sn:
        ratio = dm["rmsse"] / sn["rmsse"]
        print(f"demandmatch / seasonal naive RMSSE: {ratio:.3f}  (target <= 0.75)")
    for note in notes:
        print(f"  {note}")
    return 0


def _parse(value: str):
    if "," in value:  # a list, e.g. round_shares=0,0.5,1
        return tuple(_parse(v) for v in value.split(","))
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


if __name__ == "__main__":
    raise SystemExit(main())
