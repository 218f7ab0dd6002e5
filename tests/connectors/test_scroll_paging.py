"""A cursor that lives on the system (Elasticsearch's scroll, a server-side cursor): pages after the first are asked
by a request of their own (`paginator.next_request`), the cursor may come back unchanged while an empty page ends
the read (`stop: empty_page`), and the system is told when the read ends (`paginator.release`), whatever ended it.
Each case is a real HTTP server that keeps the contexts it opened."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.connection import Connection
from connectors.errors import ConfigError, ConnectorError
from onestop import registry
from tests.connectors.entries import entry, opened
from tests.connectors.scripted_server import Answering, serving

SCROLL = {
    "request": {"method": "POST", "path": "/ix/_search", "query": {"scroll": "1m"}, "json": {"size": "{page_size}"}},
    "records": "hits.hits",
    "paginator": {
        "type": "cursor",
        "page_size": 2,
        "cursor_path": "_scroll_id",
        "stop": "empty_page",
        "next_request": {"method": "POST", "path": "/_search/scroll", "json": {"scroll": "1m", "scroll_id": "{cursor}"}},
        "release": {"method": "DELETE", "path": "/_search/scroll", "json": {"scroll_id": "{cursor}"}},
    },
}  # fmt: skip


class Cluster:
    """A search cluster's scroll API over `ids`: one context per search, its id the same on every batch (or a new
    one each batch with `rotate`), freed by DELETE; `fail_at`: the scroll call that answers 500; `expire_at`: the
    one that finds the context gone (404 search_context_missing_exception)."""

    def __init__(self, ids: list[int], sid: str = "c1", rotate: bool = False, **faults: int) -> None:
        self.ids, self.sid, self.rotate, self.faults = ids, sid, rotate, faults
        self.open: dict[str, int] = {}
        self.log: list[tuple[str, str, Any]] = []
        self.lock = threading.Lock()
        self.scrolls = 0

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        with self.lock:
            self.log.append((method, path.split("?")[0], body))
            if method == "POST" and path.startswith("/ix/_search"):
                self.open[self.sid] = 0
                return self.batch(self.sid)
            if method == "POST" and path == "/_search/scroll":
                self.scrolls += 1
                if self.scrolls == self.faults.get("fail_at"):
                    return 500, {"error": {"type": "node_not_connected_exception"}, "status": 500}
                if self.scrolls == self.faults.get("expire_at"):
                    self.open.pop(body["scroll_id"], None)
                if body["scroll_id"] not in self.open:
                    cause = {
                        "type": "search_context_missing_exception",
                        "reason": "No search context found for id [7]",
                    }
                    return 404, {"error": {"root_cause": [cause], "type": "search_phase_execution_exception"},
                                 "status": 404}  # fmt: skip
                return self.batch(body["scroll_id"])
            if method == "DELETE" and path == "/_search/scroll":
                freed = self.open.pop(body["scroll_id"], None) is not None
                return (200 if freed else 404), {"succeeded": True, "num_freed": int(freed)}
            return 400, {"error": "no such route"}

    def batch(self, sid: str) -> tuple[int, Any]:
        at = self.open.pop(sid)
        page = self.ids[at : at + 2]
        if self.rotate:
            sid = f"{sid}+"
        self.open[sid] = at + len(page)
        return 200, {"_scroll_id": sid, "hits": {"hits": [{"_id": str(i), "id": i} for i in page]}}


@contextmanager
def cluster_at(cluster: Cluster) -> Iterator[str]:
    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            status, document = cluster.handle(self.command, self.path, json.loads(body) if body else None)
            self.send(status, {"Content-Type": "application/json"}, json.dumps(document).encode())

        do_DELETE = Answering._answer

    with serving(Handler) as url:
        yield url


def read(cluster: Cluster, spec: dict[str, Any] | None = None) -> list[int]:
    with cluster_at(cluster) as url:
        source = opened("rest", spec or SCROLL, Connection("c", host=url), max_attempts=1)
        return [r.record["id"] for chunk in source.pages(None, None) for r in chunk]


def test_a_scroll_is_read_to_its_empty_batch_and_then_released() -> None:
    cluster = Cluster([1, 2, 3, 4, 5])
    assert read(cluster) == [1, 2, 3, 4, 5]
    assert [(m, p) for m, p, _ in cluster.log] == [
        ("POST", "/ix/_search"),
        *[("POST", "/_search/scroll")] * 3,  # 3-4, 5, then the empty batch
        ("DELETE", "/_search/scroll"),
    ]
    assert cluster.log[1][2] == {"scroll": "1m", "scroll_id": "c1"}  # the unchanged id is no loop
    assert cluster.open == {}


def test_the_last_cursor_given_is_the_one_released() -> None:
    cluster = Cluster([1, 2, 3], rotate=True)
    assert read(cluster) == [1, 2, 3]
    assert cluster.log[-1] == ("DELETE", "/_search/scroll", {"scroll_id": "c1+++"}) and cluster.open == {}


def test_a_read_that_fails_midway_still_releases_its_cursor() -> None:
    cluster = Cluster([1, 2, 3, 4, 5], fail_at=2)
    with pytest.raises(ConnectorError) as failed:
        read(cluster)
    assert str(failed.value).startswith("hd_thu: ")
    assert cluster.log[-1][:2] == ("DELETE", "/_search/scroll") and cluster.open == {}


def test_an_expired_scroll_fails_the_run_naming_the_source_in_the_systems_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cluster = Cluster([1, 2, 3, 4, 5], expire_at=1)
    with caplog.at_level(logging.WARNING), pytest.raises(ConnectorError) as failed:
        read(cluster)
    said = str(failed.value)
    assert said.startswith("hd_thu: ") and "HTTP 404" in said and "search_context_missing_exception" in said
    # the release is tried, its 404 only logged
    assert cluster.log[-1][:2] == ("DELETE", "/_search/scroll")
    assert any("release call (paginator.release) failed" in r.getMessage() for r in caplog.records)


def test_a_megabyte_cursor_goes_back_as_sent_and_never_into_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    huge = "x" * (1 << 20)
    cluster = Cluster([1, 2, 3], sid=huge, expire_at=2)
    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectorError) as failed:
        read(cluster)
    assert cluster.log[1][2]["scroll_id"] == huge
    assert len(str(failed.value)) < 8192 and all(len(r.getMessage()) < 8192 for r in caplog.records)


def test_a_release_that_fails_costs_nothing() -> None:
    class Deaf(Cluster):
        def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
            if method == "DELETE":
                self.log.append((method, path, body))
                return 503, {"error": "busy"}
            return super().handle(method, path, body)

    cluster = Deaf([1, 2, 3])
    assert read(cluster) == [1, 2, 3]
    assert [m for m, _, _ in cluster.log].count("DELETE") == 1  # not retried: the context expires anyway


def test_no_release_without_a_cursor_to_release() -> None:
    cluster = Cluster([])
    spec = json.loads(json.dumps(SCROLL))
    spec["paginator"]["cursor_path"] = "missing"
    assert read(cluster, spec) == []
    assert [m for m, _, _ in cluster.log] == ["POST"]


def test_a_preview_that_reads_one_page_releases_it_too() -> None:
    cluster = Cluster([1, 2, 3])
    with cluster_at(cluster) as url:
        source = opened("rest", SCROLL, Connection("c", host=url))
        reading = source.read(None, None)
        first = next(reading)
        reading.close()
    assert len(first.records) == 2
    assert [m for m, _, _ in cluster.log] == ["POST", "DELETE"] and cluster.open == {}


def test_the_same_batch_again_and_again_fails_rather_than_reads_for_ever() -> None:
    class Stuck(Cluster):
        def batch(self, sid: str) -> tuple[int, Any]:
            self.open[sid] = 0
            return 200, {"_scroll_id": sid, "hits": {"hits": [{"_id": "1", "id": 1}]}}

    cluster = Stuck([1])
    with pytest.raises(ConnectorError, match="the same 1 records as the page before"):
        read(cluster)
    assert cluster.log[-1][0] == "DELETE"


@settings(max_examples=25, deadline=None)
@given(ids=st.lists(st.integers(0, 10_000), unique=True, max_size=9), rotate=st.booleans())
def test_any_scroll_gives_every_record_once_and_leaves_nothing_open(ids: list[int], rotate: bool) -> None:
    cluster = Cluster(ids, rotate=rotate)
    assert read(cluster) == ids
    assert cluster.open == {}


# -- config check: settings that contradict each other are refused, saying why ----------------------------------
@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"stop": "short_page"}, "a cursor paginator stops on empty_page"),
        ({"next_request": {"method": "POST", "path": "/_search/scroll", "json": {"scroll": "1m"}}},
         "`next_request` must send {cursor}"),
        ({"release": {"method": "DELETE", "path": "/_search/scroll/_all"}}, "`release` must send {cursor}"),
        ({"release": {"method": "DELETE", "path": "/s", "json": {"id": "{curser}", "c": "{cursor}"}}},
         "unknown placeholder {curser} in paginator.release (did you mean {cursor}?)"),
        ({"next_request": {"method": "POST", "path": "/s", "query": {"p": "{password}"},
                           "json": {"id": "{cursor}"}}}, "{password} goes in a header or the body"),
        ({"type": "next_link", "next_path": "next", "stop": None, "cursor_path": None}, "needs a cursor paginator"),
    ],
)  # fmt: skip
def test_config_check_refuses_contradictory_cursor_settings(change: dict[str, Any], said: str) -> None:
    spec = json.loads(json.dumps(SCROLL))
    spec["paginator"].update(change)
    spec["paginator"] = {k: v for k, v in spec["paginator"].items() if v is not None}
    with pytest.raises(ConfigError) as refused:
        registry.parse({"sources": [entry("rest", spec)]})
    assert said in str(refused.value) and "hd_thu" in str(refused.value)


def test_a_scroll_request_need_not_send_the_cursor_its_next_request_does() -> None:
    spec = json.loads(json.dumps(SCROLL))
    del spec["paginator"]["next_request"]
    with pytest.raises(ConfigError, match=r"a cursor paginator needs \{cursor\} somewhere in request"):
        registry.parse({"sources": [entry("rest", spec)]})


def test_a_soap_operation_has_no_next_request() -> None:
    soap = {"wsdl": "/s?wsdl", "operation": "TimKiem", "records": "Items.Item",
            "request": {"c": "{cursor}"},
            "paginator": {"type": "cursor", "cursor_path": "Next", "release": SCROLL["paginator"]["release"]}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"paginator\.release is a REST request"):
        registry.parse({"sources": [entry("soap", soap)]})


def test_a_preview_shows_a_megabyte_cursor_by_its_beginning_and_releases_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from onestop.operations.preview import preview

    huge = "y" * (1 << 20)
    cluster = Cluster([1, 2, 3], sid=huge)
    with cluster_at(cluster) as url:
        monkeypatch.setenv("AIRFLOW_CONN_C", json.dumps({"conn_type": "http", "host": url}))
        source = registry.parse({"sources": [entry("rest", SCROLL)]}).sources[0]
        shown = preview(source, pages=2, show=0)
    assert shown.ok and shown.records_per_page == [2, 1]
    assert [r["method"] for r in shown.requests] == ["POST", "POST", "DELETE"] and cluster.open == {}
    assert shown.requests[1]["json"]["scroll_id"] == f"{'y' * 256}… ({1 << 20} characters)"
    assert len(json.dumps(shown.requests)) < 8192
