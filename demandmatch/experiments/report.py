"""The comparison as a static, self-contained HTML page (inline SVG plots, no script, no CDN)
and as a rich table for the terminal.

Figures use matplotlib's object API (no pyplot, no global backend switch). Text from runs
(variant names, settings) is escaped by jinja2's autoescaping.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from jinja2 import Environment
from markupsafe import Markup
from rich.table import Table

from .compare import Comparison

VERDICT_STYLE = {"better": "green", "worse": "red", "differs": "yellow"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right;font-size:.9em}
td:first-child,th:first-child,td.l,th.l{text-align:left}
.better{color:#18794e;font-weight:600}.worse{color:#c62828;font-weight:600}
.noise{color:#777}.differs{color:#a66a00}
figure{display:inline-block;margin:0 1em 1em 0}.note{color:#555}
</style></head><body>
<h1>{{ title }}</h1>
<p class="note">Baseline <b>{{ baseline }}</b>; differences are challenger minus baseline,
with {{ conf }} block-bootstrap intervals (blocks: one stream at one origin; one merchant at one
origin for plans). A difference whose interval holds 0 is <span class="noise">within noise</span>.
Written {{ written }}.</p>
<ul>{% for n in notes %}<li class="note">{{ n }}</li>{% endfor %}</ul>
<h2>Settings that differ</h2>
{{ config_table }}
{% for s in sections %}
<h2>{{ s.side }} against {{ baseline }}</h2>
{{ s.table }}
{% for f in s.figures %}<figure>{{ f }}</figure>{% endfor %}
<h3>Breakdowns</h3>
{{ s.breakdowns }}
{% endfor %}
<h2>Calibration</h2>
<p class="note">Share of outcomes at or below each forecast quantile (rows that did not sell
out); dashed: its expectation under the true distributions, where known. A count's sits above
the diagonal even when calibrated.</p>
<figure>{{ calibration }}</figure>
<h2>Metrics</h2>
<table><tr><th>metric</th><th class="l">what it is</th></tr>
{% for m, d in labels %}<tr><td>{{ m }}</td><td class="l">{{ d }}</td></tr>{% endfor %}
</table>
</body></html>
"""


def _env() -> Environment:
    return Environment(autoescape=True)


def fmt(value: object, digits: int = 4) -> str:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _cls(verdict: str) -> str:
    return {"within noise": "noise"}.get(verdict, verdict.replace(" ", "-"))


def _html_table(frame: pd.DataFrame, verdict_col: str | None = "verdict") -> Markup:
    env = _env()
    tpl = env.from_string(
        "<table><tr>{% for c in cols %}<th>{{ c }}</th>{% endfor %}</tr>"
        "{% for r in rows %}<tr>{% for v, k in r %}<td class='{{ k }}'>{{ v }}</td>"
        "{% endfor %}</tr>{% endfor %}</table>"
    )
    rows = []
    for rec in frame.to_dict("records"):
        cls = _cls(str(rec.get(verdict_col, ""))) if verdict_col else ""
        rows.append([(fmt(v), cls if k == verdict_col else "") for k, v in rec.items()])
    return Markup(tpl.render(cols=list(frame.columns), rows=rows))


def results_view(results: pd.DataFrame, confidence: float) -> pd.DataFrame:
    pct = f"{confidence:.0%} interval"
    return pd.DataFrame(
        {
            "metric": results["metric"],
            "baseline": results["baseline_value"],
            "challenger": results["challenger_value"],
            "difference": results["diff"],
            pct: [
                f"[{fmt(lo)}, {fmt(hi)}]"
                for lo, hi in zip(results["low"], results["high"], strict=True)
            ],
            "DM p": results["dm_p"],
            "win rate": results.get("win_rate", np.nan),
            "blocks": results["n_blocks"],
            "verdict": results["verdict"],
        }
    )


def _svg(fig) -> Markup:
    """The figure as inline SVG (matplotlib escapes the text it draws)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return Markup(text[text.index("<svg") :])  # without the XML prolog and doctype


def _figure(width: float = 5.2, height: float = 3.0):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def origin_plot(by_origin: pd.DataFrame, metric: str, base: str, side: str) -> Markup:
    d = by_origin[by_origin["metric"] == metric]
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(d))
    ax.plot(x, d["baseline_value"], "o-", label=base)
    ax.plot(x, d["challenger_value"], "s-", label=side)
    ax.set_xticks(x, [str(g) for g in d["group"]], rotation=30, ha="right", fontsize=6)
    ax.set_title(f"{metric} by origin", fontsize=10)
    ax.legend(fontsize=8)
    return _svg(fig)


def difference_plot(results: pd.DataFrame, side: str) -> Markup:
    """Each metric's difference relative to the baseline's value, with its interval."""
    r = results[np.isfinite(results["low"])].reset_index(drop=True)
    scale = r["baseline_value"].abs().replace(0, np.nan)
    mid, lo, hi = (r[c] / scale for c in ("diff", "low", "high"))
    fig = _figure(5.2, 0.35 * len(r) + 1.0)
    ax = fig.add_subplot()
    y = np.arange(len(r))[::-1]
    colors = [{"better": "#18794e", "worse": "#c62828"}.get(v, "#777") for v in r["verdict"]]
    for yi, m, a, b, c in zip(y, mid, lo, hi, colors, strict=True):
        ax.errorbar(m, yi, xerr=[[m - a], [b - m]], fmt="none", ecolor=c, capsize=3)
    ax.scatter(mid, y, c=colors, zorder=3)
    ax.axvline(0, color="#999", lw=1)
    ax.set_yticks(y, r["metric"], fontsize=8)
    ax.set_xlabel(f"({side} - baseline) / baseline", fontsize=8)
    ax.set_title("difference with its interval", fontsize=10)
    return _svg(fig)


def calibration_plot(calib: pd.DataFrame) -> Markup:
    fig = _figure(4.2, 4.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#bbb", lw=1)
    for i, (side, d) in enumerate(calib.groupby("side", sort=False)):
        color = f"C{i}"
        ax.plot(d["level"], d["observed"], "o-", color=color, label=f"{side}")
        if "expected" in d and d["expected"].notna().all():
            ax.plot(d["level"], d["expected"], "--", color=color, label=f"{side} (truth)")
    ax.set_xlabel("quantile level", fontsize=8)
    ax.set_ylabel("share of outcomes at or below", fontsize=8)
    ax.legend(fontsize=7)
    return _svg(fig)


def render_html(comp: Comparison) -> str:
    base = comp.baseline.label
    sections = []
    for side in [s.label for s in comp.challengers]:
        res = comp.results[comp.results["side"] == side]
        figures = [difference_plot(res, side)]
        for metric in ("true_pinball", "pinball", "msse", "profit"):
            if metric in set(res["metric"]) and len(comp.by_origin):
                figures.append(
                    origin_plot(comp.by_origin[comp.by_origin["side"] == side], metric, base, side)
                )
        brk = comp.breakdowns
        brk = brk[brk["side"] == side] if len(brk) else brk
        brk_view = (
            pd.concat(
                [brk[["by", "group"]].reset_index(drop=True), results_view(brk, comp.confidence)],
                axis=1,
            ).drop(columns=["win rate"])
            if len(brk)
            else pd.DataFrame({"note": ["no breakdown has two groups"]})
        )
        sections.append(
            {
                "side": side,
                "table": _html_table(results_view(res, comp.confidence)),
                "figures": figures,
                "breakdowns": _html_table(brk_view),
            }
        )
    labels = comp.results.drop_duplicates("metric")[["metric", "label"]].itertuples(index=False)
    cfg = comp.config_diff
    return (
        _env()
        .from_string(PAGE)
        .render(
            title=f"{comp.baseline.experiment}: "
            + " vs ".join([base, *[s.label for s in comp.challengers]]),
            baseline=base,
            conf=f"{comp.confidence:.0%}",
            written=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            notes=comp.notes,
            config_table=_html_table(cfg, None) if len(cfg) else Markup("<p>none</p>"),
            sections=sections,
            calibration=calibration_plot(comp.calibration),
            labels=list(labels),
        )
    )


def rich_tables(comp: Comparison) -> list[Table]:
    out = []
    for side in [s.label for s in comp.challengers]:
        view = results_view(comp.results[comp.results["side"] == side], comp.confidence)
        t = Table(title=f"{side} - {comp.baseline.label} (paired, block bootstrap)")
        for col in view.columns:
            t.add_column(col, justify="left" if col in ("metric", "verdict") else "right")
        for rec in view.to_dict("records"):
            style = VERDICT_STYLE.get(str(rec["verdict"]), "dim")
            t.add_row(*[fmt(v) for v in rec.values()], style=style)
        out.append(t)
    if len(comp.config_diff):
        t = Table(title="settings that differ")
        for col in comp.config_diff.columns:
            t.add_column(str(col))
        for rec in comp.config_diff.to_dict("records"):
            t.add_row(*[str(v) for v in rec.values()])
        out.append(t)
    return out
