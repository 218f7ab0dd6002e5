"""The delivery outbox: one row per dossier version, pending -> sent -> delivered | failed -> dead.

Only one drainer runs at a time (an advisory lock), so a row found 'sent' when a drain starts is one whose
answer was lost (a crash between the POST and the commit): it is sent again and counted as a resend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg

from schemas.personal_data import MESSAGE_CAP, quote_answer

DRAIN_LOCK = 0x0E5B_0001  # pg advisory lock key of the single outbox drainer


@dataclass(frozen=True)
class Delivery:
    uid: str
    version: int
    ma_ho_so: str
    attempts: int
    record: dict[str, Any]
    updating: bool  # the portal already holds an earlier version of this dossier


def try_lock(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (DRAIN_LOCK,)).fetchone()
    return bool(row and row[0])


def unlock(conn: psycopg.Connection) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (DRAIN_LOCK,))


def recover_lost_answers(conn: psycopg.Connection) -> int:
    """Rows left 'sent' by a drainer that died: their answer was lost, so they go again."""
    cur = conn.execute(
        "UPDATE onestop.outbox SET state = 'pending', resends = resends + 1, next_try_at = now()"
        " WHERE state = 'sent'"
    )
    return cur.rowcount


def claim(conn: psycopg.Connection, limit: int) -> list[Delivery]:
    """The next due rows, marked 'sent' (the caller commits before posting). A due row whose dossier has moved
    on to a newer version is superseded instead. Looks at the due rows only (through outbox_todo): a
    million-row backlog costs each claim no more than an empty one."""
    while True:
        due = conn.execute(
            "SELECT o.uid, o.version, o.version < d.version FROM onestop.outbox o"
            " JOIN onestop.dossier d ON d.uid = o.uid"
            " WHERE o.state IN ('pending', 'failed') AND o.next_try_at <= now()"
            " ORDER BY o.next_try_at LIMIT %s FOR UPDATE OF o SKIP LOCKED",
            (limit,),
        ).fetchall()
        if not due:
            return []
        stale = [(uid, version) for uid, version, older in due if older]
        if stale:
            conn.cursor().executemany(
                "UPDATE onestop.outbox SET state = 'superseded' WHERE uid = %s AND version = %s", stale
            )
        fresh = [(uid, version) for uid, version, older in due if not older]
        if not fresh:
            continue  # all superseded: the next due rows
        rows = conn.execute(
            "UPDATE onestop.outbox o SET state = 'sent', sent_at = now(), attempts = o.attempts + 1"
            " FROM unnest(%s::text[], %s::int[]) AS due(uid, version), onestop.dossier d"
            " WHERE o.uid = due.uid AND o.version = due.version AND d.uid = o.uid"
            " RETURNING o.uid, o.version, d.ma_ho_so, o.attempts, d.record,"
            "  EXISTS (SELECT 1 FROM onestop.outbox p WHERE p.uid = o.uid AND p.state = 'delivered')",
            ([uid for uid, _ in fresh], [version for _, version in fresh]),
        ).fetchall()
        return [Delivery(*row) for row in rows]


def mark_delivered(conn: psycopg.Connection, keys: list[tuple[str, int]]) -> None:
    if keys:
        conn.cursor().executemany(
            "UPDATE onestop.outbox SET state = 'delivered', delivered_at = now(), error_code = NULL, error = NULL"
            " WHERE uid = %s AND version = %s",
            keys,
        )


def count_resends(conn: psycopg.Connection, keys: list[tuple[str, int]]) -> None:
    """Versions posted again within one drain because the portal's answer was lost on the way."""
    if keys:
        conn.cursor().executemany(
            "UPDATE onestop.outbox SET resends = resends + 1 WHERE uid = %s AND version = %s", keys
        )


def mark_failed(
    conn: psycopg.Connection,
    failures: list[tuple[str, int, str, str]],
    *,
    max_attempts: int,
    retry: bool,
    backoff: timedelta = timedelta(seconds=30),
) -> None:
    """(uid, version, code, message) rows. A rejection waits for a re-drive; a transport fault retries later."""
    for uid, version, code, message in failures:
        conn.execute(
            "UPDATE onestop.outbox SET error_code = %s, error = %s, failed_at = now(),"
            " state = CASE WHEN attempts >= %s THEN 'dead' ELSE 'failed' END,"
            # Backoff doubles (30 s → ~8.5 h by default); a rejection waits ('infinity') for a re-drive.
            " next_try_at = CASE WHEN %s THEN now() + %s * power(2, LEAST(attempts - 1, 10))"
            " ELSE 'infinity' END"
            " WHERE uid = %s AND version = %s",
            (code, quote_answer(message, MESSAGE_CAP), max_attempts, retry, backoff, uid, version),
        )
