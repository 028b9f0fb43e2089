"""The table of faults a careless user or a bad day brings, each on a tiny world: every one ends
in a one-line message naming the flag, key, file, row or column, exit status 2, before any fit,
and leaves the earlier outputs as they were."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.faults.conftest import (
    assert_clean_failure,
    forecast,
    read_rows,
    set_cell,
    write_rows,
)


def _first_row(data: Path, table: str, where: Callable[[pd.DataFrame], pd.Series]) -> int:
    frame = pd.read_csv(data / f"{table}.csv", dtype=str, keep_default_na=False)
    return int(where(frame).to_numpy().argmax()) + 1


def _past_row(data: Path) -> int:
    return _first_row(data, "stream_items", lambda f: f["units_sold"] != "")


def _config(tmp: Path, text: str) -> Path:
    path = tmp / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _set(table: str, column: str, value: str, row: Callable[[Path], int] = lambda d: 1):
    def setup(data: Path, tmp: Path) -> list[str]:
        set_cell(data, table, row(data), column, value)
        return []

    return setup


def _flags(*args: str):
    return lambda data, tmp: list(args)


def _foreign_merchant(data: Path, tmp: Path) -> list[str]:
    rows = read_rows(data / "catalog.csv")
    extra = list(rows[1])
    extra[rows[0].index("merchant_id")] = "M99"
    write_rows(data / "catalog.csv", [*rows, extra])
    return []


def _out_is_a_file(data: Path, tmp: Path) -> list[str]:
    (tmp / "out").write_text("not a folder")
    return []


def _out_is_foreign(data: Path, tmp: Path) -> list[str]:
    (tmp / "out").mkdir()
    (tmp / "out" / "thesis.tex").write_text("years of work")
    return []


def _data_is_a_file(data: Path, tmp: Path) -> list[str]:
    return ["--data", str(data / "catalog.csv")]


CASES: dict[str, tuple[Callable[[Path, Path], list[str]], tuple[str, ...]]] = {
    "horizon 0": (_flags("--horizon-days", "0"), ("--horizon-days", "between 1 and")),
    "horizon -5": (_flags("--horizon-days", "-5"), ("--horizon-days", "found -5")),
    "horizon 1e8": (_flags("--horizon-days", "100000000"), ("--horizon-days",)),
    "as-of after every stream": (
        _flags("--as-of", "2030-01-01"),
        ("--as-of", "after every stream"),
    ),
    "as-of before any sales": (
        _flags("--as-of", "2001-01-01"),
        ("--as-of", "nothing to learn"),
    ),
    "as-of yesterday": (_flags("--as-of", "yesterday"), ("--as-of", "not an ISO 8601 time")),
    "as-of in 1700": (_flags("--as-of", "1700-01-01"), ("--as-of", "between 2000-01-01")),
    "config unknown key": (
        lambda d, t: ["--config", str(_config(t, "model:\n  n_estimatorz: 3\n"))],
        ("bad.yaml", "'model.n_estimatorz'", "unknown key"),
    ),
    "config wrong type": (
        lambda d, t: ["--config", str(_config(t, "horizon_days: soon\n"))],
        ("bad.yaml", "'horizon_days'", "valid integer"),
    ),
    "config invalid yaml": (
        lambda d, t: ["--config", str(_config(t, "model:\n  name: [unclosed\n"))],
        ("bad.yaml, line", "invalid YAML"),
    ),
    "engine spark": (_flags("--engine", "spark"), ("--engine", "local or dask", "'spark'")),
    "scheduler without dask": (
        _flags("--scheduler", "tcp://127.0.0.1:8786"),
        ("--scheduler", "--engine dask"),
    ),
    "config is a folder": (lambda d, t: ["--config", str(t)], ("--config", "is a folder")),
    "config lead -24": (
        lambda d, t: ["--config", str(_config(t, "train_lead_hours: [-24]\n"))],
        ("'train_lead_hours'", "> 0"),
    ),
    "config solver NOPE": (
        lambda d, t: ["--config", str(_config(t, "optimiser:\n  solver: NOPE\n"))],
        ("optimiser.solver", "'NOPE'", "choose from"),
    ),
    "out is a file": (_out_is_a_file, ("--out", "is a file")),
    "out holds other files": (_out_is_foreign, ("--out", "holds other files")),
    "out is the data": (
        lambda d, t: ["--out", str(d)],
        ("--out", "would replace the data folder"),
    ),
    "data is a file": (_data_is_a_file, ("--data", "is a file")),
    "data is missing": (lambda d, t: ["--data", str(t / "nope")], ("--data", "not found")),
    "units_sold 1e15": (
        _set("stream_items", "units_sold", "1e15", _past_row),
        ("stream_items.csv, row", "column 'units_sold'", "limits.max_units"),
    ),
    "start_time in 1700": (
        _set("streams", "start_time", "1700-05-01T20:00:00"),
        ("streams.csv, row 1, column 'start_time'", "between 2000-01-01 and 2100-01-01"),
    ),
    "start_time in 1500": (
        _set("streams", "start_time", "1500-05-01T20:00:00"),
        ("streams.csv, row 1, column 'start_time'", "between 2000-01-01"),
    ),
    "on_hand 1e18": (
        _set("catalog", "on_hand", "1000000000000000000"),
        ("catalog.csv, row 1, column 'on_hand'", "limits.max_stock"),
    ),
    "list_price 1e308": (
        _set("catalog", "list_price", "1e308"),
        ("catalog.csv, row 1, column 'list_price'", "limits.max_money"),
    ),
    "salvage_value 1e300": (
        _set("catalog", "salvage_value", "1e300"),
        ("catalog.csv, row 1, column 'salvage_value'", "limits.max_money"),
    ),
    "salvage above list price": (
        _set("catalog", "salvage_value", "99999"),
        ("catalog.csv, row 1, column 'salvage_value'", "<= list_price"),
    ),
    "catalog merchant not in merchants.csv": (
        _foreign_merchant,
        ("catalog.csv, row", "column 'merchant_id'", "'M99' is not in merchants"),
    ),
}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("case", list(CASES))
def test_an_operator_mistake_is_one_line_and_status_2(case, data, fast_config, tmp_path):
    setup, needles = CASES[case]
    out = tmp_path / "out"
    args = ["--no-tracking", "--config", str(fast_config), *setup(data, tmp_path)]
    if "--data" in args:  # the case points elsewhere
        i = args.index("--data")
        data, args = Path(args[i + 1]), args[:i] + args[i + 2 :]
    if "--out" in args:
        i = args.index("--out")
        out, args = Path(args[i + 1]), args[:i] + args[i + 2 :]
    before = _digest(out) if out.is_dir() else None
    result = forecast(data, out, *args)
    assert_clean_failure(result, 2, *needles)
    assert "demand model" not in result.output  # refused before any fit
    assert (_digest(out) if out.is_dir() else None) == before  # nothing written over


def test_debug_shows_the_traceback(data, tmp_path):
    from typer.testing import CliRunner

    from demandmatch.cli import app
    from demandmatch.errors import UsageError

    args = ["--debug", "forecast", "--data", str(data), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, [*args, "--horizon-days", "0", "--no-tracking"])
    assert isinstance(result.exception, UsageError)  # raised through, so Python prints it
    assert result.exit_code == 1


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write: a read-only tmpfs as root, else mode 0555."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return folder
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"root but cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    return folder


def test_read_only_out_is_refused_before_the_fit(data, fast_config, tmp_path):
    folder = _read_only_folder(tmp_path)
    try:
        result = forecast(data, folder / "out", "--no-tracking", "--config", fast_config)
        assert_clean_failure(result, 2, "--out", "cannot write in")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(folder)], check=False)
        else:
            folder.chmod(0o755)


def _first_planned(data: Path) -> int:
    """The catalog row of the SKU in the first upcoming stream (so it is in the plan)."""
    items = pd.read_csv(data / "stream_items.csv", dtype=str, keep_default_na=False)
    streams = pd.read_csv(data / "streams.csv", dtype=str).set_index("stream_id")
    upcoming = items[items["units_sold"] == ""].join(streams, on="stream_id")
    first = upcoming.sort_values("start_time").iloc[0]
    catalog = pd.read_csv(data / "catalog.csv", dtype=str)
    mine = (catalog["merchant_id"] == first["merchant_id"]) & (catalog["sku_id"] == first["sku_id"])
    return int(mine.to_numpy().argmax()) + 1


def rename_sku(data: Path, row: int, new: str) -> None:
    """Give catalog row `row`'s SKU another id, in the lineups and videos of its merchant too."""
    catalog = read_rows(data / "catalog.csv")
    m_at, s_at = catalog[0].index("merchant_id"), catalog[0].index("sku_id")
    merchant, old = catalog[row][m_at], catalog[row][s_at]
    catalog[row][s_at] = new
    write_rows(data / "catalog.csv", catalog)
    streams = read_rows(data / "streams.csv")
    mine = {r[0] for r in streams[1:] if r[streams[0].index("merchant_id")] == merchant}
    for table in ("stream_items", "video_traffic"):
        rows = read_rows(data / f"{table}.csv")
        st, sk = rows[0].index("stream_id"), rows[0].index("sku_id")
        for r in rows[1:]:
            if r[sk] == old and r[st] in mine:
                r[sk] = new
        write_rows(data / f"{table}.csv", rows)


@pytest.mark.parametrize("what", ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0"])
def test_formula_like_ids_are_quoted_in_the_csvs(what, data, fast_config, tmp_path):
    """A SKU id that a spreadsheet would run as a formula is written with a quote prefix."""
    rename_sku(data, _first_planned(data), what)
    out = tmp_path / "out"
    result = forecast(data, out, "--no-tracking", "--config", fast_config)
    assert result.exit_code == 0, result.output
    for name in ("plan.csv", "allocation.csv", "forecasts.csv"):
        rows = read_rows(out / name)
        ids = [r[rows[0].index("sku_id")] for r in rows[1:]]
        assert what not in ids and f"'{what}" in ids, name
