"""Reading uploads: encodings, delimiters, broken quotes, limits, and the type check."""

from __future__ import annotations

import io
import zipfile

import pytest

from demandmatch.catalog import CatalogFileError, Limits, read_grid
from demandmatch.catalog.files import decode

from .helpers import xlsx

TEXT = "货号,商品名称\n00123,苹果\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("gb18030"), "gb18030"),
        (TEXT.encode("gbk"), "gb18030"),
        (TEXT.encode("utf-16"), "utf-16"),
    ],
)
def test_every_encoding_merchants_save_reads_the_same_cells(data, encoding):
    grid = read_grid(data, "c.csv")
    assert grid.encoding == encoding
    assert grid.header == ["货号", "商品名称"]
    assert grid.rows == [["00123", "苹果"]]


def test_accents_survive_utf8():
    grid = read_grid("sku_id,title\nA1,Crème brûlée façon Zoë\n".encode(), "c.csv")
    assert grid.rows[0][1] == "Crème brûlée façon Zoë"


def test_undecodable_bytes_name_the_offset():
    with pytest.raises(CatalogFileError) as err:
        decode(b"sku_id\nA\xff\xfe\xff1\n", "c.csv")
    assert err.value.code == "bad_encoding"
    assert "offset 8" in err.value.message


@pytest.mark.parametrize(
    ("text", "name", "delimiter"),
    [
        ("sku_id\ttitle\nA\tx, y\n", "c.tsv", "\t"),
        ("sku_id\ttitle\nA\tx, y\n", "c.txt", "\t"),
        ("sku_id;title\nA;x, y\n", "c.csv", ";"),
    ],
)
def test_delimiters(text, name, delimiter):
    grid = read_grid(text.encode(), name)
    assert grid.delimiter == delimiter
    assert grid.rows == [["A", "x, y"]]


def test_a_stray_quote_breaks_one_row_not_the_file():
    text = 'sku_id,title,category\nA,"ok, quoted",c\nB,"broken,c\nC,fine,c\nD,mid"quote,c\n'
    grid = read_grid(text.encode(), "c.csv")
    assert [r[0] for r in grid.rows] == ["A", "B", "C", "D"]
    assert grid.row_numbers == [2, 3, 4, 5]
    assert grid.rows[0][1] == "ok, quoted"
    assert grid.rows[3][1] == 'mid"quote'  # a quote inside a cell is just a character
    assert list(grid.bad_rows) == [1]
    assert "unbalanced quote" in grid.bad_rows[1]


def test_a_quoted_cell_may_span_lines():
    grid = read_grid(b'sku_id,title,category\nA,"two\nlines",c\nB,x,c\n', "c.csv")
    assert grid.rows == [["A", "two\nlines", "c"], ["B", "x", "c"]]
    assert grid.row_numbers == [2, 3]
    assert not grid.bad_rows


def test_blank_rows_are_skipped_but_counted_and_short_rows_padded():
    grid = read_grid(b"\nsku_id,title,category\n\nA,x\n,,\nB,y,z,,\n", "c.csv")
    assert grid.header == ["sku_id", "title", "category"]
    assert grid.rows == [["A", "x", ""], ["B", "y", "z"]]
    assert grid.row_numbers == [4, 6]
    assert not grid.bad_rows


def test_extra_cells_with_values_mark_the_row():
    grid = read_grid(b"sku_id,title\nA,x,surprise\n", "c.csv")
    assert grid.bad_rows == {0: "the row has 3 cells but the header has 2"}


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "c.csv", "empty_file"),
        (b"sku_id\n", "c.csv", "no_rows"),
        (b"\n\n", "c.csv", "no_header"),
        (b"sku_id\n1\n", "c.exe", "unsupported_type"),
        (b"sku_id\n1\n", "c.xlsx", "extension_mismatch"),
        (b"\xd0\xcf\x11\xe0rest", "c.csv", "extension_mismatch"),
        (b"\x00\x01\x02binary", "c.csv", "extension_mismatch"),
        (b"%PDF\x00", "c.txt", "extension_mismatch"),
    ],
)
def test_whole_file_errors_have_codes(data, name, code):
    with pytest.raises(CatalogFileError) as err:
        read_grid(data, name)
    assert err.value.code == code
    assert name.split(".")[0] in err.value.message


def test_an_xlsx_renamed_csv_is_refused():
    with pytest.raises(CatalogFileError) as err:
        read_grid(xlsx([["sku_id"], ["A"]]), "c.csv")
    assert err.value.code == "extension_mismatch"
    assert "rename it to .xlsx" in err.value.message


def test_size_and_row_limits():
    data = ("sku_id\n" + "A\n" * 11).encode()
    with pytest.raises(CatalogFileError) as err:
        read_grid(data, "c.csv", Limits(max_bytes=10))
    assert err.value.code == "file_too_large"
    with pytest.raises(CatalogFileError) as err:
        read_grid(data, "c.csv", Limits(max_rows=10))
    assert err.value.code == "too_many_rows"
    assert len(read_grid(data, "c.csv", Limits(max_rows=11)).rows) == 11


def test_xlsx_first_or_named_sheet_and_text_kept():
    data = xlsx(
        [["货号", "商品名称", "吊牌价"], ["00123", "苹果", 12.5], [456, "梨", 3]],
        extra={"second": [["sku_id"], ["Z9"]]},
    )
    grid = read_grid(data, "c.xlsx")
    assert grid.kind == "xlsx" and grid.sheet == "Sheet1"
    assert grid.rows == [["00123", "苹果", "12.5"], ["456", "梨", "3"]]
    assert grid.numeric_sku_rows == [1]
    assert read_grid(data, "c.xlsx", sheet="second").rows == [["Z9"]]
    with pytest.raises(CatalogFileError) as err:
        read_grid(data, "c.xlsx", sheet="nope")
    assert err.value.code == "sheet_not_found"
    assert "'Sheet1', 'second'" in err.value.message


def _rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, replace.get(item.filename, source.read(item.filename)))
    return out.getvalue()


def test_xlsx_unzipped_size_is_limited_before_parsing():
    bomb = _rezip(xlsx([["sku_id"], ["A"]]), {"docProps/app.xml": b" " * 3_000_000})
    assert len(bomb) < 100_000
    with pytest.raises(CatalogFileError) as err:
        read_grid(bomb, "c.xlsx", Limits(max_unzipped_bytes=1_000_000))
    assert err.value.code == "unzipped_too_large"
    with pytest.raises(CatalogFileError) as err:  # the ratio alone marks a bomb
        read_grid(bomb, "c.xlsx")
    assert err.value.code == "unzipped_too_large"


def test_xlsx_xml_entities_are_refused():
    data = xlsx([["sku_id"], ["A"]])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    evil = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>' + sheet
    with pytest.raises(CatalogFileError) as err:
        read_grid(_rezip(data, {"xl/worksheets/sheet1.xml": evil.encode()}), "c.xlsx")
    assert err.value.code == "bad_workbook"


def test_a_corrupt_workbook_is_a_clear_error():
    data = xlsx([["sku_id"], ["A"]])
    broken = _rezip(data, {"xl/workbook.xml": b"<not xml"})
    with pytest.raises(CatalogFileError) as err:
        read_grid(broken, "c.xlsx")
    assert err.value.code == "bad_workbook"
    assert "c.xlsx" in err.value.message
