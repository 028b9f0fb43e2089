"""How a run's stages show while it works: on a terminal, a progress bar per stage with the time
left, estimated from the same stage of the previous run into the same folder (its run.json);
elsewhere (make, CI, a log file) a plain line as each stage starts and ends, with the elapsed
time, so a long fit is never a silent minute."""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import (
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


def previous_stages(out_dir: Path | None) -> list[tuple[str, float]]:
    """The stages (name, seconds) of the last run written to `out_dir`, in order; [] when
    there is none or its run.json cannot be read."""
    if out_dir is None:
        return []
    try:
        info = json.loads((Path(out_dir) / "run.json").read_text(encoding="utf-8"))
        return [(str(s["stage"]), float(s["seconds"])) for s in info.get("stages", [])]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []


class StageLines:
    """A line per stage as it starts and as it ends, with the time since the run started."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()

    def __call__(self, step: str) -> None:
        self._line(f"{step} ...")

    def done(self, step: str, seconds: float) -> None:
        self._line(f"{step} done in {seconds:.1f} s")

    def close(self) -> None:
        return None

    def _line(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f} s] {text}", file=self.stream, flush=True)


class _Bar(ProgressColumn):
    """The stage's elapsed time against what it took last time (a pulse when unknown)."""

    def render(self, task: Task) -> Text:
        from rich.progress_bar import ProgressBar

        expected = task.fields.get("expected")
        if task.finished:
            return ProgressBar(total=1, completed=1, width=30)  # type: ignore[return-value]
        if not expected:
            return ProgressBar(total=None, width=30)  # type: ignore[return-value]
        done = min(task.elapsed or 0.0, expected * 0.99)
        return ProgressBar(total=expected, completed=done, width=30)  # type: ignore[return-value]


class _Left(ProgressColumn):
    """About how long the stage has left, from what it took last time."""

    def render(self, task: Task) -> Text:
        expected = task.fields.get("expected")
        if task.finished:
            return Text(f"done in {task.fields.get('took', 0.0):.1f} s", style="green")
        if not expected:
            return Text("")
        left = expected - (task.elapsed or 0.0)
        if left < 0:
            return Text("taking longer than last time", style="yellow")
        return Text(f"ETA {left:.0f} s", style="cyan")


class StageBar:
    """A rich progress display: one row per stage with a bar and the time left (ETA)."""

    def __init__(self, console: Console, previous: list[tuple[str, float]]) -> None:
        self.expected: dict[str, deque[float]] = defaultdict(deque)
        for name, seconds in previous:
            self.expected[name].append(seconds)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<14}"),
            _Bar(),
            TimeElapsedColumn(),
            _Left(),
            console=console,
            transient=False,
        )
        self.task = None
        self.progress.start()

    def __call__(self, step: str) -> None:
        if self.task is not None:  # a stage that reports no end (inside a backtest)
            self.progress.update(self.task, total=1, completed=1, took=0.0)
        known = self.expected[step]
        expected = known.popleft() if known else None
        self.task = self.progress.add_task(step, total=None, expected=expected, took=0.0)

    def done(self, step: str, seconds: float) -> None:
        if self.task is not None:
            self.progress.update(self.task, total=1, completed=1, took=seconds)
            self.task = None

    def close(self) -> None:
        self.progress.stop()


def stage_display(console: Console, out_dir: Path | None) -> StageLines | StageBar:
    """A bar display when both stdout and stderr are terminals, else plain lines on stderr."""
    if sys.stdout.isatty() and console.is_terminal:
        return StageBar(console, previous_stages(out_dir))
    return StageLines()
