"""The `demandmatch` command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .experiments.cli import app as _experiment_app

app = typer.Typer(
    help=(
        "demandmatch: forecast live-stream demand and plan purchase orders.\n\n"
        "Typical use: `demandmatch simulate --out world` makes a demo world, then "
        "`demandmatch forecast --data world/data --out plan` forecasts every upcoming "
        "stream and writes the plan (plan.csv, allocation.csv, forecasts.csv, report.html)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
app.add_typer(_experiment_app, name="experiment")


@contextmanager
def _user_errors() -> Iterator[None]:
    """Bad input or a missing file: a one-line message naming what is wrong, exit status 2."""
    from .tables import ContractError

    try:
        yield
    except ContractError as err:
        console.print(f"[red]invalid input[/red] {err}")
        raise typer.Exit(2) from err
    except (FileNotFoundError, ValueError) as err:
        console.print(f"[red]error[/red] {err}")
        raise typer.Exit(2) from err


@app.command()
def forecast(
    data: Annotated[Path, typer.Option(help="Data directory in the contract's tables.")],
    out: Annotated[Path, typer.Option(help="Where to write the plan and forecasts.")] = Path(
        "outputs/forecast"
    ),
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Forecast time (ISO 8601; naive = platform local time). "
            "Default: the earliest start of a stream without outcomes."
        ),
    ] = None,
    horizon_days: Annotated[
        int | None, typer.Option(help="Plan streams starting before as-of + this many days.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML config (default: built-in settings).")
    ] = None,
    no_tracking: Annotated[bool, typer.Option(help="Do not log the run to MLflow.")] = False,
    champion: Annotated[
        bool, typer.Option(help="Use the registered champion's config when there is one.")
    ] = False,
) -> None:
    """Forecast demand for upcoming streams and plan orders and per-stream stock."""
    from .config import load_config
    from .pipeline import run_forecast

    cfg = load_config(config, {"tracking": {"enabled": False}} if no_tracking else None)
    if champion:
        cfg = _champion_or(cfg, no_tracking)
    with _user_errors(), console.status("starting") as status:
        run = run_forecast(
            data,
            out,
            cfg,
            as_of=as_of,
            horizon_days=horizon_days,
            progress=lambda step: status.update(f"[bold]{step}[/bold] ..."),
        )
    _print_summary(run.summary, run.out_dir)


@app.command()
def backtest(
    data: Annotated[Path, typer.Option(help="Data directory in the contract's tables.")],
    out: Annotated[Path, typer.Option(help="Where to write the backtest tables.")] = Path(
        "outputs/backtest"
    ),
    origins: Annotated[int, typer.Option(help="Number of rolling origins.")] = 4,
    step_days: Annotated[int, typer.Option(help="Days between origins.")] = 7,
    horizon_days: Annotated[int, typer.Option(help="Days forecast after each origin.")] = 7,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="truth.csv of a demo world to score against the true distributions "
            "(default: DATA/../truth.csv when it exists)."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML config (default: built-in settings).")
    ] = None,
    no_tracking: Annotated[bool, typer.Option(help="Do not log the run to MLflow.")] = False,
) -> None:
    """Score the demand model on past streams: refit at rolling origins, forecast the next
    days as of each origin and 72/24/6 h before each stream, per warm and cold-start items."""
    from .backtest import backtest_job, find_truth
    from .config import load_config

    cfg = load_config(config, {"tracking": {"enabled": False}} if no_tracking else None)
    truth = truth or find_truth(data)
    if truth is not None:
        console.print(f"scoring against the true distributions in {truth}")
    with _user_errors(), console.status("starting") as status:
        result, run_id = backtest_job(
            data,
            out,
            cfg,
            n_origins=origins,
            step_days=step_days,
            horizon_days=horizon_days,
            truth_path=truth,
            progress=lambda step: status.update(f"[bold]{step}[/bold] ..."),
        )
    _print_backtest(result.summary)
    Console().print(f"tables written to [bold]{out}[/bold]; tracking run {run_id or 'none'}")


def _champion_or(cfg, no_tracking: bool):
    """The champion's config (keeping this run's tracking settings) when one is registered in
    the tracking store, else `cfg`; says which."""
    from .experiments.registry import champion_config
    from .tracking import resolve_tracking_uri

    found, text = champion_config(resolve_tracking_uri(cfg.tracking.uri, Path.cwd()))
    if found is None:
        console.print(f"{text}; using the given config")
        return cfg
    console.print(f"using the champion's config: {text}")
    return found.model_copy(update={"tracking": cfg.tracking})


def _print_backtest(summary) -> None:
    cols = [
        ("n", "rows", "{:,.0f}"),
        ("pinball", "pinball", "{:.3f}"),
        ("wape", "WAPE", "{:.3f}"),
        ("bias", "bias", "{:+.3f}"),
        ("coverage_10_90", "cov 10-90", "{:.3f}"),
        ("coverage_05_95", "cov 5-95", "{:.3f}"),
        ("pit_coverage_10_90", "PIT 10-90", "{:.3f}"),
        ("pinball_vs_oracle", "pinball/oracle", "{:.3f}"),
        ("true_coverage_10_90", "true cov 10-90", "{:.3f}"),
        ("true_pit_coverage_10_90", "true PIT", "{:.3f}"),
        ("true_bias", "true bias", "{:+.3f}"),
    ]
    cols = [c for c in cols if c[0] in summary]
    t = Table(title="backtest (realised scores on rows that did not sell out)")
    t.add_column("lead")
    t.add_column("items")
    for _, label, _ in cols:
        t.add_column(label, justify="right")
    for r in summary.to_dict("records"):
        cells = [fmt.format(r[k]) if r[k] == r[k] else "-" for k, _, fmt in cols]
        t.add_row(str(r["lead"]), str(r["segment"]), *cells)
    Console(width=max(Console().width, 150)).print(t)


def _lost_sales(summary: dict[str, object]) -> str:
    """Total expected lost sales and the share of each reason (see lost_sales_by_reason)."""
    parts = summary.get("lost_sales_by_reason") or []
    total = f"{summary['expected_lost_sales']:,.0f} units"
    shares = ", ".join(
        f"{p['lost_sales_share']:.0%} {p['reason']}"
        for p in parts
        if p["lost_sales_share"] >= 0.005
    )
    return f"{total} ({shares})" if shares else total


def _print_summary(summary: dict[str, object], out_dir: Path) -> None:
    t = Table(title="demandmatch plan", show_header=False)
    rows = [
        ("as of", summary["as_of"]),
        ("horizon", f"{summary['horizon_days']} days"),
        ("streams", summary["n_streams"]),
        ("SKUs", f"{summary['n_skus']} ({summary['n_cold_start']} stream items cold-start)"),
        ("units to order", f"{summary['units_to_order']:,}"),
        ("spend", f"¥{summary['spend']:,.0f}"),
        ("expected profit", f"¥{summary['expected_profit']:,.0f}"),
        ("expected leftover", f"{summary['expected_leftover']:,.0f} units"),
        ("expected fill rate", f"{summary['fill_rate']:.1%}"),
        ("expected lost sales", _lost_sales(summary)),
        (
            "solver",
            f"{summary['solver']} {summary['solver_status']} gap {summary['solver_gap']:.2g}",
        ),
        ("tracking run", summary.get("run_id") or "not tracked"),
    ]
    for k, v in rows:
        t.add_row(k, str(v))
    Console().print(t)
    Console().print(f"plan written to [bold]{out_dir}[/bold] (open {out_dir / 'report.html'})")


@app.command()
def simulate(
    out: Annotated[
        Path, typer.Option(help="Folder to write: OUT/data (tables) and OUT/truth.csv.")
    ],
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same world.")] = 0,
    size: Annotated[str, typer.Option(help="tiny, small or demo.")] = "demo",
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    reuse: Annotated[
        bool, typer.Option(help="Keep OUT as it is if it already holds this seed and size.")
    ] = False,
) -> None:
    """Generate a demo live-commerce world with its hidden true demand."""
    from .simulate import SIZES, simulate_world, write_world

    if size not in SIZES:
        console.print(f"[red]error[/red] unknown size '{size}'; choose from {sorted(SIZES)}")
        raise typer.Exit(2)
    meta = out / "world.json"
    if reuse and meta.exists():
        info = json.loads(meta.read_text())
        if info.get("seed") == seed and info.get("size") == size:
            console.print(f"demo world {out} (seed {seed}, {size}) already there")
            return
    with console.status(f"simulating a {size} world (seed {seed})"):
        world = simulate_world(seed, size)
        data_dir = write_world(world, out, fmt)  # type: ignore[arg-type]
    counts = ", ".join(f"{len(v):,} {k}" for k, v in world.tables.items())
    console.print(f"wrote {data_dir}: {counts}; truth beside it in {out / 'truth.csv'}")


if __name__ == "__main__":
    app()
