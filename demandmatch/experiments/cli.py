"""`demandmatch experiment ...`: run experiment files, compare runs, promote a champion."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help=(
        "Experiments: run an experiment file (a parent MLflow run, a child per variant x "
        "dataset x seed), compare runs with confidence intervals, promote a champion."
    ),
    no_args_is_help=True,
)
err = Console(stderr=True)
out = Console()

UriOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite mlflow.db here).",
    ),
]


def _uri(given: str | None) -> str:
    from demandmatch.tracking import resolve_tracking_uri

    return given or resolve_tracking_uri(None, Path.cwd())


@contextmanager
def _errors() -> Iterator[None]:
    """A bad file, name or run: one message, exit status 2; a refused gate: status 1."""
    from .registry import GateRefused

    try:
        yield
    except GateRefused as e:
        err.print(f"[red]refused[/red] {e}")
        raise typer.Exit(1) from e
    except (FileNotFoundError, ValueError, KeyError) as e:
        err.print(f"[red]error[/red] {e}")
        raise typer.Exit(2) from e


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="experiments/NAME.yaml")],
    tracking_uri: UriOption = None,
    cache: Annotated[
        Path, typer.Option(help="Where demo worlds are written once and reused.")
    ] = Path("outputs/experiments/worlds"),
    fresh: Annotated[
        bool, typer.Option(help="Start a new parent run instead of resuming the last one.")
    ] = False,
    compare: Annotated[
        bool, typer.Option(help="Compare every variant with the first when done.")
    ] = True,
    report: Annotated[Path, typer.Option(help="Folder for the comparison report.")] = Path(
        "outputs/experiments"
    ),
) -> None:
    """Run every child (variant x dataset x seed) not already done, then compare them."""
    from .runner import run_experiment
    from .spec import load_experiment

    uri = _uri(tracking_uri)
    with _errors():
        exp = load_experiment(file)
        err.print(
            f"experiment [bold]{exp.spec.name}[/bold]: {len(exp.children)} runs "
            f"({len(exp.variants)} variants x {len(exp.datasets)} datasets x "
            f"{len(exp.spec.seeds)} seeds); tracking {uri}"
        )
        with err.status("starting") as status:
            result = run_experiment(
                exp,
                uri,
                cache,
                Path.cwd(),
                fresh,
                say=err.print,
                progress=lambda step: status.update(step),
            )
        out.print(f"parent run {result.parent_run_id}")
        if compare and len(exp.variants) > 1:
            _compare([result.parent_run_id], uri, report, exp.spec.gate.confidence, None)


@app.command(name="compare")
def compare_cmd(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="Run ids, EXPERIMENT:VARIANT, variant names or an experiment name; the first "
            "is the baseline."
        ),
    ],
    tracking_uri: UriOption = None,
    experiment: Annotated[
        str | None, typer.Option(help="Look variant names up in this experiment.")
    ] = None,
    confidence: Annotated[float, typer.Option(help="Of the intervals.")] = 0.95,
    report: Annotated[Path, typer.Option(help="Folder for the HTML report.")] = Path(
        "outputs/experiments"
    ),
) -> None:
    """Paired comparison on identical rows: differences with block-bootstrap intervals,
    Diebold-Mariano tests, win rates, breakdowns; an HTML report, logged to MLflow."""
    with _errors():
        _compare(runs, _uri(tracking_uri), report, confidence, experiment)


def _compare(
    items: list[str], uri: str, folder: Path, confidence: float, experiment: str | None
) -> None:
    from .compare import compare_sides, resolve_sides
    from .publish import log_comparison, write_report
    from .report import rich_tables

    with err.status("pairing rows and bootstrapping"):
        sides = resolve_sides(uri, items, experiment)
        comp = compare_sides(uri, sides, confidence)
    console = Console(width=max(out.width, 140))
    for table in rich_tables(comp):
        console.print(table)
    for note in comp.notes:
        console.print(f"[dim]{note}[/dim]")
    path = write_report(comp, folder)
    run_id = log_comparison(uri, comp, path)
    out.print(f"report [bold]{path}[/bold]; logged to MLflow run {run_id}")


@app.command()
def promote(
    run_id: Annotated[str, typer.Argument(help="A child run id of an experiment.")],
    alias: Annotated[str, typer.Option(help="Registry alias to move.")] = "champion",
    force: Annotated[bool, typer.Option(help="Promote even if the gate refuses.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (required with --force).")] = None,
    tracking_uri: UriOption = None,
) -> None:
    """Register the run's config and fitted model and move the alias to it, through the
    experiment file's gate (or --force --reason)."""
    from .registry import promote as do_promote

    with _errors(), err.status("checking the gate"):
        record = do_promote(_uri(tracking_uri), run_id, alias, force, reason)
    out.print(
        f"{record['model']} v{record['version']} is now [bold]{alias}[/bold] "
        f"(was {'v' + str(record['previous']) if record['previous'] else 'unset'}): "
        f"{record['gate']}"
    )


@app.command()
def history(
    alias: Annotated[str | None, typer.Option(help="Only this alias.")] = None,
    tracking_uri: UriOption = None,
) -> None:
    """Every move of the registry's aliases: who, when, from which run, why."""
    from .registry import history as get_history

    frame = get_history(_uri(tracking_uri), alias=alias)
    if frame.empty:
        out.print("no alias has been moved yet")
        return
    t = Table(title="alias moves, oldest first")
    for col in frame.columns:
        t.add_column(col)
    for rec in frame.to_dict("records"):
        t.add_row(*[str(v) for v in rec.values()])
    Console(width=max(out.width, 160)).print(t)


@app.command()
def champion(tracking_uri: UriOption = None) -> None:
    """Which config `make forecast` would use."""
    from .registry import champion_config

    config, text = champion_config(_uri(tracking_uri))
    out.print(text if config is not None else f"{text}: make forecast uses configs/default.yaml")
