"""The iGate simulator's fault modes, against the real process: each fires, counts, and does what it says."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

import pytest
import requests

from onestop.simulators.igate import FAULTS
from onestop.simulators.igate_records import VENDOR_STATUS_TO_CANONICAL
from onestop.simulators.process import SimulatorProcess, start_simulator

COUNT = 1000
SIZE = 100
DEFAULT_STATS = {"tokens_issued", "requests", "unauthorized", "records_served"}


@pytest.fixture
def igate() -> Iterator[SimulatorProcess]:
    """A fresh simulator per test: change_while_paging changes its data and its clock for good."""
    with start_simulator("igate", "--seed", "42", "--count", str(COUNT)) as sim:
        yield sim


def token(sim: SimulatorProcess) -> str:
    resp = requests.post(
        f"{sim.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("igate", "secret"),
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()["access_token"]


def get_page(sim: SimulatorProcess, tok: str, **params: object) -> requests.Response:
    return requests.get(
        f"{sim.url}/api/v1/dossiers", params=params, headers={"Authorization": f"Bearer {tok}"}, timeout=30
    )


def read(sim: SimulatorProcess, size: int = SIZE, **window: str) -> list[list[dict]]:
    """One read of a window the way the pipeline pages: page from 0 until a short page. The pages."""
    tok, pages = token(sim), []
    while True:
        resp = get_page(sim, tok, page=len(pages), size=size, **window)
        resp.raise_for_status()
        pages.append(resp.json()["content"])
        if len(pages[-1]) < size:
            return pages


def flat(pages: list[list[dict]]) -> list[dict]:
    return [r for p in pages for r in p]


def truth(sim: SimulatorProcess) -> dict[str, dict]:
    resp = requests.get(f"{sim.url}/_sim/truth", timeout=60)
    resp.raise_for_status()
    return {row["id"]: row for row in map(json.loads, filter(None, resp.text.splitlines()))}


def stats(sim: SimulatorProcess) -> dict[str, int]:
    return requests.get(f"{sim.url}/_sim/stats", timeout=10).json()


def clock(sim: SimulatorProcess) -> str:
    return requests.get(f"{sim.url}/_sim/clock", timeout=10).json()["clock"]


def set_faults(sim: SimulatorProcess, *faults: str, every: int = 1) -> dict:
    resp = requests.post(f"{sim.url}/_sim/faults", json={"faults": list(faults), "every": every}, timeout=10)
    resp.raise_for_status()
    return resp.json()


def test_no_fault_is_on_by_default_and_the_control_endpoint_checks_its_input(igate: SimulatorProcess) -> None:
    answer = requests.get(f"{igate.url}/_sim/faults", timeout=10).json()
    assert answer == {"faults": [], "every": 1, "available": list(FAULTS), "changed": []}
    assert set(stats(igate)) == DEFAULT_STATS  # no fault_* key until a fault is switched on
    for body, message in (
        ({"faults": ["nope"]}, "unknown fault"),
        ({"faults": ["out_of_order"], "every": 0}, "every"),
        ({"faults": ["out_of_order"], "every": "2"}, "every"),
        ({"faults": "out_of_order"}, "expected"),
    ):
        resp = requests.post(f"{igate.url}/_sim/faults", json=body, timeout=10)
        assert resp.status_code == 400 and message in resp.json()["error"], body
    resp = requests.post(f"{igate.url}/_sim/faults", data=b"{", timeout=10)
    assert resp.status_code == 400
    assert requests.get(f"{igate.url}/_sim/faults", timeout=10).json()["faults"] == []

    on = set_faults(igate, "out_of_order", "dup_across_pages", every=3)
    assert on["faults"] == ["dup_across_pages", "out_of_order"] and on["every"] == 3
    assert set(stats(igate)) == DEFAULT_STATS | {"fault_dup_across_pages", "fault_out_of_order"}
    # `every` keeps its value when not given; an empty list switches everything off, the counters stay.
    kept = requests.post(f"{igate.url}/_sim/faults", json={"faults": ["token_expiry"]}, timeout=10).json()
    assert kept["faults"] == ["token_expiry"] and kept["every"] == 3
    assert set_faults(igate)["faults"] == []
    assert "fault_out_of_order" in stats(igate)


def test_faults_switched_off_again_serve_the_same_bytes(igate: SimulatorProcess) -> None:
    tok = token(igate)
    before = [get_page(igate, tok, page=p, size=SIZE).content for p in range(3)]
    set_faults(igate, "dup_across_pages", "out_of_order")
    during = [get_page(igate, tok, page=p, size=SIZE).content for p in range(3)]
    set_faults(igate)
    after = [get_page(igate, tok, page=p, size=SIZE).content for p in range(3)]
    assert after == before
    assert during[0] == before[0] and during[1:] != before[1:]  # page 0 never carries a fault


def test_faults_can_be_switched_on_from_the_command_line() -> None:
    args = ("--count", "50", "--fault", "dup_across_pages", "--fault", "token_expiry", "--fault-every", "2")
    with start_simulator("igate", *args) as sim:
        answer = requests.get(f"{sim.url}/_sim/faults", timeout=10).json()
        assert answer["faults"] == ["dup_across_pages", "token_expiry"] and answer["every"] == 2
        assert stats(sim)["fault_dup_across_pages"] == stats(sim)["fault_token_expiry"] == 0
    for bad in (("--fault", "nope"), ("--fault", "out_of_order", "--fault-every", "0")):
        with pytest.raises(RuntimeError, match="exited with code 2"):
            start_simulator("igate", "--count", "50", *bad)


def test_dup_across_pages_serves_the_last_record_of_a_page_again_first_on_the_next(
    igate: SimulatorProcess,
) -> None:
    clean = flat(read(igate))
    set_faults(igate, "dup_across_pages")

    pages = read(igate)

    served = flat(pages)
    full = [p for p in pages if p]
    assert all(prev[-1] == nxt[0] for prev, nxt in pairwise(full))  # the same bytes
    repeats = len(full) - 1
    assert repeats >= 9 and len(served) == COUNT + repeats
    assert [r for k, p in enumerate(pages) for r in (p if k == 0 else p[1:])] == clean  # nothing skipped
    assert stats(igate)["fault_dup_across_pages"] == repeats
    assert set(truth(igate)) == {r["id"] for r in clean}  # the data itself did not change

    set_faults(igate, "dup_across_pages", every=3)  # only pages 3, 6, 9 … start one record early
    pages = read(igate)
    starts_early = [k for k in range(1, len(pages)) if pages[k] and pages[k][0] == pages[k - 1][-1]]
    assert starts_early == [k for k in range(3, len(pages), 3) if pages[k]]
    assert [r["id"] for r in flat(pages)] == [r["id"] for r in clean[: SIZE * 3]] + [
        r["id"] for r in clean[SIZE * 3 - 1 : SIZE * 6 - 1]
    ] + [r["id"] for r in clean[SIZE * 6 - 2 : SIZE * 9 - 2]] + [r["id"] for r in clean[SIZE * 9 - 3 :]]


def test_change_while_paging_skips_the_changed_record_of_a_later_page_and_truth_has_its_new_version(
    igate: SimulatorProcess,
) -> None:
    before_clock = clock(igate)
    window = {"updatedFrom": "2025-01-01T00:00:00+07:00", "updatedTo": before_clock}  # what the pipeline asks
    clean = flat(read(igate, **window))
    old_truth = truth(igate)
    assert len(clean) == COUNT
    set_faults(igate, "change_while_paging", every=4)  # pages 4 and 8 change a record of a page not read yet

    pages = read(igate, **window)

    changes = requests.get(f"{igate.url}/_sim/faults", timeout=10).json()["changed"]
    assert [c["page"] for c in changes] == [4, 8] and stats(igate)["fault_change_while_paging"] == 2
    changed = [c["id"] for c in changes]
    for c in changes:
        assert c["position"] >= c["start"] == c["page"] * SIZE  # not read yet when it changed
        assert c["before"] == {k: old_truth[c["id"]][k] for k in ("updatedDate", "status")}
        assert c["after"]["status"] != c["before"]["status"]
    # The clock moved one second per change, and each change happened "now", after the read's updatedTo.
    assert clock(igate) == before_clock.replace("17:00:00", "17:00:02")
    assert [c["after"]["updatedDate"] for c in changes] == [
        before_clock.replace("17:00:00", "17:00:01"),
        clock(igate),
    ]
    # With offset paging the later records shifted one place left: exactly the changed ones were skipped.
    served = [r["id"] for r in flat(pages)]
    assert served == [r["id"] for r in clean if r["id"] not in changed]
    assert len(pages[4]) == len(pages[8]) == SIZE
    # Ground truth is the latest version: the changed ones moved on, nothing else did.
    new_truth = truth(igate)
    assert set(new_truth) == set(old_truth)
    assert {i for i in new_truth if new_truth[i] != old_truth[i]} == set(changed)
    for c in changes:
        assert {k: new_truth[c["id"]][k] for k in ("updatedDate", "status")} == c["after"]

    set_faults(igate)
    tok = token(igate)
    for c in changes:  # the single-record read shows the change too, with its history
        record = requests.get(
            f"{igate.url}/api/v1/dossiers/{c['id']}", headers={"Authorization": f"Bearer {tok}"}, timeout=10
        ).json()
        assert record["updatedDate"] == record["history"][-1]["createdDate"] == c["after"]["updatedDate"]
        assert VENDOR_STATUS_TO_CANONICAL[record["dossierStatus"]["id"]] == c["after"]["status"]
    # A later read whose window reaches the new clock finds them, at their new version, last.
    again = flat(read(igate, updatedFrom=window["updatedFrom"], updatedTo=clock(igate)))
    assert [r["id"] for r in again] == served + changed
    assert [r["updatedDate"] for r in again[-2:]] == [c["after"]["updatedDate"] for c in changes]


def test_change_while_paging_in_an_open_window_moves_the_record_to_the_end_instead(
    igate: SimulatorProcess,
) -> None:
    clean = [r["id"] for r in flat(read(igate))]
    set_faults(igate, "change_while_paging", every=5)

    pages = read(igate)  # no updatedTo: the change lies inside the window

    (change,) = requests.get(f"{igate.url}/_sim/faults", timeout=10).json()["changed"]
    served = flat(pages)
    assert [r["id"] for r in served] == [i for i in clean if i != change["id"]] + [change["id"]]
    assert served[-1]["updatedDate"] == change["after"]["updatedDate"]


def test_single_record_reads_need_a_token_and_a_known_id(igate: SimulatorProcess) -> None:
    some = next(iter(truth(igate).values()))
    url = f"{igate.url}/api/v1/dossiers/{some['id']}"
    assert requests.get(url, timeout=10).status_code == 401
    record = requests.get(url, headers={"Authorization": f"Bearer {token(igate)}"}, timeout=10).json()
    assert record["id"] == some["id"] and record["updatedDate"] == some["updatedDate"]
    for unknown in ("0" * 24, some["id"][:-1] + "x", "abc", some["id"][:8] + "f" * 16):
        resp = requests.get(
            f"{igate.url}/api/v1/dossiers/{unknown}",
            headers={"Authorization": f"Bearer {token(igate)}"},
            timeout=10,
        )
        assert resp.status_code == 404, unknown


def test_out_of_order_serves_an_older_version_after_the_newer_one(igate: SimulatorProcess) -> None:
    clean = flat(read(igate))
    latest = truth(igate)
    set_faults(igate, "out_of_order", every=2)

    pages = read(igate)

    served = flat(pages)
    times = Counter(r["id"] for r in served)
    twice = {i for i, n in times.items() if n == 2}
    assert max(times.values()) == 2 and len(twice) == stats(igate)["fault_out_of_order"] >= 4
    assert len(served) == COUNT + len(twice)
    keep = {json.dumps(r, sort_keys=True) for r in clean}
    assert [r for r in served if json.dumps(r, sort_keys=True) in keep] == clean  # the newest, in order
    newest = {r["id"]: r for r in clean}
    for k, page in enumerate(pages):
        if k == 0 or k % 2 or not page:
            assert all(json.dumps(r, sort_keys=True) in keep for r in page)
            continue
        old = page[0]  # first on page k, of a dossier page k-1 served
        new = newest[old["id"]]
        assert new in pages[k - 1]
        assert old["updatedDate"] < new["updatedDate"]
        assert old["history"] == new["history"][:-1]  # one event behind
        assert old["dossierStatus"]["id"] == new["history"][-2]["status"] != new["dossierStatus"]["id"]
        assert old["updatedDate"] == new["history"][-2]["createdDate"]
    assert truth(igate) == latest  # a lagging replica changes nothing: truth stays the latest versions


def test_token_expiry_revokes_a_token_after_n_data_requests(igate: SimulatorProcess) -> None:
    set_faults(igate, "token_expiry", every=3)
    tok = token(igate)
    answers = [get_page(igate, tok, page=p, size=5).status_code for p in range(4)]
    assert answers == [200, 200, 200, 401]
    refused = get_page(igate, tok, page=3, size=5)
    assert refused.json() == {"error": "invalid_token"}
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert get_page(igate, token(igate), page=3, size=5).status_code == 200  # a new token works
    counts = stats(igate)
    assert counts["fault_token_expiry"] == 1 and counts["unauthorized"] == 2 and counts["tokens_issued"] == 2
    # The answer still claimed the full lifetime: only the 401 tells the client.
    claimed = requests.post(
        f"{igate.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("igate", "secret"),
        timeout=10,
    ).json()
    assert claimed["expires_in"] == 300
    # every=1: each token serves one request; a client renewing on 401 still reads the whole window.
    set_faults(igate, "token_expiry")
    tok, served, p = token(igate), 0, 0
    while True:
        resp = get_page(igate, tok, page=p, size=SIZE)
        if resp.status_code == 401:
            tok = token(igate)
            continue
        served += len(resp.json()["content"])
        if len(resp.json()["content"]) < SIZE:
            break
        p += 1
    assert served == COUNT
    assert stats(igate)["fault_token_expiry"] == 1 + p + 1
