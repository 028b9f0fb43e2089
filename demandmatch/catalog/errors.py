"""What an import can find wrong: a whole-file error, or an issue in one cell.

Codes are stable identifiers that a client can switch on; messages are for people. The full
list is in docs/catalog-import.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal


class CatalogFileError(ValueError):
    """The file cannot be read as a catalog at all (size, type, encoding, header)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class CellIssue:
    """One problem in one cell. `row` is the row number a spreadsheet shows (the header is
    row 1); `column` is the header as the file names it, `field` the contract column."""

    row: int
    column: str
    field: str
    value: str
    code: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# Stable codes of cell issues (errors reject the row; warnings do not).
ERROR_CODES = {
    "blank_required": "a required cell is blank",
    "not_a_number": "not a plain decimal number (text, NaN or infinity)",
    "not_an_integer": "not a whole number",
    "too_large": "beyond any plausible value for the column",
    "below_minimum": "below the column's lower bound",
    "negative_stock": "on_hand below 0",
    "salvage_above_cost": "salvage_value above unit_cost",
    "duplicate_sku": "the SKU appears earlier in the file",
    "duplicate_sku_case": "the SKU differs only by letter case from another SKU",
    "wrong_merchant": "merchant_id names another merchant",
    "bad_row": "the row has more cells than the header, or an unbalanced quote",
    "too_long": "text longer than the column allows",
    "invalid": "any other broken contract rule",
}
WARNING_CODES = {
    "moq_rounded_up": "moq was not a multiple of case_pack and was rounded up",
    "cost_above_price": "unit_cost above list_price",
    "shelf_life_below_lead_time": "shelf_life_days shorter than lead_time_days",
    "sku_stored_as_number": "an XLSX SKU cell holds a number, so leading zeros may be lost",
}
FILE_CODES = {
    "empty_file": "the upload has no bytes",
    "file_too_large": "the upload is over the size limit",
    "unzipped_too_large": "an XLSX unpacks to more than the limit",
    "too_many_rows": "more data rows than the row limit",
    "unsupported_type": "the extension is not one of .csv, .tsv, .txt, .xlsx",
    "extension_mismatch": "the content is not what the extension says",
    "bad_encoding": "the text is neither UTF-8, UTF-16 nor GB18030/GBK",
    "bad_workbook": "the XLSX cannot be read",
    "sheet_not_found": "the named sheet is not in the workbook",
    "no_header": "no header row",
    "no_rows": "a header but no data rows",
    "missing_column": "a required column is absent from the header",
    "duplicate_column": "two header cells name the same column",
}
