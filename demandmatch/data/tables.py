"""The in-memory form of a data directory, and the error every loader raises."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .plausible import DataWarning


class ContractError(ValueError):
    """Input that breaks the data contract: names the table (file), the row and the column.

    `row` is the 1-based data row (the header is not counted, so row 1 is line 2 of a CSV);
    None when the problem is with the whole table or a whole column.
    """

    def __init__(
        self,
        table: str,
        message: str,
        row: int | None = None,
        column: str | None = None,
        file: str | None = None,
    ) -> None:
        self.table, self.row, self.column, self.file = table, row, column, file
        where = file or table
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Tables:
    """The contract's six tables, typed.

    Timestamps are tz-aware UTC. Required integer columns are int64; integer columns that may
    be blank (outcomes, viewers, shelf life, cumulative counts other than views) are float64
    with NaN for blank. Booleans are bool; optional defaults are filled. Optional tables that
    are absent are empty frames with the contract's columns. `warnings` holds what the load
    noted but could go on with (see `DataWarning`).
    """

    merchants: pd.DataFrame
    catalog: pd.DataFrame
    streamers: pd.DataFrame
    streams: pd.DataFrame
    stream_items: pd.DataFrame
    video_traffic: pd.DataFrame
    warnings: tuple[DataWarning, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {
            "merchants": self.merchants,
            "catalog": self.catalog,
            "streamers": self.streamers,
            "streams": self.streams,
            "stream_items": self.stream_items,
            "video_traffic": self.video_traffic,
        }
