"""index event_sources.url: a source's listings are matched by URL with the other sources'

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 01:00:00
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a hash index on PostgreSQL: equality is all the store asks, and a B-tree entry has a size
    # limit that a long URL would exceed
    op.create_index('ix_event_sources_url', 'event_sources', ['url'], unique=False, postgresql_using='hash')


def downgrade() -> None:
    op.drop_index('ix_event_sources_url', table_name='event_sources')
