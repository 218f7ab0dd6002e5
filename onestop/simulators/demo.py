"""`onestop demo`: the whole flow on one machine with embedded defaults, checked against ground truth.

Starts the embedded database and the simulators (one district or sector system per registered source, in its
vendor's protocol and dialect, and the portal), syncs every source and delivers with Airflow's dag.test(), advances the district
systems' clocks so dossiers move on, syncs and delivers again, prints a table per source, checks the result
against the simulators' own ground truth, and stops every process it started.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from connectors.spec.source import SourceConfig
from onestop import db, embedded_db, progress, registry, settings
from onestop.airflow import env as airflow_env
from onestop.simulators.process import SimulatorProcess, start_simulator

PORTAL_LOGIN = {
    "login": "portal",
    "password": "secret",
    "extra": {"dstcode": "H23", "madonvi": "000.00.00.H23"},
}
# dialect -> the simulator (onestop.simulators.<module>) that speaks it, and the demo credentials it expects
SIMULATORS: dict[str, tuple[str, dict]] = {
    "igate": ("igate", {"login": "igate", "password": "secret"}),
    "dvc_soap": ("soap_district", {"login": "soap", "password": "secret"}),
    "aspnet_xml": ("legacy_xml", {"login": "aspnet", "password": "secret"}),
    "lgsp_feed": ("feed", {"password": "feed-key"}),
}


@dataclass
class DemoResult:
    ok: bool
    problems: list[str]


def set_connection(conn_id: str, url: str, **fields) -> None:
    """Connections the way Airflow reads them from the environment (AIRFLOW_CONN_<ID>, JSON form)."""
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({"conn_type": "http", "host": url, **fields})


def truth(sim: SimulatorProcess) -> list[dict]:
    with requests.get(f"{sim.url}/_sim/truth", stream=True, timeout=60) as resp:
        resp.raise_for_status()
        return [json.loads(line) for line in resp.iter_lines() if line]


def start_simulators(
    stack: ExitStack,
    sources: list[SourceConfig],
    seed: int,
    dossiers: int,
    extra_args: tuple[str, ...] = (),
) -> tuple[dict[str, SimulatorProcess], SimulatorProcess]:
    demo_dir = settings.var_dir() / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    portal = stack.enter_context(start_simulator("portal", "--state", str(demo_dir / "portal.sqlite")))
    set_connection(registry.load().portal.conn_id, portal.url, **PORTAL_LOGIN)
    sims = {}
    per_source = max(dossiers // max(len(sources), 1), 1)
    for i, source in enumerate(sources):
        module, login = SIMULATORS[source.dialect]
        # A receipt span a little past the clock: new dossiers arrive when the clock advances.
        args = ["--seed", str(seed + i), "--count", str(per_source), "--span-days", "175", *extra_args]
        if source.district_code:
            args += ["--district", source.district_code]
        sims[source.name] = stack.enter_context(start_simulator(module, *args))
        set_connection(source.conn_id, sims[source.name].url, **login)
    return sims, portal


def run_round(dags: dict, sources: list[SourceConfig], console: Console) -> None:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        progress.enable(bar)
        try:
            overall = bar.add_task("DAG runs", total=len(sources) + 1)
            for source in sources:
                state = airflow_env.run_dag(dags[f"onestop_sync_{source.name}"])
                if state != "success":
                    raise RuntimeError(f"onestop_sync_{source.name} ended {state}")
                bar.advance(overall)
            state = airflow_env.run_dag(dags["onestop_deliver_portal"])
            if state != "success":
                raise RuntimeError(f"onestop_deliver_portal ended {state}")
            bar.advance(overall)
        finally:
            progress.disable()


def check(sims: dict[str, SimulatorProcess], portal: SimulatorProcess) -> DemoResult:
    """The database equals the sources minus their bad records; the portal holds exactly the database."""
    problems = []
    expected: dict[tuple[str, str], dict] = {}
    for name, sim in sims.items():
        for rec in truth(sim):
            if rec["bad"] is None and not rec.get("deleted"):
                expected[(name, rec["id"])] = rec
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT source, source_record_id, ma_ho_so, status FROM onestop.dossier"
            " WHERE NOT deleted AND conflict_with IS NULL"
        ).fetchall()
    held = {(r[0], r[1]): r for r in rows if r[0] in sims}
    if set(held) != set(expected):
        problems.append(
            f"database holds {len(held)} dossiers, sources have {len(expected)} good ones"
            f" ({len(set(expected) - set(held))} missing, {len(set(held) - set(expected))} extra)"
        )
    stale = [k for k, r in held.items() if k in expected and r[3] != expected[k]["status"]]
    if stale:
        problems.append(f"{len(stale)} dossiers are not at their source's latest status")
    with requests.get(f"{portal.url}/_inspect/dossiers", stream=True, timeout=60) as resp:
        at_portal = {
            d["MaHoSo"]: d["TrangThaiHoSo"] for d in map(json.loads, filter(None, resp.iter_lines()))
        }
    mine = {r[2]: r[3] for r in held.values()}
    if set(at_portal) != set(mine):
        problems.append(f"the portal holds {len(at_portal)} dossiers, the database {len(mine)}")
    behind = [code for code, status in mine.items() if at_portal.get(code) not in (None, status)]
    if behind:
        problems.append(f"{len(behind)} dossiers are at an older status at the portal")
    return DemoResult(not problems, problems)


def _round_line(since: datetime) -> str:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT COALESCE(sum(fetched), 0), COALESCE(sum(loaded), 0), COALESCE(sum(quarantined), 0),"
            " (SELECT count(*) FROM onestop.outbox WHERE delivered_at >= %(t)s)"
            " FROM onestop.sync_run WHERE started_at >= %(t)s AND state = 'loaded'",
            {"t": since},
        ).fetchone()
    return f"fetched {row[0]:,}, loaded {row[1]:,} new versions, quarantined {row[2]:,}, delivered {row[3]:,}"


# The summary table's columns (README's "What you will see" shows them: tests/simulators/test_demo.py).
SUMMARY_COLUMNS = (
    "source", "fetched", "loaded", "unchanged", "stale", "quarantined", "duplicates", "deleted", "delivered",
)  # fmt: skip


def summary_table(sources: list[SourceConfig], since: datetime) -> Table:
    table = Table(title="onestop demo: this run, per source")
    table.add_column(SUMMARY_COLUMNS[0])
    for col in SUMMARY_COLUMNS[1:]:
        table.add_column(col, justify="right")
    with db.connect() as conn:
        for source in sources:
            row = conn.execute(
                "SELECT COALESCE(sum(fetched), 0), COALESCE(sum(loaded), 0), COALESCE(sum(unchanged), 0),"
                " COALESCE(sum(stale), 0), COALESCE(sum(quarantined), 0), COALESCE(sum(duplicates), 0),"
                " COALESCE(sum(deleted), 0),"
                " (SELECT count(*) FROM onestop.outbox o JOIN onestop.dossier d ON d.uid = o.uid"
                "  WHERE d.source = %(s)s AND o.delivered_at >= %(t)s)"
                " FROM onestop.sync_run WHERE source = %(s)s AND started_at >= %(t)s AND state = 'loaded'",
                {"s": source.name, "t": since},
            ).fetchone()
            table.add_row(source.name, *(f"{v:,}" for v in row))
    return table


def run(
    seed: int = 20250701, dossiers: int = 5000, advance_hours: float = 48, console: Console | None = None
) -> int:
    console = console or Console()
    started = datetime.now(UTC)
    reg = registry.load()
    sources = [s for s in reg.sources if s.dialect in SIMULATORS]
    os.environ.setdefault("ONESTOP_TASK_RETRIES", "0")
    airflow_env.configure()
    with ExitStack() as stack:
        url = stack.enter_context(embedded_db.running())
        os.environ["ONESTOP_DB_URL"] = url  # the DAGs' tasks reach the same database
        stack.callback(os.environ.pop, "ONESTOP_DB_URL", None)
        console.print(f"[bold]database[/] {url}")
        db.upgrade(url)
        with console.status("starting simulators and Airflow"):
            sims, portal = start_simulators(stack, sources, seed, dossiers)
            airflow_env.migrate()
            dags = airflow_env.dags()
        console.print(f"[bold]district systems[/] {len(sims)} · [bold]portal[/] {portal.url}")
        run_round(dags, sources, console)
        console.print(f"round 1: {_round_line(started)}")
        for sim in sims.values():
            requests.post(
                f"{sim.url}/_sim/clock", json={"advance_hours": advance_hours}, timeout=30
            ).raise_for_status()
        console.print(f"district clocks advanced {advance_hours:g} h: dossiers moved on")
        second = datetime.now(UTC)
        run_round(dags, sources, console)
        console.print(f"round 2: {_round_line(second)}")
        console.print(summary_table(sources, started))
        result = check(sims, portal)
        summary = requests.get(f"{portal.url}/_inspect/summary", timeout=30).json()
        console.print(f"portal: accepted {summary['accepted']:,}, received {summary['received']:,}")
    for problem in result.problems:
        console.print(f"[red]check failed:[/] {problem}")
    if result.ok:
        console.print(
            "[green]check: database = sources − bad records; the portal holds each dossier once, at its latest status[/]"
        )
    return 0 if result.ok else 1
