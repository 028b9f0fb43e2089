""" "How this plan was made": the demand model's and the solver's work, in words a planner can
follow, at the end of the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from demandmatch.forecast.calibration import LEAD_SCALE_KEY

from .format import fmt_int, fmt_money, fmt_share, fmt_value, is_missing, label

_CHOICES = {
    "model_mean_scale": "every forecast was scaled by \u00d7{v:.2f} so that, on past streams "
    "held out of the fit, forecast and actual sales agree on average",
    "model_new_sku_scale": "forecasts for SKUs with no sales history were scaled by \u00d7{v:.2f}, "
    "for the same reason",
    "model_new_sku_spread_factor": "their ranges were widened by \u00d7{v:.2f}",
    "model_round_share": "the model kept {v:.0%} of its learning rounds, the amount that "
    "predicted the held-out streams best",
}


def model_words(summary: Mapping[str, object]) -> list[str]:
    """Paragraphs on the demand forecast."""
    n_train, n_cold = summary.get("n_train_rows"), summary.get("n_cold_start")
    out = [
        "For every upcoming stream and SKU the model forecasts the whole range of units that "
        "could be demanded if stock were unlimited, not only an average: the fans above show "
        "it. It learns from past streams: their sales, the short videos that promoted them, the "
        "streamer, the lineup, prices and the calendar, each as it was known some hours before "
        "the stream. Sales of a stream that sold out are treated as a floor of its demand."
    ]
    if not is_missing(n_train):
        out.append(
            f"This plan's model learned from {fmt_int(n_train)} examples: past stream items, "
            "each as it was seen at several times before its stream."
        )
    if not is_missing(n_cold) and summary.get("n_streams") is not None:
        out.append(
            f"{fmt_int(n_cold)} of the upcoming stream items are for a SKU or a streamer with no "
            "history yet; their forecasts lean on similar SKUs and streamers and their ranges "
            "are wider."
        )
    said = []
    for key, words in _CHOICES.items():
        v = summary.get(key)
        if isinstance(v, int | float) and not is_missing(v):
            said.append(words.format(v=float(v)))
    leads = {
        k.removeprefix(LEAD_SCALE_KEY).removesuffix("h"): float(v)
        for k, v in summary.items()
        if k.startswith(LEAD_SCALE_KEY) and isinstance(v, int | float) and not is_missing(v)
    }
    if leads:
        said.append(
            "forecasts made some hours ahead were scaled again by how far off that lead was on "
            "the held-out streams: "
            + ", ".join(f"\u00d7{v:.2f} at {h} hours" for h, v in leads.items())
        )
    other = [
        f"{label(k)}: {fmt_value(k, v)}"
        for k, v in summary.items()
        if k.startswith("model_")
        and k not in _CHOICES
        and k != "model_fallbacks"
        and not k.startswith(LEAD_SCALE_KEY)
    ]
    if said or other:
        out.append("Checked on held-out streams: " + "; ".join(said + other) + ".")
    fallbacks = [str(f) for f in summary.get("model_fallbacks") or []]  # type: ignore[union-attr]
    if fallbacks:
        out.append(
            "Where the history held too few streams to check a choice on, the model kept a "
            "cautious default: " + "; ".join(fallbacks) + "."
        )
    return out


def solver_words(summary: Mapping[str, object], stats: object | None) -> list[str]:
    """Paragraphs on how the order quantities were chosen and how close to the best they are."""
    solver = str(summary.get("solver") or getattr(stats, "solver", "") or "")
    status = str(summary.get("solver_status") or getattr(stats, "status", "") or "")
    gap = summary.get("solver_gap", getattr(stats, "gap", None))
    how = {
        "enumeration": "No budget or warehouse limit was tight, so each SKU was sized on its own.",
        "lagrangian": "Budgets and warehouse space were shared out between SKUs by putting a "
        "price on each yuan and litre, so that every SKU orders as long as a unit earns more "
        "than it costs plus the room it takes.",
    }.get(
        solver,
        "Budgets and warehouse space were shared out between SKUs by putting a price on each "
        f"yuan and litre, then a mixed-integer solver ({solver or 'MIP'}) settled the whole case "
        "packs and minimum orders exactly.",
    )
    if status == "OPTIMAL":
        quality = "The plan is proven to be the most profitable one under this forecast."
    elif status == "TIME_LIMIT":
        quality = (
            f"The solver reached its time limit; the plan is within {fmt_share(gap)} of the most "
            "profitable one under this forecast."
        )
    elif status:
        quality = (
            f"The plan is within {_small_share(gap)} of the most profitable one under this "
            "forecast (a proven bound)."
        )
    else:
        quality = ""
    secs = summary.get("solve_time_s", getattr(stats, "solve_time_s", None))
    took = f" It took {float(secs):.1f} s." if isinstance(secs, int | float) else ""  # type: ignore[arg-type]
    return [p for p in (how, quality + took) if p.strip()]


def limit_words(shadow: Sequence[Mapping[str, object]]) -> list[str]:
    """A sentence per merchant whose budget or space binds."""
    out = []
    for r in shadow:
        m = r.get("merchant_id")
        price = r.get("budget_shadow_price")
        if r.get("budget_binds") and not is_missing(price):
            out.append(
                f"Merchant {m}: the budget binds; one more yuan of budget would add about "
                f"{fmt_money(price)} of expected profit."
            )
        price = r.get("capacity_shadow_price")
        if r.get("capacity_binds") and not is_missing(price):
            out.append(
                f"Merchant {m}: the warehouse space binds; one more litre would add about "
                f"{fmt_money(price)} of expected profit."
            )
    return out


def _small_share(value: object) -> str:
    if not isinstance(value, int | float) or is_missing(value):
        return "\u2014"
    v = float(value)
    return "0.01%" if 0 < v < 1e-4 else fmt_share(v)
