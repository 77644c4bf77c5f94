"""Alembic environment of the group store: run programmatically only (adapters.group_store
passes the connection); the versions beside it create and change the tables of group_tables."""
from alembic import context

from complaintdesk.adapters.group_tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
