"""A run's records between its fetch and its load: which ids it fetched, and each record normalized.

The extract normalizes each page as it arrives and COPYs the rows into three tables of the run's own —
`onestop.staged_<run>_good` (the merge's row: columns, canonical record, hash), `_bad` (every failing field,
the payload as sent) and `_deleted` (deletions a change feed announced) — and the load merges them with SQL alone
(connectors.store.merge). The load's commit drops the tables: no dead rows to vacuum, no payload kept twice.
They are UNLOGGED (a run's staged rows are written once and read once, never worth their WAL): a database crash
empties them, and the load then finds fewer rows than the extract staged and fails the run, whose watermark has
not moved: the next run fetches the same window again.

`onestop.staging` says which record ids a run fetched (the run says when; the trace reads it until
`retention.raw_payloads`, which also drops the staged tables of runs that never loaded). A good record's payload
is not kept: its canonical record is in the dossier table, and each bad one's payload is in the quarantine,
which is what re-drive and `mapping try` read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import psycopg
from psycopg import sql

STAGE_COLUMNS = "run_id, seq, record_id, defects"
_SHAPES = {
    "good": "seq int, uid text, source_record_id text, ma_ho_so text, content_hash text, status smallint,"
    " received_at timestamptz, due_at timestamptz, finished_at timestamptz, procedure_code text, agency_code text,"
    " district_code text, commune_code text, applicant_id_hash text, source_updated_at timestamptz,"
    " record jsonb, flags text[]",
    "bad": "seq int, record_id text, errors text, error_class text, payload text, content_type text,"
    " payload_hash text, source_updated_at timestamptz",
    "deleted": "seq int, uid text, record_id text",
}
KINDS = tuple(_SHAPES)
ANALYZE_FROM = 1_000  # staged rows of a kind from which the merge's plans want the table's statistics
# The staged tables of every run: the retention purge and the tests find them by this pattern.
TABLE_PATTERN = r"^staged_[0-9]+_(good|bad|deleted)$"


# A staged row is a tuple of its table's columns, in order: formatted for COPY as it is (a frozen dataclass of 17
# fields cost ~4 µs a record to make, and each row's values were read out again).
class GoodRow(NamedTuple):
    seq: int
    uid: str
    source_record_id: str
    ma_ho_so: str
    content_hash: str
    status: int
    received_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None
    procedure_code: str
    agency_code: str | None
    district_code: str | None
    commune_code: str | None
    applicant_id_hash: str | None
    source_updated_at: datetime
    record: bytes  # canonical JSON, UTF-8 (written to jsonb as it is)
    flags: list[str]


class BadRow(NamedTuple):
    seq: int
    record_id: str
    errors: str  # JSON list of {field, source_path, reason, value}
    error_class: str
    payload: str
    content_type: str
    payload_hash: str
    source_updated_at: datetime | None


class DeletedRow(NamedTuple):
    seq: int
    uid: str
    record_id: str


_COLUMNS = {
    kind: ", ".join(row._fields)
    for kind, row in (("good", GoodRow), ("bad", BadRow), ("deleted", DeletedRow))
}


@dataclass(frozen=True)
class CopyRows:
    """Rows of one kind in COPY's binary format, a whole COPY stream (header to trailer). A worker process that
    normalized them sends these bytes instead of the row objects: pickling 17-field rows there, unpickling and
    formatting them in the reading process cost that process ~70 µs a record, a third of its time. Binary, not
    text: no escaping of the record's JSON to write nor to read, no times to print and parse again (20,000 rows:
    formatting 13.5 → 9 µs a row, the server's COPY 45 → 43 µs)."""

    data: bytes
    rows: int


_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # flags and header extension: none
_TRAILER = b"\xff\xff"
_OIDS = {"int": "int4", "smallint": "int2", "text": "text", "timestamptz": "timestamptz", "jsonb": "jsonb"}


def _column_oids(shape: str) -> list[int]:
    from psycopg.postgres import types

    oids = []
    for column in shape.split(","):
        kind = column.split()[1]
        oids.append(types["text"].array_oid if kind == "text[]" else types[_OIDS[kind]].oid)
    return oids


class _Formatting:
    """psycopg's adapters for the staged rows: the record is already canonical JSON (UTF-8), written to `jsonb`
    as it is (no second serialization, no decoding and encoding again)."""

    def __init__(self) -> None:
        from psycopg import adapters
        from psycopg.adapt import AdaptersMap
        from psycopg.types.json import set_json_dumps

        self.adapters, self.connection = AdaptersMap(adapters), None
        set_json_dumps(lambda text: text, self)
        self.oids = {kind: _column_oids(shape) for kind, shape in _SHAPES.items()}


_FORMATTING: _Formatting | None = None


def copy_rows(kind: str, rows: Iterable[GoodRow | BadRow | DeletedRow]) -> CopyRows:
    """Rows in COPY's binary format, by psycopg's own formatter (the one `Copy.write_row` calls, in C with
    psycopg's binary package), typed by the staged table's columns: no connection needed (a worker has none)."""
    from psycopg._copy_base import format_row_binary
    from psycopg.adapt import Transformer
    from psycopg.pq import Format

    global _FORMATTING
    if _FORMATTING is None:
        _FORMATTING = _Formatting()
    tx, out, n = Transformer(_FORMATTING), bytearray(_SIGNATURE), 0
    tx.set_dumper_types(_FORMATTING.oids[kind], Format.BINARY)
    for row in rows:
        format_row_binary(row, tx, out)
        n += 1
    out += _TRAILER
    return CopyRows(bytes(out), n)


def table(run_id: int, kind: str) -> sql.Identifier:
    """onestop.staged_<run>_<kind>: a run id is an integer, so the name is always a plain identifier."""
    return sql.Identifier("onestop", f"staged_{int(run_id)}_{kind}")


class Stager:
    """One run's staging, in the caller's transaction: begins afresh (an earlier try's rows go), then takes the
    fetched ids and the normalized rows chunk by chunk."""

    def __init__(self, conn: psycopg.Connection, run_id: int) -> None:
        self.conn, self.run_id, self.staged = conn, run_id, 0
        self.rows = dict.fromkeys(KINDS, 0)
        conn.execute("DELETE FROM onestop.staging WHERE run_id = %s", (run_id,))
        drop(conn, run_id)
        for kind, shape in _SHAPES.items():
            conn.execute(sql.SQL("CREATE UNLOGGED TABLE {} ({})").format(table(run_id, kind), sql.SQL(shape)))

    def fetched(self, rows: Iterable[tuple[int, str | None, str | None]]) -> None:
        """(seq, record id, defects JSON) of each fetched record."""
        with self.conn.cursor().copy(f"COPY onestop.staging ({STAGE_COLUMNS}) FROM STDIN") as copy:
            for seq, record_id, defects in rows:
                copy.write_row((self.run_id, seq, record_id, defects))
                self.staged += 1

    def add(
        self,
        good: Iterable[GoodRow] | CopyRows,
        bad: Iterable[BadRow] | CopyRows,
        deleted: Iterable[DeletedRow] | CopyRows = (),
    ) -> None:
        """Rows of each kind, as objects or already formatted (CopyRows)."""
        for kind, rows in (("good", good), ("bad", bad), ("deleted", deleted)):
            formatted = rows if isinstance(rows, CopyRows) else copy_rows(kind, rows)
            if not formatted.rows:
                continue
            self.rows[kind] += formatted.rows
            copying = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                table(self.run_id, kind), sql.SQL(_COLUMNS[kind])
            )
            with self.conn.cursor().copy(copying) as copy:
                copy.write(formatted.data)

    def finish(self) -> int:
        """Statistics for the merge's plans where they matter (a freshly filled table has none; a few hundred rows
        plan well without); returns records staged."""
        for kind, rows in self.rows.items():
            if rows >= ANALYZE_FROM:
                self.conn.execute(sql.SQL("ANALYZE {}").format(table(self.run_id, kind)))
        return self.staged


def drop(conn: psycopg.Connection, run_id: int) -> None:
    """The run's staged rows go (the load's commit, a retry, the retention purge)."""
    for kind in KINDS:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table(run_id, kind)))


def staged_runs(conn: psycopg.Connection) -> list[int]:
    """Runs that still have staged tables."""
    rows = conn.execute(
        "SELECT DISTINCT split_part(relname, '_', 2)::bigint FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'onestop' AND relname ~ %s",
        (TABLE_PATTERN,),
    ).fetchall()
    return sorted(r[0] for r in rows)


def count(conn: psycopg.Connection, run_id: int) -> int:
    """Records fetched by a run (seq counts from 0 without gaps: one look at the primary key)."""
    row = conn.execute("SELECT max(seq) + 1 FROM onestop.staging WHERE run_id = %s", (run_id,)).fetchone()
    return row[0] or 0 if row else 0


def exists(conn: psycopg.Connection, run_id: int) -> bool:
    """Whether the run's staged tables are there (not loaded, purged, or never made): a catalog look, no scan."""
    row = conn.execute("SELECT to_regclass(%s)", (f"onestop.staged_{int(run_id)}_good",)).fetchone()
    return row is not None and row[0] is not None


def size(conn: psycopg.Connection, run_id: int) -> int:
    """Bytes the run's staged tables take (0 when they are gone)."""
    row = conn.execute(
        "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'onestop' AND c.relname = ANY(%s)",
        ([f"staged_{int(run_id)}_{kind}" for kind in KINDS],),
    ).fetchone()
    return int(row[0]) if row else 0
