"""Change feeds: the ack ids a run must acknowledge once its load has committed.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE onestop.sync_run ADD COLUMN ack_ids text[], ADD COLUMN acked_at timestamptz;"
        " CREATE INDEX dossier_deleted ON onestop.dossier (source) WHERE deleted;"
    )


def downgrade() -> None:
    op.execute(
        "DROP INDEX onestop.dossier_deleted; ALTER TABLE onestop.sync_run DROP COLUMN ack_ids, DROP COLUMN acked_at"
    )
