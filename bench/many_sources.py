"""Many sources at once. The province: the registry's 13 demo sources synced concurrently under the real Airflow
scheduler (LocalExecutor, parallelism 4), timed from the first task's start to the last commit. And rest4: the 4
REST (iGate) sources read by our 4 syncs at once against 4 dlt pipelines at once, on the same 4 servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import yaml

from bench.common import REST4, ROOT, SPAN_DAYS, CoreShare, create_database, start_igate

if TYPE_CHECKING:
    from bench.stages import Bench


@contextmanager
def own_connections() -> Iterator[None]:
    """These stages point the sources' connections at their own simulators: the bench's come back after."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW_CONN_") or k == "ONESTOP_DB_URL"}
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("AIRFLOW_CONN_")]:
            del os.environ[key]
        os.environ.update(saved)


def fresh_province(name: str) -> str:
    """A database of its own, migrated: each concurrent stage counts only what it loaded itself."""
    from onestop import db

    url = create_database(name)
    db.recreate(url)
    return url


def province(bench: Bench, per_source: int) -> None:
    """The 13 demo sources at once under the real scheduler (LocalExecutor, parallelism 4)."""
    from onestop import registry
    from onestop.airflow.cluster import AirflowCluster, sqlalchemy_url
    from onestop.db import connect
    from onestop.simulators.demo import SIMULATORS, set_connection
    from onestop.simulators.process import start_simulator

    sources = registry.load().sources
    with own_connections(), ExitStack() as stack:
        url = fresh_province("province_bench")
        metadata = create_database("airflow_bench")
        for i, source in enumerate(sources):
            module, login = SIMULATORS[source.dialect]
            args = ["--seed", str(100 + i), "--count", str(per_source), "--span-days", str(SPAN_DAYS)]
            if source.district_code:
                args += ["--district", source.district_code]
            sim = stack.enter_context(start_simulator(module, *args, timeout=300))
            set_connection(source.conn_id, sim.url, **login)
        home = bench.root / "airflow_province"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        # The registry as shipped, unscheduled: the bench alone starts the runs.
        shipped = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
        shipped["defaults"]["schedule"] = None
        registry_file = home / "sources.yaml"
        registry_file.write_text(yaml.safe_dump(shipped, allow_unicode=True), encoding="utf-8")
        os.environ["ONESTOP_DB_URL"] = url  # the cluster's processes inherit it, with the connections above
        cluster = AirflowCluster(home=home, metadata_url=sqlalchemy_url(metadata), serve_logs=False,
                                 extra_env={"ONESTOP_SOURCES": str(registry_file)})  # fmt: skip
        stack.callback(cluster.stop)
        cluster.prepare()
        cluster.import_pools()
        cluster.start("api-server", "scheduler", "dag-processor")
        cluster.wait_ready(300)
        dag_ids = [f"onestop_sync_{s.name}" for s in sources]
        cluster.wait_for_dags(dag_ids, timeout=300)
        cluster.unpause(dag_ids)  # delivery stays paused: only the syncs are timed
        runs = {d: cluster.trigger(d) for d in dag_ids}

        def finished() -> bool:
            states = {d: cluster.api("GET", f"/dags/{d}/dagRuns/{r}")["state"] for d, r in runs.items()}
            failed = [d for d, s in states.items() if s == "failed"]
            if failed:
                raise RuntimeError(f"province: {failed} failed\n{cluster.log_tail('scheduler')}")
            return all(s == "success" for s in states.values())

        cluster.wait_until(finished, 3600, "province: the source runs did not finish", every=3)
        starts = []
        for dag_id, run_id in runs.items():
            tis = cluster.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
            starts += [datetime.fromisoformat(t["start_date"]) for t in tis if t.get("start_date")]
        with connect(url) as conn:
            first_run, last_commit, fetched, n_runs = conn.execute(
                "SELECT min(started_at), max(finished_at), sum(fetched), count(*) FROM onestop.sync_run"
            ).fetchone()
            dossiers = conn.execute("SELECT count(*) FROM onestop.dossier").fetchone()[0]
    first = min([*starts, first_run])
    seconds = (last_commit - first).total_seconds()
    rate = int(fetched) / seconds
    bench.figures |= {"province_dossiers_per_s": rate,
                      "province": {"sources": len(sources), "per_source": per_source, "runs": n_runs,
                                   "fetched": int(fetched), "dossiers": dossiers, "seconds": seconds,
                                   "executor": "LocalExecutor", "parallelism": 4}}  # fmt: skip
    bench.note(f"province: {len(sources)} sources at once under the scheduler", f"{rate:,.0f} dossiers/s",
               f"({int(fetched):,} read, {dossiers:,} loaded in {seconds:.1f} s from the first task's start to the"
               f" last commit; LocalExecutor, parallelism 4)")  # fmt: skip


def our_syncs(names: tuple[str, ...]) -> dict[str, Any]:
    """Our syncs of `names` at once, each its own `onestop sync` process; from the first start to the last exit."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "onestop.cli", "sync", n], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for n in names]  # fmt: skip
    outs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - started
    for name, p, (_, err) in zip(names, procs, outs, strict=True):
        if p.returncode != 0:
            raise RuntimeError(f"sync {name} failed ({p.returncode}): {err.decode()[-1500:]}")
    counts = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outs]
    fetched = sum(c["fetched"] for c in counts)
    return {"fetched": fetched, "seconds": seconds, "dossiers_per_s": fetched / seconds, "counts": counts}


def rest4(bench: Bench, per_source: int) -> None:
    """4 REST (iGate) systems: our 4 syncs at once against 4 dlt pipelines at once (dlt's best configuration)."""
    from bench.dlt_best import TUNED, dlt_concurrent
    from bench.dlt_peer.env import ensure_venv
    from onestop import registry
    from onestop.simulators.demo import set_connection

    reg = registry.load()
    with own_connections(), ExitStack() as stack:
        urls, modes = [], set()
        for i, name in enumerate(REST4):
            source = reg.source(name)
            args = ["--seed", str(200 + i), "--count", str(per_source), "--span-days", str(SPAN_DAYS)]
            if source.district_code:
                args += ["--district", source.district_code]
            sim, mode = start_igate(*args)
            stack.enter_context(sim)
            urls.append(sim.url)
            modes.add(mode)
            set_connection(source.conn_id, sim.url, login="igate", password="secret")
        os.environ["ONESTOP_DB_URL"] = fresh_province("rest4_bench")
        with CoreShare() as our_cores:
            ours = our_syncs(REST4)
        best = bench.figures.get("dlt_best_config") or {}
        extra = tuple(best.get("args") or ("--loader-file-format", "csv", *TUNED))
        python, pg_url = ensure_venv(bench.root), create_database("dlt_rest4")
        with CoreShare() as their_cores:
            theirs = dlt_concurrent(python, urls, pg_url, extra)
    bench.figures |= {"rest4_dossiers_per_s": ours["dossiers_per_s"],
                      "dlt_rest4_dossiers_per_s": theirs.get("dossiers_per_s"),
                      "rest4": {"per_source": per_source, "server_mode": sorted(modes), "ours": ours,
                                "dlt": theirs, "dlt_args": list(extra)}}  # fmt: skip
    bench.note("4 REST sources at once, our 4 syncs", f"{ours['dossiers_per_s']:,.0f} dossiers/s",
               f"({ours['fetched']:,} in {ours['seconds']:.1f} s, {per_source:,} per source)")  # fmt: skip
    bench.cores("rest4_ours", "our 4 syncs", our_cores)
    if "error" in theirs:
        bench.note("4 REST sources at once, 4 dlt pipelines", "failed", f"({theirs['error'][-160:]!r})")
    else:
        bench.note("4 REST sources at once, 4 dlt pipelines", f"{theirs['dossiers_per_s']:,.0f} dossiers/s",
                   f"({theirs['rows']:,} in {theirs['seconds']:.1f} s; {' '.join(extra)})")  # fmt: skip
        bench.cores("rest4_dlt", "4 dlt pipelines", their_cores)
