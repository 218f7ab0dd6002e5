"""A read fetched ahead in a thread (connectors.base.read_ahead) that its consumer stops — a failure while staging,
a task past its time limit — stops at once: the call in flight is abandoned, no retry follows, nothing is recorded
against the system, and no thread goes on calling it after the read has returned. A real HTTP server answers the
first page and stalls on the next, then fails it (a retryable 503)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from connectors.base import read_ahead
from connectors.connection import Connection
from connectors.factory import open_source
from onestop import registry
from tests.connectors.entries import entry
from tests.connectors.scripted_server import routed_server

STALL_S = 1.5


class StagingFailed(Exception):
    pass


def test_a_read_stopped_while_a_page_is_in_flight_makes_no_other_call_and_records_nothing() -> None:
    asked: list[str] = []

    def route(path: str, _body: bytes) -> tuple[int, dict[str, str], bytes]:
        asked.append(path)
        if path.endswith("page=1"):
            return (
                200,
                {"Content-Type": "application/json"},
                json.dumps({"items": [{"id": 1}, {"id": 2}]}).encode(),
            )
        time.sleep(STALL_S)  # the next page is slow, then fails in a way worth retrying
        return 503, {}, b""

    spec = {"request": {"path": "/ds", "query": {"page": "{page}"}}, "records": "items",
            "paginator": {"type": "page_number", "page_size": 2}}  # fmt: skip
    source = registry.parse({"sources": [entry("rest", spec, max_attempts=5)]}).sources[0]
    recorded: list[dict[str, Any]] = []
    with routed_server(route) as (url, _):
        reader = open_source(
            source, recorder=lambda **kw: recorded.append(kw), conn=Connection("c", host=url)
        )
        started = time.monotonic()
        with pytest.raises(StagingFailed):
            for _page in read_ahead(reader.pages(None, None), cancel=reader.client.cancel):
                time.sleep(0.2)  # page 2 is asked for meanwhile
                raise StagingFailed
        stopped_after = time.monotonic() - started
        time.sleep(STALL_S * 4)  # long enough for several retries, had any been made

    assert stopped_after < STALL_S + 2.5
    assert asked == ["/ds?page=1", "/ds?page=2"]  # the stalled page once: no retry after the stop
    assert recorded == []  # the abandoned call is not the system's failure
    assert not [t for t in threading.enumerate() if t.name == "read-ahead" and t.is_alive()]
