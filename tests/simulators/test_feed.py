"""The LGSP change-feed simulator as a real process: leased batches, acknowledgements, deletions, ground truth."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests

from onestop.simulators.feed import STATUS_SLUGS
from onestop.simulators.process import SimulatorProcess, start_simulator

COUNT = 400
KEY = {"X-API-Key": "feed-key"}
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SLUG_TO_STATUS = {slug: status for status, slug in STATUS_SLUGS.items()}


def start(*args: str) -> SimulatorProcess:
    return start_simulator("feed", "--seed", "7", "--count", str(COUNT), *args)


@pytest.fixture
def feed() -> Iterator[SimulatorProcess]:
    """A fresh feed per test: leases and acknowledgements are state."""
    with start() as sim:
        yield sim


@pytest.fixture(scope="module")
def drained() -> Iterator[tuple[SimulatorProcess, list[dict]]]:
    """A feed read to the end once (every batch acknowledged), and every event it handed out."""
    with start() as sim:
        yield sim, drain(sim)


def fetch(sim: SimulatorProcess, n: int, headers: dict[str, str] = KEY) -> requests.Response:
    return requests.post(f"{sim.url}/feed/fetch", params={"max": n}, headers=headers, timeout=30)


def events(sim: SimulatorProcess, n: int) -> list[dict]:
    resp = fetch(sim, n)
    resp.raise_for_status()
    return resp.json()["events"]


def ack(sim: SimulatorProcess, ack_ids: list[str], headers: dict[str, str] = KEY) -> requests.Response:
    return requests.post(f"{sim.url}/feed/ack", json={"ack_ids": ack_ids}, headers=headers, timeout=30)


def drain(sim: SimulatorProcess, size: int = 500) -> list[dict]:
    out: list[dict] = []
    while batch := events(sim, size):
        assert ack(sim, [e["ack_id"] for e in batch]).json()["acked"] == len(batch)
        out.extend(batch)
    return out


def stats(sim: SimulatorProcess) -> dict:
    return requests.get(f"{sim.url}/_sim/stats", timeout=10).json()


def truth(sim: SimulatorProcess) -> list[dict]:
    resp = requests.get(f"{sim.url}/_sim/truth", timeout=60)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line]


def expire(sim: SimulatorProcess) -> None:
    requests.post(f"{sim.url}/_sim/expire_leases", timeout=10).raise_for_status()


def seqs(batch: list[dict]) -> list[int]:
    return [e["seq"] for e in batch]


def test_the_api_key_is_checked(feed: SimulatorProcess) -> None:
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer feed-key"}):
        for resp in (fetch(feed, 5, headers), ack(feed, ["1-1"], headers)):
            assert resp.status_code == 401 and resp.json() == {"error": "invalid_api_key"}
    assert stats(feed)["unauthorized"] == 6
    assert stats(feed)["fetched"] == 0  # refused calls lease nothing
    with start("--api-key", "s3cret") as other:
        assert fetch(other, 1).status_code == 401
        assert fetch(other, 1, {"X-API-Key": "s3cret"}).status_code == 200


def test_fetching_zero_events_leases_nothing(feed: SimulatorProcess) -> None:
    answer = fetch(feed, 0).json()
    assert answer == {"batch_id": None, "lease_seconds": 30, "events": []}
    assert stats(feed)["fetched"] == 0
    assert seqs(events(feed, 3)) == [1, 2, 3]  # the probe took nothing away
    assert fetch(feed, -1).status_code == 400 and fetch(feed, "x").status_code == 400  # type: ignore[arg-type]


def test_a_batch_not_acknowledged_comes_again_once_its_lease_expires(feed: SimulatorProcess) -> None:
    first = events(feed, 50)
    second = events(feed, 50)
    assert seqs(first) == list(range(1, 51)) and seqs(second) == list(range(51, 101))  # leased: skipped
    assert ack(feed, [e["ack_id"] for e in second]).json() == {"acked": 50, "ignored": 0}

    expire(feed)
    again = events(feed, 50)
    assert seqs(again) == seqs(first)
    assert [e["record"] for e in again] == [e["record"] for e in first]  # the same records, byte for byte
    assert not {e["ack_id"] for e in again} & {e["ack_id"] for e in first}  # each lease has its own ids
    # The first consumer's ids belong to an expired lease: ignored (and counted), the events stay pending.
    assert ack(feed, [e["ack_id"] for e in first]).json() == {"acked": 0, "ignored": 50}
    s = stats(feed)
    assert (s["fetched"], s["redelivered"], s["acked"], s["ack_ignored"]) == (150, 50, 50, 50)
    assert s["pending"] == s["events"] - 50
    assert ack(feed, [e["ack_id"] for e in again]).json()["acked"] == 50
    assert seqs(events(feed, 5)) == [101, 102, 103, 104, 105]


def test_the_visibility_timeout_is_real_time() -> None:
    with start("--visibility-timeout", "1") as sim:
        first = events(sim, 20)
        assert seqs(events(sim, 20)) == list(range(21, 41))
        time.sleep(1.2)
        assert seqs(events(sim, 20)) == seqs(first)


def test_acknowledged_events_never_come_again(feed: SimulatorProcess) -> None:
    everything = drain(feed)
    assert len(everything) == stats(feed)["events"] > COUNT
    assert seqs(everything) == list(range(1, len(everything) + 1))
    expire(feed)
    assert events(feed, 1000) == []
    s = stats(feed)
    assert (s["pending"], s["acked"], s["redelivered"]) == (0, len(everything), 0)
    # Acknowledging again, or with ids that never existed, changes nothing.
    assert ack(feed, [everything[0]["ack_id"], "nonsense", "999-999999", 7]).json() == {  # type: ignore[list-item]
        "acked": 0,
        "ignored": 4,
    }


def test_a_batch_is_leased_to_one_consumer_at_a_time(feed: SimulatorProcess) -> None:
    total = stats(feed)["events"]
    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(lambda _: events(feed, 150), range(16)))
    handed_out = [s for batch in batches for s in seqs(batch)]
    assert len(handed_out) == len(set(handed_out)) == min(total, 16 * 150)
    assert stats(feed)["redelivered"] == 0


def test_the_log_is_ordered_and_ends_in_the_truth(drained: tuple[SimulatorProcess, list[dict]]) -> None:
    sim, log = drained
    occurred = [datetime.fromisoformat(e["occurredAt"]) for e in log]
    assert occurred == sorted(occurred)
    latest: dict[str, dict] = {}
    for e in log:
        assert set(e) == {"ack_id", "seq", "op", "id", "occurredAt", "record"}
        assert e["id"] not in latest or latest[e["id"]]["op"] == "upsert"  # nothing after a deletion
        latest[e["id"]] = e
    rows = truth(sim)
    assert len(rows) == COUNT and set(latest) == {r["id"] for r in rows}
    for row in rows:
        last = latest[row["id"]]
        assert set(row) == {"id", "code", "updatedDate", "status", "bad", "deleted"}
        assert row["deleted"] == (last["op"] == "delete")
        if last["op"] == "upsert":
            record = last["record"]
            assert record["Id"] == row["id"] and record["LastModified"] == row["updatedDate"]
            if row["bad"] != "unknown_status":
                assert SLUG_TO_STATUS[record["Status"]] == row["status"]


def test_deletions_appear_in_the_feed_and_in_the_truth(drained: tuple[SimulatorProcess, list[dict]]) -> None:
    sim, log = drained
    deletions = [e for e in log if e["op"] == "delete"]
    assert all(e["record"] is None and ISO_Z.match(e["occurredAt"]) for e in deletions)
    deleted = {r["id"] for r in truth(sim) if r["deleted"]}
    assert {e["id"] for e in deletions} == deleted
    assert 0.01 * COUNT <= len(deleted) <= 0.03 * COUNT  # --delete-rate 0.02
    upserted_before = {e["id"]: e["occurredAt"] for e in log if e["op"] == "upsert"}
    assert all(upserted_before[e["id"]] < e["occurredAt"] for e in deletions)  # a dossier first exists


def test_every_upsert_is_a_whole_record_in_the_dialect(drained: tuple[SimulatorProcess, list[dict]]) -> None:
    _, log = drained
    upserts = [e for e in log if e["op"] == "upsert"]
    for e in upserts:
        r = e["record"]
        assert r["Id"] == e["id"] and r["LastModified"] == e["occurredAt"]
        assert all(k[0].isupper() for k in r), sorted(r)  # PascalCase
        assert r["Channel"] in (1, 2, 3) and r["ReturnMethod"] in ("counter", "post")
        assert r["Status"] in SLUG_TO_STATUS or r["Status"] == "on_hold"
        assert r["Steps"] and all(step["Status"] in SLUG_TO_STATUS for step in r["Steps"])
        assert r["Steps"][-1]["At"] == r["LastModified"]  # the record as it was at that step
        dates = [r[k] for k in r if k.startswith("Date")] + [step["At"] for step in r["Steps"]]
        assert all(ISO_Z.match(d) for d in dates), dates
    # Every step of a dossier's history is an event of its own, each carrying the history so far.
    by_id: dict[str, list[int]] = {}
    for e in upserts:
        by_id.setdefault(e["id"], []).append(len(e["record"]["Steps"]))
    assert all(lengths == list(range(1, len(lengths) + 1)) for lengths in by_id.values())


def test_about_one_percent_of_dossiers_are_bad(drained: tuple[SimulatorProcess, list[dict]]) -> None:
    sim, log = drained
    bad = {r["id"]: r["bad"] for r in truth(sim) if r["bad"]}
    assert 1 <= len(bad) <= 0.02 * COUNT
    last = {e["id"]: e["record"] for e in log if e["op"] == "upsert"}
    for dossier_id, reason in bad.items():
        record = last[dossier_id]
        if reason == "missing_code":
            assert "DocCode" not in record
        elif reason == "missing_nationCode":
            assert "ProcedureCode" not in record
        elif reason == "impossible_date":
            assert record["DateReceived"][4:10] == "-02-30"
        else:
            assert record["Status"] == "on_hold"


def test_advancing_the_clock_appends_events(feed: SimulatorProcess) -> None:
    before = drain(feed)
    clock = requests.get(f"{feed.url}/_sim/clock", timeout=10).json()
    assert clock["events"] == len(before)
    moved = requests.post(f"{feed.url}/_sim/clock", json={"advance_hours": 24 * 30}, timeout=30).json()
    assert moved["appended"] > 0 and moved["events"] == len(before) + moved["appended"]
    after = drain(feed)
    assert seqs(after) == list(range(len(before) + 1, moved["events"] + 1))
    assert min(e["occurredAt"] for e in after) > max(e["occurredAt"] for e in before)
    assert sum(r["deleted"] for r in truth(feed)) >= sum(e["op"] == "delete" for e in before)
    back = requests.post(f"{feed.url}/_sim/clock", json={"advance_hours": -1}, timeout=10)
    assert back.status_code == 400 and "only moves forward" in back.json()["error"]
    # Appending is consistent: the log equals the one of a feed started at the later clock.
    with start("--clock", moved["clock"]) as later:
        whole = drain(later)
    assert [(e["seq"], e["op"], e["id"], e["occurredAt"], e["record"]) for e in whole] == [
        (e["seq"], e["op"], e["id"], e["occurredAt"], e["record"]) for e in before + after
    ]


def test_the_same_seed_gives_the_same_feed(drained: tuple[SimulatorProcess, list[dict]]) -> None:
    _, log = drained
    with start() as twin:
        assert [(e["seq"], e["op"], e["id"], e["record"]) for e in events(twin, 300)] == [
            (e["seq"], e["op"], e["id"], e["record"]) for e in log[:300]
        ]


def test_the_process_contract() -> None:
    sim = start("--count", "10")
    try:
        assert requests.get(f"{sim.url}/health", timeout=10).json() == {"ok": True}
        sim.proc.send_signal(signal.SIGTERM)
        assert sim.proc.wait(timeout=10) == 0
    finally:
        sim.stop()
    with pytest.raises(RuntimeError, match="--delete-rate must be within"):
        start("--delete-rate", "2")
    with pytest.raises(RuntimeError, match="--visibility-timeout must be > 0"):
        start("--visibility-timeout", "0")


def test_times_are_utc(drained: tuple[SimulatorProcess, list[dict]]) -> None:
    _, log = drained
    # Dossiers are received in office hours in Hải Dương (07:30-17:00 +07:00): 00:30-10:00 UTC.
    submitted = [e["record"]["DateSubmitted"] for e in log if e["op"] == "upsert"]
    assert all("00:30" <= d[11:16] <= "10:00" for d in submitted)
