"""Bad input costs one record: what is wrong inside a staged record travels with it to the load; a page refused
as a whole is kept (its beginning, masked) with the attempt that refused it, where the console shows it and an
administrator can skip it.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute(
        """
        -- [{field, reason}] of a record that must not reach its mapping (a duplicate key, NaN, a NUL, oversized).
        ALTER TABLE onestop.staging ADD COLUMN defects jsonb;

        -- A page refused as a whole (not JSON or XML, too deep, over the cap, a DTD, a SOAP Fault): which page of
        -- the run, where reading stopped, its first 64 KiB (masked), and what became of it: open until a later
        -- run of its source loads (cleared), an administrator skips it (skipped) or resolves it.
        ALTER TABLE onestop.attempt ADD COLUMN page integer, ADD COLUMN byte_offset bigint,
            ADD COLUMN excerpt text,
            ADD COLUMN state text CHECK (state IN ('open', 'skipped', 'cleared', 'resolved')),
            ADD COLUMN resolved_at timestamptz, ADD COLUMN resolved_by text, ADD COLUMN comment text;
        CREATE INDEX attempt_refused ON onestop.attempt (at DESC) WHERE excerpt IS NOT NULL;

        ALTER TABLE onestop.admin_action DROP CONSTRAINT admin_action_action_check;
        ALTER TABLE onestop.admin_action ADD CONSTRAINT admin_action_action_check
            CHECK (action IN ('redrive', 'resolve', 'skip'));
        ALTER TABLE onestop.admin_action ADD COLUMN source text;

        -- The console's failures (0008) and refused pages: the earlier view stays as it was, under a new name.
        ALTER VIEW onestop.failure RENAME TO failure_0008;
        CREATE VIEW onestop.failure AS
            SELECT * FROM onestop.failure_0008
            UNION ALL
            SELECT 'refused', 'r' || id, endpoint, 'extract', error_class, message, 'page ' || page, at,
                   state = 'open', state, resolved_at, resolved_by, comment
              FROM onestop.attempt WHERE excerpt IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW onestop.failure;
        ALTER VIEW onestop.failure_0008 RENAME TO failure;
        ALTER TABLE onestop.admin_action DROP COLUMN source;
        ALTER TABLE onestop.admin_action DROP CONSTRAINT admin_action_action_check;
        ALTER TABLE onestop.admin_action ADD CONSTRAINT admin_action_action_check
            CHECK (action IN ('redrive', 'resolve'));
        DROP INDEX onestop.attempt_refused;
        ALTER TABLE onestop.attempt DROP COLUMN page, DROP COLUMN byte_offset, DROP COLUMN excerpt,
            DROP COLUMN state, DROP COLUMN resolved_at, DROP COLUMN resolved_by, DROP COLUMN comment;
        ALTER TABLE onestop.staging DROP COLUMN defects;
        """
    )
