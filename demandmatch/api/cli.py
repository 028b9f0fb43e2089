"""`demandmatch serve`: the catalog service with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from demandmatch.store.commands import StoreUrl


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    store: StoreUrl = None,
    max_mb: Annotated[float, typer.Option(help="Upload size limit in MB.")] = 20,
    max_rows: Annotated[int, typer.Option(help="Upload row limit.")] = 200_000,
    background_rows: Annotated[
        int, typer.Option(help="Uploads of this many rows or more run as background jobs.")
    ] = 50_000,
) -> None:
    """Serve the catalog page (/), the REST API (/api/v1) and OpenAPI (/docs)."""
    import uvicorn

    from demandmatch.catalog import Limits
    from demandmatch.store import Store

    from .app import create_app

    try:
        the_store = Store(store)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    limits = Limits(max_bytes=int(max_mb * 1024 * 1024), max_rows=max_rows)
    app = create_app(the_store, limits=limits, background_rows=background_rows)
    typer.echo(f"catalog service on http://{host}:{port}/ (store: {the_store.backend})", err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        the_store.close()
