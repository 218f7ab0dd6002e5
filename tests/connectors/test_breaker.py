"""Circuit breakers kept in the unified database: shared by every worker, opened by repeated failures, tried
again after a cool-down that doubles while the system stays down."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.errors import TransientError
from connectors.http import HttpClient, HttpSettings
from connectors.store.breaker import BreakerSettings, CircuitOpen, DatabaseBreaker
from tests.connectors.scripted_server import scripted_server

ONE_TRY = HttpSettings(max_attempts=1)


def state(db) -> tuple:
    return db.execute("SELECT state, failures, opened FROM onestop.circuit WHERE endpoint = 'd'").fetchone()


def test_repeated_failures_open_the_breaker_and_calls_then_fail_fast(db, pg_url) -> None:
    settings = BreakerSettings(threshold=3, cooldown=timedelta(seconds=60))
    with scripted_server([(503, {}, b"")]) as (url, log):
        worker_a = HttpClient("d", url, ONE_TRY, breaker=DatabaseBreaker(pg_url, "d", settings))
        for _ in range(3):
            with pytest.raises(TransientError):
                worker_a.request("GET", "/", operation="page")
        assert state(db) == ("open", 3, 1)
        # Another worker (another process, in production) sees the same breaker: no call is made.
        worker_b = HttpClient("d", url, ONE_TRY, breaker=DatabaseBreaker(pg_url, "d", settings))
        with pytest.raises(CircuitOpen, match="d: circuit open"):
            worker_b.request("GET", "/", operation="page")
        assert len(log) == 3


def test_after_the_cool_down_one_trial_closes_it_or_reopens_it_for_longer(db, pg_url) -> None:
    settings = BreakerSettings(threshold=1, cooldown=timedelta(seconds=60))
    breaker = DatabaseBreaker(pg_url, "d", settings)
    with scripted_server([(503, {}, b""), (503, {}, b""), (200, {}, b"ok")]) as (url, log):
        client = HttpClient("d", url, ONE_TRY, breaker=breaker)
        with pytest.raises(TransientError):
            client.request("GET", "/", operation="page")
        first_wait = db.execute("SELECT retry_at - updated_at FROM onestop.circuit").fetchone()[0]

        db.execute("UPDATE onestop.circuit SET retry_at = now()")  # the cool-down passed: one trial goes out
        with pytest.raises(TransientError):
            client.request("GET", "/", operation="page")
        assert state(db) == ("open", 2, 2)
        second_wait = db.execute("SELECT retry_at - updated_at FROM onestop.circuit").fetchone()[0]
        assert second_wait > first_wait * 1.9  # the cool-down doubled

        db.execute("UPDATE onestop.circuit SET retry_at = now()")
        assert client.request("GET", "/", operation="page") == b"ok"
        assert state(db) == ("closed", 0, 0)
        assert len(log) == 3
