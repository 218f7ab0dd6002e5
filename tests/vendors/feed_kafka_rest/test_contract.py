"""The HUB-HD feed holds its contract, spoken directly, without the connector (test_vendors onboards it):
client-credentials tokens, leased batches acknowledged by a commit of offsets, items that
come again after their lease, a peek that leases nothing, refusals as {"error_code", "message"}, counted; and
the feed's final state (last UPSERT per key, TOMBSTONEs removing) goes through hub_feed.yaml to exactly the truth.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import mappings
from tests.vendors import harness, truth
from tests.vendors.feed_kafka_rest.server import CLIENT_ID, CLIENT_SECRET, REFUSAL

MAPPING = Path(__file__).with_name("hub_feed.yaml")
JSON = "application/vnd.hub.v1+json"


@dataclass
class Server:
    url: str

    def stats(self) -> dict[str, Any]:
        return harness.control(self.url, "stats")

    def truth(self) -> list[dict[str, Any]]:
        return harness.control(self.url, "truth")

    def deleted(self) -> list[str]:
        return harness.control(self.url, "deleted")

    def refused(self) -> int:
        return self.stats()["refused"]


@contextmanager
def running(*args: str) -> Iterator[Server]:
    """The server as the harness starts it (harness.started wants a source.yaml, which waits for issue 14)."""
    with harness.start_server("feed_kafka_rest", *args) as process:
        yield Server(process.url)


@pytest.fixture(scope="module")
def hub() -> Iterator[Server]:
    with running() as server:
        yield server


def token(hub: Server, secret: str = CLIENT_SECRET) -> requests.Response:
    return requests.post(
        f"{hub.url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "feed.read"},
        auth=(CLIENT_ID, secret),
        timeout=10,
    )


@pytest.fixture(scope="module")
def bearer(hub: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(hub).json()['access_token']}"}


def fetch(hub: Server, group: str, headers: dict[str, str], size: int, lease: int) -> requests.Response:
    return requests.post(
        f"{hub.url}/v1/consumers/{group}/records",
        json={"max_records": size, "lease_seconds": lease},
        headers={**headers, "Content-Type": JSON},
        timeout=10,
    )


def commit(hub: Server, group: str, headers: dict[str, str], body: Any, **kwargs: Any) -> requests.Response:
    return requests.post(
        f"{hub.url}/v1/consumers/{group}/commit",
        json=body,
        headers={**headers, "Content-Type": JSON, **kwargs.pop("extra", {})},
        timeout=10,
        **kwargs,
    )


def peek(hub: Server, group: str, headers: dict[str, str], size: int) -> requests.Response:
    return requests.get(
        f"{hub.url}/v1/consumers/{group}/peek", params={"max": size}, headers=headers, timeout=10
    )


def offsets(resp: requests.Response) -> list[int]:
    return [i["offset"] for i in resp.json()["items"]]


@pytest.fixture(scope="module")
def consumed(hub: Server, bearer: dict[str, str]) -> dict[str, Any]:
    """The whole feed read once by a consumer group, each batch committed, as a connector would."""
    before = hub.refused()
    batches: list[list[dict[str, Any]]] = []
    while True:
        resp = fetch(hub, "onestop-happy", bearer, 100, 120)
        assert resp.status_code == 200, resp.text
        answer = resp.json()
        if not answer["items"]:
            assert answer["batch_id"] is None
            break
        batches.append(answer["items"])
        done = commit(
            hub, "onestop-happy", bearer, {"batch_id": answer["batch_id"], "offsets": offsets(resp)}
        )
        assert done.status_code == 200 and done.json()["committed"] == len(answer["items"]), done.text
    return {"batches": batches, "refused": hub.refused() - before}


def final_state(batches: list[list[dict[str, Any]]]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    state: dict[str, dict[str, Any]] = {}
    deleted: set[str] = set()
    for item in (i for batch in batches for i in batch):
        if item["type"] == "TOMBSTONE":
            assert set(item) == {"offset", "type", "key", "ts"}
            state.pop(item["key"], None)
            deleted.add(item["key"])
        else:
            state[item["key"]] = item
            deleted.discard(item["key"])
    return state, deleted


def test_the_happy_path_reads_every_batch_to_the_truth_and_the_deletions(
    hub: Server, consumed: dict[str, Any]
) -> None:
    batches = consumed["batches"]
    assert len(batches) >= 3 and consumed["refused"] == 0
    items = [i for batch in batches for i in batch]
    assert [i["offset"] for i in items] == sorted({i["offset"] for i in items})  # each once, in order
    state, deleted = final_state(batches)
    expected = hub.truth()
    assert sorted(state) == sorted(i["source_record_id"] for i in expected) and len(state) == harness.COUNT
    assert sorted(deleted, key=int) == hub.deleted() and deleted.isdisjoint(state) and deleted
    keys = [i["key"] for i in items if i["type"] == "UPSERT"]
    assert len(keys) > len(set(keys))  # some dossiers changed several times


def test_every_item_maps_and_the_final_state_is_the_truth(hub: Server, consumed: dict[str, Any]) -> None:
    mapping = mappings.compile_mapping(mappings.load_mapping(MAPPING))
    items = [i for batch in consumed["batches"] for i in batch]
    for (
        item
    ) in items:  # intermediate versions are dossiers too; tombstones are deletions with an id and a time
        if mapping.is_deleted(item):
            assert mapping.record_id(item) == item["key"] and mapping.updated_at(item) is not None
        else:
            outcome = mapping.normalize(item, "vendor_feed_kafka_rest")
            assert outcome.dossier is not None, outcome.describe("vendor_feed_kafka_rest")
    state, _ = final_state(consumed["batches"])
    compared, mismatches = 0, []
    for expected in hub.truth():
        outcome = mapping.normalize(state[expected["source_record_id"]], "vendor_feed_kafka_rest")
        assert outcome.dossier is not None and outcome.record_id == expected["source_record_id"]
        loaded = outcome.dossier.model_dump(mode="json")
        for path, value in truth.canonical_fields(expected):
            compared += 1
            if not truth.same(value, truth.lookup(loaded, path)):
                mismatches.append((outcome.record_id, path, value, truth.lookup(loaded, path)))
    assert mismatches == [] and compared > harness.COUNT * 30


def test_uncommitted_items_come_again_after_their_lease(hub: Server, bearer: dict[str, str]) -> None:
    first = fetch(hub, "onestop-lease", bearer, 5, 1)
    second = fetch(hub, "onestop-lease", bearer, 5, 60)
    assert len(offsets(first)) == 5 and set(offsets(first)).isdisjoint(
        offsets(second)
    )  # leased: not handed out
    time.sleep(1.1)
    again = fetch(hub, "onestop-lease", bearer, 5, 60)
    assert offsets(again) == offsets(first) and again.json()["batch_id"] != first.json()["batch_id"]
    before = hub.refused()
    late = commit(
        hub, "onestop-lease", bearer, {"batch_id": first.json()["batch_id"], "offsets": offsets(first)}
    )
    assert late.status_code == 409 and late.json()["error_code"] == 40901
    assert "hết thời hạn thuê" in late.json()["message"]
    partial = {"batch_id": again.json()["batch_id"], "offsets": offsets(again)[:2]}
    assert commit(hub, "onestop-lease", bearer, partial).status_code == 200
    twice = commit(hub, "onestop-lease", bearer, partial)
    assert twice.status_code == 409 and twice.json()["error_code"] == 40902
    assert hub.refused() == before + 2


def test_peek_takes_no_lease(hub: Server, bearer: dict[str, str]) -> None:
    looked = peek(hub, "onestop-peek", bearer, 5)
    assert looked.status_code == 200 and set(looked.json()) == {"items"} and len(offsets(looked)) == 5
    assert offsets(peek(hub, "onestop-peek", bearer, 5)) == offsets(looked)
    taken = fetch(hub, "onestop-peek", bearer, 5, 60)  # at once: the peek leased nothing
    assert taken.json()["items"] == looked.json()["items"]
    after = peek(hub, "onestop-peek", bearer, 5)  # the leased batch is no longer shown
    assert set(offsets(after)).isdisjoint(offsets(taken))


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"batch_id": "b-x", "ids": [1]}, 400, 40001, "gồm đúng các trường batch_id, offsets"),
        ({"ackIds": ["1"]}, 400, 40001, "nhận: ackIds"),
        ({"batch_id": "b-x", "offsets": ["48210"]}, 400, 40002, "offsets phải là danh sách số nguyên"),
        ({"batch_id": "b-x", "offsets": []}, 400, 40002, "không rỗng"),
        ({"batch_id": "b-0000", "offsets": [48210]}, 404, 40401, "Không tìm thấy lô b-0000"),
        ([48210], 400, 40001, "nhận: list"),
    ],
    ids=["ids", "ack-ids", "string-offsets", "no-offsets", "unknown-batch", "a-list"],
)
def test_a_wrong_commit_body_is_refused_in_the_hubs_words(
    hub: Server, bearer: dict[str, str], body: Any, status: int, code: int, words: str
) -> None:
    before = hub.refused()
    resp = commit(hub, "onestop-commit", bearer, body)
    assert resp.status_code == status and resp.json()["error_code"] == code
    assert words in resp.json()["message"]
    assert hub.refused() == before + 1


def test_offsets_of_another_batch_and_non_json_are_refused(hub: Server, bearer: dict[str, str]) -> None:
    batch = fetch(hub, "onestop-commit", bearer, 3, 60).json()
    before = hub.refused()
    foreign = commit(hub, "onestop-commit", bearer, {"batch_id": batch["batch_id"], "offsets": [1]})
    assert foreign.status_code == 422 and foreign.json()["error_code"] == 42201
    text = requests.post(
        f"{hub.url}/v1/consumers/onestop-commit/commit",
        data=f"batch_id={batch['batch_id']}&offsets=1",
        headers={**bearer, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert text.status_code == 415 and text.json()["error_code"] == 41501
    extra = requests.post(
        f"{hub.url}/v1/consumers/onestop-commit/records",
        json={"max_records": 3, "lease_seconds": 60, "auto_commit": True},
        headers=bearer,
        timeout=10,
    )
    assert extra.status_code == 400 and "auto_commit" in extra.json()["message"]
    too_many = fetch(hub, "onestop-commit", bearer, 5000, 60)
    assert too_many.status_code == 400 and too_many.json()["error_code"] == 40002
    assert hub.refused() == before + 4


def test_wrong_methods_paths_groups_and_peek_parameters_are_refused(
    hub: Server, bearer: dict[str, str]
) -> None:
    before = hub.refused()
    get = requests.get(f"{hub.url}/v1/consumers/onestop-x/records", headers=bearer, timeout=10)
    assert get.status_code == 405 and get.json()["error_code"] == 40501
    post_peek = requests.post(f"{hub.url}/v1/consumers/onestop-x/peek?max=5", headers=bearer, timeout=10)
    assert post_peek.status_code == 405
    nowhere = requests.get(f"{hub.url}/v1/consumers/onestop-x/events", headers=bearer, timeout=10)
    assert nowhere.status_code == 404 and nowhere.json()["error_code"] == 40400
    other = fetch(hub, "lgsp-archive", bearer, 5, 60)
    assert other.status_code == 403 and other.json()["error_code"] == 40301
    size = requests.get(
        f"{hub.url}/v1/consumers/onestop-x/peek", params={"limit": 5}, headers=bearer, timeout=10
    )
    assert size.status_code == 400 and "max" in size.json()["message"]
    assert hub.refused() == before + 5


def test_a_wrong_client_secret_is_the_hubs_refusal(hub: Server) -> None:
    before = hub.refused()
    wrong = token(hub, "sai-mat-khau-0000")
    assert wrong.status_code == 401 and wrong.json() == {"error_code": 40101, "message": REFUSAL}
    in_form = requests.post(
        f"{hub.url}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        timeout=10,
    )
    assert in_form.status_code == 400 and in_form.json()["error_code"] == 40004
    password = requests.post(
        f"{hub.url}/oauth2/token",
        data={"grant_type": "password"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    assert password.status_code == 400 and password.json()["error_code"] == 40003
    none = requests.get(f"{hub.url}/v1/consumers/onestop-x/peek", params={"max": 1}, timeout=10)
    assert none.status_code == 401 and none.json()["error_code"] == 40100
    assert hub.refused() == before + 4


def test_an_expired_token_is_refused() -> None:
    with running("--token-ttl", "1") as hub:
        grant = token(hub).json()
        assert grant["token_type"] == "Bearer" and grant["expires_in"] == 1
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        assert peek(hub, "onestop-ttl", headers, 1).status_code == 200
        time.sleep(1.1)
        expired = peek(hub, "onestop-ttl", headers, 1)
        assert expired.status_code == 401 and expired.json()["error_code"] == 40102
        assert "đã hết hạn" in expired.json()["message"]
        assert expired.headers["WWW-Authenticate"].startswith("Bearer")
