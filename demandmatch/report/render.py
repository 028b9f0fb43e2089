"""The plan as a self-contained HTML page for a planner: what to order, why, and the forecasts.

Tables are formatted here into plain strings and laid out by a jinja2 template with
autoescaping on, so no catalog text (titles, ids) can inject markup. Figures are drawn with
matplotlib's object API (no pyplot, no global backend switch) and embedded as base64 PNG, so the
page needs no network and no other file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined

from demandmatch.optimise.flags import explain_flag, split_flags

from .fans import fans
from .format import fmt_text
from .tables import headline, merchant_sections, stream_sections


def render_report(
    plan: pd.DataFrame,
    allocation: pd.DataFrame,
    forecasts: pd.DataFrame,
    lineup: pd.DataFrame,
    summary: dict[str, object],
    out_path: Path,
    max_fans: int = 12,
) -> Path:
    """Write the plan report to `out_path` (one HTML file, no external assets) and return it."""
    cards, extra_tables = headline(summary)
    empty = plan.empty
    flags_present = sorted(
        {f for v in plan.get("flags", pd.Series(dtype=object)) for f in split_flags(v)}
    )
    html = (
        _environment()
        .get_template("report.html")
        .render(
            cards=cards,
            extra_tables=extra_tables,
            empty=empty,
            as_of=fmt_text(summary.get("as_of")),
            horizon=fmt_text(summary.get("horizon_days")),
            merchants=[] if empty else merchant_sections(plan, lineup),
            streams=[] if empty else stream_sections(allocation, forecasts, lineup),
            fans=[] if empty else fans(forecasts, allocation, lineup, plan, max_fans),
            flags=[(f, explain_flag(f)) for f in flags_present],
        )
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("demandmatch.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
