"""`demandmatch merchants ...` and `demandmatch catalog ...`: the store from the command line.

The CLI runs the same engine as the API, as the local operator (the audit log says `cli`).
Exit status: 0 done, 1 rows were rejected (nothing applied unless --allow-partial),
2 the input or the request is wrong (a message says what), 3 the catalog moved on.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from .actor import Actor
from .errors import Conflict, StoreError

if TYPE_CHECKING:
    from .service import Store

merchants_app = typer.Typer(help="Merchants and their API tokens.", no_args_is_help=True)
catalog_app = typer.Typer(
    help="Import, version, roll back and export merchants' catalogs.", no_args_is_help=True
)
err = Console(stderr=True)
out = Console()

StoreUrl = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="DEMANDMATCH_STORE",
        help="Store URL (default sqlite:///demandmatch.db; postgresql+psycopg://...).",
        show_default=False,
    ),
]
MerchantOpt = Annotated[str, typer.Option("--merchant", "-m", help="Merchant id.")]


def _actor() -> Actor:
    return Actor(token_id=None, ip=None, via="cli")


@contextmanager
def _store(url: str | None) -> Iterator[Store]:
    """Open the store; any refusal becomes a one-line message and an exit status."""
    from demandmatch.catalog import CatalogFileError

    from .service import Store

    try:
        store = Store(url)
    except ValueError as error:
        err.print(f"[red]error[/red] {error}")
        raise typer.Exit(2) from error
    try:
        yield store
    except Conflict as error:
        err.print(f"[red]conflict[/red] {error.message}")
        raise typer.Exit(3 if error.code == "conflict" else 2) from error
    except (StoreError, CatalogFileError) as error:
        err.print(f"[red]error[/red] {error.message} [dim]({error.code})[/dim]")
        raise typer.Exit(2) from error
    except (ValueError, FileNotFoundError) as error:
        err.print(f"[red]error[/red] {error}")
        raise typer.Exit(2) from error
    finally:
        store.close()


@merchants_app.command("add")
def merchants_add(
    merchant_id: Annotated[str, typer.Argument(help="New merchant id, e.g. M01.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    store: StoreUrl = None,
) -> None:
    """Add a merchant and print its API token (shown once; only its hash is stored)."""
    with _store(store) as s:
        token = s.add_merchant(merchant_id, name)
    err.print(f"merchant {merchant_id} added; its API token (shown this once):")
    print(token)


@merchants_app.command("token")
def merchants_token(
    merchant_id: Annotated[str, typer.Argument(help="Merchant id.")],
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    store: StoreUrl = None,
) -> None:
    """Issue another token for a merchant (printed once)."""
    with _store(store) as s:
        print(s.issue_token(merchant_id, label))


@merchants_app.command("admin-token")
def merchants_admin_token(
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    store: StoreUrl = None,
) -> None:
    """Issue a platform admin token, which reaches every merchant (printed once)."""
    with _store(store) as s:
        print(s.issue_token(None, label or "admin"))


@merchants_app.command("revoke")
def merchants_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id (the part after dm_).")],
    store: StoreUrl = None,
) -> None:
    """Revoke a token; calls with it get 401 from now on."""
    with _store(store) as s:
        s.revoke_token(token_id)
    err.print(f"token {token_id} revoked")


@merchants_app.command("list")
def merchants_list(store: StoreUrl = None) -> None:
    """Merchants and their current catalog versions."""
    with _store(store) as s:
        rows = s.merchants()
    t = Table("merchant", "name", "version", "added")
    for r in rows:
        t.add_row(r["merchant_id"], r["name"] or "", str(r["current_version"]), r["created_at"])
    out.print(t)


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        console=err,
        transient=True,
    )


@catalog_app.command("import")
def catalog_import(
    file: Annotated[
        Path, typer.Argument(help="CSV, TSV or XLSX file.", exists=True, dir_okay=False)
    ],
    merchant: MerchantOpt,
    dry_run: Annotated[bool, typer.Option(help="Preview only; change nothing.")] = False,
    mode: Annotated[str, typer.Option(help="upsert (default) or replace.")] = "upsert",
    allow_partial: Annotated[
        bool, typer.Option(help="Apply the valid rows even when some rows are rejected.")
    ] = False,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: first).")] = None,
    rejected_out: Annotated[
        Path | None, typer.Option(help="Write the rejected rows (with _errors) here.")
    ] = None,
    max_mb: Annotated[float, typer.Option(help="Size limit in MB.")] = 20,
    max_rows: Annotated[int, typer.Option(help="Row limit.")] = 200_000,
    store: StoreUrl = None,
) -> None:
    """Preview a file against the merchant's catalog and apply it (unless --dry-run)."""
    from demandmatch.catalog import MODES, Limits

    if mode not in MODES:
        err.print(f"[red]error[/red] --mode must be one of {', '.join(MODES)}")
        raise typer.Exit(2)
    limits = Limits(max_bytes=int(max_mb * 1024 * 1024), max_rows=max_rows)
    with _store(store) as s, _bar() as bar:
        task = bar.add_task("reading", total=1)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=max(total, 1))

        preview = s.preview(
            merchant,
            file.read_bytes(),
            file.name,
            _actor(),
            mode=mode,
            sheet=sheet,
            limits=limits,
            progress=progress,
            limit=20,
        )
        bar.stop()
        _print_preview(preview)
        counts = preview["counts"]
        if rejected_out is not None and counts["rejected"]:
            rejected_out.write_bytes(s.rejected_csv(merchant, preview["id"]))
            err.print(f"rejected rows written to {rejected_out}")
        if dry_run:
            err.print(f"dry run: nothing applied (preview {preview['id']})")
            raise typer.Exit(1 if counts["rejected"] else 0)
        if counts["rejected"] and not allow_partial:
            err.print(
                f"[red]{counts['rejected']} row(s) rejected: nothing applied[/red]; fix them, "
                "or run again with --allow-partial to apply the valid rows"
            )
            raise typer.Exit(1)
        result = s.apply(merchant, preview["id"], _actor(), allow_partial=allow_partial)
    if result["changed"]:
        out.print(f"applied: catalog version [bold]{result['version']}[/bold] is now current")
    else:
        out.print(f"nothing to change: version {result['version']} stays current")


def _print_preview(p: dict) -> None:
    c = p["counts"]
    f = p["file"]
    how = ", ".join(str(x) for x in (f["kind"], f.get("encoding"), f.get("sheet")) if x)
    out.print(
        f"{f['name']} ({how}) against version {p['base_version']}, {p['mode']}: "
        f"{c['rows']} rows: {c['creates']} to create, {c['updates']} to update, "
        f"{c['unchanged']} unchanged, {c['retires']} to retire, {c['rejected']} rejected, "
        f"{c['warnings']} warnings"
    )
    if p["ignored_columns"]:
        out.print(f"ignored columns: {', '.join(p['ignored_columns'])}")
    for title, issues, shown in (
        ("errors", p["errors"], c["errors"]),
        ("warnings", p["warnings"], c["warnings"]),
    ):
        if not issues:
            continue
        t = Table("row", "column", "value", "code", "message", title=f"{title} ({shown})")
        for e in issues:
            t.add_row(str(e["row"]), e["column"], e["value"][:30], e["code"], e["message"])
        out.print(t)
        if shown > len(issues):
            out.print(f"... and {shown - len(issues)} more {title} (see --rejected-out)")


@catalog_app.command("versions")
def catalog_versions(merchant: MerchantOpt, store: StoreUrl = None) -> None:
    """Every version of the merchant's catalog, newest first."""
    with _store(store) as s:
        rows = s.versions(merchant)
    t = Table("version", "when", "what", "created", "updated", "retired", "SKUs", "by")
    for v in rows:
        what = v["action"] + (f" to {v['rolled_back_to']}" if v["rolled_back_to"] else "")
        t.add_row(
            f"{v['version']}{' *' if v['current'] else ''}",
            v["created_at"][:19],
            what,
            str(v["creates"]),
            str(v["updates"]),
            str(v["retires"]),
            str(v["skus"]),
            v["token_id"] or "cli",
        )
    out.print(t)


@catalog_app.command("rollback")
def catalog_rollback(
    version: Annotated[int, typer.Argument(help="Version to restore.")],
    merchant: MerchantOpt,
    store: StoreUrl = None,
) -> None:
    """Make the catalog as it was at VERSION (as a new version; history is kept)."""
    with _store(store) as s:
        result = s.rollback(merchant, version, _actor())
    out.print(
        f"rolled back to version {version}: version [bold]{result['version']}[/bold] is now current"
    )


@catalog_app.command("export")
def catalog_export(
    merchant: MerchantOpt,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: stdout).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    version: Annotated[int | None, typer.Option(help="Version (default: current).")] = None,
    store: StoreUrl = None,
) -> None:
    """Write the catalog in the contract's columns (formula-safe CSV with BOM, or XLSX)."""
    if fmt == "xlsx" and out_file is None:
        err.print("[red]error[/red] --format xlsx needs --out FILE")
        raise typer.Exit(2)
    with _store(store) as s:
        content = s.export(merchant, fmt, version)
    if out_file is None:
        sys.stdout.buffer.write(content)
    else:
        out_file.write_bytes(content)
        err.print(f"wrote {out_file}")


@catalog_app.command("template")
def catalog_template(
    out_file: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
) -> None:
    """Write an empty catalog to fill in (CSV with BOM, or XLSX with column notes)."""
    from demandmatch.catalog.exports import template

    if fmt not in ("csv", "xlsx"):
        err.print("[red]error[/red] --format must be csv or xlsx")
        raise typer.Exit(2)
    out_file.write_bytes(template(fmt))
    err.print(f"wrote {out_file}")


@catalog_app.command("audit")
def catalog_audit(
    merchant: Annotated[
        str | None, typer.Option("--merchant", "-m", help="Merchant id (default: all).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Newest entries to show.")] = 50,
    store: StoreUrl = None,
) -> None:
    """Who imported, applied and rolled back what, when and from where."""
    with _store(store) as s:
        rows = s.audit(merchant, limit)
    t = Table("when", "merchant", "action", "version", "by", "ip", "file", "detail")
    for e in rows:
        t.add_row(
            e["at"][:19],
            e["merchant_id"] or "",
            e["action"],
            "" if e["version"] is None else str(e["version"]),
            e["token_id"] or e["via"],
            e["ip"] or "",
            (e["file_sha256"] or "")[:12],
            e["detail"] or "",
        )
    out.print(t)
