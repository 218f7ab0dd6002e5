"""Chí Linh's outbox (commit-offset feed): read on from the consumer's committed position, commit only once the
load has committed; a failed load commits nothing and the next sync reads the same events again."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import requests
from pydantic import ValidationError

from connectors.spec.feed import FeedSpec
from connectors.store.merge import Loader
from onestop import pipeline
from tests.vendors import harness

NAME = "feed_outbox"


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Vendor]:
    with harness.started(NAME, tmp_path_factory.mktemp("outbox")) as running:
        yield running


def committed(vendor: harness.Vendor) -> dict[str, int]:
    return requests.get(f"{vendor.server.url}/_vendor/committed", timeout=10).json()


def test_a_load_that_fails_commits_no_offset_and_the_next_sync_loses_nothing(
    outbox: harness.Vendor, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.configure(outbox, monkeypatch)

    def broken(self: Loader) -> None:
        raise RuntimeError("the database went away mid-merge")

    with monkeypatch.context() as patch:
        patch.setattr(Loader, "finish", broken)
        with pytest.raises(RuntimeError, match="went away"):
            pipeline.sync(outbox.source)
    assert committed(outbox) == {}, "nothing acknowledged before the load committed"
    assert db.execute("SELECT count(*) FROM onestop.dossier").fetchone() == (0,)
    puts = [r for r in outbox.stats()["requests"] if r["method"] == "PUT"]
    assert puts == []

    pipeline.sync(outbox.source)

    items, deleted = outbox.truth(), outbox.deleted()
    result = harness.compare(db, outbox.source, items)
    assert not result.missing and not result.mismatches and result.loaded == len(items)
    log = requests.get(
        f"{outbox.server.url}/api/outbox/changes",
        params={"after_seq": 0, "limit": 500},
        headers={"X-Api-Key": outbox.module.API_KEY},
        timeout=30,
    ).json()
    while log["has_more"]:
        log = requests.get(
            f"{outbox.server.url}/api/outbox/changes",
            params={"after_seq": log["last_seq"], "limit": 500},
            headers={"X-Api-Key": outbox.module.API_KEY},
            timeout=30,
        ).json()
    assert committed(outbox) == {"onestop-esb": log["last_seq"]}
    gone = db.execute(
        "SELECT source_record_id FROM onestop.dossier WHERE source = %s AND deleted", (outbox.source,)
    ).fetchall()
    assert sorted(r[0] for r in gone) == sorted(deleted)

    again = pipeline.sync(outbox.source)  # from the committed position: nothing new
    assert again.fetched == 0


def test_after_needs_a_position_and_an_offset_commit_may_use_put() -> None:
    fetch = {"path": "/changes", "query": {"after_seq": "{after}", "limit": "{batch_size}"}}
    ack = {"method": "PUT", "path": "/offset", "json": {"seq": "{last_ack_id}"}}
    with pytest.raises(ValidationError, match="position"):
        FeedSpec.model_validate({"fetch": fetch, "items": "changes", "ack_id": "seq", "ack": ack})
    spec = FeedSpec.model_validate(
        {
            "fetch": fetch,
            "items": "changes",
            "ack_id": "seq",
            "ack": ack,
            "position": {"request": {"path": "/offset"}, "path": "seq"},
        }
    )
    assert spec.ack.method == "PUT" and spec.position is not None
