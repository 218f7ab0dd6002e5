"""Retention of personal data: a quarantined record's payload can be purged (its row, errors and hash stay), a
sync run records when its staged records were purged.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE onestop.quarantine ADD COLUMN payload_purged_at timestamptz;
        ALTER TABLE onestop.sync_run ADD COLUMN staging_purged_at timestamptz;
        -- What a purge looks for: payloads still held, runs whose staged records are still held.
        CREATE INDEX quarantine_payload_held ON onestop.quarantine (last_seen_at) WHERE payload_purged_at IS NULL;
        CREATE INDEX sync_run_staging_held ON onestop.sync_run (started_at) WHERE staging_purged_at IS NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX onestop.sync_run_staging_held;
        DROP INDEX onestop.quarantine_payload_held;
        ALTER TABLE onestop.sync_run DROP COLUMN staging_purged_at;
        ALTER TABLE onestop.quarantine DROP COLUMN payload_purged_at;
        """
    )
