"""The champion: a variant's config and fitted model in the MLflow Model Registry under an
alias, promoted only through the experiment's gate (or by force, with a reason), with every
move of the alias kept (who, when, from which run, why).

`champion_config` is what `demandmatch forecast --champion` (and so `make forecast`) reads.
"""

from __future__ import annotations

import getpass
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import yaml

import demandmatch.tracking as tracking
import demandmatch.tracking_registry as tracking_registry
import demandmatch.tracking_runs as tracking_runs

from .compare import PLAN_KEYS, ROW_KEYS, Side, compare_pair, load_side, pair_tables
from .engine import Config
from .runner import KIND_CHILD
from .spec import Gate

MODEL_NAME = "demandmatch-demand"
CHAMPION = "champion"


class GateRefused(ValueError):
    """The challenger did not pass the experiment's gate (and no --force was given)."""


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]
    results: pd.DataFrame  # the challenger's comparison with the baseline

    def summary(self) -> str:
        return ("passed: " if self.passed else "failed: ") + "; ".join(self.reasons)


def gate_check(results: pd.DataFrame, gate: Gate) -> GateResult:
    """Whether the comparison `results` (compare_pair's, challenger against baseline, at the
    gate's confidence) passes: the gate's metric better, and with profit_not_worse the plan
    profit not worse (too few blocks to tell counts as not shown)."""
    reasons, passed = [], True
    by = results.set_index("metric") if len(results) else pd.DataFrame()
    pct = f"{gate.confidence:.0%}"
    if gate.metric not in by.index:
        return GateResult(False, [f"{gate.metric} was not measured on these runs"], results)
    r = by.loc[gate.metric]
    ok = r["verdict"] == "better"
    passed &= ok
    reasons.append(
        f"{gate.metric} {r['diff']:+.4g} [{r['low']:.4g}, {r['high']:.4g}] ({r['verdict']}): "
        + ("better" if ok else "not better")
        + f" with {pct} confidence"
    )
    if gate.profit_not_worse:
        if "profit" not in by.index:
            passed = False
            reasons.append("no plan profit was measured (daily data has no plan)")
        else:
            p = by.loc["profit"]
            ok = p["verdict"] in ("better", "within noise")
            passed &= ok
            reasons.append(
                f"profit {p['diff']:+.4g} [{p['low']:.4g}, {p['high']:.4g}] ({p['verdict']}): "
                + ("not worse" if ok else "cannot be shown not worse")
            )
    return GateResult(bool(passed), reasons, results)


def gate_for_run(uri: str, run: dict[str, object]) -> tuple[GateResult | None, str, str]:
    """(gate result or None when the run is the baseline itself, baseline, challenger) of a
    child run: its variant against the gate's baseline in the same parent run."""
    parent = str(run[f"tags.{tracking_runs.PARENT_TAG}"])
    experiment = str(run["tags.experiment"])
    with tempfile.TemporaryDirectory() as tmp:
        path = tracking_runs.download_artifact(uri, parent, "experiment.yaml", Path(tmp))
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    gate = Gate.model_validate(raw.get("gate") or {})
    runs = tracking.find_runs(
        uri, {"kind": KIND_CHILD, tracking_runs.PARENT_TAG: parent}, [experiment]
    )
    runs = runs[runs["status"] == "FINISHED"].sort_values("start_time")
    variants = list(dict.fromkeys(runs["tags.variant"]))
    baseline = gate.baseline or variants[0]
    challenger = str(run["tags.variant"])
    if baseline not in variants:
        raise ValueError(f"the gate's baseline {baseline!r} has no finished run in {parent}")
    if challenger == baseline:
        return None, baseline, challenger
    sides = [Side(v, experiment, runs[runs["tags.variant"] == v]) for v in (baseline, challenger)]
    (ra, pa), (rb, pb) = (load_side(uri, s) for s in sides)
    rows = pair_tables(ra, rb, ROW_KEYS)
    plans = pair_tables(pa, pb, PLAN_KEYS) if len(pa) and len(pb) else None
    metrics = [gate.metric, "profit"]
    results, _, _ = compare_pair(rows, plans, gate.confidence, metrics=metrics, breakdowns=False)
    return gate_check(results, gate), baseline, challenger


def promote(
    uri: str,
    run_id: str,
    alias: str = CHAMPION,
    force: bool = False,
    reason: str | None = None,
    model: str = MODEL_NAME,
) -> dict[str, object]:
    """Register the child run's model folder as a new version and point `alias` at it, if the
    gate passes or `force` is given with a reason. Returns the move's record."""
    try:
        run = tracking_runs.get_run(uri, run_id)
    except KeyError as err:
        raise ValueError(str(err)) from err
    if run.get("tags.kind") != KIND_CHILD or run.get("status") != "FINISHED":
        raise ValueError(f"run {run_id} is not a finished child run of an experiment")
    if force and not (reason or "").strip():
        raise ValueError("--force needs --reason: why the gate is overridden is kept")
    result, baseline, challenger = gate_for_run(uri, run)
    gate_text = (
        f"{challenger} is the gate's baseline: nothing to compare it with"
        if result is None
        else f"{challenger} against {baseline}: {result.summary()}"
    )
    if not force and (result is None or not result.passed):
        raise GateRefused(f"gate refused {run_id}: {gate_text}")
    record = {
        "who": getpass.getuser(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
        "experiment": run["tags.experiment"],
        "variant": challenger,
        "reason": (reason or "").strip() or "passed the gate",
        "forced": str(bool(force)).lower(),
        "gate": gate_text,
    }
    version = tracking_registry.register_version(uri, model, run_id, "model", record)
    previous = tracking_registry.move_alias(uri, model, alias, version, record)
    return {**record, "model": model, "alias": alias, "version": version, "previous": previous}


def champion_config(
    tracking_uri: str, model: str = MODEL_NAME, alias: str = CHAMPION
) -> tuple[Config | None, str]:
    """(the champion's config, a sentence saying which it is), or (None, why there is none)."""
    try:
        found = tracking_registry.alias_version(tracking_uri, model, alias)
    except Exception as err:  # an unreachable store must not stop a forecast
        return None, f"no {alias} (tracking store unavailable: {err})"
    if found is None:
        return None, f"no {alias} registered as {model} in {tracking_uri}"
    tags = found["tags"]
    assert isinstance(tags, dict)
    with tempfile.TemporaryDirectory() as tmp:
        folder = tracking_registry.download_version(tracking_uri, str(found["source"]), Path(tmp))
        data = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    config = Config.model_validate(data)
    text = (
        f"{alias} {model} v{found['version']}: variant {tags.get('variant')} of experiment "
        f"{tags.get('experiment')} (run {found['run_id']}), promoted {tags.get('when')} by "
        f"{tags.get('who')}: {tags.get('reason')}"
    )
    return config, text


def history(tracking_uri: str, model: str = MODEL_NAME, alias: str | None = None) -> pd.DataFrame:
    """Every move of the model's aliases, oldest first: alias, from, to, who, when, run, why."""
    runs = tracking_registry.alias_history(tracking_uri, model, alias)
    cols = {
        "tags.alias": "alias",
        "tags.previous_version": "from",
        "tags.version": "to",
        "tags.who": "who",
        "tags.when": "when",
        "tags.run_id": "run",
        "tags.variant": "variant",
        "tags.forced": "forced",
        "tags.reason": "reason",
        "tags.gate": "gate",
    }
    return runs.reindex(columns=list(cols)).rename(columns=cols).fillna("")


def describe(record: dict[str, object]) -> str:
    return json.dumps(record, indent=2, default=str)
