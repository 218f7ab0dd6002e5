"""A system that keeps the reader's place (`rest.resume`): the last page of a read gives a link or a cursor (Graph's
`@odata.deltaLink`, Zendesk's `after_cursor`), the reader says it (`resume_next`), and a read given one
(`resume_from`) starts there — a link as its first page, a cursor sent as a page after the first; the system saying
the place is gone (`resume.expired`, Graph's 410) starts the read afresh, once. `paginator.last_page_when` ends a
cursor or next_link read whatever cursor it still gives (Zendesk's `end_of_stream`). Each case is a real HTTP
server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.connection import Connection
from connectors.errors import ConnectorError, ProtocolError
from connectors.paging import glimpse
from connectors.spec.common import as_text
from connectors.spec.rest import RestSpec
from tests.connectors.entries import opened
from tests.connectors.scripted_server import Answering, serving

DELTA = {
    "request": {"path": "/items/delta", "query": {"$expand": "fields"}},
    "records": "value",
    "paginator": {"type": "next_link", "next_path": "['@odata.nextLink']"},
    "resume": {"path": "['@odata.deltaLink']"},
}
EXPORT = {
    "request": {"path": "/export.json", "query": {"start_time": "{start}"}},
    "records": "tickets",
    "paginator": {
        "type": "cursor",
        "cursor_path": "after_cursor",
        "last_page_when": {"path": "end_of_stream", "equals": True},
        "next_request": {"path": "/export.json", "query": {"cursor": "{cursor}"}},
    },
    "incremental": {"format": "epoch_s"},
    "resume": {"path": "after_cursor"},
}


class Delta:
    """A delta API over ids: pages of 2 by `?page=`, the last with a delta link whose token says how many ids it
    had seen; a delta link answers the ids added since. Tokens in `gone` answer 410 Gone."""

    def __init__(self, ids: list[int], gone: set[str] | None = None, host: str = "") -> None:
        self.ids, self.gone, self.host, self.asked = ids, gone or set(), host, []

    def handle(self, path: str) -> tuple[int, Any]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        self.asked.append(query)
        token = query.get("token")
        if token in self.gone:
            return 410, {"error": {"code": "resyncRequired", "message": "Resync required."}}
        since = int(token.removeprefix("d")) if token else 0
        page = int(query.get("page", 0))
        ids = self.ids[since:]
        answer: dict[str, Any] = {"value": [{"id": i} for i in ids[page * 2 : page * 2 + 2]]}
        base = f"{self.host}/items/delta?$expand=fields" + (f"&token={token}" if token else "")
        if page * 2 + 2 < len(ids):
            answer["@odata.nextLink"] = f"{base}&page={page + 1}"
        else:
            answer["@odata.deltaLink"] = f"{self.host}/items/delta?$expand=fields&token=d{len(self.ids)}"
        return 200, answer


@contextmanager
def delta_at(api: Delta) -> Iterator[str]:
    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            status, document = api.handle(self.path)
            self.send(status, {"Content-Type": "application/json"}, json.dumps(document).encode())

    with serving(Handler) as url:
        yield url


def read(url: str, spec: dict[str, Any], at: str | None = None) -> tuple[list[Any], Any]:
    source = opened("rest", spec, Connection("c", host=url), max_attempts=1)
    source.resume_from = at
    ids = [r.record.get("id") for chunk in source.pages(None, None) for r in chunk]
    return ids, source


def test_the_last_page_gives_the_place_and_a_read_given_it_starts_there() -> None:
    api = Delta([1, 2, 3, 4, 5])
    with delta_at(api) as url:
        ids, source = read(url, DELTA)
        assert ids == [1, 2, 3, 4, 5] and source.resume_next.endswith("token=d5")
        api.ids += [6, 7]
        again, later = read(url, DELTA, source.resume_next)
    assert again == [6, 7] and later.resume_next.endswith("token=d7") and not later.resume_expired
    assert api.asked[3] == {"$expand": "fields", "token": "d5"}, "the kept link is the first page"


def test_a_link_on_another_host_is_followed_on_the_connections_own() -> None:
    api = Delta([1, 2, 3], host="https://graph.microsoft.com/v1.0")
    with delta_at(api) as url:
        _, source = read(
            url, {**DELTA, "request": {"path": "/v1.0/items/delta", "query": {"$expand": "fields"}}}
        )
        assert source.resume_next.startswith("https://graph.microsoft.com/")
        api.ids.append(4)
        again, _ = read(url, DELTA, source.resume_next)
    assert again == [4]


def test_a_place_the_system_no_longer_knows_starts_the_read_afresh_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = Delta([1, 2, 3], gone={"d2"})
    with delta_at(api) as url, caplog.at_level(logging.WARNING):
        ids, source = read(url, DELTA, "/items/delta?$expand=fields&token=d2")
    assert ids == [1, 2, 3] and source.resume_expired and source.resume_next.endswith("token=d3")
    assert [q.get("token") for q in api.asked] == ["d2", None, None]
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "no longer good (HTTP 410)" in warned and "token=d2" not in warned


def test_another_failure_of_a_resumed_read_fails_it_and_an_expiry_on_a_fresh_read_is_no_restart() -> None:
    api = Delta([1, 2, 3], gone={"d2"})
    with delta_at(api) as url:
        with pytest.raises(ConnectorError) as failed:
            read(
                url,
                {**DELTA, "resume": {"path": "['@odata.deltaLink']", "expired": [404]}},
                "/items/delta?token=d2",
            )
    assert failed.value.http_status == 410 and "resyncRequired" in str(failed.value)


class Export:
    """An incremental export: `start_time` for the first call, `cursor` after; every page gives an after_cursor
    (`c<n>`: n records read), end_of_stream true on the last. Both parameters at once are refused (422)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids, self.asked = ids, []

    def handle(self, path: str) -> tuple[int, Any]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        self.asked.append(query)
        if ("cursor" in query) == ("start_time" in query):
            return 422, {"error": "InvalidPaginationParameter"}
        at = int(query["cursor"].removeprefix("c")) if "cursor" in query else 0
        page = self.ids[at : at + 2]
        done = at + len(page) >= len(self.ids)
        return 200, {
            "tickets": [{"id": i} for i in page],
            "after_cursor": f"c{at + len(page)}",
            "end_of_stream": done,
        }


def read_export(api: Export, at: str | None = None) -> tuple[list[Any], Any]:
    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            status, document = api.handle(self.path)
            self.send(status, {"Content-Type": "application/json"}, json.dumps(document).encode())

    with serving(Handler) as url:
        source = opened("rest", EXPORT, Connection("c", host=url), max_attempts=1)
        source.resume_from = at
        from datetime import UTC, datetime

        ids = [
            r.record["id"]
            for chunk in source.pages(datetime(2025, 1, 1, tzinfo=UTC), datetime.now(UTC))
            for r in chunk
        ]
        return ids, source


def test_an_export_ends_where_it_says_so_and_the_next_read_sends_its_cursor() -> None:
    api = Export([1, 2, 3, 4, 5])
    ids, source = read_export(api)
    assert ids == [1, 2, 3, 4, 5] and source.resume_next == "c5"
    assert len(api.asked) == 3, "end_of_stream ends the read: the last cursor is not asked for"
    assert api.asked[0] == {"start_time": "1735689600"}
    api.ids += [6]
    again, later = read_export(api, source.resume_next)
    assert again == [6] and later.resume_next == "c6"
    assert api.asked[3] == {"cursor": "c5"}, "a kept cursor is sent as a page after the first"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.dictionaries(st.text(max_size=5), st.integers(), min_size=1), st.lists(st.integers(), min_size=1)
    )
)
def test_a_place_that_is_no_text_fails_the_read_naming_it(value: Any) -> None:
    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            document = {"value": [{"id": 1}], "delta": value}
            self.send(200, {"Content-Type": "application/json"}, json.dumps(document).encode())

    spec = {**DELTA, "resume": {"path": "delta"}}
    with serving(Handler) as url, pytest.raises(ProtocolError) as failed:
        read(url, spec)
    assert str(failed.value).startswith("hd_thu: page 1: resume.path 'delta' holds")


def test_a_place_past_the_cursor_cap_fails_the_read_without_quoting_it() -> None:
    huge = "t" * ((1 << 20) + 1)

    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            document = {"value": [], "@odata.deltaLink": huge}
            self.send(200, {"Content-Type": "application/json"}, json.dumps(document).encode())

    with serving(Handler) as url, pytest.raises(ProtocolError) as failed:
        read(url, DELTA)
    assert "characters long" in str(failed.value) and huge[:100] not in str(failed.value)


@given(st.text(min_size=13, max_size=400))
def test_a_place_is_never_shown_whole(value: str) -> None:
    shown = glimpse(value)
    assert value not in shown and str(len(value)) in shown
    assert glimpse(value[:12]) == "… (short)"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"paginator": {"type": "page_number"}, "request": {"path": "/x", "query": {"p": "{page}"}}},
            "cursor or next_link paginator",
        ),
        ({"answer": "xml", "records": "a.b"}, "answer: json"),
        ({"resume": {"path": "x", "expired": [200]}}, "400 to 599"),
        ({"resume": {"path": "a[?(@.b"}}, "resume.path"),
    ],
)
def test_resume_is_refused_where_it_cannot_work(change: dict[str, Any], said: str) -> None:
    with pytest.raises(ValidationError, match=said.replace("[", r"\[").replace("(", r"\(")):
        RestSpec.model_validate({**DELTA, **change})


def test_last_page_when_needs_a_cursor_or_next_link_paginator() -> None:
    spec = {
        "request": {"path": "/x", "query": {"p": "{page}"}},
        "paginator": {"type": "page_number", "last_page_when": {"path": "done", "equals": True}},
    }
    with pytest.raises(ValidationError, match="last_page_when ends a cursor or next_link read"):
        RestSpec.model_validate(spec)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_place_a_system_gives_is_kept_exactly_or_refused_naming_resume_path(value: str) -> None:
    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            document = {"value": [{"id": 1}], "@odata.deltaLink": value}
            self.send(200, {"Content-Type": "application/json"}, json.dumps(document).encode())

    with serving(Handler) as url:
        try:
            _, source = read(url, DELTA)
        except ProtocolError as exc:
            said = str(exc)
            assert "resume.path" in said and "control character or a lone surrogate" in said
            assert len(value) < 8 or value not in said, "the place is never quoted"
            return
    assert source.resume_next == (as_text(value) or None)
