"""`demandmatch experiment compare A B [C ...]`: find the runs, pair their rows, compare.

Each argument names a side: a child run id (one run), a parent run id or an experiment name
(every variant of its latest run: one side each), `experiment:variant`, or a variant name
(searched in every experiment; give `experiment:variant` when several hold it). The first
side is the baseline; every other is compared with it on the rows both scored: the same
dataset, origin, lead, stream and SKU (and model seed when both sides ran the same seeds;
otherwise each side's seeds are averaged per row first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import demandmatch.tracking as tracking
import demandmatch.tracking_runs as tracking_runs

from .engine import QUANTILE_COLUMNS, QUANTILE_LEVELS, coverage_negbin
from .paired import METRICS, Metric, bootstrap_weights, compare_metric, per_group
from .runner import KIND_CHILD, KIND_PARENT

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
ROW_KEYS = ["dataset", "origin", "lead", "stream_id", "sku_id"]
PLAN_KEYS = ["dataset", "origin", "merchant_id", "sku_id"]
BREAKDOWNS = {
    "segment": "cold_start",
    "category": "category",
    "lead": "lead",
    "scenario": "scenario",
}
BREAKDOWN_METRICS = ("true_pinball", "pinball", "msse", "profit")


@dataclass
class Side:
    label: str
    experiment: str
    runs: pd.DataFrame  # the child runs (as tracking.find_runs gives them)

    @property
    def run_ids(self) -> list[str]:
        return [str(r) for r in self.runs["run_id"]]

    @property
    def seeds(self) -> set[str]:
        return set(self.runs["tags.seed"].astype(str))

    def config(self) -> dict[str, str]:
        row = self.runs.iloc[0]
        return {
            k[len("params.") :]: str(v)
            for k, v in row.items()
            if k.startswith("params.config.")
            and pd.notna(v)
            and k not in ("params.config.seed",)
            and not k.startswith("params.config.tracking")
        }


@dataclass
class Comparison:
    baseline: Side
    challengers: list[Side]
    confidence: float
    results: pd.DataFrame  # per challenger and metric
    breakdowns: pd.DataFrame  # per challenger, breakdown, group and metric
    by_origin: pd.DataFrame  # per challenger, metric and origin: both sides' values
    calibration: pd.DataFrame  # per side and level: realised and expected (truth) coverage
    config_diff: pd.DataFrame  # settings that differ between the sides
    notes: list[str] = field(default_factory=list)


def resolve_sides(uri: str, items: list[str], experiment: str | None = None) -> list[Side]:
    sides: list[Side] = []
    for item in items:
        sides.extend(_resolve(uri, item, experiment))
    labels = [s.label for s in sides]
    if len(set(labels)) != len(labels):  # the same variant name in two experiments
        for s in sides:
            s.label = f"{s.experiment}:{s.label}"
    if len(sides) < 2:
        raise ValueError(f"{items} name {len(sides)} side(s); a comparison needs two or more")
    return sides


def _resolve(uri: str, item: str, experiment: str | None) -> list[Side]:
    if RUN_ID.match(item):
        try:
            run = tracking_runs.get_run(uri, item)
        except KeyError as err:
            raise ValueError(str(err)) from err
        exp_name = str(run.get("tags.experiment", run["experiment_id"]))
        if run.get("tags.kind") == KIND_PARENT:
            return _variants_of(uri, exp_name, item)
        if run.get("tags.kind") != KIND_CHILD:
            raise ValueError(
                f"run {item} is not a run of an experiment (kind {run.get('tags.kind')})"
            )
        return [Side(str(run["tags.variant"]), exp_name, pd.DataFrame([run]))]
    if ":" in item:
        exp_name, variant = item.split(":", 1)
        return [_variant(uri, exp_name, variant)]
    parents = tracking.find_runs(uri, {"kind": KIND_PARENT}, [item])
    if not parents.empty:
        return _variants_of(uri, item, str(parents["run_id"].iloc[0]))
    scope = [experiment] if experiment else None
    found = tracking.find_runs(uri, {"kind": KIND_CHILD, "variant": item}, scope)
    if found.empty:
        raise ValueError(f"no experiment, variant or run named {item!r} in {uri}")
    exps = sorted(set(found["tags.experiment"]))
    if len(exps) > 1:
        raise ValueError(f"variant {item!r} is in experiments {exps}: write EXPERIMENT:{item}")
    return [_variant(uri, exps[0], item)]


def _children(uri: str, exp_name: str, parent: str) -> pd.DataFrame:
    runs = tracking.find_runs(
        uri, {"kind": KIND_CHILD, tracking_runs.PARENT_TAG: parent}, [exp_name]
    )
    return runs[runs["status"] == "FINISHED"]


def _variants_of(uri: str, exp_name: str, parent: str) -> list[Side]:
    runs = _children(uri, exp_name, parent).sort_values("start_time")
    if runs.empty:
        raise ValueError(f"experiment {exp_name!r} (run {parent}) has no finished child run")
    order = list(dict.fromkeys(runs["tags.variant"]))
    return [Side(v, exp_name, runs[runs["tags.variant"] == v]) for v in order]


def _variant(uri: str, exp_name: str, variant: str) -> Side:
    parents = tracking.find_runs(uri, {"kind": KIND_PARENT}, [exp_name])
    for parent in parents["run_id"]:
        runs = _children(uri, exp_name, str(parent))
        runs = runs[runs["tags.variant"] == variant]
        if not runs.empty:
            return Side(variant, exp_name, runs)
    raise ValueError(f"no finished run of variant {variant!r} in experiment {exp_name!r}")


def load_side(uri: str, side: Side) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, plans) of every run of the side."""
    rows, plans = [], []
    for run_id, basis in zip(side.run_ids, side.runs["tags.decision_basis"], strict=True):
        rows.append(tracking_runs.read_table(uri, run_id, "rows.parquet"))
        if basis in ("truth", "realised"):  # daily data has no plan: forecast metrics only
            plans.append(tracking_runs.read_table(uri, run_id, "plans.parquet"))
    return pd.concat(rows, ignore_index=True), (
        pd.concat(plans, ignore_index=True) if plans else pd.DataFrame()
    )


def pair_tables(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows both sides scored, side columns suffixed _a (baseline) and _b; with the model
    seed in the key when both sides ran the same seeds, else each side averaged per key."""
    same_seeds = set(a["seed"]) == set(b["seed"])
    keys = keys + (["seed"] if same_seeds else [])
    a, b = _one_per_key(a, keys), _one_per_key(b, keys)
    merged = a.merge(b, on=keys, suffixes=("_a", "_b"), how="inner")
    if merged.empty:
        raise ValueError("the runs share no scored rows (different data, origins or leads?)")
    if "units_sold_a" in merged:
        ya, yb = merged["units_sold_a"].to_numpy(float), merged["units_sold_b"].to_numpy(float)
        if not np.allclose(ya, yb, equal_nan=True):
            bad = int((~np.isclose(ya, yb, equal_nan=True)).sum())
            raise ValueError(f"{bad} paired rows have different outcomes: not the same data")
    return merged


def _one_per_key(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if not frame.duplicated(keys).any():
        return frame
    num = [c for c in frame.columns if c not in keys and pd.api.types.is_numeric_dtype(frame[c])]
    num = [c for c in num if not pd.api.types.is_bool_dtype(frame[c])]
    other = [c for c in frame.columns if c not in keys and c not in num]
    agg = {**{c: "mean" for c in num}, **{c: "first" for c in other}}
    return frame.groupby(keys, as_index=False, sort=False).agg(agg)


def compare_pair(
    rows: pd.DataFrame,
    plans: pd.DataFrame | None,
    confidence: float = 0.95,
    reps: int = 2000,
    seed: int = 0,
    metrics: list[str] | None = None,
    breakdowns: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(results, breakdowns, by_origin) of paired rows and paired plans (pair_tables)."""
    rng = np.random.default_rng(seed)
    results, parts, origin_rows = [], [], []
    for table, frame in (("rows", rows), ("plans", plans)):
        if frame is None or frame.empty:
            continue
        chosen = [
            m
            for m in METRICS.values()
            if m.table == table
            and (metrics is None or m.name in metrics)
            and all(f"{c}_a" in frame and frame[f"{c}_a"].notna().any() for c in m.needs)
        ]
        if not chosen:
            continue
        codes, order = _blocks(frame, table)
        weights = bootstrap_weights(int(codes.max()) + 1, reps, rng)
        for m in chosen:
            res = compare_metric(frame, m, codes, order, weights, confidence)
            wins = per_group(frame, m, _origin_key(frame))
            wins["metric"] = m.name
            origin_rows.append(wins)
            win_rate = wins["win"].dropna().mean() if wins["win"].notna().any() else np.nan
            results.append({**res.__dict__, "win_rate": win_rate, "label": m.label})
        if breakdowns:
            parts.append(_breakdowns(frame, table, chosen, confidence, rng))
    return (
        pd.DataFrame(results),
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(),
        pd.concat(origin_rows, ignore_index=True) if origin_rows else pd.DataFrame(),
    )


def _origin_key(frame: pd.DataFrame) -> pd.Series:
    """One origin of one dataset (the unit of the win rate)."""
    origin = frame["origin"].astype(str).str[:16]
    if frame["dataset"].nunique() > 1:
        return frame["dataset"].astype(str) + " " + origin
    return origin


def _blocks(frame: pd.DataFrame, table: str) -> tuple[np.ndarray, np.ndarray]:
    """Block of each row (one stream at one origin of one dataset; one merchant at one origin
    for plans) and the blocks in time order."""
    unit = "stream_id" if table == "rows" else "merchant_id"
    key = frame[["dataset", "origin", unit]].astype(str).agg("|".join, axis=1)
    codes, uniques = pd.factorize(key)
    when = pd.Series(frame["origin"].astype(str).to_numpy()).groupby(codes).first()
    if "start_time_a" in frame:
        when = when + pd.Series(frame["start_time_a"].astype(str).to_numpy()).groupby(codes).min()
    return codes, np.argsort(when.to_numpy(), kind="stable")


def _breakdowns(
    frame: pd.DataFrame, table: str, chosen: list[Metric], confidence: float, rng
) -> pd.DataFrame:
    out = []
    for by, col in BREAKDOWNS.items():
        source = col if col in frame else f"{col}_a"
        if source not in frame:
            continue
        values = frame[source]
        if by == "segment":
            values = values.map({True: "cold", False: "warm"})
        if values.nunique() < 2:
            continue
        for group, idx in frame.groupby(values.to_numpy(), sort=True).indices.items():
            part = frame.iloc[idx].reset_index(drop=True)
            codes, order = _blocks(part, table)
            weights = bootstrap_weights(int(codes.max()) + 1, 1000, rng)
            for m in chosen:
                if m.name not in BREAKDOWN_METRICS:
                    continue
                res = compare_metric(part, m, codes, order, weights, confidence)
                out.append({"by": by, "group": str(group), **res.__dict__})
    return pd.DataFrame(out)


def calibration(rows: pd.DataFrame, suffix: str) -> pd.DataFrame:
    """Per quantile level: the share of observed outcomes at or below the forecast quantile,
    and with the truth its expectation over every row (a count's sits above the level)."""
    obs = rows[f"obs{suffix}"].to_numpy(bool)
    y = rows[f"units_sold{suffix}"].to_numpy(float)
    out = []
    for level, col in zip(QUANTILE_LEVELS, QUANTILE_COLUMNS, strict=True):
        q = rows[f"{col}{suffix}"].to_numpy(float)
        rec = {
            "level": level,
            "observed": float((y[obs] <= q[obs]).mean()) if obs.any() else np.nan,
        }
        if f"true_mean{suffix}" in rows and rows[f"true_mean{suffix}"].notna().all():
            mu, size = rows[f"true_mean{suffix}"].to_numpy(), rows[f"true_size{suffix}"].to_numpy()
            rec["expected"] = float(coverage_negbin(np.zeros(len(q)), q, mu, size).mean())
        out.append(rec)
    return pd.DataFrame(out)


def compare_sides(
    uri: str, sides: list[Side], confidence: float = 0.95, reps: int = 2000, seed: int = 0
) -> Comparison:
    base, others = sides[0], sides[1:]
    base_rows, base_plans = load_side(uri, base)
    results, parts, origins, calib, notes = [], [], [], [], []
    for side in others:
        rows, plans = load_side(uri, side)
        pr = pair_tables(base_rows, rows, ROW_KEYS)
        pp = pair_tables(base_plans, plans, PLAN_KEYS) if len(base_plans) and len(plans) else None
        res, brk, org = compare_pair(pr, pp, confidence, reps, seed)
        for frame in (res, brk, org):
            frame.insert(0, "side", side.label)
        results.append(res)
        parts.append(brk)
        origins.append(org)
        if side is others[0]:
            calib.append(calibration(pr, "_a").assign(side=base.label))
        calib.append(calibration(pr, "_b").assign(side=side.label))
        notes.append(
            f"{side.label} against {base.label}: {len(pr):,} paired forecast rows "
            f"(of {len(base_rows):,} and {len(rows):,})"
            + ("" if pp is None else f", {len(pp):,} paired plan rows")
        )
        if set(base.seeds) != set(side.seeds):
            notes.append(f"{side.label} ran other model seeds: each side averaged per row")
        if pp is not None and (pp["basis_a"] == "realised").any():
            share = pp["lower_bound_a"].astype(bool).mean()
            notes.append(
                f"profit replayed on realised sales: a sold-out stream's demand is only known to "
                f"be at least its sales, so {share:.0%} of the baseline's SKU rows are lower bounds"
            )
    return Comparison(
        base,
        others,
        confidence,
        pd.concat(results, ignore_index=True),
        pd.concat(parts, ignore_index=True),
        pd.concat(origins, ignore_index=True),
        pd.concat(calib, ignore_index=True),
        config_diff(sides),
        notes,
    )


def config_diff(sides: list[Side]) -> pd.DataFrame:
    """Config settings whose values differ between the sides; one column each."""
    configs = [s.config() for s in sides]
    keys = sorted(set().union(*configs))
    rows = [
        {"setting": k, **{s.label: c.get(k, "-") for s, c in zip(sides, configs, strict=True)}}
        for k in keys
        if len({c.get(k, "-") for c in configs}) > 1
    ]
    return pd.DataFrame(rows, columns=["setting", *[s.label for s in sides]])
