"""The lean pipeline (the bench's ceiling beside ours): every dossier an iGate system lists lands once, as its raw
record in jsonb, and a second run merges instead of adding rows."""

from __future__ import annotations

import psycopg

from bench import lean
from onestop.simulators.process import start_simulator
from tests.conftest import scratch_database, truth

COUNT = 1_100  # five full pages of 200, then a short one


def test_lean_loads_every_listed_dossier_once_and_merges_on_a_second_run(pg_url: str) -> None:
    with (
        start_simulator("igate", "--seed", "3", "--count", str(COUNT)) as sim,
        scratch_database(pg_url) as url,
    ):
        listed = {row["id"] for row in truth(sim)}
        first = lean.run(sim.url, url, page_size=200, chunk_size=500, client_id="igate", secret="secret")
        assert first["fetched"] == first["rows"] == len(listed)
        assert first["pages"] == len(listed) // 200 + 1
        with psycopg.connect(url) as conn:
            ids = {r[0] for r in conn.execute("SELECT id FROM lean.dossier")}
            kinds = conn.execute("SELECT DISTINCT jsonb_typeof(record) FROM lean.dossier").fetchall()
        assert ids == listed and kinds == [("object",)]
        second = lean.run(sim.url, url, page_size=200, chunk_size=500, client_id="igate", secret="secret")
        assert second["rows"] == first["rows"]
