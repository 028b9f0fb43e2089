"""Alembic environment: run by demandmatch.store.engine.upgrade on the store's connection."""

from alembic import context

from demandmatch.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
