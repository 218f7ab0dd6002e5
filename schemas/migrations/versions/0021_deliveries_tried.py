"""Deliveries tried in a window, found by their last try: the source health's share of failed deliveries is of
the deliveries tried in the last 24 hours (it was of the records fetched, a failed delivery of last week's
dossier counted against today's fetch, and a source could show 103 %). Every try sets sent_at.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    op.execute("CREATE INDEX outbox_sent ON onestop.outbox (sent_at) WHERE sent_at IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX onestop.outbox_sent")
