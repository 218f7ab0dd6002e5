"""The bench's province and its single-source stages: extract, parse, end to end, normalize, incremental, COPY,
naive upsert, delivery, DAG parsing, disk. The ceilings, dlt and the many-sources stages live beside it
(bench/ceilings.py, bench/dlt_best.py, bench/many_sources.py: not `concurrent.py`, since bench/dag_parse.py runs
a script from this folder, where that name would shadow the standard library's) and take this Bench."""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from bench.common import (
    INCREMENTAL_CHANGES,
    REST,
    SMALL,
    SMALL_COUNT,
    SMALL_SPAN_DAYS,
    SOAP,
    SPAN_DAYS,
    XML,
    CoreShare,
    bench_registry,
    hours_for_reads,
    run_measured,
    start_igate,
    timed,
)


class Bench:
    def __init__(self, size: int, sample: int, dlt_size: int, root: Path, quick: bool = False) -> None:
        self.size, self.sample, self.dlt_size, self.root, self.quick = size, sample, dlt_size, root, quick
        self.figures: dict[str, Any] = {"size": size, "sample": sample, "dlt_size": dlt_size, "quick": quick}
        self.rows: list[list[str]] = []  # [measure, figure, note] for the table, kept in the JSON
        self.stack = ExitStack()
        self.url = ""
        self.extract_sample = sample  # records per dialect in extract_parse

    def note(self, measure: str, figure: str, note: str = "") -> None:
        self.rows.append([measure, figure, note])
        print(f"  {measure}: {figure} {note}", flush=True)

    # --- the province -----------------------------------------------------------------------------------------
    def setup(self) -> None:
        from onestop import db, embedded_db
        from onestop.simulators.demo import PORTAL_LOGIN, SIMULATORS, set_connection
        from onestop.simulators.process import start_simulator

        os.environ["ONESTOP_VAR"] = str(self.root)
        os.environ["ONESTOP_SOURCES"] = str(bench_registry(self.root))
        os.environ.pop("ONESTOP_DB_URL", None)
        self.stack.callback(embedded_db.stop)
        url = embedded_db.start()
        db.recreate(url)
        os.environ["ONESTOP_DB_URL"] = url
        set_connection("onestop_message_log", "http://unused", password="bench-key")
        # As production defines it: without, every sync process started outside a task asks Airflow's metastore
        # for it (importing Airflow, ~2.5 s of CPU at the start of each extract) before making a local key.
        set_connection("onestop_citizen_id_key", "http://unused", password="bench-citizen-id-key")
        self.portal = self.stack.enter_context(
            start_simulator("portal", "--state", str(self.root / "portal.sqlite"))
        )
        requests.post(f"{self.portal.url}/_inspect/reset", timeout=30).raise_for_status()
        set_connection("onestop_portal", self.portal.url, **PORTAL_LOGIN)
        self.sims = {}
        # The large REST system is pre-rendered (its pages served from memory), so that what it measures is
        # the readers, ours, the lean one and dlt's, not the simulator generating records.
        sim, self.rest_mode = start_igate(
            "--seed", "7", "--count", str(self.size), "--span-days", str(SPAN_DAYS)
        )
        self.sims[REST] = self.stack.enter_context(sim)
        self.figures["rest_server_mode"] = self.rest_mode
        set_connection(f"onestop_src_{REST}", sim.url, **SIMULATORS["igate"][1])
        print(f"  the REST district system ({self.size:,} dossiers): {self.rest_mode}", flush=True)
        for name, module, count in (
            (SMALL, "igate", SMALL_COUNT),
            (SOAP, "soap_district", self.sample),
            (XML, "legacy_xml", self.sample),
        ):
            span = SMALL_SPAN_DAYS if name == SMALL else SPAN_DAYS
            args = ("--seed", "7", "--count", str(count), "--span-days", str(span))
            self.sims[name] = self.stack.enter_context(start_simulator(module, *args))
            login = SIMULATORS[
                {"igate": "igate", "soap_district": "dvc_soap", "legacy_xml": "aspnet_xml"}[module]
            ][1]
            set_connection(f"onestop_src_{name}", self.sims[name].url, **login)
        self.url = url

    # --- stages -------------------------------------------------------------------------------------------------
    def extract_parse(self) -> None:
        """Each dialect read through its connector (HTTP + parse), no database."""
        from connectors.factory import open_source
        from onestop import registry

        def read(reader: Any) -> tuple[float, int]:
            """Up to `extract_sample` records, timed from the first page on: before it, a simulator computes the whole
            window's matches (15 s for 1M dossiers), which a district database answers from an index."""
            n, started = 0, 0.0
            for page in reader.pages(None, None):
                if not started:
                    started = time.perf_counter()
                    continue
                n += len(page)
                if n >= self.extract_sample:
                    break
            return time.perf_counter() - started, n

        for name, label, key in ((REST, "REST JSON", "rest"), (SOAP, "SOAP (lxml streaming)", "soap"),
                                 (XML, "legacy XML", "xml")):  # fmt: skip
            seconds, n = read(open_source(registry.load().source(name)))
            self.figures[f"extract_{key}_per_s"] = n / seconds
            self.note(f"extract + parse, {label}", f"{n / seconds:,.0f} records/s",
                      f"({n:,} records after the first page, {seconds:.1f} s)")  # fmt: skip

    def soap_zeep_vs_lxml(self) -> None:
        """One SOAP answer of 20,000 records (--quick: fewer): lxml streaming against zeep's object layer."""
        from bench.soap_parse import compare
        from connectors.factory import open_source
        from onestop import registry
        from onestop.simulators.demo import SIMULATORS, set_connection
        from onestop.simulators.process import start_simulator

        n = min(self.extract_sample, 20_000)
        args = ("--seed", "7", "--count", str(n), "--max-page-size", str(n), "--bad-rate", "0")
        with start_simulator("soap_district", *args) as sim:
            set_connection(f"onestop_src_{SOAP}", sim.url, **SIMULATORS["dvc_soap"][1])
            parsed = compare(open_source(registry.load().source(SOAP)), n)
        set_connection(f"onestop_src_{SOAP}", self.sims[SOAP].url, **SIMULATORS["dvc_soap"][1])
        self.figures |= {"soap_lxml_per_s": n / parsed.lxml_s, "soap_zeep_per_s": n / parsed.zeep_s,
                         "soap_lxml_vs_zeep": parsed.ratio}  # fmt: skip
        self.note("SOAP parse, lxml streaming", f"{n / parsed.lxml_s:,.0f} records/s",
                  f"({parsed.megabytes:.0f} MB answer)")  # fmt: skip
        self.note("SOAP parse, zeep objects", f"{n / parsed.zeep_s:,.0f} records/s",
                  f"(lxml {parsed.ratio:.1f}× faster)")  # fmt: skip

    def e2e(self) -> None:
        """REST source: extract through committed merge, without delivery, in its own process (PSS of its tree)."""
        from onestop.db import connect

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with CoreShare() as cores:
            seconds, out, _err, code, memory = run_measured(
                [sys.executable, "-m", "onestop.cli", "sync", REST], env=env
            )
        if code != 0:
            raise RuntimeError(f"sync {REST} failed ({code})")
        counts = json.loads(out.decode().strip().splitlines()[-1])
        with connect() as conn:  # the run's own phase times: started → extracted → committed
            extract_s, load_s = conn.execute(
                "SELECT extract(epoch FROM extracted_at - started_at), extract(epoch FROM finished_at - extracted_at)"
                " FROM onestop.sync_run WHERE source = %s ORDER BY run_id DESC LIMIT 1", (REST,)
            ).fetchone()  # fmt: skip
        fetched = counts["fetched"]
        self.figures |= {"e2e_s": seconds, "e2e_dossiers_per_s": fetched / seconds, "e2e_fetched": fetched,
                         "peak_pss_mb": memory.peak_pss / 1e6, "peak_rss_mb": memory.peak_rss / 1e6,
                         "e2e_extract_s": float(extract_s), "load_s": float(load_s),
                         "load_rows_per_s": fetched / float(load_s)}  # fmt: skip
        self.note("end to end (REST: extract → committed merge)", f"{fetched / seconds:,.0f} dossiers/s",
                  f"({fetched:,} in {seconds:.1f} s, {counts['loaded']:,} loaded; process start included)")  # fmt: skip
        self.note("  of which extract (fetch + normalize + stage)", f"{fetched / float(extract_s):,.0f} records/s",
                  f"({float(extract_s):.1f} s)")  # fmt: skip
        self.note("  of which load (the merge from staging, committed)", f"{fetched / float(load_s):,.0f} rows/s",
                  f"({float(load_s):.1f} s)")  # fmt: skip
        self.note("peak PSS of the sync's process tree", f"{memory.peak_pss / 1e6:,.0f} MB",
                  f"(RSS {memory.peak_rss / 1e6:,.0f} MB; {self.size:,} dossiers)")  # fmt: skip
        self.cores("e2e", "end to end", cores)

    def cores(self, key: str, what: str, share: CoreShare) -> None:
        """Where the cores went during a stage (bench.common.CoreShare), kept under figures["cores"][key] and
        shown as a row under the stage's own."""
        self.figures.setdefault("cores", {})[key] = share.share
        self.note(f"  where the {share.share['cores']} cores went ({what})", share.summary(),
                  f"(of {share.share['core_seconds']:,.0f} core-seconds)")  # fmt: skip

    def normalize(self) -> None:
        """Normalize alone, one core, on the REST source's raw records (up to the sample size), read through its
        connector. Per core is per CPU second of the normalizing thread (time.thread_time): what one core does,
        whatever else the shared machine runs meanwhile; the wall-clock rate is recorded beside it."""
        from connectors.factory import open_source
        from mappings import get_mapping
        from onestop import pipeline, privacy, registry

        mapping = get_mapping("igate")
        # Once per process, not per record: the citizen-ID key (outside a task, asking Airflow for the connection
        # imports Airflow, ~2.5 s of CPU that was counted in the first chunk, a quarter of this stage's time).
        privacy.citizen_id_key()
        n, seconds, cpu_seconds = 0, 0.0, 0.0
        with pipeline.few_collections():  # the collector as an extract sets it
            for page in open_source(registry.load().source(REST)).pages(None, None):
                rows = [
                    (n + i, None, raw.content_type, raw.payload, pipeline.defects_json(raw))
                    for i, raw in enumerate(page)
                ]
                cpu = time.thread_time()
                s, _ = timed(lambda r=rows: pipeline.normalize_chunk(mapping, REST, r))
                n, seconds, cpu_seconds = n + len(rows), seconds + s, cpu_seconds + time.thread_time() - cpu
                if n >= self.sample:
                    break
        self.figures["normalize_per_s_per_core"] = n / cpu_seconds
        self.figures["normalize_wall_per_s"] = n / seconds
        self.note("normalize (REST JSON, one core)", f"{n / cpu_seconds:,.0f} dossiers/s per CPU second",
                  f"({n:,} records; {n / seconds:,.0f}/s by the wall clock)")  # fmt: skip

    def incremental(self) -> None:
        """Cycles with the full source loaded and with ~10,000 loaded (median of 5 rounds), reading as many
        records: the large system's cycle is INCREMENTAL_CHANGES changes and what its lookback reads again (on a
        million-dossier system, 15 minutes hold hundreds to thousands of records), the small one's as many records,
        nearly all of them changes (its lookback holds almost none): the small cycle does the more merging."""
        from onestop import pipeline, registry
        from onestop.db import connect

        def advance(name: str, count: int, span: int, reads: int, overlap: bool) -> None:
            """Move the system's clock for its next run to read `reads` records (`overlap`: counting the lookback's
            records again; else changes alone)."""
            clock = f"{self.sims[name].url}/_sim/clock"
            read_from = None
            if overlap:
                with connect() as conn:
                    mark = conn.execute(
                        "SELECT value FROM onestop.watermark WHERE source = %s", (name,)
                    ).fetchone()
                read_from = (mark[0] - registry.load().source(name).lookback).timestamp() if mark else None
            now = requests.get(clock, timeout=60).json()["clock"]
            hours = hours_for_reads(count, span, now, read_from, reads)
            requests.post(clock, json={"advance_hours": hours}, timeout=60).raise_for_status()

        small_size = pipeline.sync(SMALL).loaded  # the small twin's initial load
        rounds: dict[str, list[tuple[float, int, int]]] = {REST: [], SMALL: []}
        for _ in range(5):
            advance(REST, self.size, SPAN_DAYS, INCREMENTAL_CHANGES, overlap=False)
            seconds, counts = timed(lambda: pipeline.sync(REST))
            rounds[REST].append((seconds, counts.loaded, counts.fetched))
            advance(SMALL, SMALL_COUNT, SMALL_SPAN_DAYS, counts.fetched, overlap=True)
            seconds, counts = timed(lambda: pipeline.sync(SMALL))
            rounds[SMALL].append((seconds, counts.loaded, counts.fetched))
        (big_s, big_loaded, big_read), (small_s, small_loaded, small_read) = (
            sorted(rounds[name])[len(rounds[name]) // 2] for name in (REST, SMALL)
        )
        big_ms, small_ms = 1000 * big_s / max(big_read, 1), 1000 * small_s / max(small_read, 1)
        self.figures |= {"incremental_ratio_1m_vs_10k": big_s / small_s,
                         "incremental_ms_per_record_1m": big_ms, "incremental_ms_per_record_10k": small_ms,
                         "incremental_ms_per_record_ratio_1m_vs_10k": big_ms / small_ms,
                         "incremental": {"changes_per_cycle": INCREMENTAL_CHANGES,
                                         "large": rounds[REST], "small": rounds[SMALL]}}  # fmt: skip
        self.note(f"incremental cycle, {self.size:,} loaded", f"{big_s:.2f} s",
                  f"(median of 5; {big_loaded:,} changed of {big_read:,} read, {big_ms:.2f} ms per record read)")  # fmt: skip
        self.note(f"incremental cycle, {small_size:,} loaded", f"{small_s:.2f} s",
                  f"(median of 5; {small_loaded:,} changed of {small_read:,} read, {small_ms:.2f} ms per record read)")  # fmt: skip

    def copy_ceiling(self) -> None:
        """A raw binary COPY of the canonical rows into a table of the dossier table's shape and indexes."""
        from onestop.db import connect

        with connect() as conn:
            conn.execute("DROP TABLE IF EXISTS public.ceiling")
            # LIKE … INCLUDING ALL: whatever columns and indexes the dossier table has today.
            conn.execute("CREATE TABLE public.ceiling (LIKE onestop.dossier INCLUDING ALL)")
            conn.commit()
            buf = bytearray()
            n = min(self.sample * 2, conn.execute("SELECT count(*) FROM onestop.dossier").fetchone()[0])
            with conn.cursor().copy(
                f"COPY (SELECT * FROM onestop.dossier LIMIT {n}) TO STDOUT (FORMAT binary)"
            ) as copy:
                for block in copy:
                    buf += block

            def load() -> None:
                with conn.cursor().copy("COPY public.ceiling FROM STDIN (FORMAT binary)") as copy:
                    for start in range(0, len(buf), 1 << 20):
                        copy.write(buf[start : start + (1 << 20)])
                conn.commit()

            seconds, _ = timed(load)
            conn.execute("DROP TABLE public.ceiling")
            conn.commit()
        self.figures["copy_rows_per_s"] = n / seconds
        self.note(
            "ceiling: raw binary COPY of the canonical rows", f"{n / seconds:,.0f} rows/s", f"({n:,} rows)"
        )

    def naive_upsert(self) -> None:
        """One autocommitted INSERT … ON CONFLICT per row, on a sample (the same rows copied row by row)."""
        from psycopg.types.json import Jsonb

        from onestop.db import connect

        with connect() as conn:
            conn.execute("DROP TABLE IF EXISTS public.naive")
            conn.execute("CREATE TABLE public.naive (LIKE onestop.dossier INCLUDING ALL)")
            conn.commit()
            cur = conn.execute(f"SELECT * FROM onestop.dossier LIMIT {self.sample // 5}")
            columns = [d.name for d in cur.description]
            # json and jsonb come back as dicts and lists: wrapped again to go back as such (arrays stay lists).
            is_json = [d.type_code in (114, 3802) for d in cur.description]  # json, jsonb OIDs
            rows = [[Jsonb(v) if j and v is not None else v for v, j in zip(r, is_json, strict=True)]
                    for r in cur.fetchall()]  # fmt: skip
            key = "uid" if "uid" in columns else columns[0]
            names = ", ".join(columns)
            marks = ", ".join(["%s"] * len(columns))
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
            conn.commit()  # the read's transaction ends before each row commits on its own
            conn.autocommit = True

            def upsert() -> None:
                for r in rows:
                    conn.execute(f"INSERT INTO public.naive ({names}) VALUES ({marks})"
                                 f" ON CONFLICT ({key}) DO UPDATE SET {sets}", r)  # fmt: skip

            seconds, _ = timed(upsert)
            conn.execute("DROP TABLE public.naive")
        self.figures["naive_upsert_rows_per_s"] = len(rows) / seconds
        self.note(
            "naive row-by-row upsert", f"{len(rows) / seconds:,.0f} rows/s", f"(sample of {len(rows):,})"
        )

    def delivery(self) -> None:
        """Delivery of a sample of the outbox to the portal simulator."""
        from onestop import pipeline

        limit = min(self.sample // 2, self.extract_sample)  # 50,000 in the full run, 5,000 in --quick
        seconds, counts = timed(lambda: pipeline.deliver(limit=limit))
        self.figures["deliver_dossiers_per_s"] = counts.delivered / seconds
        self.note("delivery to the portal simulator", f"{counts.delivered / seconds:,.0f} dossiers/s",
                  f"(sample of {counts.delivered:,})")  # fmt: skip

    def dag_parse(self) -> None:
        """DAG parsing of a whole country's registry: 700 sources, the dags folder in a warm process."""
        from bench.dag_parse import measure

        repeats = 1 if self.quick else 3  # --quick: one parse is enough for a smoke test
        result = measure(sources=700, repeats=repeats)
        self.figures |= {"dag_parse_s_700_sources": result["median_s"], "dag_parse": result}
        self.note("DAG folder parse, 700 sources", f"{result['median_s']:.2f} s",
                  f"(median of {repeats} in a warm process, {result['dags']:,} DAGs, min {result['min_s']:.2f} s)")  # fmt: skip

    def disk(self) -> None:
        """The unified database's size after the full load and the incremental cycles, before any purge."""
        from onestop.db import connect

        with connect() as conn:
            total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            tables = conn.execute(
                "SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN"
                " ('pg_catalog', 'information_schema', 'pg_toast') AND c.relkind IN ('r', 'p', 'm')"
                " ORDER BY 2 DESC"
            ).fetchall()
            try:  # live dossiers: neither deleted nor in conflict (the ones that belong at the portal)
                live = conn.execute(
                    "SELECT count(*) FROM onestop.dossier WHERE NOT deleted AND conflict_with IS NULL"
                ).fetchone()[0]
            except Exception:
                conn.rollback()
                live = conn.execute("SELECT count(*) FROM onestop.dossier").fetchone()[0]
        per = total / live if live else None
        self.figures |= {"disk_mb": total / 1e6, "disk_bytes": total, "disk_live_dossiers": live,
                         "disk_bytes_per_dossier": per,
                         "disk_tables_bytes": {t: s for t, s in tables if s > 0},
                         "disk_tables_mb": {t.split(".")[-1]: s / 1e6 for t, s in tables[:5]}}  # fmt: skip
        self.note("disk: the unified database", f"{total / 1e6:,.0f} MB",
                  f"({per:,.0f} bytes per live dossier, {live:,} live; "
                  + ", ".join(f"{t.split('.')[-1]} {s / 1e6:,.0f}" for t, s in tables[:5]) + " MB)")  # fmt: skip
