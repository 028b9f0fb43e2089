"""Whatever a merchant uploads, the answer is a preview or a CatalogFileError, never a crash."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from demandmatch.catalog import CatalogFileError, ImportPlan, plan_import
from demandmatch.catalog.headers import SYNONYMS

from .helpers import stored, xlsx

CURRENT = stored(
    {"sku_id": "A1", "title": "t", "category": "c", "list_price": 5.0, "unit_cost": 2.0}
)
HEADERS = [names[i % len(names)] for names in SYNONYMS.values() for i in (0, 1, -1)]
OTHERS = [field for field in SYNONYMS if field != "sku_id"]


@st.composite
def headers(draw, extra=True):
    """Mostly a usable header: an SKU column, then distinct known columns, then others."""
    fields = draw(st.lists(st.sampled_from(OTHERS), unique=True, max_size=8))
    if draw(st.integers(0, 9)):  # nine times in ten
        fields.insert(draw(st.integers(0, len(fields))), "sku_id")
    names = [draw(st.sampled_from(SYNONYMS[f])) for f in fields]
    if extra:
        names += draw(st.lists(st.text(max_size=6), max_size=2))
    return names


nasty = st.sampled_from(
    [
        '"',
        '""',
        ",",
        "\t",
        ";",
        "\n",
        "\r\n",
        "'=1",
        "-1",
        "1e308",
        "nan",
        "inf",
        "0x1F",
        "A1",
        "a1",
        "１２",
        "货号",
        "\x00",
        "\u2028",
        " ",
        "",
        "-0",
        "1.5",
        "99999999999999999999",
    ]
)
cell = st.one_of(nasty, st.text(max_size=12), st.integers(-10, 10**9).map(str))


def outcome(data: bytes, name: str, **kw) -> None:
    try:
        plan = plan_import(data, name, "M01", CURRENT, **kw)
    except CatalogFileError as err:
        event(f"file error {err.code}")
        assert err.code and name.split(".")[0] in err.message
        return
    assert isinstance(plan, ImportPlan)
    event("preview with errors" if plan.errors else "clean preview")
    report = plan.report()
    assert report["counts"]["rows"] == plan.n_rows
    for e in plan.errors:
        assert e.row >= 1 and e.code and e.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=headers(),
    rows=st.lists(st.lists(cell, max_size=10), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", "\t", ";"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
    ext=st.sampled_from(["csv", "tsv", "txt"]),
    mode=st.sampled_from(["upsert", "replace"]),
)
def test_csv_like_uploads(header, rows, delimiter, encoding, ext, mode):
    text = "\n".join(delimiter.join(r) for r in [header, *rows])
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8", "replace")
    outcome(data, f"fuzz.{ext}", mode=mode)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300), ext=st.sampled_from(["csv", "xlsx", "tsv", "bin"]))
def test_random_bytes(data, ext):
    outcome(data, f"fuzz.{ext}")


xlsx_value = st.one_of(
    cell,
    st.none(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2100, 1, 1)),
).filter(lambda v: not isinstance(v, str) or not any(ch < " " and ch not in "\t\n\r" for ch in v))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=headers(extra=False),
    rows=st.lists(st.lists(xlsx_value, max_size=9), min_size=1, max_size=6),
)
def test_xlsx_uploads(header, rows):
    outcome(xlsx([header, *rows]), "fuzz.xlsx")


VALID = xlsx([["sku_id", "title", "category", "list_price", "unit_cost"], ["A", "t", "c", 1, 1]])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=6)
)
def test_corrupted_xlsx(flips):
    data = bytearray(VALID)
    for at, value in flips:
        data[at] = value
    outcome(bytes(data), "fuzz.xlsx")
