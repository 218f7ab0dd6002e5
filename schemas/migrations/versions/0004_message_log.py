"""A tamper-evident message log: every payload received and sent, hash-chained per source.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE onestop.message_log (
            chain         text NOT NULL,          -- a source's name, or 'portal'
            seq           bigint NOT NULL,        -- 1, 2, 3 … within the chain
            at            timestamptz NOT NULL,
            direction     text NOT NULL CHECK (direction IN ('in', 'out')),
            kind          text NOT NULL,          -- page, token, DongBoHoSoMC, CapNhatTienDoHoSoMC …
            payload_hash  text NOT NULL,          -- sha256 of the bytes (the bytes themselves may be purged)
            size          integer NOT NULL,
            ids           text[] NOT NULL DEFAULT '{}',
            prev_hash     text NOT NULL,
            entry_hash    text NOT NULL,          -- HMAC (or sha256) over the fields above
            PRIMARY KEY (chain, seq)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE onestop.message_log")
