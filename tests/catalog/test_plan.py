"""Import previews: cell errors in one pass, blank keeps the stored value, domain rules, and
the diff against the stored catalog."""

from __future__ import annotations

import pandas as pd
import pytest

from demandmatch.catalog import CatalogFileError, plan_import
from demandmatch.catalog.headers import map_header

from .helpers import csv_text, stored, xlsx

EMPTY = stored()
APPLE = {
    "sku_id": "00123",
    "title": "苹果",
    "category": "水果",
    "list_price": 10.0,
    "unit_cost": 5.0,
    "salvage_value": 1.0,
    "on_hand": 7,
    "brand": "Orchard",
}


def plan(text: str, current: pd.DataFrame = EMPTY, name: str = "c.csv", **kw):
    return plan_import(text.encode("utf-8"), name, "M01", current, **kw)


def issues(p, severity="error"):
    found = p.errors if severity == "error" else p.warnings
    return [(e.row, e.field, e.code) for e in found]


def test_chinese_headers_map_and_sku_ids_stay_text():
    text = "货号,商品名称,类目,品牌,吊牌价,进价,残值,库存,箱规,起订量,交期(天),保质期,单件体积\n"
    text += "00123,苹果,水果,,10,5,1,100,6,12,3,30,0.5\n"
    p = plan(text)
    assert [m["field"] for m in p.mapping] == [
        "sku_id",
        "title",
        "category",
        "brand",
        "list_price",
        "unit_cost",
        "salvage_value",
        "on_hand",
        "case_pack",
        "moq",
        "lead_time_days",
        "shelf_life_days",
        "unit_volume_l",
    ]
    assert p.errors == [] and p.warnings == []
    row = p.writes.iloc[0]
    assert row["sku_id"] == "00123"
    assert (row["on_hand"], row["moq"], row["shelf_life_days"]) == (100, 12, 30)
    assert row["brand"] is None


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("SKU", "sku_id"),
        (" Unit Cost ", "unit_cost"),
        ("*货号", "sku_id"),
        ("Lead time (days)", "lead_time_days"),
        ("ＭＯＱ", "moq"),
        ("吊牌价（元）", "list_price"),
    ],
)
def test_header_synonyms(header, field):
    assert map_header([header], "c.csv").columns == {field: 0}


def test_two_headers_for_one_column_is_a_file_error():
    with pytest.raises(CatalogFileError) as err:
        plan("sku_id,货号\nA,B\n")
    assert err.value.code == "duplicate_column"
    assert "'sku_id' and '货号'" in err.value.message


def test_no_sku_column_is_a_file_error():
    with pytest.raises(CatalogFileError) as err:
        plan("title,category\nA,B\n")
    assert err.value.code == "missing_column"


def test_every_bad_cell_reported_in_one_pass_with_spreadsheet_rows():
    text = csv_text(
        "A1,ok,c,,10,5,,,,",  # row 2: fine
        "A2,x,c,,abc,5,,-3,0,1.5",  # row 3: four bad cells
        "A3,x,c,,nan,inf,,,,",  # row 4: NaN and infinity
        "A4,x,c,,1e308,5,,,,",  # row 5: absurd price
        "A5,x,c,,10,5,,1e300,,",  # row 6: integer too large
        ",x,c,,10,5,,,,",  # row 7: no SKU
    )
    p = plan(text)
    assert issues(p) == [
        (3, "list_price", "not_a_number"),
        (3, "on_hand", "negative_stock"),
        (3, "case_pack", "below_minimum"),
        (3, "moq", "not_an_integer"),
        (4, "list_price", "not_a_number"),
        (4, "unit_cost", "not_a_number"),
        (5, "list_price", "too_large"),
        (6, "on_hand", "too_large"),
        (7, "sku_id", "blank_required"),
    ]
    assert p.counts()["rejected"] == 5 and p.counts()["creates"] == 1
    bad = p.errors[0]
    assert (bad.column, bad.value) == ("list_price", "abc")
    assert "abc" in bad.message
    assert [r["row"] for r in p.rejected] == [3, 4, 5, 6, 7]
    assert p.rejected[0]["cells"][4] == "abc"


def test_duplicates_and_case_twins_reject_every_row_involved():
    p = plan(
        csv_text(
            "A1,x,c,,10,5,,,,",
            "B1,x,c,,10,5,,,,",
            "A1,y,c,,10,5,,,,",
            "b1,x,c,,10,5,,,,",
            "C1,x,c,,10,5,,,,",
        )
    )
    assert issues(p) == [
        (2, "sku_id", "duplicate_sku"),
        (3, "sku_id", "duplicate_sku_case"),
        (4, "sku_id", "duplicate_sku"),
        (5, "sku_id", "duplicate_sku_case"),
    ]
    assert "first seen at row 2" in p.errors[2].message
    assert "'B1' at row 3" in p.errors[3].message
    assert list(p.writes["sku_id"]) == ["C1"]


def test_a_new_sku_differing_by_case_from_a_stored_one_is_an_error():
    p = plan(
        csv_text("00123,苹果,水果,,10,5,,,,", "abc,x,c,,1,1,,,,"),
        stored(APPLE, {**APPLE, "sku_id": "ABC"}),
    )
    assert issues(p) == [(3, "sku_id", "duplicate_sku_case")]
    assert "stored SKU 'ABC'" in p.errors[0].message


def test_domain_rules():
    p = plan(
        csv_text(
            "A1,x,c,,10,12,,,,",  # cost above price: warning
            "A2,x,c,,10,5,6,,,",  # salvage above cost: error
            "A3,x,c,,10,5,,,6,10",  # moq 10 with case pack 6: rounded up to 12
            "A4,x,c,,10,5,,,6,0",  # moq 0 means no minimum: fine
        )
        + ""
    )
    assert issues(p, "warning") == [
        (2, "unit_cost", "cost_above_price"),
        (4, "moq", "moq_rounded_up"),
    ]
    assert issues(p) == [(3, "salvage_value", "salvage_above_cost")]
    assert "rounded up to 12" in p.warnings[1].message
    moq = dict(zip(p.writes["sku_id"], p.writes["moq"], strict=True))
    assert moq == {"A1": 0, "A3": 12, "A4": 0}


def test_shelf_life_shorter_than_lead_time_warns():
    p = plan(
        "sku_id,title,category,list_price,unit_cost,lead_time_days,shelf_life_days\n"
        "A,x,c,10,5,10,3\nB,x,c,10,5,3,10\n"
    )
    assert issues(p, "warning") == [(2, "shelf_life_days", "shelf_life_below_lead_time")]


def test_blank_cells_keep_stored_values_and_new_skus_take_defaults():
    current = stored(APPLE)
    p = plan(
        "sku_id,title,category,brand,list_price,unit_cost,salvage_value,on_hand\n"
        "00123,,,,,,,9\n"
        "N1,new,c,,3,2,,\n",
        current,
    )
    assert p.errors == []
    assert p.updates == [
        {"row": 2, "sku_id": "00123", "changes": {"on_hand": {"before": 7, "after": 9}}}
    ]
    new = p.writes[p.writes["sku_id"] == "N1"].iloc[0]
    assert (new["salvage_value"], new["on_hand"], new["case_pack"], new["brand"]) == (0, 0, 1, None)
    kept = p.writes[p.writes["sku_id"] == "00123"].iloc[0]
    assert (kept["title"], kept["brand"], kept["salvage_value"]) == ("苹果", "Orchard", 1.0)


def test_a_column_absent_from_the_file_keeps_stored_values_too():
    p = plan("货号,库存\n00123,3\n", stored(APPLE))
    assert p.counts()["updates"] == 1 and p.errors == []
    assert p.writes.iloc[0]["title"] == "苹果"


def test_blank_required_cell_of_a_new_sku_is_an_error():
    p = plan("sku_id,on_hand\nNEW,3\n", stored(APPLE))
    assert issues(p) == [
        (2, f, "blank_required") for f in ("title", "category", "list_price", "unit_cost")
    ]


def test_rules_run_on_the_row_as_it_would_be_stored():
    # the file lowers the cost below the stored salvage value (1.0)
    p = plan("sku_id,unit_cost\n00123,0.5\n", stored(APPLE))
    assert issues(p) == [(2, "salvage_value", "salvage_above_cost")]


def test_unchanged_rows_and_replace_mode():
    current = stored(APPLE, {**APPLE, "sku_id": "OLD"}, {**APPLE, "sku_id": "BAD"})
    text = "sku_id,title,category,list_price,unit_cost,on_hand\n00123,苹果,水果,10,5,7\n"
    text += "BAD,x,c,oops,5,1\n"
    upsert = plan(text, current)
    assert upsert.counts() | {} == {
        "rows": 2,
        "creates": 0,
        "updates": 0,
        "unchanged": 1,
        "retires": 0,
        "rejected": 1,
        "errors": 1,
        "warnings": 0,
    }
    replace = plan(text, current, mode="replace")
    # a SKU named by a rejected row is not retired: its row was wrong, not its existence
    assert replace.retires == ["OLD"]


def test_merchant_id_column_is_optional_and_checked():
    p = plan(
        "merchant_id,sku_id,title,category,list_price,unit_cost\n"
        "M01,A,x,c,1,1\n,B,x,c,1,1\nM02,C,x,c,1,1\n"
    )
    assert issues(p) == [(4, "merchant_id", "wrong_merchant")]


def test_unknown_columns_are_listed_as_ignored():
    p = plan("sku_id,title,category,list_price,unit_cost,颜色,_errors\nA,x,c,1,1,红,\n")
    assert p.ignored == ["颜色"]


def test_quote_prefix_from_our_exports_is_undone_on_import():
    p = plan("sku_id,title,category,list_price,unit_cost\nA,'=SUM(1),'-c,1,1\n")
    assert (p.writes.iloc[0]["title"], p.writes.iloc[0]["category"]) == ("=SUM(1)", "-c")


def test_xlsx_numeric_sku_warns_about_leading_zeros():
    data = xlsx(
        [
            ["sku_id", "title", "category", "list_price", "unit_cost"],
            [123, "x", "c", 10, 5],
            ["007", "y", "c", 10.5, 5],
        ]
    )
    p = plan_import(data, "c.xlsx", "M01", EMPTY)
    assert issues(p, "warning") == [(2, "sku_id", "sku_stored_as_number")]
    assert list(p.writes["sku_id"]) == ["123", "007"]
    assert list(p.writes["list_price"]) == [10.0, 10.5]


def test_text_too_long_is_an_error():
    p = plan(f"sku_id,title,category,list_price,unit_cost\nA,{'x' * 600},c,1,1\n")
    assert issues(p) == [(2, "title", "too_long")]
