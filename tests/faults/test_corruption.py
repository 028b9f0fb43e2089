"""Hypothesis breaks the tiny world one cell at a time, with what careless exports hold (huge and
odd numbers, dates out of range, formulas, quotes, line breaks, blanks). Never a traceback: the
load either goes on (and then a plan is made) or stops with a ContractError naming the file, the
row and the column of a cell."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from demandmatch.config import load_config
from demandmatch.data import load_tables
from demandmatch.data.schema import TABLES as TABLES_SPEC
from demandmatch.data.tables import ContractError
from demandmatch.preflight import check_as_of
from demandmatch.runs import run_forecast
from demandmatch.sheets import read_sheet
from tests.faults.conftest import read_rows, write_rows

TABLES = ("catalog", "streamers", "streams", "stream_items", "video_traffic", "merchants")

JUNK = (
    st.sampled_from(
        [
            "",
            "   ",
            "1e15",
            "-1",
            "0",
            "-0",
            "1e308",
            "1e-300",
            "nan",
            "inf",
            "99999999999999999999",
            "1,5",
            "0x10",
            "1700-01-01",
            "2200-01-01T00:00",
            "0001-01-01",
            "2024-13-01",
            "2024-05-02T25:00",
            "2024-05-02 08:00+99:00",
            '=HYPERLINK("http://x","y")',
            "+cmd|' /C calc'!A0",
            "@SUM(1)",
            "true",
            "yes",
            "M01",
            'a "quoted" cell',
            "line\nbreak",
            "tab\there",
        ]
    )
    | st.integers(-(10**20), 10**20).map(str)
    | st.floats(allow_nan=True, allow_infinity=True).map(repr)
    | st.text(max_size=12)
)


@cache
def _template(path: str) -> dict[str, list[list[str]]]:
    data = Path(path)
    return {t: read_rows(data / f"{t}.csv") for t in TABLES if (data / f"{t}.csv").exists()}


def _plausible(table: str, column: str) -> st.SearchStrategy[str]:
    """A well-formed value of the column's kind: odd, but one a real export could hold."""
    spec = next((c for c in TABLES_SPEC[table].columns if c.name == column), None)
    kind = spec.kind if spec else "string"
    return {
        "string": st.text(min_size=1, max_size=16).filter(str.strip),
        "number": st.floats(0.01, 1e6).map(lambda x: f"{x:.2f}"),
        "integer": st.integers(0, 10**6).map(str),
        "boolean": st.sampled_from(["true", "false", "1", "0", "yes", "no"]),
        "timestamp": st.datetimes(
            min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)
        ).map(datetime.isoformat),
    }[kind]


@st.composite
def corruptions(
    draw: st.DrawFn, tables: dict[str, list[list[str]]], plausible: bool = False
) -> tuple[str, int, str, str]:
    table = draw(st.sampled_from(sorted(tables)))
    rows = tables[table]
    row = draw(st.integers(1, len(rows) - 1))
    column = draw(st.sampled_from(rows[0]))
    return table, row, column, draw(_plausible(table, column) if plausible else JUNK)


def _break(source: Path, target: Path, case: tuple[str, int, str, str]) -> Path:
    table, row, column, value = case
    shutil.copytree(source, target)
    rows = [list(r) for r in _template(str(source))[table]]
    rows[row][rows[0].index(column)] = value
    write_rows(target / f"{table}.csv", rows)
    return target


def _outcome(data: Path, case: tuple[str, int, str, str], config) -> str:
    """'loaded', or the ContractError's message after checking it names file, row and column."""
    table = case[0]
    try:
        tables = load_tables(data, config.timezone, config.limits.data_limits(), read_sheet)
        check_as_of(tables, None, config.horizon_days, config.timezone)
    except ContractError as err:
        assert err.file and err.row is not None and err.column, (case, str(err))
        assert str(err).startswith(f"{err.file}, row {err.row}, column '{err.column}': ")
        if err.file == f"{table}.csv" and err.column == case[2] and "duplicate" not in str(err):
            assert err.row == case[1], (case, str(err))  # the broken cell itself
        return str(err)
    return "loaded"


CONFIG = load_config(
    None,
    {"tracking": {"enabled": False}, "model": {"name": "sku_empirical"}, "horizon_days": 3},
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_broken_cell_is_read_or_named(tiny_world, data):
    case = data.draw(corruptions(_template(str(tiny_world.data))))
    with tempfile.TemporaryDirectory() as tmp:
        outcome = _outcome(_break(tiny_world.data, Path(tmp) / "data", case), case, CONFIG)
    event("loaded" if outcome == "loaded" else "named the cell")


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_broken_cell_that_loads_still_gives_a_plan(tiny_world, data):
    case = data.draw(corruptions(_template(str(tiny_world.data)), plausible=True))
    with tempfile.TemporaryDirectory() as tmp:
        broken = _break(tiny_world.data, Path(tmp) / "data", case)
        if _outcome(broken, case, CONFIG) != "loaded":
            event("named the cell")
            return
        run = run_forecast(broken, Path(tmp) / "out", CONFIG)
        assert (Path(tmp) / "out" / "plan.csv").is_file() and run.record["files"]
        event("planned")
