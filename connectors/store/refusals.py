"""Pages refused as a whole, and an administrator's request to skip them.

A refused page (connectors.errors.RefusedAnswer) is an onestop.attempt row with its page, the byte where reading
stopped and its first 64 KiB (read in the charset it came in, masked: schemas.personal_data.answer_text): open
until a later run of its source loads (cleared), an administrator skips it or resolves it. Skipping is a request
(`onestop sync NAME --skip-refused`, the console) that the next run of the source takes: that run reads past the
pages it finds refused, lists them in the request's result, and the source's watermark moves on.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from connectors.errors import RefusedAnswer
from schemas.personal_data import MESSAGE_CAP, quote_answer

EXCERPT_CAP = 64 * 1024


def record(
    conn: psycopg.Connection,
    run_id: int | None,
    exc: RefusedAnswer,
    *,
    state: str = "open",
    actor: str | None = None,
) -> int:
    """One refused page as an attempt row (autocommitted by the caller's connection); returns its id. The failed
    call the HTTP client already recorded for it becomes that row (one attempt, not two)."""
    # In the charset the page was read in; a BOM or the NULs of UTF-16/32 say more (a page refused before its
    # charset was known): bytes read in the wrong charset would hide personal data from the mask.
    excerpt = quote_answer(exc.excerpt or b"", EXCERPT_CAP, getattr(exc, "charset", None))
    row = conn.execute(
        "UPDATE onestop.attempt SET operation = %s, message = %s, page = %s, byte_offset = %s, excerpt = %s,"
        " state = %s, resolved_at = CASE WHEN %s <> 'open' THEN now() END, resolved_by = %s"
        " WHERE id = (SELECT id FROM onestop.attempt WHERE run_id = %s AND endpoint = %s AND error_class = %s"
        "             AND excerpt IS NULL ORDER BY id DESC LIMIT 1) RETURNING id",
        (
            f"page {exc.page}" if exc.page is not None else "page",
            quote_answer(str(exc), MESSAGE_CAP),
            exc.page,
            exc.offset,
            excerpt,
            state,
            state,
            actor,
            run_id,
            exc.endpoint,
            exc.error_class,
        ),
    ).fetchone()
    if row is not None:
        return row[0]
    row = conn.execute(
        "INSERT INTO onestop.attempt (endpoint, operation, error_class, message, http_status, run_id, page,"
        " byte_offset, excerpt, state, resolved_at, resolved_by)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, CASE WHEN %s <> 'open' THEN now() END, %s)"
        " RETURNING id",
        (
            exc.endpoint,
            f"page {exc.page}" if exc.page is not None else "page",
            exc.error_class,
            quote_answer(str(exc), MESSAGE_CAP),
            exc.http_status,
            run_id,
            exc.page,
            exc.offset,
            excerpt,  # quote_answer already wrote a NUL as its escape
            state,
            state,
            actor,
        ),
    ).fetchone()
    assert row is not None
    return row[0]


def request_skip(
    conn: psycopg.Connection,
    source: str,
    actor: str,
    comment: str | None = None,
    keys: list[str] | None = None,
) -> int:
    """An administrator asks the next run of `source` to skip the pages it finds refused (admin_action; `keys`:
    the refusals that made them ask, r<attempt id>)."""
    row = conn.execute(
        "INSERT INTO onestop.admin_action (actor, action, source, comment, state, filters, keys)"
        " VALUES (%s, 'skip', %s, %s, 'requested', %s, %s) RETURNING id",
        (actor, source, comment, json.dumps({"source": source}), keys or []),
    ).fetchone()
    assert row is not None
    return row[0]


def take_skip(conn: psycopg.Connection, source: str, run_id: int) -> tuple[int, str] | None:
    """The oldest skip request of `source` still waiting, now taken by `run_id`: (its id, who asked)."""
    row = conn.execute(
        "UPDATE onestop.admin_action SET state = 'triggered', dag_run_id = %s"
        " WHERE id = (SELECT id FROM onestop.admin_action WHERE action = 'skip' AND source = %s"
        "             AND state = 'requested' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, actor",
        (f"sync_run:{run_id}", source),
    ).fetchone()
    return (row[0], row[1]) if row else None


def note_skipped(conn: psycopg.Connection, action_id: int, skipped: list[dict[str, Any]]) -> None:
    conn.execute(
        "UPDATE onestop.admin_action SET result = %s WHERE id = %s",
        (json.dumps({"skipped": skipped}, ensure_ascii=False, default=str), action_id),
    )


def after_run(conn: psycopg.Connection, source: str, run_id: int, loaded: bool) -> None:
    """A run of `source` ended: its skip request is done (or failed); once it loaded, the source's earlier
    refusals are cleared (what they blocked has been read, or skipped)."""
    conn.execute(
        "UPDATE onestop.admin_action SET state = %s, finished_at = now()"
        " WHERE action = 'skip' AND state = 'triggered' AND dag_run_id = %s",
        ("done" if loaded else "failed", f"sync_run:{run_id}"),
    )
    if loaded:
        conn.execute(
            "UPDATE onestop.attempt SET state = 'cleared', resolved_at = now(), resolved_by = %s"
            " WHERE endpoint = %s AND state = 'open' AND run_id < %s",
            (f"sync_run:{run_id}", source, run_id),
        )
