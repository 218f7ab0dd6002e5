"""Disk and load speed of one district's first sync, side by side on one fresh embedded database.

    .venv/bin/python -m bench.load_profile [--size 50000] [--cycles 0]

Syncs `size` iGate dossiers (the bench's seed and span), then prints each onestop table's
pg_total_relation_size per live dossier, pg_database_size per live dossier, and the load phase's speed (the
run's extracted_at → finished_at) against a raw binary COPY of the same canonical rows into a table of the same
shape (bench/run.py's copy_ceiling). Run it before and after a storage change: the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.common import REST, one_rest_district


def measure(size: int, root: Path, cycles: int = 0) -> dict[str, float]:
    import requests

    from onestop import pipeline
    from onestop.db import connect

    figures: dict[str, float] = {}
    with ExitStack() as stack:
        sim = one_rest_district(stack, root, size)
        counts = pipeline.sync(REST)
        with connect() as conn:
            load_s = conn.execute(
                "SELECT extract(epoch FROM finished_at - extracted_at) FROM onestop.sync_run"
                " WHERE source = %s ORDER BY run_id DESC LIMIT 1",
                (REST,),
            ).fetchone()[0]
        figures["load_rows_per_s"] = counts.fetched / float(load_s)
        for _ in range(cycles):  # incremental cycles: a day of changes each
            clock = f"{sim.url}/_sim/clock"
            requests.post(clock, json={"advance_hours": 24}, timeout=60).raise_for_status()
            pipeline.sync(REST)
        with connect() as conn:
            figures["copy_rows_per_s"] = _copy_ceiling(conn)
            conn.execute("CHECKPOINT")
            live = conn.execute(
                "SELECT count(*) FROM onestop.dossier WHERE NOT deleted AND conflict_with IS NULL"
            ).fetchone()[0]
            total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            tables = conn.execute(
                "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),"
                " pg_indexes_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'onestop' AND c.relkind = 'r' ORDER BY 2 DESC LIMIT 8"
            ).fetchall()
    figures |= {"live": live, "db_bytes_per_dossier": total / live}
    print(
        f"{live:,} live dossiers; pg_database_size {total / 1e6:,.1f} MB = {total / live:,.0f} bytes/dossier"
    )
    for name, size_all, heap, indexes in tables:
        figures[f"{name}_bytes_per_dossier"] = size_all / live
        print(
            f"  {name:<20} {size_all / live:>7,.0f} B/dossier (heap {heap / live:,.0f}, indexes {indexes / live:,.0f})"
        )
    ratio = figures["load_rows_per_s"] / figures["copy_rows_per_s"]
    print(f"load {figures['load_rows_per_s']:,.0f} rows/s ({float(load_s):.1f} s) vs raw COPY "
          f"{figures['copy_rows_per_s']:,.0f} rows/s = {ratio:.2f}x")  # fmt: skip
    return figures


def _copy_ceiling(conn) -> float:
    """bench/run.py's ceiling: the canonical rows, binary, into a LIKE … INCLUDING ALL table."""
    conn.execute("CREATE TABLE public.ceiling (LIKE onestop.dossier INCLUDING ALL)")
    conn.commit()
    buf = bytearray()
    with conn.cursor().copy("COPY (SELECT * FROM onestop.dossier) TO STDOUT (FORMAT binary)") as copy:
        for block in copy:
            buf += block
    n = conn.execute("SELECT count(*) FROM onestop.dossier").fetchone()[0]
    started = time.perf_counter()
    with conn.cursor().copy("COPY public.ceiling FROM STDIN (FORMAT binary)") as copy:
        for start in range(0, len(buf), 1 << 20):
            copy.write(buf[start : start + (1 << 20)])
    conn.commit()
    seconds = time.perf_counter() - started
    conn.execute("DROP TABLE public.ceiling")
    conn.commit()
    return n / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.load_profile", description=__doc__)
    parser.add_argument("--size", type=int, default=50_000, help="dossiers in the iGate district system")
    parser.add_argument(
        "--cycles", type=int, default=0, help="incremental syncs after the first (a day each)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="onestop-load-profile-") as root:
        measure(args.size, Path(root), args.cycles)


if __name__ == "__main__":
    main()
