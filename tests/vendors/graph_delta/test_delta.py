"""Microsoft Graph's delta query through the real pipeline: the last page's @odata.deltaLink is kept with the
watermark and the next run starts there, reading only the items changed since (a deletion as `@removed`); a delta
token the service no longer knows (410 Gone, resyncRequired) makes the run read everything again; a load that
fails keeps the place the run started from."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests

from connectors.store.merge import Loader
from onestop import pipeline
from tests.vendors import harness

NAME = "graph_delta"


@pytest.fixture
def graph(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[harness.Vendor]:
    with harness.started(NAME, tmp_path / "graph") as running:  # type: ignore[operator]
        harness.configure(running, monkeypatch)
        yield running


def kept(db: psycopg.Connection, source: str) -> str | None:
    row = db.execute("SELECT cursor FROM onestop.watermark WHERE source = %s", (source,)).fetchone()
    return row[0] if row else None


def delta_asks(vendor: harness.Vendor) -> list[str | None]:
    """The `token` each items request carried, in order (None: a new enumeration)."""
    asked = [r for r in vendor.stats()["requests"] if r["path"].endswith("/items/delta")]
    return [r["query"].get("token") for r in asked]


def control(vendor: harness.Vendor, what: str, **params: int) -> None:
    requests.post(f"{vendor.server.url}/_vendor/{what}", params=params, timeout=30).raise_for_status()


def test_the_next_run_starts_at_the_delta_link_and_reads_only_the_changes(
    graph: harness.Vendor, db: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = pipeline.sync(graph.source)
    assert first.loaded == len(graph.truth()) == 250 and first.quarantined == 0
    link = kept(db, graph.source)
    assert link is not None and "deltaLink" not in link
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert token not in caplog.text, "a delta token is never logged whole"

    nothing = pipeline.sync(graph.source)  # nothing changed: the delta link answers an empty page
    assert nothing.fetched == 0
    assert delta_asks(graph)[-1] == token

    control(graph, "change", update=5, delete=3)
    changes = pipeline.sync(graph.source)
    assert (changes.fetched, changes.loaded, changes.deleted, changes.quarantined) == (8, 5, 3, 0)
    result = harness.compare(db, graph.source, graph.truth())
    assert not result.missing and not result.mismatches and result.loaded == 247
    gone = db.execute(
        "SELECT source_record_id FROM onestop.dossier WHERE source = %s AND deleted", (graph.source,)
    ).fetchall()
    assert sorted(r[0] for r in gone) == sorted(graph.deleted())
    assert kept(db, graph.source) not in (None, link), "each run keeps the delta link its last page gave"
    assert graph.stats()["refused"] == 0


def test_an_expired_delta_token_starts_a_full_read_again(
    graph: harness.Vendor, db: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline.sync(graph.source)
    link = kept(db, graph.source)
    assert link is not None
    token = parse_qs(urlsplit(link).query)["token"][0]
    control(graph, "expire")
    control(graph, "change", update=2)

    again = pipeline.sync(graph.source)
    assert again.fetched == 250 and again.loaded == 2 and again.unchanged == 248
    refusals = graph.stats()["refusals"]
    assert [(r["status"], r["reason"]) for r in refusals] == [(410, "resyncRequired")]
    asks = delta_asks(graph)
    assert token in asks and asks[asks.index(token) + 1] is None, "after the 410, a new enumeration"
    assert kept(db, graph.source) not in (None, link)
    assert "no longer good (HTTP 410)" in caplog.text and token not in caplog.text
    result = harness.compare(db, graph.source, graph.truth())
    assert not result.missing and not result.mismatches


def test_a_load_that_fails_keeps_the_place_the_run_started_from(
    graph: harness.Vendor, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.sync(graph.source)
    link = kept(db, graph.source)
    control(graph, "change", update=4)

    def broken(self: Loader) -> None:
        raise RuntimeError("the database went away mid-merge")

    with monkeypatch.context() as patch:
        patch.setattr(Loader, "finish", broken)
        with pytest.raises(RuntimeError, match="went away"):
            pipeline.sync(graph.source)
    assert kept(db, graph.source) == link, (
        "the changes it read were not loaded: the next run reads them again"
    )

    counts = pipeline.sync(graph.source)
    assert counts.loaded == 4
    result = harness.compare(db, graph.source, graph.truth())
    assert not result.mismatches


def test_a_backfill_neither_starts_at_nor_moves_the_kept_place(
    graph: harness.Vendor, db: psycopg.Connection
) -> None:
    from datetime import UTC, datetime

    pipeline.sync(graph.source)
    link, before = kept(db, graph.source), len(delta_asks(graph))
    interval = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
    pipeline.sync(graph.source, airflow_run_id="backfill__2025-03-01", interval=interval)
    assert delta_asks(graph)[before] is None, "a backfill reads afresh"
    assert kept(db, graph.source) == link


def test_a_preview_reads_a_new_enumeration_and_leaves_the_kept_place(
    graph: harness.Vendor, db: psycopg.Connection
) -> None:
    import json

    from typer.testing import CliRunner

    from onestop.cli import app

    pipeline.sync(graph.source)
    link, before = kept(db, graph.source), len(delta_asks(graph))
    result = CliRunner().invoke(app, ["source", "preview", graph.source, "--json", "--pages", "2"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert graph.connection["password"] not in result.stdout
    shown = json.loads(result.stdout)
    assert shown, "the preview shows what it read"
    assert delta_asks(graph)[before] is None and kept(db, graph.source) == link
