"""The store's tables (SQLAlchemy Core). Migrations in migrations/versions create them.

A catalog is versioned by row ranges: an item row holds one SKU's values from version
`valid_from` until the version that replaced or retired it (`valid_to`, NULL while current).
Version V of a catalog is every row with valid_from <= V < valid_to. Nothing is ever
overwritten, so every version stays readable and a rollback is one more version.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from demandmatch.data.schema import TABLES

metadata = MetaData()
_ID = String(64)
_TEXT_LENGTH = {"sku_id": 100, "category": 200, "brand": 200}
ITEM_FIELDS: tuple[str, ...] = tuple(
    c.name for c in TABLES["catalog"].columns if c.name != "merchant_id"
)


def _item_column(name: str, kind: str, required: bool) -> Column:
    if kind == "string":
        kind_type = String(_TEXT_LENGTH[name]) if name in _TEXT_LENGTH else Text()
    elif kind == "integer":
        kind_type = BigInteger()
    else:
        kind_type = Double()
    return Column(name, kind_type, nullable=not required)


def _stored_required(name: str) -> bool:
    """Stored rows always have a value for required columns and for those with a default."""
    col = next(c for c in TABLES["catalog"].columns if c.name == name)
    return col.required or col.default is not None


merchants = Table(
    "merchants",
    metadata,
    Column("merchant_id", String(100), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("current_version", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_id", _ID, primary_key=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=True),  # NULL: admin
    Column("secret_sha256", String(64), nullable=False),
    Column("label", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

catalog_versions = Table(
    "catalog_versions",
    metadata,
    Column("merchant_id", ForeignKey("merchants.merchant_id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("action", String(20), nullable=False),  # import | rollback
    Column("base_version", Integer, nullable=False),
    Column("rolled_back_to", Integer, nullable=True),
    Column("preview_id", _ID, nullable=True),
    Column("token_id", _ID, nullable=True),
    Column("n_creates", Integer, nullable=False),
    Column("n_updates", Integer, nullable=False),
    Column("n_retires", Integer, nullable=False),
    Column("n_skus", Integer, nullable=False),
    Column("file_sha256", String(64), nullable=True),
)

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("item_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("valid_from", Integer, nullable=False),
    Column("valid_to", Integer, nullable=True),
    *(
        _item_column(c.name, c.kind, _stored_required(c.name))
        for c in TABLES["catalog"].columns
        if c.name != "merchant_id"
    ),
)
Index(
    "ux_catalog_items_current",
    catalog_items.c.merchant_id,
    catalog_items.c.sku_id,
    unique=True,
    sqlite_where=catalog_items.c.valid_to.is_(None),
    postgresql_where=catalog_items.c.valid_to.is_(None),
)
Index(
    "ix_catalog_items_range",
    catalog_items.c.merchant_id,
    catalog_items.c.valid_from,
    catalog_items.c.valid_to,
)

uploads = Table(
    "uploads",
    metadata,
    Column("upload_id", _ID, primary_key=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("stored_name", String(100), nullable=False, unique=True),
    Column("original_name", String(255), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("token_id", _ID, nullable=True),
    Column("content", LargeBinary, nullable=False),
)

previews = Table(
    "previews",
    metadata,
    Column("preview_id", _ID, primary_key=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("upload_id", ForeignKey("uploads.upload_id"), nullable=False),
    Column("base_version", Integer, nullable=False),
    Column("mode", String(10), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("token_id", _ID, nullable=True),
    Column("status", String(10), nullable=False),  # ready | applied
    Column("applied_version", Integer, nullable=True),
    Column("applied_at", DateTime(timezone=True), nullable=True),
    Column("counts", Text, nullable=False),  # JSON
    Column("report", LargeBinary, nullable=False),  # zlib JSON
    Column("writes", LargeBinary, nullable=False),  # Parquet of the rows to store
    Column("retires", LargeBinary, nullable=False),  # zlib JSON list of SKUs
)
Index("ix_previews_merchant", previews.c.merchant_id, previews.c.created_at)

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", _ID, primary_key=True),
    Column("merchant_id", ForeignKey("merchants.merchant_id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(10), nullable=False),  # queued | running | done | failed
    Column("stage", String(40), nullable=False),
    Column("done", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("preview_id", _ID, nullable=True),
    Column("error_code", String(40), nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("merchant_id", String(100), nullable=True),
    Column("token_id", _ID, nullable=True),
    Column("via", String(10), nullable=False),  # api | cli
    Column("ip", String(64), nullable=True),
    Column("action", String(20), nullable=False),
    Column("version", Integer, nullable=True),
    Column("preview_id", _ID, nullable=True),
    Column("counts", Text, nullable=True),  # JSON
    Column("file_sha256", String(64), nullable=True),
    Column("detail", Text, nullable=True),
)
Index("ix_audit_merchant", audit_log.c.merchant_id, audit_log.c.audit_id)
