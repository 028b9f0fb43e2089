"""What an operator can get wrong, checked before any work: the paths, the flags, the solver,
and the as-of time and horizon against the data. Each problem is a UsageError naming the flag or
key in one line (the command exits with status 2); none costs a fit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .data.plausible import Limits
from .data.tables import Tables
from .errors import UsageError
from .forecast.rows import default_as_of, to_utc
from .optimise import solver_problem
from .staging import check_replaceable, check_writable, output_path

MAX_HORIZON_DAYS = 3660


def check_data_dir(data_dir: Path | str, flag: str = "--data") -> Path:
    path = Path(data_dir)
    if not path.exists():
        raise UsageError(flag, f"data directory not found: {path}")
    if not path.is_dir():
        raise UsageError(flag, f"{path} is a file; give the folder that holds the tables")
    return path


def check_out_dir(out_dir: Path | str, data_dir: Path, markers: tuple[str, ...]) -> Path:
    """The output folder, resolved: not the data folder or one holding it, replaceable as a
    whole, and writable where it sits."""
    out = output_path(out_dir)
    data = data_dir.resolve()
    if out == data or out in data.parents:
        raise UsageError("--out", f"{out_dir} would replace the data folder {data_dir}")
    check_replaceable(out, markers)
    check_writable(out)
    return out


def check_horizon(days: object, flag: str = "--horizon-days") -> int:
    if isinstance(days, bool) or not isinstance(days, int):
        raise UsageError(flag, f"must be a whole number of days, found {days!r}")
    if not 1 <= days <= MAX_HORIZON_DAYS:
        raise UsageError(flag, f"must be between 1 and {MAX_HORIZON_DAYS} days, found {days}")
    return days


def parse_as_of(
    as_of: pd.Timestamp | str | None, timezone: str, limits: Limits | None = None
) -> pd.Timestamp | None:
    """The as-of time in UTC (naive = local time in `timezone`), or None for the default."""
    if as_of is None:
        return None
    try:
        ts = to_utc(pd.Timestamp(as_of), timezone)
    except (ValueError, TypeError, OverflowError):
        raise UsageError(
            "--as-of", f"{as_of!r} is not an ISO 8601 time (for example 2024-11-06T20:00)"
        ) from None
    if pd.isna(ts):
        raise UsageError("--as-of", f"{as_of!r} is not a time")
    limits = limits or Limits()
    if not limits.earliest <= ts < limits.latest:
        raise UsageError("--as-of", f"must be between {limits.span()}, found {as_of}")
    return ts


def check_solver(name: str) -> None:
    problem = solver_problem(name)
    if problem is not None:
        raise UsageError("optimiser.solver", problem)


def check_as_of(
    tables: Tables, as_of: pd.Timestamp | None, horizon_days: int, timezone: str
) -> pd.Timestamp:
    """The as-of time to use (the default when None), checked against the data: some stream
    must start in [as_of, as_of + horizon) and some stream with recorded sales must have ended
    by as_of."""
    starts = tables.streams["start_time"]
    if as_of is None:
        try:
            as_of = default_as_of(tables)
        except ValueError as err:
            raise UsageError("--as-of", str(err)) from None
    end = as_of + pd.Timedelta(days=horizon_days)
    if not (starts >= as_of).any():
        raise UsageError(
            "--as-of",
            f"{_local(as_of, timezone)} is after every stream (the last starts "
            f"{_local(starts.max(), timezone)}): there is nothing to plan",
        )
    ends = _sold_stream_ends(tables)
    if not (ends <= as_of).any():
        first = f" (the first ended {_local(ends.min(), timezone)})" if len(ends) else ""
        raise UsageError(
            "--as-of",
            f"no stream with recorded sales ended by {_local(as_of, timezone)}{first}: "
            "there is nothing to learn from",
        )
    if not ((starts >= as_of) & (starts < end)).any():
        following = starts[starts >= as_of].min()
        raise UsageError(
            "--horizon-days",
            f"no stream starts within {horizon_days} days of as-of {_local(as_of, timezone)} "
            f"(the next starts {_local(following, timezone)})",
        )
    return as_of


def _sold_stream_ends(tables: Tables) -> pd.Series:
    items = tables.stream_items
    sold = set(items.loc[items["units_sold"].notna(), "stream_id"])
    streams = tables.streams[tables.streams["stream_id"].isin(sold)]
    return streams["start_time"] + pd.to_timedelta(streams["duration_min"], unit="min")


def _local(ts: pd.Timestamp, timezone: str) -> str:
    return f"{ts.tz_convert(timezone):%Y-%m-%d %H:%M %Z}"


def check_engine(engine: str, scheduler: str | None) -> None:
    """`--engine` is local or dask, and `--scheduler` goes with dask only."""
    if engine not in ("local", "dask"):
        raise UsageError("--engine", f"must be local or dask, found {engine!r}")
    if scheduler is not None and engine != "dask":
        raise UsageError("--scheduler", "goes with --engine dask")
