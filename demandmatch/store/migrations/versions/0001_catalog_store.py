"""Catalog store: merchants, tokens, versioned catalog items, uploads, previews, jobs, audit.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.String(64)
_WHEN = sa.DateTime(timezone=True)


def _serial() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("merchant_id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("current_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", _WHEN, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("token_id", _ID, primary_key=True),
        sa.Column(
            "merchant_id", sa.String(100), sa.ForeignKey("merchants.merchant_id"), nullable=True
        ),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("revoked_at", _WHEN, nullable=True),
    )
    op.create_table(
        "catalog_versions",
        sa.Column(
            "merchant_id", sa.String(100), sa.ForeignKey("merchants.merchant_id"), primary_key=True
        ),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("rolled_back_to", sa.Integer, nullable=True),
        sa.Column("preview_id", _ID, nullable=True),
        sa.Column("token_id", _ID, nullable=True),
        sa.Column("n_creates", sa.Integer, nullable=False),
        sa.Column("n_updates", sa.Integer, nullable=False),
        sa.Column("n_retires", sa.Integer, nullable=False),
        sa.Column("n_skus", sa.Integer, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=True),
    )
    op.create_table(
        "catalog_items",
        sa.Column("item_id", _serial(), primary_key=True),
        sa.Column(
            "merchant_id", sa.String(100), sa.ForeignKey("merchants.merchant_id"), nullable=False
        ),
        sa.Column("valid_from", sa.Integer, nullable=False),
        sa.Column("valid_to", sa.Integer, nullable=True),
        sa.Column("sku_id", sa.String(100), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("brand", sa.String(200), nullable=True),
        sa.Column("list_price", sa.Double, nullable=False),
        sa.Column("unit_cost", sa.Double, nullable=False),
        sa.Column("salvage_value", sa.Double, nullable=False),
        sa.Column("on_hand", sa.BigInteger, nullable=False),
        sa.Column("case_pack", sa.BigInteger, nullable=False),
        sa.Column("moq", sa.BigInteger, nullable=False),
        sa.Column("lead_time_days", sa.BigInteger, nullable=False),
        sa.Column("shelf_life_days", sa.BigInteger, nullable=True),
        sa.Column("unit_volume_l", sa.Double, nullable=True),
    )
    current = sa.text("valid_to IS NULL")
    op.create_index(
        "ux_catalog_items_current",
        "catalog_items",
        ["merchant_id", "sku_id"],
        unique=True,
        sqlite_where=current,
        postgresql_where=current,
    )
    op.create_index(
        "ix_catalog_items_range", "catalog_items", ["merchant_id", "valid_from", "valid_to"]
    )
    op.create_table(
        "uploads",
        sa.Column("upload_id", _ID, primary_key=True),
        sa.Column(
            "merchant_id", sa.String(100), sa.ForeignKey("merchants.merchant_id"), nullable=False
        ),
        sa.Column("stored_name", sa.String(100), nullable=False, unique=True),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("token_id", _ID, nullable=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "previews",
        sa.Column("preview_id", _ID, primary_key=True),
        sa.Column(
            "merchant_id", sa.String(100), sa.ForeignKey("merchants.merchant_id"), nullable=False
        ),
        sa.Column("upload_id", _ID, sa.ForeignKey("uploads.upload_id"), nullable=False),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("token_id", _ID, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("applied_version", sa.Integer, nullable=True),
        sa.Column("applied_at", _WHEN, nullable=True),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("report", sa.LargeBinary, nullable=False),
        sa.Column("writes", sa.LargeBinary, nullable=False),
        sa.Column("retires", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_previews_merchant", "previews", ["merchant_id", "created_at"])
    op.create_table(
        "jobs",
        sa.Column("job_id", _ID, primary_key=True),
        sa.Column(
            "merchant_id", sa.String(100), sa.ForeignKey("merchants.merchant_id"), nullable=False
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("done", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("preview_id", _ID, nullable=True),
        sa.Column("error_code", sa.String(40), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("audit_id", _serial(), primary_key=True),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("merchant_id", sa.String(100), nullable=True),
        sa.Column("token_id", _ID, nullable=True),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("preview_id", _ID, nullable=True),
        sa.Column("counts", sa.Text, nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_audit_merchant", "audit_log", ["merchant_id", "audit_id"])


def downgrade() -> None:
    for name in (
        "audit_log",
        "jobs",
        "previews",
        "uploads",
        "catalog_items",
        "catalog_versions",
        "tokens",
        "merchants",
    ):
        op.drop_table(name)
