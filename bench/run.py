"""`make bench`: where the time goes, measured side by side in one run on one PostgreSQL.

    .venv/bin/python -m bench.run [--size 1000000] [--quick]

A deterministic synthetic province (the simulators, seeded) is read by the real pipeline; beside it, on the same
rows and the same server: a raw binary COPY of the canonical rows (the ceiling), a naive row-by-row upsert, and
dlt 1.31's `rest_api` source loading the same REST district system with merge on the same key. Slow peers run on
a sample whose size is printed beside their figure. Results: a markdown table (stdout and
bench/results/latest.md), a chart (latest.png) and bench/results/latest.json, written afresh by each run.
Figures only: no target is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REST = "hd_thanh_pho_hai_duong"  # the registry's iGate REST source: the one dlt can read too
SMALL = (
    "hd_chi_linh"  # another iGate source, ~10,000 dossiers at the clock: the incremental cycle's small twin
)
# Its receipts go on well past the clock (24,000 over 400 days, ~10,200 received by then), so that three rounds
# of 1,000 changes each still find new dossiers arriving; the large system spans 175 days like the others.
SPAN_DAYS = 175
SMALL_COUNT, SMALL_SPAN_DAYS = 24_000, 400
SOAP = "hd_kim_thanh"
XML = "hd_gia_loc"


class RssSampler:
    """Peak RSS of a process and all its children, sampled every 50 ms (psutil)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            self._stop.wait(0.05)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def hours_for_changes(count: int, span_days: int, clock_iso: str, changes: int) -> float:
    """How far a simulator's clock must move for `changes` of its dossiers to change (bisection on the
    simulators' own generator: seed 7, `count` dossiers, `span_days` of receipts)."""
    from onestop.simulators.igate_data import INDEXED_FROM, DossierGenerator, GeneratorConfig, parse_iso

    gen = DossierGenerator(GeneratorConfig(seed=7, count=count, span_days=span_days))
    if count >= INDEXED_FROM:
        gen.build_event_index()
    start = int(parse_iso(clock_iso))

    def changed(hours: float) -> int:
        end = start + round(hours * 3600)
        return len(gen.matching(start + 1, end, end))

    low, high = 0.0, 0.25
    while changed(high) < changes and high < 24 * 365:  # small windows first: a 1M system is scanned by range
        low, high = high, high * 2
    hours = high
    for _ in range(25):
        hours = (low + high) / 2
        found = changed(hours)
        if abs(found - changes) <= changes // 100:
            break
        low, high = (hours, high) if found < changes else (low, hours)
    return hours


class Bench:
    def __init__(self, size: int, sample: int, dlt_size: int, root: Path) -> None:
        self.size, self.sample, self.dlt_size, self.root = size, sample, dlt_size, root
        self.figures: dict[str, Any] = {"size": size, "sample": sample, "dlt_size": dlt_size}
        self.rows: list[tuple[str, str, str]] = []  # (measure, figure, note) for the table
        self.stack = ExitStack()

    def note(self, measure: str, figure: str, note: str = "") -> None:
        self.rows.append((measure, figure, note))
        print(f"  {measure}: {figure} {note}", flush=True)

    # --- the province -----------------------------------------------------------------------------------------
    def setup(self) -> None:
        from onestop import db, embedded_db
        from onestop.demo import PORTAL_LOGIN, SIMULATORS, set_connection
        from onestop.simulators.process import start_simulator

        os.environ["ONESTOP_VAR"] = str(self.root)
        os.environ.pop("ONESTOP_DB_URL", None)
        self.stack.callback(embedded_db.stop)
        url = embedded_db.start()
        db.recreate(url)
        os.environ["ONESTOP_DB_URL"] = url
        set_connection("onestop_message_log", "http://unused", password="bench-key")
        self.portal = self.stack.enter_context(
            start_simulator("portal", "--state", str(self.root / "portal.sqlite"))
        )
        requests.post(f"{self.portal.url}/_inspect/reset", timeout=30).raise_for_status()
        set_connection("onestop_portal", self.portal.url, **PORTAL_LOGIN)
        self.sims = {}
        for name, module, count in (
            (REST, "igate", self.size),
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

        def read(reader) -> tuple[float, int]:
            """Up to `sample` records, timed from the first page on: before it, a simulator computes the whole
            window's matches (15 s for 1M dossiers), which a district database answers from an index."""
            n, started = 0, 0.0
            for page in reader.pages(None, None):
                if not started:
                    started = time.perf_counter()
                    continue
                n += len(page)
                if n >= self.sample:
                    break
            return time.perf_counter() - started, n

        for name, label in ((REST, "REST JSON"), (SOAP, "SOAP (lxml streaming)"), (XML, "legacy XML")):
            source = registry.load().source(name)
            reader = open_source(source)
            seconds, n = read(reader)
            key = {"REST JSON": "rest", "SOAP (lxml streaming)": "soap", "legacy XML": "xml"}[label]
            self.figures[f"extract_{key}_per_s"] = n / seconds
            self.note(
                f"extract + parse, {label}",
                f"{n / seconds:,.0f} records/s",
                f"({n:,} records after the first page, {seconds:.1f} s)",
            )

    def soap_zeep_vs_lxml(self) -> None:
        """One SOAP answer of 20,000 records: lxml streaming against zeep's object layer."""
        from bench.soap_parse import compare
        from connectors.factory import open_source
        from onestop import registry
        from onestop.demo import SIMULATORS, set_connection
        from onestop.simulators.process import start_simulator

        n = min(self.sample, 20_000)
        args = ("--seed", "7", "--count", str(n), "--max-page-size", str(n), "--bad-rate", "0")
        with start_simulator("soap_district", *args) as sim:
            set_connection(f"onestop_src_{SOAP}", sim.url, **SIMULATORS["dvc_soap"][1])
            parsed = compare(open_source(registry.load().source(SOAP)), n)
        set_connection(f"onestop_src_{SOAP}", self.sims[SOAP].url, **SIMULATORS["dvc_soap"][1])
        self.figures |= {"soap_lxml_per_s": n / parsed.lxml_s, "soap_zeep_per_s": n / parsed.zeep_s,
                         "soap_lxml_vs_zeep": parsed.ratio}  # fmt: skip
        self.note(
            "SOAP parse, lxml streaming",
            f"{n / parsed.lxml_s:,.0f} records/s",
            f"({parsed.megabytes:.0f} MB answer)",
        )
        self.note(
            "SOAP parse, zeep objects",
            f"{n / parsed.zeep_s:,.0f} records/s",
            f"(lxml {parsed.ratio:.1f}× faster)",
        )

    def e2e(self) -> None:
        """REST source: extract through committed merge, without delivery, in its own process (RSS of its tree)."""
        from onestop.db import connect

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "onestop.cli", "sync", REST], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        with RssSampler(proc.pid) as rss:
            out, _ = proc.communicate()
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"sync {REST} failed ({proc.returncode})")
        counts = json.loads(out.decode().strip().splitlines()[-1])
        with connect() as conn:  # the run's own phase times: started → extracted → committed
            extract_s, load_s = conn.execute(
                "SELECT extract(epoch FROM extracted_at - started_at), extract(epoch FROM finished_at - extracted_at)"
                " FROM onestop.sync_run WHERE source = %s ORDER BY run_id DESC LIMIT 1", (REST,)
            ).fetchone()  # fmt: skip
        fetched = counts["fetched"]
        self.figures |= {"e2e_s": seconds, "e2e_dossiers_per_s": fetched / seconds, "peak_rss_mb": rss.peak / 1e6,
                         "e2e_extract_s": float(extract_s), "load_s": float(load_s),
                         "load_rows_per_s": fetched / float(load_s)}  # fmt: skip
        self.note("end to end (REST: extract → committed merge)", f"{fetched / seconds:,.0f} dossiers/s",
                  f"({fetched:,} in {seconds:.1f} s, {counts['loaded']:,} loaded; process start included)")  # fmt: skip
        self.note("  of which extract (fetch + stage)", f"{fetched / float(extract_s):,.0f} records/s",
                  f"({float(extract_s):.1f} s)")  # fmt: skip
        self.note("  of which load (normalize + COPY + merge, committed)", f"{fetched / float(load_s):,.0f} rows/s",
                  f"({float(load_s):.1f} s)")  # fmt: skip
        self.note(
            "peak RSS of the sync's process tree", f"{rss.peak / 1e6:,.0f} MB", f"({self.size:,} dossiers)"
        )

    def normalize(self) -> None:
        """Normalize alone, one core, on the REST source's raw records (up to the sample size), read through its
        connector: a loaded run's staged payloads went with its load's commit."""
        from connectors.factory import open_source
        from mappings import get_mapping
        from onestop import pipeline, registry

        mapping = get_mapping("igate")
        n, seconds = 0, 0.0
        for page in open_source(registry.load().source(REST)).pages(None, None):
            rows = [
                (n + i, None, raw.content_type, raw.payload, pipeline.defects_json(raw))
                for i, raw in enumerate(page)
            ]
            s, _ = timed(lambda r=rows: pipeline.normalize_chunk(mapping, REST, r))
            n, seconds = n + len(rows), seconds + s
            if n >= self.sample:
                break
        self.figures["normalize_per_s_per_core"] = n / seconds
        self.note("normalize (REST JSON, one core)", f"{n / seconds:,.0f} dossiers/s", f"({n:,} records)")

    def dlt(self) -> None:
        """dlt 1.31 rest_api (its own virtual environment) loading the same REST system, merge on the same key."""
        from bench.dlt_peer.env import LOAD_SCRIPT, ensure_venv
        from onestop import registry
        from onestop.db import connect
        from onestop.simulators.process import start_simulator

        python = ensure_venv(self.root)
        with connect() as conn:
            conn.autocommit = True
            conn.execute("DROP DATABASE IF EXISTS dlt_bench")
            conn.execute("CREATE DATABASE dlt_bench")
        pg_url = self.url.replace("/onestop?", "/dlt_bench?")
        page = registry.load().source(REST).rest.paginator.page_size  # the same pages our connector asks for
        args = ("--seed", "7", "--count", str(self.dlt_size), "--span-days", str(SPAN_DAYS))
        with start_simulator("igate", *args) as sim:  # the same generator: the first dlt_size dossiers
            out = subprocess.run(
                [str(python), str(LOAD_SCRIPT), "--base-url", sim.url, "--client-id", "igate", "--client-secret",
                 "secret", "--pg-url", pg_url, "--dataset", "dlt_igate", "--page-size", str(page)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
        result = json.loads(out.stdout.strip().splitlines()[-1])
        rate = result["rows"] / result["seconds"]
        self.figures |= {"dlt_dossiers_per_s": rate, "dlt": result}
        cfg = result["config"]
        self.note("dlt 1.31 rest_api → PostgreSQL, merge on id", f"{rate:,.0f} dossiers/s",
                  f"(sample of {result['rows']:,}; pages of {page}, max_table_nesting {cfg['max_table_nesting']},"
                  f" {cfg['loader_file_format']}, {cfg['normalize_workers']} normalize / {cfg['load_workers']} load workers)")  # fmt: skip

    def incremental(self) -> None:
        """Cycles of 1,000 changes with the full source loaded and with 10,000 loaded (median of 3 rounds)."""
        from onestop import pipeline

        small_size = pipeline.sync(SMALL).loaded  # the small twin's initial load
        rounds: dict[str, list[tuple[float, int, int]]] = {REST: [], SMALL: []}
        # Each clock moves as far as brings 1,000 changes to its system (the same generator, asked in-process).
        for _ in range(3):
            for name, count, span in ((REST, self.size, SPAN_DAYS), (SMALL, SMALL_COUNT, SMALL_SPAN_DAYS)):
                clock = f"{self.sims[name].url}/_sim/clock"
                hours = hours_for_changes(count, span, requests.get(clock, timeout=60).json()["clock"], 1_000)
                requests.post(clock, json={"advance_hours": hours}, timeout=60).raise_for_status()
                seconds, counts = timed(lambda n=name: pipeline.sync(n))
                rounds[name].append((seconds, counts.loaded, counts.fetched))
        (big_s, big_loaded, big_read), (small_s, small_loaded, small_read) = (
            sorted(rounds[name])[1] for name in (REST, SMALL)
        )
        self.figures["incremental_ratio_1m_vs_10k"] = big_s / small_s
        self.figures["incremental"] = {"large": rounds[REST], "small": rounds[SMALL]}
        self.note(f"incremental cycle, {self.size:,} loaded", f"{big_s:.2f} s",
                  f"(median of 3; {big_loaded:,} changed of {big_read:,} read,"
                  f" {1000 * big_s / big_read:.2f} ms per record read)")  # fmt: skip
        self.note(f"incremental cycle, {small_size:,} loaded", f"{small_s:.2f} s",
                  f"(median of 3; {small_loaded:,} changed of {small_read:,} read,"
                  f" {1000 * small_s / small_read:.2f} ms per record read)")  # fmt: skip

    def copy_ceiling(self) -> None:
        """A raw binary COPY of the canonical rows into a table of the same shape and indexes."""
        from onestop.db import connect

        with connect() as conn:
            conn.execute("DROP TABLE IF EXISTS public.ceiling")
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
        self.figures["copy_rows_per_s"] = n / seconds
        self.note(
            "ceiling: raw binary COPY of the canonical rows", f"{n / seconds:,.0f} rows/s", f"({n:,} rows)"
        )

    def naive_upsert(self) -> None:
        """One autocommitted INSERT … ON CONFLICT per row, on a sample."""
        from onestop.db import connect

        with connect() as conn:
            rows = conn.execute(
                "SELECT uid, source, source_record_id, ma_ho_so, version, content_hash, status, source_updated_at,"
                " record FROM onestop.dossier LIMIT %s", (self.sample // 5,)
            ).fetchall()  # fmt: skip
            conn.execute("CREATE TABLE IF NOT EXISTS public.naive (LIKE onestop.dossier INCLUDING ALL)")
            conn.execute("TRUNCATE public.naive")
            conn.commit()
            conn.autocommit = True

            def upsert() -> None:
                for r in rows:
                    conn.execute(
                        "INSERT INTO public.naive (uid, source, source_record_id, ma_ho_so, version, content_hash,"
                        " status, source_updated_at, record) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                        " ON CONFLICT (uid) DO UPDATE SET record = EXCLUDED.record, version = EXCLUDED.version",
                        (*r[:8], json.dumps(r[8])),
                    )

            seconds, _ = timed(upsert)
            conn.execute("DROP TABLE public.naive")
        self.figures["naive_upsert_rows_per_s"] = len(rows) / seconds
        self.note(
            "naive row-by-row upsert", f"{len(rows) / seconds:,.0f} rows/s", f"(sample of {len(rows):,})"
        )

    def delivery(self) -> None:
        from onestop import pipeline

        seconds, counts = timed(lambda: pipeline.deliver(limit=self.sample // 2))
        self.figures["deliver_dossiers_per_s"] = counts.delivered / seconds
        self.note("delivery to the portal simulator", f"{counts.delivered / seconds:,.0f} dossiers/s",
                  f"(sample of {counts.delivered:,})")  # fmt: skip

    def dag_parse(self) -> None:
        """DAG parsing of a whole country's registry: 700 sources, the dags folder in a warm process."""
        from bench.dag_parse import measure

        result = measure(sources=700, repeats=3)
        self.figures |= {"dag_parse_s_700_sources": result["median_s"], "dag_parse": result}
        self.note("DAG folder parse, 700 sources", f"{result['median_s']:.2f} s",
                  f"(median of 3 in a warm process, {result['dags']:,} DAGs, min {result['min_s']:.2f} s)")  # fmt: skip

    def disk(self) -> None:
        from onestop.db import connect

        with connect() as conn:
            total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            tables = conn.execute(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n"
                " ON n.oid = c.relnamespace WHERE n.nspname = 'onestop' AND c.relkind = 'r'"
                " ORDER BY 2 DESC LIMIT 5"
            ).fetchall()
        self.figures["disk_mb"] = total / 1e6
        self.figures["disk_tables_mb"] = {t: s / 1e6 for t, s in tables}
        self.note("disk: the unified database", f"{total / 1e6:,.0f} MB",
                  "(" + ", ".join(f"{t} {s / 1e6:,.0f}" for t, s in tables) + ")")  # fmt: skip

    # --- report ---------------------------------------------------------------------------------------------------
    def report(self) -> None:
        f = self.figures
        ratios = {
            "load_vs_copy": f.get("load_rows_per_s", 0) / f["copy_rows_per_s"] if f.get("copy_rows_per_s") else None,
            "e2e_vs_dlt": f["e2e_dossiers_per_s"] / f["dlt_dossiers_per_s"] if f.get("dlt_dossiers_per_s") else None,
            "load_vs_naive": f.get("load_rows_per_s", 0) / f["naive_upsert_rows_per_s"] if f.get("naive_upsert_rows_per_s") else None,
        }  # fmt: skip
        f["ratios"] = ratios
        f["measured_at"] = datetime.now(UTC).isoformat()
        lines = [
            "| measure | figure | note |",
            "|---|---:|---|",
            *(f"| {m} | {v} | {n} |" for m, v, n in self.rows),
        ]
        lines += ["", "| ratio | value |", "|---|---:|"]
        lines += [f"| {k} | {v:.2f}× |" if v is not None else f"| {k} | — |" for k, v in ratios.items()]
        f["targets"] = targets(f)
        lines += ["", "| target (2 cores, one run) | measured | met |", "|---|---:|:---:|"]
        lines += [
            f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |" for t in f["targets"]
        ]
        table = "\n".join(lines)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.md").write_text(table + "\n", encoding="utf-8")
        (RESULTS / "latest.json").write_text(json.dumps(f, indent=2, default=str) + "\n", encoding="utf-8")
        chart(f, RESULTS / "latest.png")
        print("\n" + table)


def targets(f: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets against this run's figures: met or not, never hidden."""
    r = f.get("ratios", {})
    checks = [
        ("load ≥ 50% of raw COPY rows/s", r.get("load_vs_copy"), lambda v: v >= 0.5, "{:.0%} of COPY"),
        ("end to end ≥ 3× dlt, same source", r.get("e2e_vs_dlt"), lambda v: v >= 3, "{:.2f}×"),
        ("normalize ≥ 20,000 dossiers/s per core (REST JSON)", f.get("normalize_per_s_per_core"),
         lambda v: v >= 20_000, "{:,.0f}/s"),
        ("SOAP lxml streaming ≥ 3× zeep objects", f.get("soap_lxml_vs_zeep"), lambda v: v >= 3, "{:.1f}×"),
        ("peak RSS < 500 MB", f.get("peak_rss_mb"), lambda v: v < 500, "{:,.0f} MB"),
        ("incremental cycle at 1M ≤ 1.2× at 10k", f.get("incremental_ratio_1m_vs_10k"), lambda v: v <= 1.2,
         "{:.2f}×"),
        ("700-source DAG folder < 2 s", f.get("dag_parse_s_700_sources"), lambda v: v < 2, "{:.2f} s"),
    ]  # fmt: skip
    return [
        {"target": name, "value": value, "measured": fmt.format(value) if value is not None else "—",
         "met": value is not None and ok(value)}
        for name, value, ok, fmt in checks
    ]  # fmt: skip


CHARTED = {
    "copy_rows_per_s": "raw binary COPY (ceiling)",
    "load_rows_per_s": "load (normalize + merge)",
    "naive_upsert_rows_per_s": "naive row-by-row upsert",
    "e2e_dossiers_per_s": "end to end, REST",
    "dlt_dossiers_per_s": "dlt rest_api, same source",
    "normalize_per_s_per_core": "normalize, one core",
    "deliver_dossiers_per_s": "delivery to the portal",
}


def chart(figures: dict[str, Any], path: Path) -> None:
    """Throughputs side by side, on a log scale (they span three orders of magnitude)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(label, figures[key]) for key, label in CHARTED.items() if figures.get(key)]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(shown) + 1.2))
    ax.barh([label for label, _ in shown], [value for _, value in shown], color="#2f6f9f")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("rows or dossiers per second (log scale)")
    ax.set_title(f"onestop-esb bench: {figures['size']:,} dossiers, {figures.get('measured_at', '')[:16]}")
    for i, (_, value) in enumerate(shown):
        ax.text(value, i, f" {value:,.0f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000, help="dossiers in the REST district system")
    parser.add_argument("--quick", action="store_true", help="a smoke-test size (CI)")
    args = parser.parse_args(argv)
    size = 20_000 if args.quick else args.size
    bench = Bench(size, sample=min(size, 100_000), dlt_size=min(size, 100_000), root=ROOT / "var" / "bench")
    with bench.stack:
        bench.setup()
        for stage in (bench.extract_parse, bench.soap_zeep_vs_lxml, bench.e2e, bench.normalize, bench.dlt, bench.incremental, bench.copy_ceiling,
                      bench.naive_upsert, bench.delivery, bench.dag_parse, bench.disk):  # fmt: skip
            print(f"== {stage.__doc__.splitlines()[0] if stage.__doc__ else stage.__name__}", flush=True)
            stage()
    bench.report()


if __name__ == "__main__":
    main()
