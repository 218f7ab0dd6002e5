"""The console's searches by citizen ID are recorded (who, when, the masked ID) and counted per user for the
rate limit; the citizen-ID lookup hash becomes an HMAC under a key kept outside the database (onestop.privacy):
hashes written before it no longer match until `onestop db rehash-citizen-ids` has run.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE onestop.admin_action DROP CONSTRAINT admin_action_action_check;
        ALTER TABLE onestop.admin_action ADD CONSTRAINT admin_action_action_check
            CHECK (action IN ('redrive', 'resolve', 'skip', 'trace'));
        -- The rate limit counts one user's recent searches.
        CREATE INDEX admin_action_actor ON onestop.admin_action (actor, action, at DESC);
        -- Unkeyed hashes of earlier versions: they would match nothing, and they are guessable.
        UPDATE onestop.dossier SET applicant_id_hash = NULL WHERE applicant_id_hash IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX onestop.admin_action_actor;
        DELETE FROM onestop.admin_action WHERE action = 'trace';
        ALTER TABLE onestop.admin_action DROP CONSTRAINT admin_action_action_check;
        ALTER TABLE onestop.admin_action ADD CONSTRAINT admin_action_action_check
            CHECK (action IN ('redrive', 'resolve', 'skip'));
        """
    )
