"""The shared HTTP client: retries what is transient, honours Retry-After, caps bodies, reports every failure."""

from __future__ import annotations

import time

import pytest

from connectors.errors import AuthError, ProtocolError, TransientError
from connectors.http import HttpClient, HttpSettings
from tests.connectors.scripted_server import scripted_server

FAST = HttpSettings(max_attempts=4, backoff_initial=0.01, backoff_max=2)


class Failures(list):
    def __call__(self, **kwargs) -> None:
        self.append(kwargs)


def test_transient_faults_are_retried_and_each_one_is_reported() -> None:
    failures = Failures()
    answers = [(503, {}, b"busy"), (500, {}, b"oops"), (200, {}, b'{"ok": true}')]
    with scripted_server(answers) as (url, log):
        client = HttpClient("district_x", url, FAST, on_failure=failures)
        assert client.json("GET", "/x", operation="page") == {"ok": True}
    assert len(log) == 3
    assert [(f["endpoint"], f["error_class"], f["http_status"]) for f in failures] == [
        ("district_x", "TransientError", 503),
        ("district_x", "TransientError", 500),
    ]


def test_retry_after_is_honoured() -> None:
    answers = [(429, {"Retry-After": "1"}, b""), (200, {}, b"[]")]
    with scripted_server(answers) as (url, _):
        started = time.monotonic()
        HttpClient("d", url, FAST).json("GET", "/", operation="page")
        assert time.monotonic() - started >= 0.95


def test_gives_up_after_max_attempts_with_a_clear_error() -> None:
    with scripted_server([(502, {}, b"")]) as (url, log):
        with pytest.raises(TransientError, match=r"district_y: page: HTTP 502"):
            HttpClient("district_y", url, FAST).request("GET", "/", operation="page")
    assert len(log) == 4


def test_auth_and_client_errors_are_not_retried() -> None:
    with scripted_server([(401, {}, b"")]) as (url, log), pytest.raises(AuthError):
        HttpClient("d", url, FAST).request("GET", "/", operation="page")
    assert len(log) == 1


def test_a_body_over_the_cap_is_refused() -> None:
    settings = HttpSettings(max_attempts=1, max_bytes=1000)
    with scripted_server([(200, {}, b"x" * 5000)]) as (url, _), pytest.raises(ProtocolError, match="cap"):
        HttpClient("d", url, settings).request("GET", "/", operation="page")


def test_a_connection_refused_is_transient() -> None:
    with pytest.raises(TransientError, match="ConnectionError"):
        HttpClient("d", "http://127.0.0.1:9", HttpSettings(max_attempts=2, backoff_initial=0.01)).request(
            "GET", "/", operation="page"
        )
