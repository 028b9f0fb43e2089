"""Data a run can go on with but a person should know about: read as meant, with a warning that
reaches the run summary, the report's summary and run.json; and what is not readable is named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from demandmatch.data import load_tables
from demandmatch.data.tables import ContractError
from demandmatch.sheets import read_sheet
from tests.faults.conftest import forecast, read_rows, write_rows


def _rename_column(data: Path, table: str, old: str, new: str) -> None:
    rows = read_rows(data / f"{table}.csv")
    rows[0][rows[0].index(old)] = new
    write_rows(data / f"{table}.csv", rows)


def _delimit(data: Path, table: str, delimiter: str) -> None:
    write_rows(data / f"{table}.csv", read_rows(data / f"{table}.csv"), delimiter)


def _to_xlsx(data: Path, table: str) -> None:
    raw = pd.read_csv(data / f"{table}.csv", dtype=str, keep_default_na=False)
    raw.to_excel(data / f"{table}.xlsx", index=False)
    (data / f"{table}.csv").unlink()


CHANGES = {
    "Salvage_Value (case)": (
        lambda d: _rename_column(d, "catalog", "salvage_value", "Salvage_Value"),
        "column_renamed",
        "column 'Salvage_Value' read as 'salvage_value'",
    ),
    "salvage value (space)": (
        lambda d: _rename_column(d, "catalog", "salvage_value", " salvage value"),
        "column_renamed",
        "read as 'salvage_value'",
    ),
    "semicolons": (
        lambda d: _delimit(d, "stream_items", ";"),
        "delimiter",
        "stream_items.csv is semicolon-separated",
    ),
    "tabs": (lambda d: _delimit(d, "streams", "\t"), "delimiter", "streams.csv is tab-separated"),
    "catalog.xlsx": (lambda d: _to_xlsx(d, "catalog"), None, None),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_near_miss_is_read_as_meant_and_said(change, tiny_world, data):
    alter, code, text = CHANGES[change]
    alter(data)
    tables = load_tables(data, read_sheet=read_sheet)
    for name, frame in tiny_world.tables.as_dict().items():
        pd.testing.assert_frame_equal(frame, getattr(tables, name), obj=name)
    if code is None:
        assert tables.warnings == ()
    else:
        assert [w.code for w in tables.warnings] == [code]
        assert text in tables.warnings[0].message


def test_a_table_in_a_format_the_loader_does_not_read_is_named(data):
    (data / "catalog.csv").rename(data / "catalog.xls")
    with pytest.raises(ContractError, match="required table is missing.*found catalog.xls"):
        load_tables(data, read_sheet=read_sheet)
    (data / "catalog.xls").rename(data / "catalog.csv")
    (data / "video_traffic.csv").rename(data / "video_traffic.json")
    tables = load_tables(data, read_sheet=read_sheet)
    assert tables.video_traffic.empty
    (note,) = tables.warnings
    assert note.code == "file_not_read" and "video_traffic.json is not read" in note.message
    assert "taken as absent" in note.message


def test_a_delimiter_that_cannot_be_guessed_is_named_in_the_error(data):
    rows = read_rows(data / "streamers.csv")
    (data / "streamers.csv").write_text("\n".join(" ".join(r) for r in rows) + "\n")
    with pytest.raises(ContractError, match="streamers.csv, column 'streamer_id'.*by commas"):
        load_tables(data)


@pytest.mark.slow
def test_warnings_reach_the_summary_the_report_and_run_json(data, fast_config, tmp_path):
    """One run carrying several warnings (and a title that is markup, kept inert)."""
    _rename_column(data, "catalog", "salvage_value", "Salvage_Value")
    _delimit(data, "streamers", ";")
    rows = read_rows(data / "catalog.csv")
    rows[1][rows[0].index("title")] = "<script>alert('x')</script>"
    write_rows(data / "catalog.csv", rows)
    out = tmp_path / "out"
    result = forecast(data, out, "--no-tracking", "--config", fast_config)
    assert result.exit_code == 0, result.output
    run = json.loads((out / "run.json").read_text())
    codes = [w["code"] for w in run["warnings"]]
    assert codes == ["column_renamed", "delimiter"]
    assert run["summary"]["warnings"] == run["warnings"]
    for w in run["warnings"]:
        assert f"warning {w['message']}" in " ".join(result.output.split())
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(" not in html and "&lt;script&gt;alert(" in html
    assert {"forecasts.csv", "plan.csv", "allocation.csv", "report.html"} <= set(run["files"])
    assert {p.name for p in out.iterdir()} == {*run["files"], "run.json"}
    umask = os.umask(0o022)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o666 & ~umask}


@pytest.mark.slow
def test_a_history_mostly_sold_out_caps_the_forecasts_and_says_so(data, fast_config, tmp_path):
    items = pd.read_csv(data / "stream_items.csv", dtype=str, keep_default_na=False)
    past = items["units_sold"] != ""
    items.loc[past, "stock_allocated"] = items.loc[past, "units_sold"]  # every one sold out
    items.to_csv(data / "stream_items.csv", index=False)
    out = tmp_path / "out"
    result = forecast(data, out, "--no-tracking", "--config", fast_config)
    assert result.exit_code == 0, result.output
    (note,) = json.loads((out / "run.json").read_text())["warnings"]
    assert note["code"] == "sold_out_history"
    assert note["message"].startswith("100% of the past stream items sold out")
    # no forecast above 3x the most its SKU sold in a stream
    sold = (
        items.loc[past]
        .astype({"units_sold": float})
        .merge(pd.read_csv(data / "streams.csv", dtype=str)[["stream_id", "merchant_id"]])
    )
    most = sold.groupby(["merchant_id", "sku_id"])["units_sold"].max().rename("most")
    fc = pd.read_csv(out / "forecasts.csv", dtype={"sku_id": str}).join(
        most, on=["merchant_id", "sku_id"]
    )
    known = fc["most"].notna()
    assert known.any() and (fc.loc[known, "q95"] <= 3 * fc.loc[known, "most"] + 1e-9).all()
