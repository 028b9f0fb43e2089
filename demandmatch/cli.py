"""The `demandmatch` command."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .cli_errors import STATE, console, print_warnings, terminate_as_interrupt, user_errors
from .experiments.cli import app as _experiment_app

_user_errors = user_errors  # the name commands defined before cli_errors use

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
app.add_typer(_experiment_app, name="experiment")


def _show_version(value: bool) -> None:
    if value:
        from .records import version

        typer.echo(f"demandmatch {version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="DEMANDMATCH_DEBUG",
            help="Show the full traceback of an error (for a bug report).",
        ),
    ] = False,
) -> None:
    """demandmatch: forecast live-stream demand and plan purchase orders."""
    STATE["debug"] = debug


def _config_and_name(config: Path | None, tracking: bool | None) -> tuple[object, str]:
    from .config import load_config

    overrides = None if tracking is None else {"tracking": {"enabled": tracking}}
    return load_config(config, overrides), (config.stem if config else "defaults")


TRACKING_HELP = "Log the run to MLflow (default: the config's tracking.enabled)."


@app.command()
def forecast(
    data: Annotated[Path, typer.Option(help="Data directory in the contract's tables.")],
    out: Annotated[
        Path,
        typer.Option(help="Folder for the plan and forecasts (replaced as a whole)."),
    ] = Path("outputs/forecast"),
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
    tracking: Annotated[
        bool | None, typer.Option("--tracking/--no-tracking", help=TRACKING_HELP)
    ] = None,
    champion: Annotated[
        bool, typer.Option(help="Use the registered champion's config when there is one.")
    ] = False,
    store: Annotated[
        str | None,
        typer.Option(
            help="Catalog store URL (e.g. sqlite:///demandmatch.db): each merchant with a "
            "catalog version there plans on it instead of the data folder's catalog."
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="local, or dask: features, trees and plans on a Dask cluster.")
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (with --engine dask; default: a local one)."),
    ] = None,
) -> None:
    """Forecast demand for upcoming streams and plan orders and per-stream stock."""
    from .progress import stage_display
    from .runs import run_forecast
    from .timing import Timer

    with terminate_as_interrupt(), user_errors():
        cfg, name = _config_and_name(config, tracking)
        if champion:
            cfg, name = _champion_or(cfg, name)
        with closing(stage_display(console, out)) as display:
            run = run_forecast(
                data,
                out,
                cfg,  # type: ignore[arg-type]
                as_of=as_of,
                horizon_days=horizon_days,
                progress=display,
                timer=Timer(on_done=display.done),
                config_name=name,
                store=store,
                engine=engine,
                scheduler=scheduler,
            )
    _print_summary(run.summary, run.out_dir, str(run.record["tracking"]), cfg.timezone)  # type: ignore[union-attr]
    print_warnings(run.record["warnings"])  # type: ignore[arg-type]


@app.command()
def backtest(
    data: Annotated[Path, typer.Option(help="Data directory in the contract's tables.")],
    out: Annotated[
        Path, typer.Option(help="Folder for the backtest tables (replaced as a whole).")
    ] = Path("outputs/backtest"),
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
    tracking: Annotated[
        bool | None, typer.Option("--tracking/--no-tracking", help=TRACKING_HELP)
    ] = None,
) -> None:
    """Score the demand model on past streams: refit at rolling origins, forecast the next
    days as of each origin and 72/24/6 h before each stream, per warm and cold-start items."""
    from .progress import stage_display
    from .runs import backtest_job, find_truth
    from .timing import Timer

    with terminate_as_interrupt(), user_errors():
        cfg, name = _config_and_name(config, tracking)
        truth = truth or find_truth(data)
        if truth is not None:
            console.print(f"scoring against the true distributions in {truth}")
        with closing(stage_display(console, out)) as display:
            result, run_id = backtest_job(
                data,
                out,
                cfg,  # type: ignore[arg-type]
                n_origins=origins,
                step_days=step_days,
                horizon_days=horizon_days,
                truth_path=truth,
                progress=display,
                timer=Timer(on_done=display.done),
                config_name=name,
            )
    _print_backtest(result.summary)
    Console().print(f"tables written to [bold]{out}[/bold]; tracking run {run_id or 'none'}")


def _champion_or(cfg, name: str):
    """The champion's config (keeping this run's tracking settings) and its name when one is
    registered in the tracking store, else `cfg` and `name`; says which."""
    from .experiments.registry import champion_config
    from .tracking import resolve_tracking_uri

    found, text = champion_config(resolve_tracking_uri(cfg.tracking.uri, Path.cwd()))
    if found is None:
        console.print(f"{text}; using the given config")
        return cfg, name
    console.print(f"using the champion's config: {text}")
    return found.model_copy(update={"tracking": cfg.tracking}), "champion"


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


def _local_time(iso: object, timezone: str) -> str:
    """An ISO time as the business reads it: "2024-11-06 21:00 Asia/Shanghai (13:00 UTC)"."""
    import pandas as pd

    ts = pd.Timestamp(str(iso))
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    local, utc = ts.tz_convert(timezone), ts.tz_convert("UTC")
    return f"{local:%Y-%m-%d %H:%M} {timezone} ({utc:%H:%M} UTC)"


def _print_summary(
    summary: dict[str, object], out_dir: Path, tracking: str, timezone: str = "UTC"
) -> None:
    t = Table(title="demandmatch plan", show_header=False)
    rows = [
        ("as of", _local_time(summary["as_of"], timezone)),
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
        (
            "tracking run",
            summary.get("run_id") or ("not tracked" if tracking == "off" else tracking),
        ),
    ]
    versions = summary.get("catalog_versions") or {}
    if any(v != "file" for v in versions.values()):  # type: ignore[union-attr]
        rows.append(("catalogs", ", ".join(f"{m} {v}" for m, v in versions.items())))  # type: ignore[union-attr]
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
    from .staging import atomic_write

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
