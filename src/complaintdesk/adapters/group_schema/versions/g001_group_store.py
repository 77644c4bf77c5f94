"""The group store's first schema: meta (salt), branches, complaints, publications.

Revision ID: g001
Revises:
"""
from alembic import op

from complaintdesk.adapters.group_tables import metadata

revision = "g001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the tables as group_tables defines them at g001; later revisions change them with op.*
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
