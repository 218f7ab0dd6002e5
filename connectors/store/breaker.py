"""Circuit breakers whose state lives in the unified database: every worker sees the same breaker, and the UI
can read it. A system that is down is not hammered: after `threshold` consecutive failures the breaker opens and
calls fail fast until a cool-down passes; then one trial call goes through (half-open) and closes it again on
success, or opens it for a doubled cool-down on failure."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from connectors.errors import ConnectorError
from schemas.personal_data import mask_text


class CircuitOpen(ConnectorError):
    """The endpoint's breaker is open: the call was not made."""


@dataclass(frozen=True)
class BreakerSettings:
    threshold: int = 5
    cooldown: timedelta = timedelta(seconds=30)
    max_cooldown: timedelta = timedelta(minutes=30)


class DatabaseBreaker:
    """before() / success() / failure() around each call to one endpoint (connectors.http.HttpClient)."""

    def __init__(self, url: str, endpoint: str, settings: BreakerSettings | None = None) -> None:
        self.url, self.endpoint, self.settings = url, endpoint, settings or BreakerSettings()
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._clean = False  # known closed with no failures: successes need no write
        self._trial = False  # this worker holds the half-open trial: its calls may go out until it ends

    def _db(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True, application_name="onestop-breaker")
        return self._conn

    def before(self) -> None:
        """Raise CircuitOpen unless a call may go out now (closed, or this worker won the half-open trial)."""
        with self._lock:
            if self._trial:
                return
            row = (
                self._db()
                .execute(
                    "UPDATE onestop.circuit SET state = 'half_open', updated_at = now()"
                    " WHERE endpoint = %s AND state = 'open' AND retry_at <= now()"
                    " RETURNING 'trial'",
                    (self.endpoint,),
                )
                .fetchone()
            )
            if row:
                self._clean, self._trial = False, True
                return
            state = (
                self._db()
                .execute(
                    "SELECT state, retry_at, last_error FROM onestop.circuit WHERE endpoint = %s",
                    (self.endpoint,),
                )
                .fetchone()
            )
        if state and state[0] in ("open", "half_open"):
            when = f"; next trial at {state[1]:%Y-%m-%d %H:%M:%S %Z}" if state[1] else ""
            raise CircuitOpen(self.endpoint, f"circuit open after repeated failures ({state[2]}){when}")

    def success(self) -> None:
        with self._lock:
            self._trial = False
            if self._clean:
                return
            self._db().execute(
                "INSERT INTO onestop.circuit (endpoint) VALUES (%s) ON CONFLICT (endpoint) DO UPDATE SET"
                " state = 'closed', failures = 0, opened = 0, retry_at = NULL, updated_at = now()",
                (self.endpoint,),
            )
            self._clean = True

    def failure(self, error: BaseException) -> None:
        s = self.settings
        with self._lock:
            self._clean = self._trial = False
            db = self._db()
            db.execute(
                "INSERT INTO onestop.circuit (endpoint) VALUES (%s) ON CONFLICT DO NOTHING", (self.endpoint,)
            )
            # Opens on the threshold-th consecutive failure, or when the half-open trial fails; the cool-down
            # doubles each time it opens in a row.
            db.execute(
                "UPDATE onestop.circuit AS c SET failures = c.failures + 1, last_error = %(m)s, updated_at = now(),"
                "  state = CASE WHEN c.state = 'half_open' OR c.failures + 1 >= %(t)s THEN 'open' ELSE c.state END,"
                "  opened = CASE WHEN c.state = 'half_open' OR (c.state = 'closed' AND c.failures + 1 >= %(t)s)"
                "   THEN c.opened + 1 ELSE c.opened END,"
                "  retry_at = CASE WHEN c.state = 'half_open' OR (c.state = 'closed' AND c.failures + 1 >= %(t)s)"
                "   THEN now() + LEAST(%(cd)s * power(2, c.opened), %(max)s) ELSE c.retry_at END"
                " WHERE c.endpoint = %(e)s",
                {"e": self.endpoint, "m": mask_text(f"{type(error).__name__}: {error}")[:500], "t": s.threshold,
                 "cd": s.cooldown, "max": s.max_cooldown},
            )  # fmt: skip

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def breaker_states(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT endpoint, state, failures, retry_at, last_error FROM onestop.circuit ORDER BY endpoint"
    ).fetchall()
