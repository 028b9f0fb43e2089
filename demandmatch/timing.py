"""Timing the stages of a run, and the progress callback they report to."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Progress = Callable[[str], None]  # told the name of each stage as it starts
StageDone = Callable[[str, float], None]  # told each stage's name and seconds as it ends


def quiet(step: str) -> None:
    return None


@dataclass
class Timer:
    """Seconds per stage name (a name met twice adds up) and, in order, every stage run
    (`steps`, by its label); `on_done` hears each stage that ends without an error."""

    seconds: dict[str, float] = field(default_factory=dict)
    steps: list[tuple[str, float]] = field(default_factory=list)
    on_done: StageDone | None = None
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def stage(self, name: str, progress: Progress, label: str | None = None) -> Iterator[None]:
        """Time a stage: its seconds add to `name`'s; it shows and is listed as `label` (the
        name when none), so that two passes of one stage read apart."""
        label = label or name
        progress(label)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - t0
            self.seconds[name] = round(self.seconds.get(name, 0.0) + spent, 3)
            self.steps.append((label, round(spent, 3)))
        if self.on_done is not None:  # a stage that raised did not end: it is not reported
            self.on_done(label, spent)

    @property
    def elapsed(self) -> float:
        """Seconds since the timer was made."""
        return time.perf_counter() - self.started
