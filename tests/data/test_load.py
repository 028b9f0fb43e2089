"""The contract loader: typed tables from CSV/Parquet, and precise errors for bad input."""

from __future__ import annotations

import csv
import io
import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demandmatch.data import (
    data_hash,
    load_table,
    load_tables,
    validate_references,
    write_table,
)
from demandmatch.data.schema import TABLES
from demandmatch.data.tables import ContractError, Tables
from demandmatch.sheets import read_sheet

FILES = {
    "catalog": """\
merchant_id,sku_id,title,category,brand,list_price,unit_cost,salvage_value,on_hand,case_pack,moq,lead_time_days,shelf_life_days,unit_volume_l
m1,s1,Face cream,beauty,Acme,99.0,30,5,10,6,12,3,,0.2
m1,s2,"Lip balm, cherry",beauty,,29.9,8.5,,,,,,365,
""",
    "streamers": """\
streamer_id,followers
h1,120000
""",
    "streams": """\
stream_id,merchant_id,streamer_id,start_time,duration_min,viewers
st1,m1,h1,2024-05-02 08:00,120,50000
st2,m1,h1,2024-05-10T20:00:00+08:00,90,
""",
    "stream_items": """\
stream_id,sku_id,live_price,slot,featured,units_sold,units_returned,stock_allocated
st1,s1,79,1,true,300,40,300
st1,s2,19.9,2,no,120,5,
st2,s1,75,1,1,,,
st2,s2,19.9,2,,,,
""",
    "video_traffic": """\
video_id,stream_id,sku_id,published_at,observed_at,views,likes,comments,shares
v1,st2,s1,2024-05-08 12:00,2024-05-09 12:00,1000,50,3,2
v1,st2,s1,2024-05-08 12:00,2024-05-10 12:00,5000,,,
v2,st2,,2024-05-09T00:00:00Z,2024-05-09T06:00:00Z,200,10,0,1
""",
}


def make_dir(root: Path) -> Path:
    """A small valid data directory: two SKUs, one streamer, a past and an upcoming stream."""
    root.mkdir(parents=True, exist_ok=True)
    for table, text in FILES.items():
        (root / f"{table}.csv").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return make_dir(tmp_path / "data")


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def set_cell(data: Path, table: str, row: int, column: str, value: str) -> None:
    """Replace one cell; `row` is the 1-based data row."""
    path = data / f"{table}.csv"
    rows = read_rows(path)
    rows[row][rows[0].index(column)] = value
    write_rows(path, rows)


def add_row(data: Path, table: str, values: dict[str, str]) -> None:
    path = data / f"{table}.csv"
    rows = read_rows(path)
    rows.append([values.get(name, "") for name in rows[0]])
    write_rows(path, rows)


def contract_error(data: Path) -> ContractError:
    with pytest.raises(ContractError) as info:
        load_tables(data)
    return info.value


def assert_error(err: ContractError, file: str, row: int | None, column: str | None) -> None:
    assert (err.file, err.row, err.column) == (file, row, column), str(err)


# --- valid input -----------------------------------------------------------------------------


def test_valid_directory_loads_with_known_values(data_dir: Path) -> None:
    t = load_tables(data_dir)
    assert list(t.catalog["sku_id"]) == ["s1", "s2"]
    assert t.catalog["title"].iloc[1] == "Lip balm, cherry"
    assert t.catalog["list_price"].tolist() == [99.0, 29.9]
    assert t.catalog["case_pack"].tolist() == [6, 1]
    assert t.stream_items["featured"].tolist() == [True, False, True, False]
    assert t.stream_items["units_sold"].iloc[:2].tolist() == [300, 120]
    assert t.stream_items["units_sold"].iloc[2:].isna().all()
    assert t.video_traffic["sku_id"].isna().tolist() == [False, False, True]
    assert len(t.streamers) == 1 and t.streamers["followers"].iloc[0] == 120000


def test_naive_timestamps_are_local_and_offsets_honoured(data_dir: Path) -> None:
    t = load_tables(data_dir)
    start = t.streams.set_index("stream_id")["start_time"]
    assert start["st1"] == pd.Timestamp("2024-05-02T00:00:00Z")  # 08:00 Shanghai
    assert start["st2"] == pd.Timestamp("2024-05-10T12:00:00Z")  # +08:00 honoured
    assert t.video_traffic["published_at"].iloc[2] == pd.Timestamp("2024-05-09T00:00:00Z")
    in_utc = load_tables(data_dir, timezone="UTC").streams["start_time"]
    assert in_utc.iloc[0] == pd.Timestamp("2024-05-02T08:00:00Z")
    assert in_utc.iloc[1] == pd.Timestamp("2024-05-10T12:00:00Z")


def test_bare_date_is_local_midnight(data_dir: Path) -> None:
    set_cell(data_dir, "streams", 1, "start_time", "2024-05-02")
    start = load_tables(data_dir).streams["start_time"].iloc[0]
    assert start == pd.Timestamp("2024-05-01T16:00:00Z")


def test_defaults_filled(data_dir: Path) -> None:
    t = load_tables(data_dir)
    s2 = t.catalog.set_index("sku_id").loc["s2"]
    assert (s2["salvage_value"], s2["on_hand"], s2["case_pack"], s2["moq"]) == (0.0, 0, 1, 0)
    assert s2["lead_time_days"] == 0
    assert np.isnan(s2["unit_volume_l"]) and s2["brand"] is None
    assert t.streamers["qualification_verified"].tolist() == [False]  # column absent
    assert not t.stream_items["featured"].iloc[3]  # blank cell


def assert_documented_dtypes(tables: Tables) -> None:
    for name, frame in tables.as_dict().items():
        for col in TABLES[name].columns:
            dtype = str(frame[col.name].dtype)
            expected = {
                "string": "object",
                "number": "float64",
                "boolean": "bool",
                "timestamp": "datetime64[ns, UTC]",
                "integer": "int64" if col.required or col.default is not None else "float64",
            }[col.kind]
            assert dtype == expected, (name, col.name, dtype)


def test_dtypes_as_documented(data_dir: Path) -> None:
    (data_dir / "merchants.csv").write_text("merchant_id,name,budget,capacity_l\nm1,Shop,100,\n")
    assert_documented_dtypes(load_tables(data_dir))


def test_extra_columns_kept_after_contract_columns(data_dir: Path) -> None:
    rows = read_rows(data_dir / "catalog.csv")
    write_rows(
        data_dir / "catalog.csv", [r + [v] for r, v in zip(rows, ["notes", "a", ""], strict=True)]
    )
    catalog = load_tables(data_dir).catalog
    assert list(catalog.columns) == TABLES["catalog"].column_names + ["notes"]
    assert catalog["notes"].tolist() == ["a", ""]


def test_optional_tables_absent_give_empty_frames(data_dir: Path) -> None:
    (data_dir / "video_traffic.csv").unlink()
    t = load_tables(data_dir)
    for name in ("merchants", "video_traffic"):
        frame = getattr(t, name)
        assert frame.empty and list(frame.columns) == TABLES[name].column_names
    assert_documented_dtypes(t)


def test_header_only_optional_table_is_empty(data_dir: Path) -> None:
    (data_dir / "video_traffic.csv").write_text(FILES["video_traffic"].splitlines()[0] + "\n")
    t = load_tables(data_dir)
    assert t.video_traffic.empty
    assert list(t.video_traffic.columns) == TABLES["video_traffic"].column_names


def test_bom_csv_loads(data_dir: Path) -> None:
    path = data_dir / "catalog.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert list(load_tables(data_dir).catalog["merchant_id"]) == ["m1", "m1"]


def test_whitespace_stripped_and_trailing_blank_lines_ignored(data_dir: Path) -> None:
    path = data_dir / "catalog.csv"
    path.write_text(path.read_text().replace("m1,s2,", "  m1 , s2 ,") + "\n , ,\n\n")
    catalog = load_tables(data_dir).catalog
    assert catalog["sku_id"].tolist() == ["s1", "s2"] and catalog["merchant_id"].iloc[1] == "m1"


def test_parquet_loads_the_same_as_csv(data_dir: Path, tmp_path: Path) -> None:
    from_csv = load_tables(data_dir)
    typed, text = tmp_path / "typed", tmp_path / "text"
    typed.mkdir()
    text.mkdir()
    for name in FILES:
        getattr(from_csv, name).to_parquet(typed / f"{name}.parquet")
        raw = pd.read_csv(data_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        raw.to_parquet(text / f"{name}.parquet")
    for other in (typed, text):
        loaded = load_tables(other)
        for name in FILES:
            pd.testing.assert_frame_equal(getattr(loaded, name), getattr(from_csv, name))


def test_parquet_naive_timestamps_are_local(data_dir: Path, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "stream_id": ["st1"],
            "merchant_id": ["m1"],
            "streamer_id": ["h1"],
            "start_time": [pd.Timestamp("2024-05-02 08:00")],
            "duration_min": [120],
        }
    )
    frame.to_parquet(tmp_path / "streams.parquet")
    streams = load_table(tmp_path / "streams.parquet", "streams")
    assert streams["start_time"].iloc[0] == pd.Timestamp("2024-05-02T00:00:00Z")


def test_write_table_round_trips(data_dir: Path, tmp_path: Path) -> None:
    t = load_tables(data_dir)
    out = tmp_path / "copy"
    out.mkdir()
    for name in FILES:
        write_table(getattr(t, name), out / f"{name}.csv")
    again = load_tables(out)
    for name in FILES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(t, name))


def test_loading_writes_nothing(data_dir: Path) -> None:
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in data_dir.iterdir()}
    load_tables(data_dir)
    data_hash(data_dir)
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in data_dir.iterdir()}
    assert before == after


def test_data_hash_covers_contract_files_only(data_dir: Path) -> None:
    first = data_hash(data_dir)
    assert len(first) == 64 and data_hash(data_dir) == first
    (data_dir / "README.txt").write_text("not data")
    assert data_hash(data_dir) == first
    set_cell(data_dir, "catalog", 1, "on_hand", "11")
    assert data_hash(data_dir) != first


def test_other_files_are_ignored(data_dir: Path) -> None:
    (data_dir / "notes.csv").write_text('garbage,,\n"')
    (data_dir / "catalog.csv.bak").write_bytes(b"not a table")
    tables = load_tables(data_dir)
    assert len(tables.catalog) == 2 and tables.warnings == ()


def test_two_readable_files_for_one_table(data_dir: Path) -> None:
    (data_dir / "catalog.xlsx").write_bytes(b"not a workbook")
    err = contract_error(data_dir)
    assert "both catalog.csv and catalog.xlsx are present" in str(err)


# --- bad input: one table ------------------------------------------------------------------


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="data directory not found"):
        load_tables(tmp_path / "nope")


def test_missing_required_table(data_dir: Path) -> None:
    (data_dir / "streams.csv").unlink()
    err = contract_error(data_dir)
    assert err.table == "streams" and err.row is None
    assert "required table is missing" in str(err) and "streams.csv" in str(err)


def test_missing_required_column(data_dir: Path) -> None:
    rows = read_rows(data_dir / "catalog.csv")
    drop = rows[0].index("unit_cost")
    write_rows(data_dir / "catalog.csv", [r[:drop] + r[drop + 1 :] for r in rows])
    err = contract_error(data_dir)
    assert_error(err, "catalog.csv", None, "unit_cost")
    assert str(err).startswith("catalog.csv, column 'unit_cost': required column is missing")


def test_text_in_a_number(data_dir: Path) -> None:
    set_cell(data_dir, "catalog", 2, "list_price", "abc")
    err = contract_error(data_dir)
    assert str(err) == "catalog.csv, row 2, column 'list_price': must be a number, found 'abc'"


def test_non_whole_integer(data_dir: Path) -> None:
    set_cell(data_dir, "catalog", 1, "on_hand", "3.0")
    assert load_tables(data_dir).catalog["on_hand"].iloc[0] == 3
    set_cell(data_dir, "catalog", 1, "on_hand", "3.5")
    err = contract_error(data_dir)
    assert str(err) == "catalog.csv, row 1, column 'on_hand': must be a whole number, found 3.5"


def test_negative_on_hand(data_dir: Path) -> None:
    set_cell(data_dir, "catalog", 2, "on_hand", "-5")
    err = contract_error(data_dir)
    assert str(err) == "catalog.csv, row 2, column 'on_hand': must be >= 0, found -5"


def test_zero_list_price(data_dir: Path) -> None:
    set_cell(data_dir, "catalog", 1, "list_price", "0")
    err = contract_error(data_dir)
    assert str(err) == "catalog.csv, row 1, column 'list_price': must be > 0, found 0"


def test_blank_required_cell(data_dir: Path) -> None:
    set_cell(data_dir, "catalog", 2, "title", "   ")
    assert_error(contract_error(data_dir), "catalog.csv", 2, "title")


def test_bad_boolean(data_dir: Path) -> None:
    set_cell(data_dir, "stream_items", 3, "featured", "maybe")
    err = contract_error(data_dir)
    assert_error(err, "stream_items.csv", 3, "featured")
    assert "found 'maybe'" in str(err)


def test_booleans_parse_all_spellings(data_dir: Path) -> None:
    spellings = ["TRUE", "f", "Yes", "0"]
    for row, word in enumerate(spellings, start=1):
        set_cell(data_dir, "stream_items", row, "featured", word)
    featured = load_tables(data_dir).stream_items["featured"].tolist()
    assert featured == [True, False, True, False]


def test_unparsable_timestamp(data_dir: Path) -> None:
    set_cell(data_dir, "streams", 2, "start_time", "next tuesday")
    err = contract_error(data_dir)
    assert_error(err, "streams.csv", 2, "start_time")
    assert "ISO 8601" in str(err) and "next tuesday" in str(err)


def test_duplicate_sku(data_dir: Path) -> None:
    add_row(
        data_dir,
        "catalog",
        {
            "merchant_id": "m1",
            "sku_id": "s1",
            "title": "x",
            "category": "y",
            "list_price": "1",
            "unit_cost": "1",
        },
    )
    err = contract_error(data_dir)
    assert_error(err, "catalog.csv", 3, "sku_id")
    assert "duplicate (merchant_id, sku_id) ('m1', 's1'), first seen at row 1" in str(err)


def test_empty_file(data_dir: Path) -> None:
    (data_dir / "catalog.csv").write_bytes(b"")
    err = contract_error(data_dir)
    assert_error(err, "catalog.csv", None, None)
    assert "0 bytes" in str(err)


def test_empty_optional_file_is_still_an_error(data_dir: Path) -> None:
    (data_dir / "video_traffic.csv").write_bytes(b"")
    assert_error(contract_error(data_dir), "video_traffic.csv", None, None)


def test_header_only_required_table(data_dir: Path) -> None:
    (data_dir / "streamers.csv").write_text("streamer_id,followers\n")
    err = contract_error(data_dir)
    assert_error(err, "streamers.csv", None, None)
    assert "no data rows" in str(err)


def test_csv_and_parquet_both_present(data_dir: Path) -> None:
    pd.DataFrame({"streamer_id": ["h1"], "followers": [1]}).to_parquet(
        data_dir / "streamers.parquet"
    )
    err = contract_error(data_dir)
    assert err.table == "streamers" and "streamers.csv and streamers.parquet" in str(err)


def test_first_error_in_file_order(data_dir: Path) -> None:
    set_cell(data_dir, "catalog", 2, "merchant_id", "")
    set_cell(data_dir, "catalog", 1, "unit_volume_l", "big")
    set_cell(data_dir, "catalog", 1, "on_hand", "-1")
    assert_error(contract_error(data_dir), "catalog.csv", 1, "on_hand")


def test_blank_line_inside_the_file_is_a_row(data_dir: Path) -> None:
    path = data_dir / "catalog.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1], "", lines[2]]) + "\n")
    assert_error(contract_error(data_dir), "catalog.csv", 2, "merchant_id")


def test_unknown_timezone_and_table(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown timezone"):
        load_tables(data_dir, timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="unknown table"):
        load_table(data_dir / "catalog.csv", "inventory")


def test_ragged_row(data_dir: Path) -> None:
    path = data_dir / "streamers.csv"
    path.write_text("streamer_id,followers\nh1,5\nh2,6,7\n")
    err = contract_error(data_dir)
    assert_error(err, "streamers.csv", 2, None)
    assert "expected 2 fields, found 3" in str(err)


def test_not_utf8(data_dir: Path) -> None:
    (data_dir / "streamers.csv").write_bytes("streamer_id,followers\n主播,5\n".encode("gbk"))
    err = contract_error(data_dir)
    assert err.file == "streamers.csv" and "UTF-8" in str(err)


def test_duplicate_header(data_dir: Path) -> None:
    (data_dir / "streamers.csv").write_text("streamer_id,followers,followers\nh1,5,6\n")
    assert_error(contract_error(data_dir), "streamers.csv", None, "followers")


def test_not_a_workbook_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(ContractError, match="catalog.xlsx: .*not an Excel workbook"):
        load_table(path, "catalog", read_sheet=read_sheet)


def test_excel_loads_like_csv(data_dir: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(data_dir / "catalog.csv", dtype=str, keep_default_na=False)
    raw.to_excel(tmp_path / "catalog.xlsx", index=False)
    from_excel = load_table(tmp_path / "catalog.xlsx", "catalog", read_sheet=read_sheet)
    pd.testing.assert_frame_equal(from_excel, load_table(data_dir / "catalog.csv", "catalog"))


# --- bad input: across tables ---------------------------------------------------------------


def test_lineup_sku_missing_from_catalog(data_dir: Path) -> None:
    add_row(
        data_dir,
        "stream_items",
        {"stream_id": "st2", "sku_id": "s9", "live_price": "5", "slot": "3"},
    )
    err = contract_error(data_dir)
    assert_error(err, "stream_items.csv", 5, "sku_id")
    assert "'s9' is not in the catalog of merchant 'm1'" in str(err)


def test_lineup_sku_of_another_merchant(data_dir: Path) -> None:
    add_row(
        data_dir,
        "catalog",
        {
            "merchant_id": "m2",
            "sku_id": "s3",
            "title": "Tea",
            "category": "food",
            "list_price": "59",
            "unit_cost": "20",
        },
    )
    add_row(
        data_dir,
        "stream_items",
        {"stream_id": "st2", "sku_id": "s3", "live_price": "5", "slot": "3"},
    )
    err = contract_error(data_dir)
    assert_error(err, "stream_items.csv", 5, "sku_id")
    assert "listed under merchant 'm2'" in str(err)


def test_video_sku_of_another_merchant(data_dir: Path) -> None:
    add_row(
        data_dir,
        "catalog",
        {
            "merchant_id": "m2",
            "sku_id": "s3",
            "title": "Tea",
            "category": "food",
            "list_price": "59",
            "unit_cost": "20",
        },
    )
    set_cell(data_dir, "video_traffic", 3, "sku_id", "s3")
    assert_error(contract_error(data_dir), "video_traffic.csv", 3, "sku_id")


def test_unknown_stream_id(data_dir: Path) -> None:
    set_cell(data_dir, "stream_items", 2, "stream_id", "st9")
    err = contract_error(data_dir)
    assert str(err) == "stream_items.csv, row 2, column 'stream_id': 'st9' is not in streams"


def test_unknown_stream_id_in_video_traffic(data_dir: Path) -> None:
    set_cell(data_dir, "video_traffic", 2, "stream_id", "st9")
    assert_error(contract_error(data_dir), "video_traffic.csv", 2, "stream_id")


def test_unknown_streamer(data_dir: Path) -> None:
    set_cell(data_dir, "streams", 2, "streamer_id", "h9")
    assert_error(contract_error(data_dir), "streams.csv", 2, "streamer_id")


def test_stream_merchant_without_catalog(data_dir: Path) -> None:
    set_cell(data_dir, "streams", 1, "merchant_id", "m7")
    err = contract_error(data_dir)
    assert_error(err, "streams.csv", 1, "merchant_id")
    assert "has no rows in catalog" in str(err)


def test_catalog_merchant_missing_from_merchants(data_dir: Path) -> None:
    (data_dir / "merchants.csv").write_text("merchant_id,budget\nm2,1000\n")
    err = contract_error(data_dir)
    assert_error(err, "catalog.csv", 1, "merchant_id")
    assert "'m1' is not in merchants" in str(err)


def test_duplicate_merchant(data_dir: Path) -> None:
    (data_dir / "merchants.csv").write_text("merchant_id,budget\nm1,1000\nm1,5\n")
    assert_error(contract_error(data_dir), "merchants.csv", 2, "merchant_id")


def test_units_returned_above_units_sold(data_dir: Path) -> None:
    set_cell(data_dir, "stream_items", 2, "units_returned", "121")
    err = contract_error(data_dir)
    assert str(err) == (
        "stream_items.csv, row 2, column 'units_returned': must be <= units_sold (120), found 121"
    )


def test_observed_before_published(data_dir: Path) -> None:
    set_cell(data_dir, "video_traffic", 3, "observed_at", "2024-05-08T23:00:00Z")
    err = contract_error(data_dir)
    assert_error(err, "video_traffic.csv", 3, "observed_at")
    assert "must be at or after published_at" in str(err)


def test_validate_references_on_tables_in_memory(data_dir: Path) -> None:
    t = load_tables(data_dir)
    validate_references(t)
    items = t.stream_items.copy()
    items.loc[1, "sku_id"] = "s9"
    broken = Tables(**{**t.as_dict(), "stream_items": items})
    with pytest.raises(ContractError) as info:
        validate_references(broken)
    assert (info.value.table, info.value.row, info.value.column) == ("stream_items", 2, "sku_id")
    assert str(info.value).startswith("stream_items, row 2, column 'sku_id'")


# --- properties ------------------------------------------------------------------------------

_text = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(',"\n '),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)
_maybe = st.none() | st.integers(0, 10**9)


@st.composite
def catalogs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 6))
    money = st.floats(1e-6, 1e7, allow_nan=False, allow_infinity=False)
    rows = []
    for i in range(n):
        price = draw(money)
        rows.append(
            {
                "merchant_id": draw(st.sampled_from(["m1", "m2"])),
                "sku_id": f"{draw(_text)}#{i}",
                "title": draw(_text),
                "category": draw(_text),
                "brand": draw(st.none() | _text),
                "list_price": price,
                "unit_cost": draw(money | st.just(0.0)),
                "salvage_value": draw(st.floats(0, price, allow_nan=False)),
                "on_hand": draw(st.integers(0, 10**9)),
                "case_pack": draw(st.integers(1, 1000)),
                "moq": draw(st.integers(0, 1000)),
                "lead_time_days": draw(st.integers(0, 90)),
                "shelf_life_days": draw(st.none() | st.integers(1, 3650)),
                "unit_volume_l": draw(st.none() | st.floats(1e-6, 1e4, allow_nan=False)),
            }
        )
    frame = pd.DataFrame(rows)
    for name in ("shelf_life_days", "unit_volume_l"):
        frame[name] = frame[name].astype("float64")
    frame["brand"] = frame["brand"].astype(object).where(frame["brand"].notna(), None)
    return frame


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogs())
def test_catalog_round_trips_through_csv(frame: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.csv"
        write_table(frame, path)
        loaded = load_table(path, "catalog")
    pd.testing.assert_frame_equal(loaded, frame)


_letters = st.text(alphabet=string.ascii_letters + "!?#%&*", min_size=1, max_size=8)
_BAD = {
    "number": st.sampled_from(["nan", "inf", "-inf", "1,5", "--1", "1e", "0x10", "1.2.3"])
    | _letters,
    "integer": st.sampled_from(["3.5", "1e-3", "nan", "1,000", "9" * 30]) | _letters,
    "boolean": _letters.filter(lambda s: s.lower() not in {"true", "false", "yes", "no", "t", "f"}),
    "timestamp": st.sampled_from(["2024-13-01", "2024-05-32 10:00", "10:00", "2024/05/0x"])
    | _letters,
}


def _bad_token(table: str, column: str) -> st.SearchStrategy[str]:
    col = next(c for c in TABLES[table].columns if c.name == column)
    options = _BAD.get(col.kind, st.nothing())
    if col.required:
        options = options | st.sampled_from(["", "   "])
    if col.min is not None:
        low = "0" if col.min_exclusive else str(int(col.min) - 1)
        options = options | st.sampled_from([low, "-1"])
    return options


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[str, int, str, str]:
    table = draw(st.sampled_from(list(FILES)))
    rows = list(csv.reader(io.StringIO(FILES[table])))
    header = rows[0]
    breakable = [
        c.name
        for c in TABLES[table].columns
        if c.name in header and (c.kind != "string" or c.required)
    ]
    column = draw(st.sampled_from(breakable))
    row = draw(st.integers(1, len(rows) - 1))
    return table, row, column, draw(_bad_token(table, column))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corruptions())
def test_a_bad_cell_is_reported_where_it_is(case: tuple[str, int, str, str]) -> None:
    table, row, column, token = case
    with tempfile.TemporaryDirectory() as tmp:
        data = make_dir(Path(tmp))
        set_cell(data, table, row, column, token)
        with pytest.raises(ContractError) as info:
            load_tables(data)
    assert_error(info.value, f"{table}.csv", row, column)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from('ab1.-,"\n\r \t\x00\ufeffé'), max_size=60))
def test_arbitrary_body_never_raises_another_exception(body: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "streamers.csv"
        path.write_text("streamer_id,followers\n" + body, encoding="utf-8")
        try:
            frame = load_table(path, "streamers")
        except ContractError:
            return
    assert str(frame["followers"].dtype) == "int64"
