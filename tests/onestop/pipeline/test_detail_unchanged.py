"""A source whose list is followed by a call per dossier (`detail`) does not ask again for what it loaded unchanged:
every run's lookback lists again records that did not change, and each would cost a call into a system that is
often fragile. A listed record whose id and update time the unified database holds is left out before its call;
one that changed, or was never loaded (quarantined, new), is asked for and loaded as before.

The district is the iGate simulator, read through its list and its per-dossier endpoint (`/api/v1/dossiers/{id}`),
with the shipped iGate profile plus a `detail`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests
import yaml

from onestop import pipeline
from onestop.simulators.process import start_simulator
from tests.conftest import IGATE_FIELDS, shipped_spec, truth

SOURCE = "hd_chi_tiet"
COUNT = 300
EVERYTHING = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def served(url: str) -> int:
    return int(requests.get(f"{url}/_sim/stats", timeout=10).json()["records_served"])


def test_what_was_loaded_unchanged_is_not_asked_for_again(
    db: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = shipped_spec("rest", detail={"request": {"path": "/api/v1/dossiers/{id}"}, "values": {"id": "id"}})
    entry = {"name": SOURCE, "title": "Huyện Chi Tiết", "kind": "rest", "dialect": "igate",
             "conn_id": f"onestop_src_{SOURCE}", "start": "2024-01-01T00:00:00+07:00",
             "rest": spec.model_dump(mode="json", by_alias=True, exclude_unset=True)}  # fmt: skip
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True))
    monkeypatch.setenv("ONESTOP_SOURCES", str(tmp_path / "sources.yaml"))

    with start_simulator("igate", "--seed", "11", "--count", str(COUNT)) as sim:
        conn = {"conn_type": "http", "host": sim.url, **IGATE_FIELDS}
        monkeypatch.setenv(f"AIRFLOW_CONN_ONESTOP_SRC_{SOURCE.upper()}", json.dumps(conn))
        rows = truth(sim)
        listed = len(rows)

        first = pipeline.sync(SOURCE, interval=EVERYTHING)
        after_first = served(sim.url)
        again = pipeline.sync(SOURCE, interval=EVERYTHING)  # every dossier listed again, none changed
        after_again = served(sim.url)
        moved = requests.post(f"{sim.url}/_sim/clock", json={"advance_hours": 24 * 3}, timeout=10)
        moved.raise_for_status()
        now = truth(sim)
        third = pipeline.sync(SOURCE, interval=EVERYTHING)
        after_third = served(sim.url)
        held = dict(
            db.execute(
                "SELECT source_record_id, source_updated_at FROM onestop.dossier WHERE source = %s", (SOURCE,)
            ).fetchall()
        )

    bad_before = sum(1 for r in rows if r["bad"])
    loaded_at = {r["id"]: r["updatedDate"] for r in rows if not r["bad"]}
    changed = [r for r in now if not r["bad"] and loaded_at.get(r["id"]) != r["updatedDate"]]
    asked = [r for r in now if r["bad"] or loaded_at.get(r["id"]) != r["updatedDate"]]
    assert (first.loaded, first.quarantined) == (listed - bad_before, bad_before) and bad_before > 0
    assert after_first - listed == listed  # the list, then a detail per dossier
    # Listed again, none changed: a detail for each quarantined one only (never loaded: asked again).
    assert after_again - after_first - listed == bad_before
    assert (again.fetched, again.loaded) == (bad_before, 0)
    # The clock moved: a detail for each that changed or came, and for the quarantined; the rest not asked.
    assert 0 < len(changed) < len(now) - bad_before
    assert after_third - after_again - len(now) == len(asked) == third.fetched
    assert third.loaded == len(changed)
    assert held == {r["id"]: datetime.fromisoformat(r["updatedDate"]) for r in now if not r["bad"]}
