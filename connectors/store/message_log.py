"""A tamper-evident message log in the spirit of X-Road's: an append-only, hash-chained record of every payload
received and sent (hash, size, time, source, ids), one chain per source, written under an advisory lock.

Each entry's hash covers its fields and the previous entry's hash, keyed with an HMAC secret when one is
configured (an Airflow connection), so nobody without the key can recompute a chain. Heads are also exported to an
append-only file outside the database (anchors), so a recomputed or tail-truncated chain no longer matches them.
`verify()` detects an edited, deleted, reordered, recomputed or tail-truncated log.

The log does not grow without bound: `archive()` (run by `onestop purge` past `retention.message_log`) moves a
chain's old entries to a gzipped JSON-lines file and deletes them; a checkpoint row keeps the last archived
entry, which the first remaining one must follow, so `verify()` still holds over what remains.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

GENESIS = "0" * 64


def _digest(key: bytes | None, fields: list[str]) -> str:
    message = "\x1f".join(fields).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest() if key else hashlib.sha256(message).hexdigest()


def entry_hash(key: bytes | None, chain: str, seq: int, at: datetime, direction: str, kind: str,
               payload_hash: str, size: int, ids: list[str], prev_hash: str) -> str:  # fmt: skip
    at_text = at.astimezone(UTC).isoformat(timespec="microseconds")
    return _digest(
        key, [chain, str(seq), at_text, direction, kind, payload_hash, str(size), json.dumps(ids), prev_hash]
    )


class MessageLog:
    """Appends on its own autocommitted connection: what was received is logged even if its load rolls back.

    Entries are written in batches, one transaction each (the chain lock, its head, the rows): a commit per page
    cost ~10 ms, most of a fast source's extract. A batch is written when it holds BATCH entries, when its oldest
    waited MAX_WAIT seconds, and by flush()/close(), which every caller runs before it commits what the entries
    describe (the extract before its staging, the delivery before its outbox answers): an entry is never
    missing for data the database holds. A write that fails raises from the append, flush or close that wrote.
    """

    BATCH = 64
    MAX_WAIT = 1.0

    def __init__(self, url: str, key: bytes | None = None) -> None:
        self.url, self.key = url, key
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str, str, str, int, list[str]]] = []
        self._oldest = 0.0

    def append(self, chain: str, direction: str, kind: str, payload: bytes, ids: Iterable[str] = ()) -> None:
        entry = (chain, direction, kind, hashlib.sha256(payload).hexdigest(), len(payload),
                 [str(i) for i in ids])  # fmt: skip
        with self._lock:
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(entry)
            if len(self._pending) >= self.BATCH or time.monotonic() - self._oldest >= self.MAX_WAIT:
                self._write()

    def flush(self) -> None:
        """Write what is pending (one transaction per chain)."""
        with self._lock:
            self._write()

    def _write(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True, application_name="onestop-message-log")
        for chain in dict.fromkeys(e[0] for e in pending):
            with self._conn.transaction():
                # One writer per chain at a time, across every worker: the chain never forks.
                self._conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('onestop.message_log:' || %s))", (chain,)
                )
                last = self._conn.execute(
                    "SELECT seq, entry_hash FROM onestop.message_log WHERE chain = %s ORDER BY seq DESC LIMIT 1",
                    (chain,),
                ).fetchone()
                seq, prev = (last[0], last[1]) if last else (0, GENESIS)
                rows, at = [], datetime.now(UTC)  # under the lock: a chain's times never go back
                for _chain, direction, kind, payload_hash, size, ids in (e for e in pending if e[0] == chain):
                    seq += 1
                    digest = entry_hash(
                        self.key, chain, seq, at, direction, kind, payload_hash, size, ids, prev
                    )
                    rows.append((chain, seq, at, direction, kind, payload_hash, size, ids, prev, digest))
                    prev = digest
                with self._conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO onestop.message_log (chain, seq, at, direction, kind, payload_hash, size,"
                        " ids, prev_hash, entry_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        rows,
                    )

    def close(self) -> None:
        """Write what is pending, then close the connection (also when the write fails)."""
        try:
            self.flush()
        finally:
            if self._conn is not None:
                self._conn.close()


COLUMNS = "chain, seq, at, direction, kind, payload_hash, size, ids, prev_hash, entry_hash"
# An entry due for the archive: older than the cutoff, and never its chain's head (appends follow it).
_DUE = (
    "FROM onestop.message_log l WHERE at < %s"
    " AND seq < (SELECT max(seq) FROM onestop.message_log h WHERE h.chain = l.chain)"
)


def due_for_archive(conn: psycopg.Connection, before: datetime) -> int:
    """How many entries archive(conn, before, …) would move."""
    return conn.execute(f"SELECT count(*) {_DUE}", (before,)).fetchone()[0]  # type: ignore[index]


def archive(conn: psycopg.Connection, before: datetime, folder: Path) -> list[tuple[str, int, int]]:
    """Move each chain's entries older than `before` (never its head: appends follow it) to a file in
    `folder`, delete them, and checkpoint the chain. Returns (chain, entries, bytes written) per chain.
    `conn` is autocommitted; each chain is one transaction under the chain's append lock."""
    done = []
    folder.mkdir(parents=True, exist_ok=True)
    for chain, last in conn.execute(f"SELECT chain, max(seq) {_DUE} GROUP BY chain", (before,)).fetchall():
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('onestop.message_log:' || %s))", (chain,))
            first = conn.execute(
                "SELECT min(seq) FROM onestop.message_log WHERE chain = %s", (chain,)
            ).fetchone()[0]  # type: ignore[index]
            path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', chain)}.{first:012d}-{last:012d}.jsonl.gz"
            count, head = 0, None
            with (
                gzip.open(path, "wt", encoding="utf-8") as out,
                conn.cursor(name="message_log_archive") as cur,
            ):
                cur.execute(
                    f"SELECT {COLUMNS} FROM onestop.message_log WHERE chain = %s AND seq <= %s ORDER BY seq",
                    (chain, last),
                )
                for c, seq, at, direction, kind, payload_hash, size, ids, prev_hash, digest in cur:
                    out.write(json.dumps({
                        "chain": c, "seq": seq, "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
                        "direction": direction, "kind": kind, "payload_hash": payload_hash, "size": size,
                        "ids": list(ids), "prev_hash": prev_hash, "entry_hash": digest,
                    }) + "\n")  # fmt: skip
                    count, head = count + 1, digest
            conn.execute("DELETE FROM onestop.message_log WHERE chain = %s AND seq <= %s", (chain, last))
            conn.execute(
                "INSERT INTO onestop.message_log_checkpoint (chain, seq, entry_hash, archive) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (chain) DO UPDATE SET seq = EXCLUDED.seq, entry_hash = EXCLUDED.entry_hash,"
                "  archive = EXCLUDED.archive, archived_at = now()",
                (chain, last, head, str(path)),
            )
        done.append((chain, count, path.stat().st_size))
    return done


def export_anchors(conn: psycopg.Connection, anchor_file: Path) -> int:
    """Append every chain's head (chain, seq, hash, time) to a file outside the database; returns chains."""
    heads = conn.execute(
        "SELECT DISTINCT ON (chain) chain, seq, entry_hash FROM onestop.message_log ORDER BY chain, seq DESC"
    ).fetchall()
    anchor_file.parent.mkdir(parents=True, exist_ok=True)
    with anchor_file.open("a", encoding="utf-8") as f:
        for chain, seq, digest in heads:
            f.write(
                json.dumps({"chain": chain, "seq": seq, "hash": digest, "at": datetime.now(UTC).isoformat()})
                + "\n"
            )
    return len(heads)


@dataclass(frozen=True)
class Problem:
    chain: str
    seq: int
    what: str

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq}: {self.what}"


def verify(conn: psycopg.Connection, key: bytes | None, anchor_file: Path | None = None) -> list[Problem]:
    with conn.transaction():  # one snapshot of the whole log, read through a server-side cursor
        return _verify(conn, key, anchor_file)


def _verify(conn: psycopg.Connection, key: bytes | None, anchor_file: Path | None) -> list[Problem]:
    problems: list[Problem] = []
    heads: dict[str, tuple[int, str]] = {}
    # An archived chain starts after its checkpoint: (last archived seq, its hash).
    starts = {
        c: (seq, digest)
        for c, seq, digest in conn.execute(
            "SELECT chain, seq, entry_hash FROM onestop.message_log_checkpoint"
        ).fetchall()
    }
    with conn.cursor(name="message_log_verify") as cur:  # streams: a log may hold millions of entries
        cur.execute(
            "SELECT chain, seq, at, direction, kind, payload_hash, size, ids, prev_hash, entry_hash"
            " FROM onestop.message_log ORDER BY chain, seq"
        )
        chain, expected_seq, prev, prev_at = None, 1, GENESIS, None
        for c, seq, at, direction, kind, payload_hash, size, ids, prev_hash, digest in cur:
            if c != chain:
                archived_seq, archived_hash = starts.get(c, (0, GENESIS))
                chain, expected_seq, prev, prev_at = c, archived_seq + 1, archived_hash, None
            if seq != expected_seq:
                problems.append(Problem(c, seq, f"entries {expected_seq}..{seq - 1} are missing (deleted)"))
            if prev_hash != prev:
                problems.append(Problem(c, seq, "does not follow the entry before it (deleted or reordered)"))
            if prev_at is not None and at < prev_at:
                problems.append(Problem(c, seq, "is older than the entry before it (reordered)"))
            if (
                entry_hash(key, c, seq, at, direction, kind, payload_hash, size, list(ids), prev_hash)
                != digest
            ):
                problems.append(Problem(c, seq, "its content does not match its hash (edited)"))
            expected_seq, prev, prev_at = seq + 1, digest, at
            heads[c] = (seq, digest)
    if anchor_file is not None and anchor_file.exists():
        anchored: dict[tuple[str, int], str] = {}
        for line in anchor_file.read_text(encoding="utf-8").splitlines():
            a = json.loads(line)
            anchored[(a["chain"], a["seq"])] = a["hash"]
        for (c, seq), digest in sorted(anchored.items()):
            if seq <= starts.get(c, (0, ""))[0]:  # archived: only the checkpoint itself is still here
                if seq == starts[c][0] and starts[c][1] != digest:
                    problems.append(Problem(c, seq, "the archive checkpoint differs from its anchor"))
                continue
            if c not in heads or heads[c][0] < seq:
                problems.append(Problem(c, seq, "an anchored entry is gone (the log was truncated)"))
                continue
            row = conn.execute(
                "SELECT entry_hash FROM onestop.message_log WHERE chain = %s AND seq = %s", (c, seq)
            ).fetchone()
            if row is None or row[0] != digest:
                problems.append(Problem(c, seq, "differs from its anchor outside the database (recomputed)"))
    return problems
