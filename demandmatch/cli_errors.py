"""How the command reports what went wrong: one line naming the flag, key, file or cell, and an
exit status (2 for anything the operator can fix, 1 for the machine or a bug, 130/143 for an
interrupt), with the traceback only under `--debug`."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from .staging import signal_handlers

console = Console(stderr=True, highlight=False)
STATE = {"debug": False}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run cleans up as after Ctrl-C."""


def _error(label: str, err: BaseException | str) -> None:
    console.print(f"[red]{label}[/red] {escape(str(err))}", soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Anything an operator did wrong (a flag, a path, a config key, bad input, an output
    folder in use): a one-line message naming it, exit status 2. The machine failing (a full
    disk) is one line and status 1, a bug one line and status 1 (`--debug` shows the
    traceback), an interrupt (Ctrl-C, SIGTERM) 130 or 143 with the old outputs in place."""
    from .data.tables import ContractError
    from .errors import UsageError

    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt as err:
        _error("interrupted", "the output folder holds the last complete set of outputs")
        raise typer.Exit(143 if isinstance(err, Terminated) else 130) from err
    except Exception as err:
        if STATE["debug"]:
            raise
        if isinstance(err, ContractError):
            _error("invalid input", err)
            raise typer.Exit(2) from err
        if isinstance(err, UsageError | FileNotFoundError | NotADirectoryError | ValueError):
            _error("error", err)
            raise typer.Exit(2) from err
        if isinstance(err, OSError):
            where = f" ({err.filename})" if err.filename else ""
            _error("error", f"{err.strerror or err}{where}; the earlier outputs are as they were")
            raise typer.Exit(1) from err
        _error(
            "internal error", f"{type(err).__name__}: {err} (rerun with --debug for the traceback)"
        )
        raise typer.Exit(1) from err


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM raises Terminated and SIGINT KeyboardInterrupt (unless SIGINT is
    ignored, as in a background job), so staged outputs are removed; a further signal while
    that clean-up runs is ignored. The handlers are restored after the block."""

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    sigint = signal.getsignal(signal.SIGINT)  # set again as it is, so that it is put back
    with signal_handlers(
        {
            signal.SIGTERM: stop,
            signal.SIGINT: stop if sigint is signal.default_int_handler else sigint,
        }
    ):
        yield


def print_warnings(warnings: list[dict[str, object]]) -> None:
    for w in warnings:
        console.print(f"[yellow]warning[/yellow] {escape(str(w['message']))}", soft_wrap=True)
