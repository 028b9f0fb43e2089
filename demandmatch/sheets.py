"""An .xlsx table of a data directory, read through the catalog import's reader (the zip's
unpacked size checked first, XML through defusedxml), as the grid of text cells the loader
types (`demandmatch.data.load_tables(..., read_sheet=read_sheet)`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from demandmatch.catalog.errors import CatalogFileError
from demandmatch.catalog.files import Limits, read_grid
from demandmatch.data.tables import ContractError

# a data table may be as long as a sheet can be
_LIMITS = Limits(max_bytes=1 << 31, max_rows=1_048_576, max_unzipped_bytes=1 << 33)


def read_sheet(path: Path, table: str) -> pd.DataFrame:
    """The first sheet as a headerless grid (header first). Fully blank rows are kept as blank
    rows, so a data row's number is its sheet row less the header's, as in a CSV."""
    try:
        grid = read_grid(Path(path).read_bytes(), Path(path).name, _LIMITS)
    except CatalogFileError as err:
        message = err.message.removeprefix(f"{Path(path).name}: ")
        raise ContractError(table, message, file=Path(path).name) from err
    first = grid.row_numbers[0]
    for position, problem in sorted(grid.bad_rows.items())[:1]:
        raise ContractError(
            table, problem, row=grid.row_numbers[position] - first + 1, file=Path(path).name
        )
    body = [[""] * len(grid.header) for _ in range(grid.row_numbers[-1] - first + 1)]
    for number, cells in zip(grid.row_numbers, grid.rows, strict=True):
        body[number - first] = cells
    return pd.DataFrame([grid.header, *body], dtype=object)
