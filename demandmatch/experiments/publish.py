"""Where a comparison goes: an HTML file, and a run in MLflow holding it."""

from __future__ import annotations

import re
from pathlib import Path

import demandmatch.tracking_runs as tracking_runs

from .compare import Comparison
from .report import render_html

KIND_COMPARISON = "comparison"


def report_name(comp: Comparison) -> str:
    labels = [comp.baseline.label, *[s.label for s in comp.challengers]]
    text = f"compare-{comp.baseline.experiment}-" + "-vs-".join(labels)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:150] + ".html"


def write_report(comp: Comparison, folder: Path) -> Path:
    """The report written (whole or not at all) to FOLDER/compare-<experiment>-<sides>.html."""
    text = render_html(comp)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / report_name(comp)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def log_comparison(uri: str, comp: Comparison, report: Path) -> str:
    """A run in the baseline's experiment (nested under its parent when every side comes from
    the same parent run) with the report, the results table and each difference as metrics
    (`<side>.<metric>.diff`, `.low`, `.high`)."""
    parents = {
        str(p)
        for s in [comp.baseline, *comp.challengers]
        for p in s.runs[f"tags.{tracking_runs.PARENT_TAG}"]
    }
    parent = parents.pop() if len(parents) == 1 else None
    labels = [comp.baseline.label, *[s.label for s in comp.challengers]]
    tags = {
        "kind": KIND_COMPARISON,
        "experiment": comp.baseline.experiment,
        "sides": ", ".join(labels),
        "runs": " ".join(r for s in [comp.baseline, *comp.challengers] for r in s.run_ids),
    }
    name = "compare " + " vs ".join(labels)
    with tracking_runs.open_run(uri, comp.baseline.experiment, name, tags, parent) as run:
        run.log_file(report)
        run.log_table(comp.results, "comparison.parquet")
        if len(comp.breakdowns):
            run.log_table(comp.breakdowns, "breakdowns.parquet")
        metrics = {}
        for r in comp.results.to_dict("records"):
            for k in ("diff", "low", "high"):
                metrics[f"{r['side']}.{r['metric']}.{k}"] = r[k]
        run.log_metrics(metrics)
    return run.run_id
