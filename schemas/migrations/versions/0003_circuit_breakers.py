"""Circuit breakers, one per endpoint (a district system or the portal), shared by every worker.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE onestop.circuit (
            endpoint    text PRIMARY KEY,
            state       text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
            failures    integer NOT NULL DEFAULT 0,   -- consecutive failed calls
            opened      integer NOT NULL DEFAULT 0,   -- times it opened in a row (the cool-down doubles)
            retry_at    timestamptz,                  -- when an open breaker lets one trial call through
            last_error  text,
            updated_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE onestop.circuit")
