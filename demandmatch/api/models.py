"""The API's request and response bodies (these shape the OpenAPI schema in docs/)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="stable identifier, e.g. not_found, conflict, bad_encoding")
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class Me(BaseModel):
    token_id: str
    merchant_id: str | None = Field(description="null for the platform admin")
    is_admin: bool


class Merchant(BaseModel):
    merchant_id: str
    name: str | None
    current_version: int
    created_at: str


class NewMerchant(BaseModel):
    merchant_id: str
    name: str | None = None


class NewMerchantToken(BaseModel):
    merchant_id: str
    token: str = Field(description="shown this once; the store keeps only its hash")


class CellIssue(BaseModel):
    row: int = Field(description="row number as a spreadsheet shows it (header is row 1)")
    column: str = Field(description="the column as the file's header names it")
    field: str = Field(description="the contract's catalog column")
    value: str
    code: str
    message: str
    severity: Literal["error", "warning"]


class FieldChange(BaseModel):
    before: str | float | int | None
    after: str | float | int | None


class Update(BaseModel):
    row: int
    sku_id: str
    changes: dict[str, FieldChange]


class Create(BaseModel):
    row: int
    sku_id: str


class RejectedRow(BaseModel):
    row: int
    cells: list[str] = Field(description="the row's cells as the file has them")
    errors: list[CellIssue]


class FileInfo(BaseModel):
    name: str
    stored_name: str = Field(description="the server-made name the upload is stored under")
    size: int
    sha256: str
    kind: Literal["csv", "tsv", "xlsx"]
    encoding: str | None
    delimiter: str | None
    sheet: str | None


class ColumnMapping(BaseModel):
    column: str
    field: str


class Counts(BaseModel):
    rows: int
    creates: int
    updates: int
    unchanged: int
    retires: int
    rejected: int
    errors: int
    warnings: int


class Preview(BaseModel):
    id: str
    merchant_id: str
    base_version: int = Field(description="the catalog version the file was compared with")
    mode: Literal["upsert", "replace"]
    status: Literal["ready", "applied"]
    applied_version: int | None
    file: FileInfo
    header: list[str]
    mapping: list[ColumnMapping]
    ignored_columns: list[str]
    counts: Counts
    creates: list[Create]
    updates: list[Update]
    retires: list[str]
    errors: list[CellIssue]
    warnings: list[CellIssue]
    rejected: list[RejectedRow]
    truncated: dict[str, bool] = Field(description="lists cut at `limit` entries")


class Job(BaseModel):
    id: str
    merchant_id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    stage: str
    done: int
    total: int
    progress: float = Field(ge=0, le=1)
    preview_id: str | None
    error: ErrorBody | None
    created_at: str
    updated_at: str


class ApplyRequest(BaseModel):
    allow_partial: bool = Field(
        False, description="store the valid rows even if some rows were rejected"
    )


class ApplyResult(BaseModel):
    version: int
    changed: bool
    already_applied: bool
    counts: Counts


class RollbackRequest(BaseModel):
    version: int = Field(ge=1)


class RollbackResult(BaseModel):
    version: int
    rolled_back_to: int
    counts: dict[str, int]


class Version(BaseModel):
    version: int
    current: bool
    created_at: str
    action: Literal["import", "rollback"]
    base_version: int
    rolled_back_to: int | None
    preview_id: str | None
    token_id: str | None
    creates: int
    updates: int
    retires: int
    skus: int
    file_sha256: str | None


class CatalogPage(BaseModel):
    merchant_id: str
    version: int
    total: int
    offset: int
    items: list[dict[str, str | float | int | None]]


class AuditEntry(BaseModel):
    at: str
    merchant_id: str | None
    token_id: str | None
    via: str
    ip: str | None
    action: str
    version: int | None
    preview_id: str | None
    counts: dict[str, int] | None
    file_sha256: str | None
    detail: str | None
