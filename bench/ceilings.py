"""Ceilings measured in the same run as our pipeline: the REST district system read alone (no loader at all) and
the lean pipeline (fetch + orjson + COPY + one upsert of the raw record), both over the same pre-rendered server
our end-to-end sync reads."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

from bench.common import IGATE_LOGIN, REST, ROOT, CoreShare, create_database, run_measured

if TYPE_CHECKING:
    from bench.stages import Bench

PAGE_SIZE = 200  # the page size our connector asks for (registry: paginator.page_size)


def source_alone(bench: Bench) -> None:
    """The REST district system read alone, pages of 200, nothing loaded (bench.source_alone.measure)."""
    from bench.source_alone import measure

    url = bench.sims[REST].url
    result = measure(url, IGATE_LOGIN, page_size=PAGE_SIZE, limit=None)
    result["server_mode"] = bench.rest_mode
    bench.figures["source_alone_records_per_s"] = result["records_per_s"]
    bench.figures["source_alone"] = result
    bench.note("source alone: the REST system read, nothing loaded", f"{result['records_per_s']:,.0f} records/s",
               f"({result['records']:,} records in {result['seconds']:.1f} s, {result['pages']:,} pages of"
               f" {PAGE_SIZE}; {bench.rest_mode})")  # fmt: skip


def lean(bench: Bench) -> None:
    """The lean pipeline over the same REST system: fetch + orjson + COPY + one upsert per chunk, own database."""
    pg_url = create_database("lean_bench")  # its own database: our tables and their sizes stay untouched
    with CoreShare() as cores:
        seconds, out, err, code, memory = run_measured(
            [sys.executable, "-m", "bench.lean", "--base-url", bench.sims[REST].url, "--pg-url", pg_url,
             "--page-size", str(PAGE_SIZE)],
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    if code != 0:
        raise RuntimeError(f"bench.lean failed ({code}): {err.decode()[-2000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    rate = result["fetched"] / seconds  # timed like e2e: process start to commit, records read
    bench.figures |= {"lean_dossiers_per_s": rate,
                      "lean": {**result, "wall_s": seconds, "peak_pss_mb": memory.peak_pss / 1e6}}  # fmt: skip
    bench.note("ceiling: lean pipeline (fetch + orjson + COPY + upsert raw jsonb)", f"{rate:,.0f} dossiers/s",
               f"({result['fetched']:,} in {seconds:.1f} s: {result['page_wait_s']:.1f} s waiting for pages,"
               f" {result['db_s']:.1f} s COPY + merge; no validation; process start included)")  # fmt: skip
    bench.cores("lean", "lean pipeline", cores)
    from onestop.db import connect

    with connect() as conn:  # its space back before the disk stage and the province
        conn.autocommit = True
        conn.execute("DROP DATABASE IF EXISTS lean_bench WITH (FORCE)")
