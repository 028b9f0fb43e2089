"""The engine scored on the world zoo: forecasts and the decisions made on them, per world,
against references that know the world's truth, with and without budgets that bind.

Per world (a scenario at a seed, read back through the data contract):

- forecast: exact expected pinball loss under the true distribution against that of the
  hype-blind forecaster (knows everything but each stream's hidden hype, integrated out over the
  world's own hype law, its scenario.json "hype") and of the truth itself; q10-q90 coverage
  under the truth minus the truth's own; bias of the mean; the same pinball and bias on the
  rows of SKUs new to streams; pinball against the hype-blind forecaster's and the share of
  the loss on the rows whose stream had a video by the as-of time, the seen rows without one
  and the new SKUs' or streamers' without one (ROW_GROUPS); what reading the videos could
  give at most (the video-horizon forecaster, which knows the hype of every stream with a
  video, and the forecast with those rows read exactly); on new SKUs, the no-history
  reference (the truth with a new SKU's own popularity and a new streamer's skill unknown);
- decisions: the plan made on the forecast, the oracle plan (made on the true distribution),
  the hype-blind and video-horizon plans (made on those references' distributions), the point
  plan (made as if demand were each row's median, so it orders the sum of medians)
  and the naive rule (1.2 x mean past sales), each scored under the truth: expected profit,
  the cost of the expected leftover (waste) and the fill rate; and any broken case pack, MOQ,
  budget or space rule of the plans the optimiser made. Twice: with no budget ("free") and
  with every merchant's budget at a share of what its free oracle plan spends ("budget").

`world_figures` gives one world's figures (one flat dict); `zoo_table` their means per scenario
and the worst scenario of each figure.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from demandmatch.config import Config
from demandmatch.data import load_tables
from demandmatch.data.schema import QUANTILE_COLUMNS, QUANTILE_LEVELS
from demandmatch.data.tables import Tables
from demandmatch.forecast.distributions import (
    quantiles_negbin,
    quantiles_negbin_mixed,
    survival_negbin,
)
from demandmatch.forecast.stages import DemandForecast
from demandmatch.optimise import OptimiserSettings, PlanResult, plan_orders
from demandmatch.simulate import Scenario, load_scenario, load_truth, simulate_world, write_world

from .metrics import bias, coverage_negbin, expected_pinball_negbin
from .oracles import blind_mean, cold_prior, has_video, hype_blind, hype_blind_mean
from .plans import binding_budgets, broken_rules, naive_plan, point_survival, score_plan

LEVELS = np.array(QUANTILE_LEVELS)
BUDGET_SHARE = 0.5  # binding budgets: this share of each merchant's free oracle plan's spend
VARIANTS = ("free", "budget")
# made by the optimiser (the naive rule is not): on the forecast, the truth, the hype-blind
# forecaster's distribution (what a plan blind to the hype can reach), the video-horizon
# forecaster's (the truth where the stream had a video by the as-of time, hype-blind elsewhere:
# what a plan that read the videos perfectly could reach) and the median for sure
PLANS = ("engine", "oracle", "blind", "horizon", "point")


@dataclass(frozen=True)
class ZooWorld:
    """A world as the engine reads it (its data directory through the contract's loader), with
    its truth and the scenario its scenario.json records."""

    tables: Tables
    truth: pd.DataFrame
    scenario: Scenario


def load_world(seed: int, size: str, scenario: str, timezone: str) -> ZooWorld:
    """Simulate a world, write it and read it back as a user's data would be read."""
    with tempfile.TemporaryDirectory() as tmp:
        data = write_world(simulate_world(seed, size, scenario), Path(tmp))
        return ZooWorld(load_tables(data, timezone), load_truth(Path(tmp)), load_scenario(tmp))


def truth_rows(fc: DemandForecast, truth: pd.DataFrame) -> pd.DataFrame:
    """The truth of each forecast row, in the forecast's order, with the row's streamer and
    category from the lineup (the no-history reference pools streamers by category)."""
    keys = fc.forecasts[["stream_id", "sku_id"]]
    t = keys.merge(truth, on=["stream_id", "sku_id"], how="left", validate="one_to_one")
    if t["mean"].isna().any():
        raise ValueError("the truth lacks some forecast rows")
    for c in ("streamer_id", "category"):
        if c not in t:
            t[c] = fc.lineup[c].to_numpy()
    return t


def forecast_figures(
    fc: DemandForecast,
    t: pd.DataFrame,
    hype: Sequence[tuple[float, float]],
    blind_q: np.ndarray | None = None,
    video: np.ndarray | None = None,
) -> dict[str, float]:
    """Exact scores of the forecast under the truth `t` (truth_rows), against the truth's own
    and the hype-blind forecaster's (integrated over `hype`; `blind_q` its quantiles when
    already made), on every row and on new SKUs. With `video` (whether each row's stream had
    a short video by the as-of time), pinball against the hype-blind forecaster's and the
    share of the forecast's loss in each of ROW_GROUPS."""
    mu, size = t["mean"].to_numpy(), t["size"].to_numpy()
    q = fc.forecasts[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    mean = fc.forecasts["mean"].to_numpy(dtype=float)
    q_true = quantiles_negbin(mu, size, LEVELS)
    q_blind = hype_blind(t, tuple(hype))[1] if blind_q is None else blind_q
    loss = expected_pinball_negbin(q, LEVELS, mu, size).mean(axis=1)
    oracle = expected_pinball_negbin(q_true, LEVELS, mu, size).mean(axis=1)
    blind = expected_pinball_negbin(q_blind, LEVELS, mu, size).mean(axis=1)
    cover = coverage_negbin(q[:, 1], q[:, -2], mu, size).mean()
    cover_true = coverage_negbin(q_true[:, 1], q_true[:, -2], mu, size).mean()
    new = fc.lineup["cold_sku"].to_numpy(dtype=bool)
    out = {
        "rows": float(len(t)),
        "pinball_vs_blind": float(loss.mean() / blind.mean()),
        "pinball_vs_oracle": float(loss.mean() / oracle.mean()),
        "blind_vs_oracle": float(blind.mean() / oracle.mean()),
        "coverage_gap": float(cover - cover_true),
        "bias": bias(mu, mean),
        # what the horizon's hype alone does to the mean of a forecast blind to it
        "blind_bias": bias(mu, hype_blind_mean(t, tuple(hype))),
        "new_rows": float(new.sum()),
        "new_pinball_vs_oracle": np.nan,
        "new_bias": np.nan,
    }
    if new.any():
        out["new_pinball_vs_oracle"] = float(loss[new].mean() / oracle[new].mean())
        out["new_bias"] = bias(mu[new], mean[new])
        # the no-history reference on the same rows: what a forecast that knows every level
        # but the new SKU's own popularity and the new streamer's skill can reach
        cold_host = fc.lineup["cold_streamer"].to_numpy(dtype=bool)
        hidden, center, sd = (a[new] for a in cold_prior(t, new, cold_host))
        t_new = t[new].reset_index(drop=True)
        ref_mean = blind_mean(t_new, hidden, center, sd)
        q_ref = quantiles_negbin_mixed(ref_mean, size[new], sd, LEVELS)
        ref = expected_pinball_negbin(q_ref, LEVELS, mu[new], size[new]).mean(axis=1)
        out["new_nohistory_pinball_vs_oracle"] = float(ref.mean() / oracle[new].mean())
        out["new_nohistory_bias"] = bias(mu[new], ref_mean)
    if video is not None:
        cold = fc.forecasts["cold_start"].to_numpy(dtype=bool)  # a new SKU or streamer
        groups = {"video": video, "seen": ~video & ~cold, "cold": ~video & cold}
        for name in ROW_GROUPS:
            rows = groups[name]
            out[f"{name}_pinball_vs_blind"] = (
                float(loss[rows].sum() / blind[rows].sum()) if rows.any() else np.nan
            )
            out[f"{name}_loss_share"] = float(loss[rows].sum() / loss.sum())
        # reading the videos perfectly: the video-horizon forecaster (the truth on the rows
        # with a video, hype-blind elsewhere), and this forecast with those rows read exactly
        out["horizon_vs_blind"] = float(np.where(video, oracle, blind).sum() / blind.sum())
        out["ceiling_vs_blind"] = float(np.where(video, oracle, loss).sum() / blind.sum())
    return out


def decision_figures(
    fc: DemandForecast,
    tables: Tables,
    items: pd.DataFrame,
    skus: pd.DataFrame,
    t: pd.DataFrame,
    settings: OptimiserSettings,
    blind_surv: list[np.ndarray],
    video: np.ndarray,
    budget_share: float = BUDGET_SHARE,
) -> dict[str, float]:
    """The plans of every reference in both variants, scored under the truth `t`: figures named
    `<variant>_<plan>_<figure>` (profit, leftover_cost, fill_rate; broken_* for the plans the
    optimiser made). `items` and `skus` are the optimiser's inputs of `fc` (runs.optimiser_inputs,
    in the forecast's row order); `video` whether each row's stream had a video by the as-of
    time (the rows the video-horizon plan knows the truth of)."""
    truth_surv = survival_negbin(t["mean"].to_numpy(), t["size"].to_numpy())
    survival = {
        "engine": fc.survival,
        "oracle": truth_surv,
        "blind": blind_surv,
        "horizon": [
            known if seen else blind
            for known, blind, seen in zip(truth_surv, blind_surv, video, strict=True)
        ],
        "point": point_survival(fc.forecasts["q50"].to_numpy()),
    }
    free = tables.merchants[["merchant_id", "capacity_l"]].assign(budget=np.nan)
    out: dict[str, float] = {}
    merchants = free
    for variant in VARIANTS:
        plans: dict[str, PlanResult] = {}
        for name in PLANS:
            plans[name] = plan_orders(items, skus, merchants, survival[name], settings)
            order, alloc = _plan_columns(plans[name], items, skus)
            for k, v in score_plan(items, skus, truth_surv, order, alloc).items():
                out[f"{variant}_{name}_{k}"] = v
            for k, v in broken_rules(plans[name].plan, skus, merchants).items():
                out[f"{variant}_{name}_{k}"] = float(v)
        naive = naive_plan(fc, tables, skus, merchants)
        for k, v in score_plan(items, skus, truth_surv, *naive).items():
            out[f"{variant}_naive_{k}"] = v
        if variant == "free":
            merchants = binding_budgets(free, plans["oracle"].plan, skus, budget_share)
    return out


def _plan_columns(res: PlanResult, items: pd.DataFrame, skus: pd.DataFrame):
    """(order per skus row, allocation per items row) of a plan, in the inputs' orders."""
    order = res.plan.set_index(["merchant_id", "sku_id"])["order_qty"]
    order = order.reindex(pd.MultiIndex.from_frame(skus[["merchant_id", "sku_id"]]))
    alloc = res.allocation.set_index(["stream_id", "sku_id"])["allocated_units"]
    alloc = alloc.reindex(pd.MultiIndex.from_frame(items[["stream_id", "sku_id"]]))
    return order.reset_index(drop=True), alloc.reset_index(drop=True)


def world_figures(
    world: ZooWorld,
    config: Config,
    forecast: Callable[[Tables, Config], DemandForecast],
    inputs: Callable[[DemandForecast, Tables], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]],
    budget_share: float = BUDGET_SHARE,
    decisions: bool = True,
) -> dict[str, float]:
    """Every figure of one world: `forecast(tables, config)` makes the forecast, `inputs(fc,
    tables)` the optimiser's (items, skus, merchants) from it; with the fallbacks and choices
    the model made (model_choices). Without `decisions`, the forecast's figures only (no plan
    is made, in a fraction of the time)."""
    fc = forecast(world.tables, config)
    t = truth_rows(fc, world.truth)
    blind_surv, blind_q = hype_blind(t, world.scenario.hype)
    video = has_video(world.tables, fc.lineup["stream_id"], fc.as_of)
    out = forecast_figures(fc, t, world.scenario.hype, blind_q, video)
    if decisions:
        items, skus, _ = inputs(fc, world.tables)
        if not (
            items[["stream_id", "sku_id"]].to_numpy() == t[["stream_id", "sku_id"]].to_numpy()
        ).all():
            raise ValueError("the optimiser's items are not in the forecast's row order")
        settings = OptimiserSettings.from_config(config.optimiser)
        out |= decision_figures(
            fc, world.tables, items, skus, t, settings, blind_surv, video, budget_share
        )
    out |= {
        f"choice_{k}": float(v)
        for k, v in fc.model_choices.items()
        if isinstance(v, int | float | np.number)
    }
    out["fallbacks"] = len(fc.fallbacks)
    return out


# ---- the table ------------------------------------------------------------------------------


def _broken_rules(r: Mapping[str, float]) -> float:
    """The engine's plans' broken rules summed over kinds and variants; blank without plans."""
    broken = [v for k, v in r.items() if "_broken_" in k and "_engine_" in k]
    return float(sum(broken)) if broken else np.nan


# each headline figure: (name in the table, how it is computed from a world's figures, which
# way is worse: "min" = the lowest is the worst)
def _ratio(a: str, b: str) -> Callable[[Mapping[str, float]], float]:
    return lambda r: r[a] / r[b] if r[b] else np.nan


ROW_GROUPS = {
    "video": "video by as-of",
    "seen": "seen, no video",
    "cold": "new SKU or streamer, no video",
}

HEADLINE: dict[str, tuple[Callable[[Mapping[str, float]], float], str]] = {
    **{
        f"{v} profit/oracle": (_ratio(f"{v}_engine_profit", f"{v}_oracle_profit"), "min")
        for v in VARIANTS
    },
    **{
        f"{v} hype-blind profit/oracle": (
            _ratio(f"{v}_blind_profit", f"{v}_oracle_profit"),
            "min",
        )
        for v in VARIANTS
    },
    # a plan that read the videos perfectly (knew the hype of every stream with a video): the
    # most that reading them better can give
    **{
        f"{v} video-horizon profit/oracle": (
            _ratio(f"{v}_horizon_profit", f"{v}_oracle_profit"),
            "min",
        )
        for v in VARIANTS
    },
    **{
        f"{v} profit/point": (_ratio(f"{v}_engine_profit", f"{v}_point_profit"), "min")
        for v in VARIANTS
    },
    **{
        f"{v} waste/naive": (_ratio(f"{v}_engine_leftover_cost", f"{v}_naive_leftover_cost"), "max")
        for v in VARIANTS
    },
    # what the plans that know more waste: a profit-maximising plan need not waste little, so
    # the oracle's own waste says how far the waste target is reachable at all
    **{
        f"{v} {ref} waste/naive": (
            _ratio(f"{v}_{key}_leftover_cost", f"{v}_naive_leftover_cost"),
            "max",
        )
        for v in VARIANTS
        for ref, key in (("hype-blind", "blind"), ("oracle", "oracle"))
    },
    **{f"{v} fill rate": (lambda r, v=v: r[f"{v}_engine_fill_rate"], "min") for v in VARIANTS},
    **{
        f"{v} oracle fill rate": (lambda r, v=v: r[f"{v}_oracle_fill_rate"], "min")
        for v in VARIANTS
    },
    "broken rules": (_broken_rules, "max"),
    "pinball/hype-blind": (lambda r: r["pinball_vs_blind"], "max"),
    "pinball/oracle": (lambda r: r["pinball_vs_oracle"], "max"),
    # where the loss is: rows whose stream had a video by the as-of time (the hype partly
    # shows), rows of seen SKUs and streamers without one, and rows of a new SKU or streamer
    # without one (whose true level the hype-blind forecaster knows and no forecast can)
    **{
        f"pinball/hype-blind, {words}": (lambda r, g=group: r[f"{g}_pinball_vs_blind"], "max")
        for group, words in ROW_GROUPS.items()
    },
    **{
        f"loss share, {words}": (lambda r, g=group: r[f"{g}_loss_share"], "max")
        for group, words in ROW_GROUPS.items()
    },
    # reading the videos perfectly: the video-horizon forecaster's pinball, and this forecast's
    # with the rows that had a video read exactly (its bound from the videos alone)
    "video-horizon pinball/hype-blind": (lambda r: r["horizon_vs_blind"], "max"),
    "pinball/hype-blind, video rows read exactly": (lambda r: r["ceiling_vs_blind"], "max"),
    "coverage gap": (lambda r: r["coverage_gap"], "absmax"),
    "bias": (lambda r: r["bias"], "absmax"),
    "hype-blind bias": (lambda r: r["blind_bias"], "absmax"),
    "new-SKU pinball/oracle": (lambda r: r["new_pinball_vs_oracle"], "max"),
    "new-SKU bias": (lambda r: r["new_bias"], "absmax"),
    # the no-history reference on the new SKUs' rows: how far a forecast without their own
    # history can get at all
    "new-SKU no-history pinball/oracle": (
        lambda r: r["new_nohistory_pinball_vs_oracle"],
        "max",
    ),
    "new-SKU no-history bias": (lambda r: r["new_nohistory_bias"], "absmax"),
}
# the targets each headline figure is held to on the worst scenario
TARGETS = {
    "free profit/oracle": ">= 0.90",
    "budget profit/oracle": ">= 0.90",
    "free profit/point": ">= 1.00",
    "budget profit/point": ">= 1.00",
    "free waste/naive": "<= 0.50",
    "budget waste/naive": "<= 0.50",
    "broken rules": "0",
    "pinball/hype-blind": "<= 1.00",
    "coverage gap": "within 0.03",
    "bias": "within 5%",
    "new-SKU pinball/oracle": "<= 2.00",
    "new-SKU bias": "within 15%",
}


def headline(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per world (`rows`: world_figures plus `scenario` and `seed`), the headline
    figures as columns."""
    records = rows.to_dict("records")
    out = pd.DataFrame(
        {name: [_figure(f, r) for r in records] for name, (f, _) in HEADLINE.items()}
    )
    out.insert(0, "seed", rows["seed"].to_numpy())
    out.insert(0, "scenario", rows["scenario"].to_numpy())
    return out


def _figure(f: Callable[[Mapping[str, float]], float], row: Mapping[str, float]) -> float:
    """A headline figure of one world, blank where the world lacks its parts (a forecast-only
    run has no plans)."""
    try:
        return f(row)
    except KeyError:
        return np.nan


def zoo_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The headline figures averaged over seeds per scenario (in the order first seen), then
    `worst`: for each figure the worst scenario's mean, and `worst of` the scenario it is. A
    figure no world has (a plan's, when only forecasts were scored) is left out."""
    h = headline(rows).dropna(axis=1, how="all")
    per = h.drop(columns="seed").groupby("scenario", sort=False).mean()
    worst, which = {}, {}
    for name, (_, way) in HEADLINE.items():
        if name not in per:
            continue
        col = per[name].dropna()
        if col.empty:
            worst[name], which[name] = np.nan, ""
            continue
        key = {"min": col.idxmin(), "max": col.idxmax(), "absmax": col.abs().idxmax()}[way]
        worst[name], which[name] = col[key], key
    per.loc["worst"] = pd.Series(worst)
    per.loc["worst of"] = pd.Series(which)
    per.insert(0, "seeds", h.groupby("scenario", sort=False).size().reindex(per.index))
    return per


def markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """The zoo table as a markdown table: a row per figure, a column per scenario and the worst,
    with the target of each figure."""
    t = table.T
    lines = ["| figure | " + " | ".join(t.columns) + " | target |"]
    lines.append("|" + " --- |" * (len(t.columns) + 2))
    for name, row in t.iterrows():
        cells = [_cell(v, digits) for v in row]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {TARGETS.get(name, '')} |")
    return "\n".join(lines) + "\n"


def _cell(v: object, digits: int) -> str:
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return f"{float(v):.{digits}f}"
