"""A sync run keeps the source's own clock: the HTTP `Date` of the source's last successful answer during the
extract, and when that answer came by ours. The health page measures the watermark lag on the source's clock
(simulated district systems, and real ones whose clock is off, are far from ours).

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE onestop.sync_run ADD COLUMN source_clock timestamptz;
        ALTER TABLE onestop.sync_run ADD COLUMN source_clock_read_at timestamptz;
        COMMENT ON COLUMN onestop.sync_run.source_clock IS
            'HTTP Date of the source''s last successful answer in this run (RFC 7231); NULL: it sent none';
        COMMENT ON COLUMN onestop.sync_run.source_clock_read_at IS 'our clock when that answer came';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE onestop.sync_run DROP COLUMN source_clock_read_at;
        ALTER TABLE onestop.sync_run DROP COLUMN source_clock;
        """
    )
