"""The iGate-style district simulator as a real process, over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise

import pytest
import requests

from onestop.simulators.igate_data import BAD_REASONS, EVENT_WINDOW
from onestop.simulators.igate_records import VENDOR_STATUS_TO_CANONICAL
from onestop.simulators.process import SimulatorProcess, start_simulator

COUNT = 2000
MA_HO_SO = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[GH]\d{2}-\d{6}-\d{4,5}$")
ISO_VN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$")
FINAL = {3, 7, 8, 10}


@pytest.fixture(scope="module")
def igate() -> Iterator[SimulatorProcess]:
    with start_simulator("igate", "--seed", "42", "--count", str(COUNT)) as sim:
        yield sim


@pytest.fixture(scope="module")
def twin() -> Iterator[SimulatorProcess]:
    """Same seed and count (so pages must match byte for byte), with tokens that live one second."""
    with start_simulator("igate", "--seed", "42", "--count", str(COUNT), "--token-ttl", "1") as sim:
        yield sim


def token(sim: SimulatorProcess) -> str:
    resp = requests.post(
        f"{sim.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "igate", "client_secret": "secret"},
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()["access_token"]


def page(sim: SimulatorProcess, tok: str, **params: object) -> requests.Response:
    return requests.get(
        f"{sim.url}/api/v1/dossiers", params=params, headers={"Authorization": f"Bearer {tok}"}, timeout=30
    )


def fetch_all(sim: SimulatorProcess, size: int = 500, **window: str) -> list[dict]:
    tok, out, p = token(sim), [], 0
    while True:
        body = page(sim, tok, page=p, size=size, **window).json()
        out.extend(body["content"])
        if len(body["content"]) < size:
            return out
        p += 1


def truth(sim: SimulatorProcess) -> list[dict]:
    resp = requests.get(f"{sim.url}/_sim/truth", timeout=60)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line]


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_token_flow(igate: SimulatorProcess) -> None:
    wrong = requests.post(
        f"{igate.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "igate", "client_secret": "nope"},
        timeout=10,
    )
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid_client"}
    basic = requests.post(
        f"{igate.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("igate", "secret"),
        timeout=10,
    ).json()
    assert basic["token_type"] == "bearer" and basic["expires_in"] == 300 and len(basic["access_token"]) > 20
    assert page(igate, basic["access_token"], size=1).status_code == 200
    before = requests.get(f"{igate.url}/_sim/stats", timeout=10).json()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic aWdhdGU6c2VjcmV0"}):
        resp = requests.get(f"{igate.url}/api/v1/dossiers", headers=headers, timeout=10)
        assert resp.status_code == 401 and resp.json() == {"error": "invalid_token"}
    after = requests.get(f"{igate.url}/_sim/stats", timeout=10).json()
    assert after["unauthorized"] - before["unauthorized"] == 3
    assert after["requests"] - before["requests"] == 3


def test_token_expires(twin: SimulatorProcess) -> None:
    tok = token(twin)
    assert page(twin, tok, size=1).status_code == 200
    time.sleep(1.2)
    expired = page(twin, tok, size=1)
    assert expired.status_code == 401 and expired.json() == {"error": "invalid_token"}
    assert page(twin, token(twin), size=1).status_code == 200


def test_paging_to_the_end_without_a_total(igate: SimulatorProcess) -> None:
    tok, seen, p = token(igate), [], 0
    while True:
        body = page(igate, tok, page=p, size=300).json()
        assert set(body) == {"content", "page", "size"} and body["page"] == p and body["size"] == 300
        seen.extend(body["content"])
        if len(body["content"]) < 300:
            break
        p += 1
    assert len(seen) == COUNT == len({r["id"] for r in seen})
    keys = [(ts(r["updatedDate"]), r["id"]) for r in seen]
    assert keys == sorted(keys)
    assert page(igate, tok, page=p + 1, size=300).json()["content"] == []
    capped = page(igate, tok, size=5000).json()
    assert capped["size"] == 1000 and len(capped["content"]) == 1000


def test_window_filter_is_inclusive_and_matches_truth(igate: SimulatorProcess) -> None:
    rows = truth(igate)
    lo, hi = "2025-03-03T00:00:00+07:00", "2025-03-07T23:59:59+07:00"
    expected = {r["id"] for r in rows if ts(lo) <= ts(r["updatedDate"]) <= ts(hi)}
    got = fetch_all(igate, size=100, updatedFrom=lo, updatedTo=hi)
    assert expected and {r["id"] for r in got} == expected
    assert all(ts(lo) <= ts(r["updatedDate"]) <= ts(hi) for r in got)
    # No offset means +07:00; a window of one instant holds the dossiers updated at that instant.
    naive = fetch_all(igate, size=100, updatedFrom=lo[:19], updatedTo=hi[:19])
    assert [r["id"] for r in naive] == [r["id"] for r in got]
    instant = got[0]["updatedDate"]
    assert got[0]["id"] in {r["id"] for r in fetch_all(igate, updatedFrom=instant, updatedTo=instant)}
    # Open-ended windows.
    since = fetch_all(igate, updatedFrom="2025-06-01T00:00:00Z")
    assert {r["id"] for r in since} == {
        r["id"] for r in rows if ts(r["updatedDate"]) >= ts("2025-06-01T00:00:00Z")
    }


@pytest.mark.parametrize(
    "params",
    [
        {"page": "x"},
        {"page": -1},
        {"size": 0},
        {"updatedFrom": "yesterday"},
        {"updatedFrom": "2025-03-02T00:00:00", "updatedTo": "2025-03-01T00:00:00"},
    ],
)
def test_bad_parameters_answer_400(igate: SimulatorProcess, params: dict) -> None:
    resp = page(igate, token(igate), **params)
    assert resp.status_code == 400 and resp.json()["error"]


def test_same_seed_gives_byte_identical_pages(igate: SimulatorProcess, twin: SimulatorProcess) -> None:
    for params in ({"page": 3, "size": 100}, {"page": 0, "size": 50, "updatedFrom": "2025-04-01T08:00:00"}):
        a = page(igate, token(igate), **params)
        b = page(twin, token(twin), **params)
        assert a.status_code == b.status_code == 200
        assert a.content == b.content and len(a.json()["content"]) == params["size"]


def test_clock_advance_moves_dossiers_on_and_adds_new_ones(igate: SimulatorProcess) -> None:
    original = requests.get(f"{igate.url}/_sim/clock", timeout=10).json()["clock"]
    assert original == "2025-06-21T17:00:00+07:00"  # start 2025-01-02 + 170 days, 17:00
    try:
        set_to = requests.post(
            f"{igate.url}/_sim/clock", json={"set": "2025-02-14T12:00:00"}, timeout=10
        ).json()
        assert set_to == {"clock": "2025-02-14T12:00:00+07:00"}
        early = {r["id"]: r for r in truth(igate)}
        assert 0 < len(early) < COUNT
        open_ones = [r for r in early.values() if r["status"] not in FINAL and r["bad"] is None]
        assert open_ones
        moved = requests.post(f"{igate.url}/_sim/clock", json={"advance_hours": 24 * 61}, timeout=10).json()
        assert moved == {"clock": "2025-04-16T12:00:00+07:00"}
        later = {r["id"]: r for r in truth(igate)}
        assert len(later) > len(early) and set(early) <= set(later)
        changed = [r for r in open_ones if later[r["id"]]["updatedDate"] != r["updatedDate"]]
        assert changed, "a dossier that was still open 61 days ago should have moved on"
        assert all(ts(later[r["id"]]["updatedDate"]) > ts(r["updatedDate"]) for r in changed)
        # The API shows the same: the last visible history event is the record's updatedDate.
        records = {r["id"]: r for r in fetch_all(igate)}
        sample = records[changed[0]["id"]]
        assert (
            sample["updatedDate"]
            == sample["history"][-1]["createdDate"]
            == later[sample["id"]]["updatedDate"]
        )
    finally:
        requests.post(f"{igate.url}/_sim/clock", json={"set": original}, timeout=10).raise_for_status()
    assert requests.get(f"{igate.url}/_sim/clock", timeout=10).json()["clock"] == original


def test_truth_counts_and_bad_share(igate: SimulatorProcess) -> None:
    rows = truth(igate)
    assert len(rows) == COUNT and [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    bad = [r for r in rows if r["bad"] is not None]
    assert 0.005 * COUNT <= len(bad) <= 0.015 * COUNT
    assert {r["bad"] for r in bad} <= set(BAD_REASONS) and len({r["bad"] for r in bad}) >= 3
    assert all(1 <= r["status"] <= 10 for r in rows)
    assert len({r["status"] for r in rows}) >= 7


def test_records_have_the_vendor_shape_and_agree_with_truth(igate: SimulatorProcess) -> None:
    expected = {r["id"]: r for r in truth(igate)}
    records = fetch_all(igate, size=1000)
    assert {r["id"] for r in records} == set(expected)
    backward = 0
    for rec in records:
        t = expected[rec["id"]]
        assert re.fullmatch(r"[0-9a-f]{24}", rec["id"])
        assert rec["updatedDate"] == t["updatedDate"] == rec["history"][-1]["createdDate"]
        if t["bad"] == "missing_code":
            assert "code" not in rec
        else:
            assert rec["code"] == t["code"] and MA_HO_SO.match(rec["code"])
            assert rec["code"][14:20] == rec["appliedDate"][2:10].replace("-", "")  # yyMMdd of receipt
        if t["bad"] == "missing_nationCode":
            assert "nationCode" not in rec["procedure"]
        else:
            assert re.fullmatch(r"\d\.\d{6}", rec["procedure"]["nationCode"])
            assert rec["procedure"]["code"] == f"{rec['procedure']['nationCode']}.{rec['agency']['code']}"
        if t["bad"] == "unknown_status":
            assert rec["dossierStatus"]["id"] == 99
        else:
            assert VENDOR_STATUS_TO_CANONICAL[rec["dossierStatus"]["id"]] == t["status"]
        if t["bad"] == "impossible_date":
            assert rec["acceptedDate"][4:10] == "-02-30"
        for key in ("appliedDate", "acceptedDate", "appointmentDate", "completedDate", "returnedDate"):
            if key in rec and t["bad"] != "impossible_date":
                assert ISO_VN.match(rec[key]), (key, rec[key])
        assert rec["agency"] == {"code": "000.00.14.H23", "name": "UBND Thành phố Hải Dương"}
        assert rec["applyMethod"]["id"] in (0, 1, 2) and rec["serviceLevel"] in (2, 3, 4)
        app = rec["applicant"]
        assert unicodedata.is_normalized("NFC", app["fullname"])
        if app["identityType"] == "CCCD":
            assert re.fullmatch(r"030\d{9}", app["identityNumber"])
            assert app["identityNumber"][4:6] == app["birthday"][2:4]
        else:
            assert re.fullmatch(r"\d{9}", app["identityNumber"])
        assert re.fullmatch(r"0[35789]\d{8}", app["phone"])
        assert re.fullmatch(r"\d{5}", app["address"]["ward"]["code"])
        assert app["address"]["province"] == {"code": "30", "name": "Tỉnh Hải Dương"}
        statuses = [VENDOR_STATUS_TO_CANONICAL[h["status"]] for h in rec["history"]]
        assert 1 <= len(statuses) <= 15 and statuses[0] == (1 if rec["applyMethod"]["id"] == 1 else 2)
        backward += any(a == 10 and b == 4 for a, b in pairwise(statuses))
        created = [ts(h["createdDate"]) for h in rec["history"]]
        assert created == sorted(created) and created[-1] - created[0] <= EVENT_WINDOW
        assert all(f["url"].startswith("http://igate.local/files/") for f in rec["attachments"])
    assert 0 < backward < 0.05 * COUNT


def test_health_and_stats(igate: SimulatorProcess) -> None:
    assert requests.get(f"{igate.url}/health", timeout=10).json() == {"ok": True}
    stats = requests.get(f"{igate.url}/_sim/stats", timeout=10).json()
    assert set(stats) == {"tokens_issued", "requests", "unauthorized", "records_served"}
    assert stats["tokens_issued"] > 0 and stats["records_served"] >= COUNT
