"""The unified database: dossiers, history, staging, quarantine, watermarks, outbox, attempts, runs, conflicts.

Revision ID: 0001
"""

from alembic import op

revision = "0001"
down_revision = None

UPGRADE = """
-- One row per sync run of one source: the window it read and its own counts (Contracts: Counters).
CREATE TABLE onestop.sync_run (
    run_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          text NOT NULL,
    airflow_run_id  text,
    state           text NOT NULL DEFAULT 'planned'
                    CHECK (state IN ('planned', 'extracting', 'extracted', 'loaded', 'failed')),
    window_start    timestamptz,
    window_end      timestamptz,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    pages           integer NOT NULL DEFAULT 0,
    fetched         integer NOT NULL DEFAULT 0,
    loaded          integer NOT NULL DEFAULT 0,
    unchanged       integer NOT NULL DEFAULT 0,
    stale           integer NOT NULL DEFAULT 0,
    quarantined     integer NOT NULL DEFAULT 0,
    duplicates      integer NOT NULL DEFAULT 0,
    deleted         integer NOT NULL DEFAULT 0,
    conflicts       integer NOT NULL DEFAULT 0,
    error           text
);
CREATE INDEX sync_run_source ON onestop.sync_run (source, run_id DESC);

-- Raw records as fetched, verbatim, before normalization (the load step reads them back).
CREATE TABLE onestop.staging (
    run_id        bigint NOT NULL REFERENCES onestop.sync_run ON DELETE CASCADE,
    seq           integer NOT NULL,
    record_id     text,
    content_type  text NOT NULL,
    payload       text NOT NULL,
    fetched_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, seq)
);

-- The current version of every dossier, keyed on (source, source record id) through its uid.
CREATE TABLE onestop.dossier (
    uid                text PRIMARY KEY,
    source             text NOT NULL,
    source_record_id   text NOT NULL,
    ma_ho_so           text NOT NULL,
    version            integer NOT NULL,
    content_hash       text NOT NULL,
    status             smallint NOT NULL,
    received_at        timestamptz,
    due_at             timestamptz,
    finished_at        timestamptz,
    procedure_code     text,
    agency_code        text,
    district_code      text,
    commune_code       text,
    applicant_id_hash  text,
    source_updated_at  timestamptz NOT NULL,
    record             jsonb NOT NULL,
    flags              text[] NOT NULL DEFAULT '{}',
    conflict_with      text,           -- uid of the dossier that already holds this MaHoSo
    deleted            boolean NOT NULL DEFAULT false,
    deleted_at         timestamptz,
    first_loaded_at    timestamptz NOT NULL DEFAULT now(),
    loaded_at          timestamptz NOT NULL DEFAULT now(),
    last_run_id        bigint,
    UNIQUE (source, source_record_id)
);
-- MaHoSo is unique in the province among live dossiers: a second holder is a conflict, never an overwrite.
CREATE UNIQUE INDEX dossier_ma_ho_so_live ON onestop.dossier (ma_ho_so)
    WHERE conflict_with IS NULL AND NOT deleted;
CREATE INDEX dossier_applicant ON onestop.dossier (applicant_id_hash);

-- Every version a dossier went through (for the trace and the outbox).
CREATE TABLE onestop.dossier_version (
    uid                text NOT NULL,
    version            integer NOT NULL,
    content_hash       text NOT NULL,
    status             smallint NOT NULL,
    source_updated_at  timestamptz NOT NULL,
    run_id             bigint,
    loaded_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (uid, version)
);

-- Append-only status history; the latest event wins.
CREATE TABLE onestop.status_history (
    uid          text NOT NULL,
    at           timestamptz NOT NULL,
    status       smallint NOT NULL,
    status_raw   text,
    actor        text,
    position     text,
    department   text,
    content      text,
    unusual      boolean NOT NULL DEFAULT false,
    run_id       bigint,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (uid, at, status)
);

-- Records that could not be normalized: every failing field, the raw payload, and what became of it.
CREATE TABLE onestop.quarantine (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source         text NOT NULL,
    record_id      text NOT NULL,
    run_id         bigint,
    errors         jsonb NOT NULL,
    error_class    text NOT NULL,
    payload        text NOT NULL,
    content_type   text NOT NULL,
    payload_hash   text NOT NULL,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    seen           integer NOT NULL DEFAULT 1,
    state          text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'redriven', 'resolved', 'superseded')),
    resolved_at    timestamptz,
    resolved_by    text,
    comment        text,
    UNIQUE (source, record_id, payload_hash)
);
CREATE INDEX quarantine_open ON onestop.quarantine (source, id) WHERE state = 'open';

-- The highest source update time (or feed cursor) committed with the data.
CREATE TABLE onestop.watermark (
    source      text PRIMARY KEY,
    value       timestamptz,
    cursor      text,
    run_id      bigint,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One delivery row per dossier version: pending -> sent -> delivered | failed -> dead (or superseded).
CREATE TABLE onestop.outbox (
    uid           text NOT NULL,
    version       integer NOT NULL,
    source        text NOT NULL,
    ma_ho_so      text NOT NULL,
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'sent', 'delivered', 'failed', 'dead', 'superseded')),
    attempts      integer NOT NULL DEFAULT 0,
    resends       integer NOT NULL DEFAULT 0,
    error_code    text,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    next_try_at   timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    delivered_at  timestamptz,
    PRIMARY KEY (uid, version)
);
CREATE INDEX outbox_todo ON onestop.outbox (next_try_at) WHERE state IN ('pending', 'sent', 'failed');

-- Every failed call to a source or the portal, including those a retry absorbed.
CREATE TABLE onestop.attempt (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    endpoint     text NOT NULL,
    operation    text NOT NULL,
    error_class  text NOT NULL,
    message      text NOT NULL,
    http_status  integer,
    run_id       bigint
);
CREATE INDEX attempt_endpoint ON onestop.attempt (endpoint, at DESC);

-- Every call the portal answered: what went, what it accepted (the portal's own counts, seen from our side).
CREATE TABLE onestop.portal_call (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    service    text NOT NULL,
    updating   boolean,
    records    integer NOT NULL,
    accepted   integer NOT NULL,
    rejected   integer NOT NULL
);

-- Task failures recorded by Airflow's on_failure_callback.
CREATE TABLE onestop.task_failure (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    dag_id       text NOT NULL,
    run_id       text,
    task_id      text NOT NULL,
    source       text,
    error_class  text NOT NULL,
    message      text NOT NULL
);

-- A second source carrying a MaHoSo another dossier already holds.
CREATE TABLE onestop.conflict (
    uid          text PRIMARY KEY,
    ma_ho_so     text NOT NULL,
    holder_uid   text NOT NULL,
    source       text NOT NULL,
    detected_at  timestamptz NOT NULL DEFAULT now(),
    state        text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    resolved_at  timestamptz,
    resolved_by  text,
    comment      text
);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    for table in (
        "conflict", "task_failure", "portal_call", "attempt", "outbox", "watermark", "quarantine",
        "status_history", "dossier_version", "dossier", "staging", "sync_run",
    ):  # fmt: skip
        op.execute(f"DROP TABLE IF EXISTS onestop.{table} CASCADE")
