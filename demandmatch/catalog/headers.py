"""Map a merchant's header row to the contract's catalog columns.

Merchants' exports name columns in Chinese or English, with units in brackets, required-field
stars, full-width characters and stray spaces. A header is normalised (NFKC, lower case, no
brackets, spaces or punctuation) and looked up among each column's synonyms. The mapping is
part of the preview, so the merchant sees which column was read as what.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .errors import CatalogFileError

# contract column -> the names merchants use for it (normalised on load, so case, spaces,
# underscores and brackets do not matter here)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "merchant_id": ("merchant_id", "merchant", "商家id", "商家编号", "商家编码", "店铺id"),
    "sku_id": (
        "sku_id",
        "sku",
        "sku code",
        "item code",
        "item id",
        "product code",
        "货号",
        "商品编码",
        "商品货号",
        "sku编码",
        "sku编号",
        "商家编码sku",
    ),
    "title": ("title", "name", "product name", "item name", "商品名称", "名称", "标题", "品名"),
    "category": ("category", "类目", "分类", "品类", "商品类目"),
    "brand": ("brand", "品牌"),
    "list_price": (
        "list_price",
        "list price",
        "price",
        "msrp",
        "retail price",
        "吊牌价",
        "零售价",
        "标价",
        "原价",
    ),
    "unit_cost": (
        "unit_cost",
        "unit cost",
        "cost",
        "cost price",
        "进价",
        "成本",
        "成本价",
        "采购价",
    ),
    "salvage_value": ("salvage_value", "salvage", "salvage value", "残值", "清仓价", "残值价"),
    "on_hand": (
        "on_hand",
        "on hand",
        "stock",
        "inventory",
        "qty on hand",
        "库存",
        "现有库存",
        "库存数量",
        "在库数量",
    ),
    "case_pack": (
        "case_pack",
        "case pack",
        "pack size",
        "units per case",
        "箱规",
        "装箱数",
        "每箱数量",
    ),
    "moq": ("moq", "min order qty", "minimum order quantity", "起订量", "最小起订量"),
    "lead_time_days": (
        "lead_time_days",
        "lead time",
        "lead time days",
        "交期",
        "交货期",
        "采购周期",
        "到货天数",
    ),
    "shelf_life_days": ("shelf_life_days", "shelf life", "shelf life days", "保质期"),
    "unit_volume_l": ("unit_volume_l", "unit volume", "volume", "单件体积", "体积"),
}

_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|（[^）]*）")
_DROP = re.compile(r"[\s_\-./*:#]+")


def normalise(header: str) -> str:
    """The lookup key of a header: NFKC, lower case, brackets and separators removed."""
    text = unicodedata.normalize("NFKC", header).casefold()
    text = _BRACKETS.sub("", text)
    return _DROP.sub("", text)


_LOOKUP: dict[str, str] = {
    normalise(name): col for col, names in SYNONYMS.items() for name in names
}
# Headers that are ours and carry no data: the error column of a rejected-rows download.
_OURS = frozenset({"_errors"})


@dataclass(frozen=True)
class HeaderMap:
    """Which file column (by position) holds which contract column, and what was ignored."""

    header: tuple[str, ...]  # the header row as the file has it
    columns: dict[str, int]  # contract column -> position in the row
    ignored: tuple[str, ...]  # headers that name no contract column

    def as_list(self) -> list[dict[str, str]]:
        return [{"column": self.header[i], "field": field} for field, i in self.columns.items()]

    def label(self, field: str) -> str:
        """The column as the merchant's file names it (the contract name when absent)."""
        at = self.columns.get(field)
        return field if at is None else self.header[at]


def map_header(header: list[str], file: str) -> HeaderMap:
    """Map each header cell to a contract column; two cells naming one column is an error."""
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for i, raw in enumerate(header):
        name = raw.strip()
        field = _LOOKUP.get(normalise(name))
        if field is None:
            if name and name not in _OURS:
                ignored.append(name)
            continue
        if field in columns:
            first = header[columns[field]].strip()
            raise CatalogFileError(
                "duplicate_column",
                f"{file}: columns '{first}' and '{name}' both mean {field}; keep one of them",
            )
        columns[field] = i
    return HeaderMap(tuple(h.strip() for h in header), columns, tuple(ignored))
