"""`demandmatch experiment run`: one MLflow parent run per experiment, one child per variant x
dataset x seed, each opened before its work so that its duration is real.

Each child logs its config (params `config.*`), its variant's settings, the dataset and backtest,
the config hash, git commit, data hash and package versions (tags and params), the forecast and
decision metrics (scores.py), per-row forecasts and scores as `rows.parquet`, per-SKU plan
outcomes as `plans.parquet`, and the last origin's fitted model with its config in `model/`
(what `promote` registers).

Resume: a re-run of the same file reopens the same parent run and skips every child already
FINISHED with the same key (a digest of its config, dataset, seed and backtest); `fresh=True`
starts a new parent instead.
"""

from __future__ import annotations

import json
import pickle
import platform
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

import demandmatch.tracking as tracking
import demandmatch.tracking_runs as tracking_runs

from .datasets import LoadedData, backtest_child, load_dataset
from .scores import add_row_scores, decision_metrics, forecast_metrics
from .spec import Child, Experiment, digest

PACKAGES = ("demandmatch", "lightgbm", "numpy", "pandas", "scipy", "ortools", "mlflow", "pyarrow")
KIND_PARENT, KIND_CHILD = "experiment", "experiment-child"
Say = Callable[[str], None]


def _silent(text: str) -> None:
    return None


@dataclass
class ChildResult:
    name: str
    run_id: str
    status: str  # done | skipped
    seconds: float = 0.0


@dataclass
class RunResult:
    parent_run_id: str
    children: list[ChildResult] = field(default_factory=list)


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state(project_dir: Path) -> dict[str, str]:
    """The commit checked out in `project_dir` and whether files differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(project_dir), *args], capture_output=True, text=True, timeout=20
        )
        if done.returncode != 0:
            raise OSError(done.stderr.strip())
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    return {"git_commit": commit, "git_dirty": str(dirty).lower()}


def child_key(exp: Experiment, child: Child) -> str:
    return digest(
        {
            "config": child.config.model_dump(mode="json"),
            "dataset": child.dataset.spec.model_dump(mode="json"),
            "dataset_name": child.dataset.name,
            "seed": child.seed,
            "backtest": exp.spec.backtest.model_dump(mode="json"),
        }
    )


def config_hash(child: Child) -> str:
    return digest({"config": child.config.model_dump(mode="json")})


def run_experiment(
    exp: Experiment,
    tracking_uri: str,
    cache_dir: Path,
    project_dir: Path,
    fresh: bool = False,
    say: Say = _silent,
    progress: Say = _silent,
) -> RunResult:
    """Run every child not already done; `say` gets a line per child, `progress` each step."""
    name = exp.spec.name
    parents = pd.DataFrame()
    if not fresh:
        parents = tracking.find_runs(
            tracking_uri, {"kind": KIND_PARENT, "spec_hash": exp.spec_hash}, [name]
        )
    resume = None if parents.empty else str(parents["run_id"].iloc[0])
    done = _finished_children(tracking_uri, name, resume)
    git = git_state(project_dir)
    tags = {"kind": KIND_PARENT, "experiment": name, "spec_hash": exp.spec_hash, **git}
    tags["question"] = exp.spec.question
    with tracking_runs.open_run(tracking_uri, name, name, tags, resume_run_id=resume) as parent:
        result = RunResult(parent.run_id)
        if resume is None:
            _log_parent(parent, exp)
        else:
            say(f"resuming run {resume}: {len(done)} children already done")
        loaded: dict[str, LoadedData] = {}
        children = exp.children
        for k, child in enumerate(children, 1):
            key = child_key(exp, child)
            head = f"[{k}/{len(children)}] {child.name}"
            if key in done:
                say(f"{head}: already done (run {done[key]}), skipped")
                result.children.append(ChildResult(child.name, done[key], "skipped"))
                continue
            say(f"{head}: running")
            res = _run_child(
                exp,
                child,
                key,
                git,
                parent.run_id,
                tracking_uri,
                cache_dir,
                loaded,
                lambda step, h=head: progress(f"{h}: {step}"),
            )
            say(f"{head}: done in {res.seconds:.0f} s (run {res.run_id})")
            result.children.append(res)
    return result


def _finished_children(tracking_uri: str, experiment: str, parent: str | None) -> dict[str, str]:
    if parent is None:
        return {}
    runs = tracking.find_runs(
        tracking_uri, {"kind": KIND_CHILD, tracking_runs.PARENT_TAG: parent}, [experiment]
    )
    runs = runs[runs["status"] == "FINISHED"]
    if runs.empty:
        return {}
    return dict(zip(runs["tags.child_key"], runs["run_id"], strict=True))


def _log_parent(parent: tracking_runs.RunHandle, exp: Experiment) -> None:
    spec = exp.spec
    parent.log_params(
        {
            "variants": exp.variant_names,
            "datasets": [d.name for d in exp.datasets],
            "seeds": spec.seeds,
            "backtest": spec.backtest.model_dump(mode="json"),
            "gate": spec.gate.model_dump(mode="json"),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "experiment.yaml"
        path.write_text(exp.text, encoding="utf-8")
        parent.log_file(path)


def _run_child(
    exp: Experiment,
    child: Child,
    key: str,
    git: dict[str, str],
    parent_id: str,
    tracking_uri: str,
    cache_dir: Path,
    loaded: dict[str, LoadedData],
    progress: Say,
) -> ChildResult:
    ds = child.dataset
    tags = {
        "kind": KIND_CHILD,
        "experiment": exp.spec.name,
        "variant": child.variant.name,
        "dataset": ds.name,
        "seed": child.seed,
        "child_key": key,
        "config_hash": config_hash(child),
        **git,
    }
    t0 = pd.Timestamp.now(tz="UTC")
    with tracking_runs.open_run(tracking_uri, exp.spec.name, child.name, tags, parent_id) as run:
        run.log_params(
            {
                "config": child.config.model_dump(mode="json"),
                "variant": {k: json.dumps(v) for k, v in child.variant.settings.items()},
                "dataset": {"name": ds.name, **ds.spec.model_dump(mode="json")},
                "backtest": exp.spec.backtest.model_dump(mode="json"),
                "versions": package_versions(),
            }
        )
        if ds.name not in loaded:
            progress("loading the data")
            loaded[ds.name] = load_dataset(ds, child.config.timezone, cache_dir)
        data = loaded[ds.name]
        run.set_tags({"data_hash": data.data_hash, "scenario": data.scenario})
        out = backtest_child(child, data, exp.spec.backtest, progress)
        progress("scoring and logging")
        ids = {
            "variant": child.variant.name,
            "dataset": ds.name,
            "scenario": data.scenario,
            "seed": child.seed,
        }
        rows = add_row_scores(out.rows).assign(**ids)
        metrics = {**forecast_metrics(rows), **out.metrics}
        metrics.update(decision_metrics(out.plans, out.decision_basis))
        metrics.update({f"seconds.{k}": v for k, v in out.timings.items()})
        run.log_metrics(metrics)
        run.set_tags({"decision_basis": out.decision_basis})
        run.log_table(rows, "rows.parquet")
        if not out.plans.empty:
            run.log_table(out.plans.assign(basis=out.decision_basis, **ids), "plans.parquet")
        _log_model(run, child, out.model, ds.name)
    seconds = (pd.Timestamp.now(tz="UTC") - t0).total_seconds()
    return ChildResult(child.name, run.run_id, "done", seconds)


def _log_model(run: tracking_runs.RunHandle, child: Child, model: object, dataset: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        (folder / "model.pkl").write_bytes(pickle.dumps(model))
        cfg = child.config.model_dump(mode="json")
        (folder / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        info = {"variant": child.variant.name, "dataset": dataset, "seed": child.seed}
        (folder / "info.json").write_text(json.dumps(info, indent=2))
        run.log_folder(folder, "model")
