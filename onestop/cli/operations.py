"""The operators' commands: sync and deliver without Airflow, status and its alert check, re-drive, trace,
reconcile, purge, and the Airflow pools."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from onestop import embedded_db
from onestop.cli.terminal import console, setup_logging

commands = typer.Typer()  # top-level commands (`onestop sync`): onestop.cli adds them without a group name


@commands.command()
def sync(
    source: Annotated[list[str] | None, typer.Argument(help="source names (default: all)")] = None,
    since: Annotated[datetime | None, typer.Option(help="read from this time (a backfill)")] = None,
    until: Annotated[datetime | None, typer.Option(help="read up to this time")] = None,
    skip_refused: Annotated[
        bool,
        typer.Option(
            help="read past pages the source serves that cannot be read at all (not JSON/XML, a DTD, a SOAP Fault…):"
            " each is recorded (onestop.attempt, admin_action) and the watermark moves on"
        ),
    ] = False,
    verbose: bool = False,
) -> None:
    """Sync sources without Airflow (plan, extract, load), printing each run's counts. A source that fails says
    why in one line (the system's own words, personal data masked; --verbose for the traceback) and the others
    go on; exit 1 if any failed."""
    import getpass

    from connectors.errors import ConfigError
    from connectors.store import refusals
    from onestop import db, pipeline, registry
    from schemas.personal_data import quote_answer

    setup_logging(verbose)
    names = source or registry.load().names()
    interval = (since, until or datetime.now().astimezone()) if since else None
    failed = 0
    with embedded_db.running():
        for name in names:
            try:
                if skip_refused:
                    registry.load().source(name)  # an unknown name fails here, before any request is kept
                    with db.connect(autocommit=True) as conn:
                        refusals.request_skip(
                            conn, name, f"cli:{getpass.getuser()}", "onestop sync --skip-refused"
                        )
                counts = pipeline.sync(name, interval=interval)
            except Exception as exc:  # one source's failure, whatever it is, never stops the others
                if verbose:
                    logging.getLogger("onestop.cli").exception("sync %s failed", name)
                known = isinstance(exc, ConfigError) or hasattr(exc, "endpoint")
                message = str(exc) if known else f"{type(exc).__name__}: {exc}"
                print(json.dumps({"source": name, "error": type(exc).__name__, "message": quote_answer(message)},
                                 ensure_ascii=False), file=sys.stderr)  # fmt: skip
                failed += 1
                continue
            print(json.dumps({"source": name, **counts.as_dict()}))
    if failed:
        raise typer.Exit(1)


@commands.command()
def deliver(verbose: bool = False) -> None:
    """Drain the outbox to the portal."""
    from onestop import pipeline

    setup_logging(verbose)
    with embedded_db.running():
        print(json.dumps(pipeline.deliver().as_dict()))


def _status() -> dict:
    from connectors.store import status
    from onestop import db, registry

    reg = registry.load()
    with db.connect() as conn:
        counters = status.source_counters(conn)
        out = {"sources": [], "database": status.database_counts(conn), "portal": status.portal_counts(conn)}
    zero = dict.fromkeys(
        ("fetched", "loaded", "unchanged", "stale", "quarantined", "duplicates", "deleted", "delivered"), 0
    )
    for s in reg.sources:
        c = {**zero, "watermark": None, "last_sync": None, **counters.get(s.name, {})}
        wm = c["watermark"].isoformat() if c["watermark"] else None
        out["sources"].append(
            {"name": s.name, "kind": s.kind, "dialect": s.dialect, **{k: c[k] for k in zero}, "watermark": wm}
        )
    return out


@commands.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="alert rules only; exit 0 ok, 1 warning, 2 critical, 3 unknown")
    ] = False,
) -> None:
    """Counters per source since the start, the database and the portal."""
    if check:
        _status_check()
    with embedded_db.running():
        data = _status()
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    table = Table(title="onestop status (cumulative)")
    keys = ("fetched", "loaded", "unchanged", "stale", "quarantined", "duplicates", "deleted", "delivered")
    for col in ("source", "kind", "dialect", *keys, "watermark"):
        table.add_column(col, justify="right" if col in keys else "left")
    for s in data["sources"]:
        table.add_row(s["name"], s["kind"], s["dialect"], *(f"{s[k]:,}" for k in keys), s["watermark"] or "—")
    console.print(table)
    d, p = data["database"], data["portal"]
    console.print(
        f"database: {d['dossiers']:,} dossiers, {d['quarantined']:,} quarantined (open),"
        f" {d['deleted']:,} deleted by their source, {d['conflicts']:,} MaHoSo conflicts (open)"
    )
    console.print(f"portal: {p['accepted']:,} accepted, {p['received']:,} received")


def _status_check() -> None:
    """Nagios/Zabbix style: one line per problem (the most severe first), or one OK line."""
    from onestop import db, registry
    from onestop.airflow import alerts

    try:
        reg = registry.load()
        with embedded_db.running(), db.connect(autocommit=True) as conn:
            problems = alerts.check(conn, reg)
    except Exception as exc:  # the monitor must tell "cannot tell" from "all is well"
        print(f"UNKNOWN: {type(exc).__name__}: {exc}")
        raise typer.Exit(3) from None
    for problem in problems:
        print(problem.line())
    if not problems:
        print(f"OK: {len(reg.sources)} sources fresh, error rates under threshold")
    raise typer.Exit(alerts.exit_code(problems))


@commands.command()
def checksum() -> None:
    """A checksum of the canonical rows (volatile columns excluded), for comparing two runs."""
    from connectors.store import status
    from onestop import db

    with embedded_db.running(), db.connect() as conn:
        print(status.checksum(conn))


@commands.command()
def redrive(
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    error_class: Annotated[
        str | None, typer.Option(help="only this error class (quarantine) or portal code")
    ] = None,
    ids: Annotated[list[str] | None, typer.Option("--ids", help="record ids, dossier uids or MaHoSo")] = None,
    deliver_now: Annotated[
        bool, typer.Option("--deliver/--no-deliver", help="drain the outbox after")
    ] = True,
    verbose: bool = False,
) -> None:
    """Send quarantined records and failed deliveries through the pipeline again (after a fix or an outage)."""
    from onestop import pipeline
    from onestop.operations.redrive import redrive as run_redrive

    setup_logging(verbose)
    with embedded_db.running():
        counts = run_redrive(source, error_class, ids)
        out = counts.as_dict()
        if deliver_now and (counts.redriven or counts.deliveries):
            out["delivery"] = pipeline.deliver().as_dict()
    print(json.dumps(out))


@commands.command()
def trace(
    query: Annotated[str, typer.Argument(help="a MaHoSo, a source record id or a citizen ID (9/12 digits)")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """Trace a dossier (Tra cứu hồ sơ): fetched, staged, quarantined or loaded, queued, sent, delivered."""
    from rich.text import Text

    from onestop import db
    from onestop.operations import trace as tracing
    from onestop.operations.trace_timeline import local_time
    from schemas.personal_data import mask_text

    with embedded_db.running(), db.connect() as conn:
        found = tracing.find(conn, query)
    if not found:
        print(f"no dossier or quarantined record found for {mask_text(query.strip())!r}", file=sys.stderr)
        raise typer.Exit(1)
    if as_json:
        print(json.dumps([t.as_dict() for t in found], ensure_ascii=False, indent=2))
        return
    for t in found:
        who = f", applicant {t.applicant_id_masked}" if t.applicant_id_masked else ""
        console.print(Text(f"{t.source} / {t.source_record_id}  MaHoSo {t.ma_ho_so or '—'}  [{t.state}]{who}",
                           style="bold"))  # fmt: skip
        table = Table()
        for col in ("time", "step", "version", "run", "detail"):
            table.add_column(col, justify="right" if col in ("version", "run") else "left")
        for e in t.events:
            run = f"{e.run_id} ({e.airflow_run_id})" if e.airflow_run_id else str(e.run_id or "")
            table.add_row(local_time(e.at), Text(e.label), "" if e.version is None else str(e.version),
                          Text(run), Text(e.detail))  # fmt: skip
        console.print(table)


@commands.command()
def reconcile(
    day: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD, an Asia/Ho_Chi_Minh day (default: yesterday)")
    ] = None,
    source: Annotated[list[str] | None, typer.Option(help="only these sources")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    verbose: bool = False,
) -> None:
    """Compare one day's dossiers at each source, in the database and at the portal; store and print the report.
    Exits 1 when any mismatch is found (each is a row `onestop redrive` can repair)."""
    from datetime import date

    from onestop.operations.reconcile import reconcile as run_reconcile

    setup_logging(verbose)
    with embedded_db.running():
        reports = run_reconcile(date.fromisoformat(day) if day else None, source or None)
    if as_json:
        print(json.dumps([r.as_dict() for r in reports], ensure_ascii=False, default=str))
    else:
        table = Table(title=f"Reconciliation {reports[0].day if reports else day}")
        for col in ("source", "at source", "bad", "in database", "at portal", "mismatches"):
            table.add_column(col, justify="left" if col == "source" else "right")
        for r in reports:
            kinds: dict[str, int] = {}
            for m in r.mismatches:
                kinds[m.kind] = kinds.get(m.kind, 0) + 1
            table.add_row(
                r.source,
                "—" if r.source_count is None else str(r.source_count),
                "—" if r.source_bad is None else str(r.source_bad),
                str(r.db_count),
                str(r.portal_count),
                ", ".join(f"{k} {n}" for k, n in kinds.items()) or "0",
            )
        console.print(table)
    if any(not r.ok for r in reports):
        raise typer.Exit(1)


@commands.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would go, change nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    verbose: bool = False,
) -> None:
    """Purge raw payloads (citizens' personal data) past their retention (config/sources.yaml `retention:`).

    Staged records and quarantined payloads go, their hashes stay (the message log still verifies); the unified
    dossiers are the system of record and are never purged."""
    from onestop.operations.retention import purge as run_purge

    setup_logging(verbose)
    with embedded_db.running():
        report = run_purge(dry_run=dry_run)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        console.print(report.table())


@commands.command()
def pools() -> None:
    """Airflow pools for every source, as JSON for `airflow pools import` (one pool caps calls into one system)."""
    from onestop import registry

    reg = registry.load()
    doc = {s.pool: {"slots": s.pool_slots, "description": f"calls into {s.title}", "include_deferred": False}
           for s in reg.sources}  # fmt: skip
    print(json.dumps(doc, ensure_ascii=False, indent=2))
