"""connectors.feed against the LGSP change-feed simulator (a real process): batches, acks, deletions."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connectors.base import JSON, RawRecord
from connectors.connection import Connection
from connectors.errors import AuthError, ProtocolError
from connectors.factory import open_source
from connectors.feed import FeedSource
from connectors.http import HttpClient, HttpSettings
from connectors.spec.source import SourceConfig
from mappings import get_mapping
from onestop.simulators.process import SimulatorProcess, start_simulator
from schemas.dossier import Dossier
from tests.conftest import shipped_spec
from tests.connectors.scripted_server import scripted_server

COUNT = 500
NAME = "lgsp_tuphap"


@pytest.fixture
def feed() -> Iterator[SimulatorProcess]:
    with start_simulator("feed", "--seed", "11", "--count", str(COUNT)) as sim:
        yield sim


def source(url: str, key: str = "feed-key", **spec: int) -> FeedSource:
    conn = Connection(NAME, host=url, password=key)
    return FeedSource(
        NAME, shipped_spec("feed", **spec), conn, HttpClient(NAME, url, HttpSettings(max_attempts=1))
    )


def run(src: FeedSource) -> list[RawRecord]:
    return [raw for page in src.pages(None, None) for raw in page]


def stats(sim: SimulatorProcess) -> dict:
    return requests.get(f"{sim.url}/_sim/stats", timeout=10).json()


def truth(sim: SimulatorProcess) -> dict[str, dict]:
    lines = requests.get(f"{sim.url}/_sim/truth", timeout=60).text.splitlines()
    return {row["id"]: row for row in map(json.loads, lines)}


def expire(sim: SimulatorProcess) -> None:
    requests.post(f"{sim.url}/_sim/expire_leases", timeout=10).raise_for_status()


def test_a_registry_entry_opens_a_feed_that_pages_through_everything(feed: SimulatorProcess) -> None:
    config = SourceConfig(
        name=NAME, title="Sở Tư pháp (LGSP)", kind="feed", dialect="lgsp_feed", conn_id=NAME
    )
    config.feed = shipped_spec("feed", batch_size=300)
    src = open_source(config, conn=Connection(NAME, host=feed.url, password="feed-key"))
    assert isinstance(src, FeedSource)

    # A feed has its own cursor (what is unacknowledged): the run's window does not narrow it.
    past = datetime(2020, 1, 1, tzinfo=UTC)
    pages = list(src.pages(past, past))
    records = [raw for page in pages for raw in page]
    assert len(records) == stats(feed)["events"] > COUNT
    assert all(0 < len(page) <= 300 for page in pages)
    assert len({raw.ack_id for raw in records}) == len(records)
    assert stats(feed)["batches"] == len(pages) + 1  # the last fetch came back empty

    src.acknowledge([raw.ack_id for raw in records if raw.ack_id])
    assert src.acked == len(records) and src.ack_ignored == 0
    s = stats(feed)
    assert s["pending"] == 0 and s["ack_calls"] == -(-len(records) // 1000)  # chunks of 1000
    expire(feed)
    assert run(src) == []  # acknowledged events never come again


def test_upserts_and_deletions_become_raw_records(feed: SimulatorProcess) -> None:
    records = run(source(feed.url))
    upserts = [r for r in records if r.record["op"] == "upsert"]
    deletions = [r for r in records if r.record["op"] == "delete"]
    assert len(upserts) + len(deletions) == len(records) and deletions
    for raw in records:  # each item as served; its ack id travels beside it (no batch id here: chunked acks)
        assert (
            raw.content_type == JSON and json.loads(raw.payload) == raw.record and "ack_id" not in raw.record
        )
        batch, ack_id = json.loads(raw.ack_id)
        assert batch is None and ack_id.endswith(f"-{raw.record['seq']}")
    for raw in deletions:
        assert raw.record["record"] is None and raw.record["occurredAt"].endswith("Z")
    assert all(
        {"Id", "DocCode", "LastModified", "Steps"} <= set(r.record["record"])
        for r in upserts
        if r.record["record"].get("DocCode")
    )
    assert {r.record["id"] for r in deletions} == {i for i, row in truth(feed).items() if row["deleted"]}


def test_a_run_that_is_not_acknowledged_is_read_again(feed: SimulatorProcess) -> None:
    src = source(feed.url, batch_size=200)
    first = run(src)
    assert run(src) == []  # still leased to the first run
    expire(feed)
    second = run(src)
    assert [r.payload for r in second] == [r.payload for r in first]  # the same records ...
    assert not {r.ack_id for r in second} & {r.ack_id for r in first}  # ... under a new lease, new ack ids
    assert stats(feed)["redelivered"] == len(first)


def test_max_batches_leaves_the_rest_for_the_next_run(feed: SimulatorProcess) -> None:
    src = source(feed.url, batch_size=100, max_batches=2)
    first = list(src.pages(None, None))
    assert [len(p) for p in first] == [100, 100]
    src.acknowledge([r.ack_id for p in first for r in p if r.ack_id])
    rest = run(source(feed.url, batch_size=1000))
    assert len(rest) == stats(feed)["events"] - 200
    assert not {r.payload for p in first for r in p} & {r.payload for r in rest}


def test_a_late_acknowledgement_is_refused_and_the_events_come_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with start_simulator("feed", "--count", "50", "--visibility-timeout", "1") as sim:
        # One batch holds the whole feed: a run that stops at half its first lease (0.5 s, soon reached on a
        # loaded machine) has read everything all the same.
        src = source(sim.url, batch_size=1000)
        records = run(src)
        time.sleep(1.2)
        with caplog.at_level(logging.WARNING, logger="connectors.feed"):
            src.acknowledge([r.ack_id for r in records if r.ack_id])
        assert (src.acked, src.ack_ignored) == (0, len(records))
        assert f"refused {len(records)} of {len(records)} acknowledgements" in caplog.text
        again = run(src)
        # The same events come again. On a loaded machine a run's second fetch may come after its first lease
        # (1 s) ended and hold them all twice: the load keeps one of each (merge: in-batch duplicates).
        assert {r.payload for r in again} == {r.payload for r in records}
        assert len({r.payload for r in records}) == stats(sim)["pending"]


def test_a_run_stops_reading_before_its_leases_run_out() -> None:
    # 100 ms per fetch, 2 s leases: reading everything in batches of 50 would outlast the first lease.
    with start_simulator("feed", "--count", "300", "--visibility-timeout", "2", "--latency", "100") as sim:
        src = source(sim.url, batch_size=50, max_batches=100)
        started = time.monotonic()
        first = run(src)
        assert time.monotonic() - started < 2
        assert 0 < len(first) < stats(sim)["events"] and stats(sim)["redelivered"] == 0
        src.acknowledge([r.ack_id for r in first if r.ack_id])
        assert (src.acked, src.ack_ignored) == (len(first), 0)  # every lease was still held
        rest: list[RawRecord] = []
        while batch := run(src):
            src.acknowledge([r.ack_id for r in batch if r.ack_id])
            rest.extend(batch)
        assert len(first) + len(rest) == stats(sim)["events"] and stats(sim)["pending"] == 0
        assert src.ack_ignored == 0


def test_every_good_upsert_normalizes_and_deletions_are_recognized(feed: SimulatorProcess) -> None:
    mapping = get_mapping("lgsp_feed")
    rows = truth(feed)
    last: dict[str, Dossier | str] = {}  # per dossier id: the newest dossier, or "deleted" / "bad"
    for raw in run(source(feed.url, batch_size=1000)):
        if mapping.is_deleted(raw.record):
            record_id = mapping.record_id(raw.record)
            assert record_id is not None and rows[record_id]["deleted"]
            assert mapping.updated_at(raw.record) is not None
            last[record_id] = "deleted"
            continue
        outcome = mapping.normalize(raw.record, NAME)
        row = rows[raw.record["id"]]
        assert outcome.ok == (row["bad"] is None), (row, outcome.describe(NAME))
        d = outcome.dossier
        if d is None:
            last[raw.record["id"]] = "bad"
            continue
        assert d.source_updated_at == datetime.fromisoformat(raw.record["record"]["LastModified"])
        assert d.source_updated_at.utcoffset() == timedelta(hours=7)  # Z converted to Asia/Ho_Chi_Minh
        last[d.source_record_id] = d
    assert set(last) == set(rows)
    for dossier_id, row in rows.items():
        final = last[dossier_id]
        if row["deleted"]:
            assert final == "deleted"
        elif row["bad"]:
            assert final == "bad"
        else:
            assert isinstance(final, Dossier) and final.status == row["status"]
            assert final.source_updated_at == datetime.fromisoformat(row["updatedDate"])


def test_probe_authenticates_and_leases_nothing(feed: SimulatorProcess) -> None:
    assert source(feed.url).probe() == f"{NAME}: authenticated, the change feed answers"
    s = stats(feed)
    assert (s["fetched"], s["batches"], s["pending"]) == (0, 0, s["events"])
    with pytest.raises(AuthError, match=f"^{NAME}: fetch: HTTP 401"):
        source(feed.url, key="wrong").probe()


def test_a_malformed_answer_or_event_is_reported_not_lost() -> None:
    with scripted_server([(200, {}, b'{"items": []}')]) as (url, _):
        with pytest.raises(ProtocolError, match=f"^{NAME}: fetch: no list of items at 'events': "):
            run(source(url))
    odd = {"ack_id": "7-1", "seq": 1, "op": "merge", "id": "x", "record": None}
    answers = [
        (200, {}, json.dumps({"events": [odd, "not an object"]}).encode()),
        (200, {}, b'{"events": []}'),
    ]
    with scripted_server(answers) as (url, _):
        raw, other = run(source(url))
    # Kept whole, so that it is quarantined with its payload and acknowledged like any other record.
    assert raw.record == {k: v for k, v in odd.items() if k != "ack_id"} and json.loads(raw.ack_id) == [
        None,
        "7-1",
    ]
    assert other.payload == '"not an object"' and other.ack_id is None
    assert [d.reason for d in other.defects] == ["a record must be a JSON object, not a string"]
    mapping = get_mapping("lgsp_feed")
    assert not mapping.is_deleted(raw.record) and not mapping.normalize(raw.record, NAME).ok
