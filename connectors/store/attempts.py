"""Failed calls and failed tasks, written on their own autocommitted connection so that they survive the
rollback of the work they interrupted."""

from __future__ import annotations

import threading

import psycopg

from schemas.personal_data import MESSAGE_CAP, mask_text, quote_answer


class AttemptRecorder:
    """A connectors.http.FailureRecorder that writes each failed call to onestop.attempt."""

    def __init__(self, url: str, run_id: int | None = None) -> None:
        self.url, self.run_id = url, run_id
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self.count = 0

    def __call__(
        self, *, endpoint: str, operation: str, error_class: str, message: str, http_status: int | None
    ) -> None:
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.url, autocommit=True, application_name="onestop-attempts")
            # Messages quote remote answers (a response body, a SOAP fault): masked, then truncated (cut first, a
            # citizen ID could come out short enough to slip past the mask).
            self._conn.execute(
                "INSERT INTO onestop.attempt (endpoint, operation, error_class, message, http_status, run_id)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    endpoint,
                    mask_text(operation),
                    error_class,
                    quote_answer(message, MESSAGE_CAP),
                    http_status,
                    self.run_id,
                ),
            )
            self.count += 1

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def record_task_failure(
    url: str, *, dag_id: str, run_id: str | None, task_id: str, source: str | None, error: BaseException
) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO onestop.task_failure (dag_id, run_id, task_id, source, error_class, message)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (dag_id, run_id, task_id, source, type(error).__name__, quote_answer(str(error), MESSAGE_CAP)),
        )
