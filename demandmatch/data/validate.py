"""The contract's rules on loaded tables: unique keys, and the rules across tables (ids that
must exist, ordered times, returns <= sales).

A broken rule is an `Issue`: a vectorised mask of the bad rows of one column, described only for
the first bad row, which `raise_first` raises as a ContractError naming the table, row and column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .schema import TABLES, TableSpec
from .tables import ContractError, Tables


@dataclass(frozen=True)
class Issue:
    """Rows of one column (or one rule) that break the contract, and how to describe one.

    `mask[i]` marks a bad row at position i; `describe(i)` says what is wrong there and what
    was found. Describing only on demand keeps the checks vectorised.
    """

    column: str
    mask: np.ndarray
    describe: Callable[[int], str]


def validate_references(tables: Tables) -> None:
    """Check the rules across tables (ids that must exist, ordered times, returns <= sales).

    Raises the first broken rule as a ContractError naming the referencing table, row and
    column. Keys are checked for uniqueness first, since the lookups rely on them.
    """
    check_references(tables, {})


def raise_first(issues: Iterable[Issue], table: str, file: str | None) -> None:
    """Raise the earliest issue by row; ties go to the issue listed first."""
    best: tuple[int, Issue] | None = None
    for issue in issues:
        if issue.mask.any():
            row = int(issue.mask.argmax())
            if best is None or row < best[0]:
                best = (row, issue)
    if best is not None:
        row, issue = best
        raise ContractError(table, issue.describe(row), row=row + 1, column=issue.column, file=file)


def key_issues(frame: pd.DataFrame, spec: TableSpec) -> list[Issue]:
    """Duplicate keys (and unique columns), reported at the second occurrence."""
    keys = [spec.key] if spec.key else []
    keys += [(c.name,) for c in spec.columns if c.unique]
    return [_duplicate_issue(frame, list(key)) for key in keys]


def _duplicate_issue(frame: pd.DataFrame, key: list[str]) -> Issue:
    dup = frame.duplicated(subset=key, keep="first").to_numpy()

    def describe(i: int) -> str:
        value = tuple(frame[k].iloc[i] for k in key)
        first = int((frame[key] == frame[key].iloc[i]).all(axis=1).to_numpy().argmax())
        label = key[0] if len(key) == 1 else f"({', '.join(key)})"
        shown = _value(value[0]) if len(key) == 1 else f"({', '.join(map(_value, value))})"
        return f"duplicate {label} {shown}, first seen at row {first + 1}"

    return Issue(key[-1], dup, describe)


def _value(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)


# --- across tables ---------------------------------------------------------------------------


def check_references(tables: Tables, files: Mapping[str, str], keys: bool = True) -> None:
    """Raise the first broken cross-table rule; tables in order catalog, streams, lineups,
    videos."""
    if keys:
        for name, frame in tables.as_dict().items():
            raise_first(key_issues(frame, TABLES[name]), name, files.get(name))
    catalog = _Catalog.of(tables)
    raise_first(_catalog_issues(tables), "catalog", files.get("catalog"))
    source = files.get("catalog", "catalog")  # a file's name, or the catalog store
    raise_first(_stream_issues(tables, source), "streams", files.get("streams"))
    raise_first(_item_issues(tables, catalog), "stream_items", files.get("stream_items"))
    raise_first(_video_issues(tables, catalog), "video_traffic", files.get("video_traffic"))


@dataclass(frozen=True)
class _Catalog:
    """Which merchant sells which SKU, as integer codes for vectorised membership tests,
    plus the merchant of every stream."""

    merchants: pd.Index
    skus: pd.Index
    codes: np.ndarray  # sorted merchant_code * width + sku_code of every catalog row
    stream_merchant: pd.Series

    @classmethod
    def of(cls, tables: Tables) -> _Catalog:
        cat = tables.catalog
        merchants, skus = pd.Index(cat["merchant_id"].unique()), pd.Index(cat["sku_id"].unique())
        codes = merchants.get_indexer(cat["merchant_id"]) * (len(skus) + 1)
        codes = np.sort(codes + skus.get_indexer(cat["sku_id"]))
        by_stream = tables.streams.set_index("stream_id")["merchant_id"]
        return cls(merchants, skus, codes, by_stream)

    def listed(self, merchant: pd.Series, sku: pd.Series) -> np.ndarray:
        """True where the merchant's catalog has the SKU."""
        m, k = self.merchants.get_indexer(merchant), self.skus.get_indexer(sku)
        code = m * (len(self.skus) + 1) + k
        at = np.minimum(np.searchsorted(self.codes, code), max(len(self.codes) - 1, 0))
        found = self.codes[at] == code if len(self.codes) else np.zeros(len(code), dtype=bool)
        return (m >= 0) & (k >= 0) & found


def _missing(column: str, values: pd.Series, known: pd.Series, where: str) -> Issue:
    """Rows whose non-blank `values` are not among `known`."""
    mask = (values.notna() & ~values.isin(known)).to_numpy()
    return Issue(column, mask, lambda i: f"{_value(values.iloc[i])} is not in {where}")


def _catalog_issues(tables: Tables) -> list[Issue]:
    """A catalog merchant must be in merchants (when that table is given: its budget and space
    bind the merchant's orders); an unsold unit is worth at most its list price."""
    cat = tables.catalog.reset_index(drop=True)
    issues = []
    if not tables.merchants.empty:
        issues.append(
            _missing(
                "merchant_id", cat["merchant_id"], tables.merchants["merchant_id"], "merchants"
            )
        )
    salvage, price = cat["salvage_value"].to_numpy(), cat["list_price"].to_numpy()
    issues.append(
        Issue(
            "salvage_value",
            salvage > price,
            lambda i: f"must be <= list_price ({price[i]:.15g}), found {salvage[i]:.15g}",
        )
    )
    return issues


def _stream_issues(tables: Tables, source: str = "catalog") -> list[Issue]:
    streams = tables.streams.reset_index(drop=True)
    merchant = streams["merchant_id"]
    issues = [
        _missing(
            "streamer_id", streams["streamer_id"], tables.streamers["streamer_id"], "streamers"
        )
    ]
    if not tables.merchants.empty:
        issues.append(
            _missing("merchant_id", merchant, tables.merchants["merchant_id"], "merchants")
        )
    no_catalog = (~merchant.isin(tables.catalog["merchant_id"])).to_numpy()
    message = "merchant {} has no rows in " + source
    issues.append(
        Issue("merchant_id", no_catalog, lambda i: message.format(_value(merchant.iloc[i])))
    )
    return issues


def _item_issues(tables: Tables, catalog: _Catalog) -> list[Issue]:
    items = tables.stream_items.reset_index(drop=True)
    issues = [_missing("stream_id", items["stream_id"], tables.streams["stream_id"], "streams")]
    issues.append(_sku_issue(tables, catalog, items))
    sold, returned = items["units_sold"].to_numpy(), items["units_returned"].to_numpy()
    issues.append(
        Issue(
            "units_returned",
            returned > sold,
            lambda i: f"must be <= units_sold ({sold[i]:.15g}), found {returned[i]:.15g}",
        )
    )
    return issues


def _video_issues(tables: Tables, catalog: _Catalog) -> list[Issue]:
    videos = tables.video_traffic.reset_index(drop=True)
    issues = [_missing("stream_id", videos["stream_id"], tables.streams["stream_id"], "streams")]
    issues.append(_sku_issue(tables, catalog, videos))
    published, observed = videos["published_at"], videos["observed_at"]
    issues.append(
        Issue(
            "observed_at",
            (observed < published).to_numpy(),
            lambda i: (
                f"must be at or after published_at ({_value(published.iloc[i])}), "
                f"found {_value(observed.iloc[i])}"
            ),
        )
    )
    return issues


def _sku_issue(tables: Tables, catalog: _Catalog, rows: pd.DataFrame) -> Issue:
    """SKUs (when given) that are not in the catalog of the merchant of the row's stream."""
    merchant = rows["stream_id"].map(catalog.stream_merchant)
    sku = rows["sku_id"]
    known = merchant.notna().to_numpy() & sku.notna().to_numpy()
    mask = known & ~catalog.listed(merchant, sku)

    def describe(i: int) -> str:
        cat = tables.catalog
        owners = cat.loc[cat["sku_id"] == sku.iloc[i], "merchant_id"].unique()
        where = f"; it is listed under merchant {_value(owners[0])}" if len(owners) else ""
        return (
            f"SKU {_value(sku.iloc[i])} is not in the catalog of merchant "
            f"{_value(merchant.iloc[i])} (stream {_value(rows['stream_id'].iloc[i])}){where}"
        )

    return Issue("sku_id", mask, describe)
