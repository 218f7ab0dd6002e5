"""Reconciliation: per source and Asia/Ho_Chi_Minh day, counts and checksums at the source, in the database and
at the portal, and one actionable row per mismatch.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE onestop.reconciliation (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            day              date NOT NULL,          -- an Asia/Ho_Chi_Minh day
            source           text NOT NULL,
            at               timestamptz NOT NULL DEFAULT now(),
            source_count     integer,                -- NULL: the source cannot be re-read by day (a change feed)
            source_bad       integer,                -- records the mapping refuses (they wait in quarantine)
            source_checksum  text,
            db_count         integer NOT NULL,
            db_checksum      text NOT NULL,
            portal_count     integer NOT NULL,       -- versions the portal acknowledged (outbox 'delivered')
            portal_checksum  text NOT NULL,
            mismatches       integer NOT NULL,
            note             text
        );
        CREATE INDEX reconciliation_day ON onestop.reconciliation (day DESC, source);

        CREATE TABLE onestop.reconciliation_mismatch (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            day         date NOT NULL,
            source      text NOT NULL,
            kind        text NOT NULL CHECK (kind IN ('missing_in_db', 'differs_in_db', 'extra_in_db',
                                                       'not_at_portal', 'behind_at_portal')),
            record_id   text NOT NULL,           -- the source's record id
            uid         text NOT NULL,
            ma_ho_so    text,
            detail      text NOT NULL,
            state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'repaired', 'resolved')),
            first_seen_at  timestamptz NOT NULL DEFAULT now(),
            last_seen_at   timestamptz NOT NULL DEFAULT now(),
            reconciliation_id  bigint REFERENCES onestop.reconciliation ON DELETE SET NULL,
            closed_at   timestamptz,
            closed_by   text
        );
        -- One open row per (source, day, kind, record): seeing it again updates it.
        CREATE UNIQUE INDEX reconciliation_mismatch_open
            ON onestop.reconciliation_mismatch (source, day, kind, record_id) WHERE state = 'open';
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE onestop.reconciliation_mismatch; DROP TABLE onestop.reconciliation")
