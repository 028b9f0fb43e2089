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


@contextmanager
def _user_errors() -> Iterator[None]:
    """Bad input or a missing file: a one-line message naming what is wrong, exit status 2."""
    from .data.tables import ContractError

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
) -> None:
    """Forecast demand for upcoming streams and plan orders and per-stream stock."""
    from .config import load_config
    from .runs import run_forecast

    cfg = load_config(config, {"tracking": {"enabled": False}} if no_tracking else None)
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
    from .config import load_config
    from .runs import backtest_job, find_truth

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
        ("model defaults used", "; ".join(summary.get("model_fallbacks") or []) or "none"),
        ("tracking run", summary.get("run_id") or "not tracked"),
    ]
    for k, v in rows:
        t.add_row(k, str(v))
    Console().print(t)
    Console().print(f"plan written to [bold]{out_dir}[/bold] (open {out_dir / 'report.html'})")


@app.command()
def simulate(
    out: Annotated[
        Path | None,
        typer.Option(help="Folder to write: OUT/data (tables), OUT/truth.csv, OUT/scenario.json."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same world.")] = 0,
    size: Annotated[
        str,
        typer.Option(
            help="tiny, small, demo; growth worlds x1, x2, x4, x8, x16 (k times the demo's "
            "merchants, streamers and streams per day) or million (~1M past stream items)."
        ),
    ] = "demo",
    scale: Annotated[
        float,
        typer.Option(help="Multiply the size's merchants, streamers and streams per day."),
    ] = 1.0,
    scenario: Annotated[
        str,
        typer.Option(
            help="What the world's structure is like: demo, or a zoo scenario "
            "(--list-scenarios); several joined by commas compose."
        ),
    ] = "demo",
    list_scenarios: Annotated[
        bool, typer.Option("--list-scenarios", help="List the scenarios and exit.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    reuse: Annotated[
        bool,
        typer.Option(help="Keep OUT as it is if it already holds this seed, size and scenario."),
    ] = False,
) -> None:
    """Generate a live-commerce world with its hidden true demand."""
    from .simulate import ABOUT, SIZES, load_scenario, scaled, simulate_world, write_world
    from .simulate import scenario as resolve_scenario

    if list_scenarios:
        for name, about in ABOUT.items():
            typer.echo(f"{name:<20}{about}")
        return
    if out is None:
        console.print("[red]error[/red] --out is required")
        raise typer.Exit(2)
    if size not in SIZES:
        console.print(f"[red]error[/red] unknown size '{size}'; choose from {list(SIZES)}")
        raise typer.Exit(2)
    try:
        world_scenario = resolve_scenario(scenario)
        world_size = size if scale == 1.0 else scaled(SIZES[size], scale)
    except ValueError as err:
        console.print(f"[red]error[/red] {err}")
        raise typer.Exit(2) from err
    label = size if scale == 1.0 else f"{size} x{scale:g}"
    meta = out / "world.json"
    if reuse and meta.exists():
        info = json.loads(meta.read_text())
        same_size = info.get("size") == (size if scale == 1.0 else _size_dict(world_size))
        same = load_scenario(out).name == world_scenario.name
        if info.get("seed") == seed and same_size and same:
            console.print(f"world {out} (seed {seed}, {label}, {scenario}) already there")
            return
    with console.status(f"simulating a {label} {scenario} world (seed {seed})"):
        world = simulate_world(seed, world_size, world_scenario)
        data_dir = write_world(world, out, fmt)  # type: ignore[arg-type]
    counts = ", ".join(f"{len(v):,} {k}" for k, v in world.tables.items())
    console.print(f"wrote {data_dir}: {counts}; truth beside it in {out / 'truth.csv'}")


def _size_dict(size: object) -> dict:
    """A WorldSize as world.json records it (JSON turns its tuples into lists)."""
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(size)))  # type: ignore[call-overload]


@app.command("config-docs")
def config_docs(
    docs: Annotated[
        Path | None, typer.Option(help="Write the configuration reference (markdown) here.")
    ] = None,
    yaml_out: Annotated[
        Path | None, typer.Option("--yaml", help="Write the default config (YAML) here.")
    ] = None,
) -> None:
    """Write the configuration reference and the default config from the config model; with
    neither path, print the reference."""
    from .config_docs import render_markdown, render_yaml
    from .runs import atomic_write

    if docs is None and yaml_out is None:
        typer.echo(render_markdown(), nl=False)
    for path, text in ((docs, render_markdown), (yaml_out, render_yaml)):
        if path is not None:
            atomic_write(path, text())
            console.print(f"wrote {path}")


def _register_catalog_commands() -> None:
    from .api.cli import serve
    from .store.commands import catalog_app, merchants_app

    app.add_typer(merchants_app, name="merchants")
    app.add_typer(catalog_app, name="catalog")
    app.command()(serve)


_register_catalog_commands()

if __name__ == "__main__":
    app()
