"""`onestop`: the command line of onestop-esb (run `onestop --help`)."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from onestop import embedded_db

app = typer.Typer(help="onestop-esb: sync district one-stop systems into the provincial database and the portal.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)  # fmt: skip
db_app = typer.Typer(help="The unified database (embedded PostgreSQL unless ONESTOP_DB_URL is set).")
simulate_app = typer.Typer(help="Simulators of district systems and the portal (for demos and tests).")
schema_app = typer.Typer(help="The canonical provincial dossier schema.")
config_app = typer.Typer(help="The source registry and mappings.")
app.add_typer(db_app, name="db")
app.add_typer(simulate_app, name="simulate")
app.add_typer(schema_app, name="schema")
app.add_typer(config_app, name="config")
mapping_app = typer.Typer(help="Vendor dialect mappings (mappings/<dialect>.yaml).")
app.add_typer(mapping_app, name="mapping")
source_app = typer.Typer(help="One registered source (district or sector system).")
app.add_typer(source_app, name="source")
# Without a terminal (CI, a pipe) rich assumes 80 columns, too narrow for the per-source tables.
console = Console() if sys.stdout.isatty() else Console(width=160)
# Noise from dependencies that says nothing to an operator of this product.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


def _logging(verbose: bool) -> None:
    from onestop.privacy import install_log_masking

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    install_log_masking()


@db_app.command("start")
def db_start() -> None:
    """Start the embedded PostgreSQL (idempotent) and apply migrations; prints its URL."""
    from onestop import db

    url = embedded_db.start()
    db.upgrade(url)
    print(url)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    print("stopped" if embedded_db.stop() else "not running")


@db_app.command("url")
def db_url() -> None:
    """Print the unified database's URL (fails when the embedded server is not running)."""
    print(embedded_db.database_url())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the unified database."""
    from onestop import db

    with embedded_db.running() as url:
        db.upgrade(url)
        print(f"at revision {db.current_revision(url)}")


@db_app.command("rehash-citizen-ids")
def db_rehash_citizen_ids() -> None:
    """After the citizen-ID key (connection onestop_citizen_id_key) was set or changed: every dossier's lookup
    hash again, so the trace finds citizens by ID."""
    from onestop import db, privacy

    with embedded_db.running() as url, db.connect(url) as conn:
        print(f"rehashed {privacy.rehash_citizen_ids(conn)} dossiers")


@simulate_app.command("igate", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def simulate_igate(ctx: typer.Context) -> None:
    """An iGate-style REST district system (options: see `--help` of the simulator)."""
    from onestop.simulators import igate

    igate.main(ctx.args)


@simulate_app.command("portal", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def simulate_portal(ctx: typer.Context) -> None:
    """The National Public Service Portal."""
    from onestop.simulators import portal

    portal.main(ctx.args)


@app.command()
def demo(
    seed: int = 20250701,
    dossiers: Annotated[int, typer.Option(help="dossiers across all district systems")] = 5000,
    advance_hours: float = 48,
    verbose: bool = False,
) -> None:
    """The whole flow on embedded defaults: simulators, DAG runs, a clock advance, a summary and checks."""
    from onestop import demo as demo_module

    _logging(verbose)
    raise typer.Exit(
        demo_module.run(seed=seed, dossiers=dossiers, advance_hours=advance_hours, console=console)
    )


@app.command()
def ui(
    dossiers: Annotated[int, typer.Option(help="dossiers across all district systems")] = 1200,
    port: Annotated[int | None, typer.Option(help="Airflow's port (default 8080, else a free one)")] = None,
) -> None:
    """The administrators' console on one machine: database, simulators, failures, Airflow (127.0.0.1 only)."""
    from onestop import ui as ui_module

    raise typer.Exit(ui_module.main(dossiers=dossiers, port=port))


@app.command()
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

    _logging(verbose)
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


@app.command()
def deliver(verbose: bool = False) -> None:
    """Drain the outbox to the portal."""
    from onestop import pipeline

    _logging(verbose)
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


@app.command()
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
    from onestop import alerts, db, registry

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


@app.command()
def checksum() -> None:
    """A checksum of the canonical rows (volatile columns excluded), for comparing two runs."""
    from connectors.store import status
    from onestop import db

    with embedded_db.running(), db.connect() as conn:
        print(status.checksum(conn))


@app.command()
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
    from onestop.redrive import redrive as run_redrive

    _logging(verbose)
    with embedded_db.running():
        counts = run_redrive(source, error_class, ids)
        out = counts.as_dict()
        if deliver_now and (counts.redriven or counts.deliveries):
            out["delivery"] = pipeline.deliver().as_dict()
    print(json.dumps(out))


@app.command()
def trace(
    query: Annotated[str, typer.Argument(help="a MaHoSo, a source record id or a citizen ID (9/12 digits)")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """Trace a dossier (Tra cứu hồ sơ): fetched, staged, quarantined or loaded, queued, sent, delivered."""
    from rich.text import Text

    from onestop import db
    from onestop import trace as tracing
    from onestop.trace_timeline import local_time
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


@app.command()
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

    from onestop.reconcile import reconcile as run_reconcile

    _logging(verbose)
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


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would go, change nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    verbose: bool = False,
) -> None:
    """Purge raw payloads (citizens' personal data) past their retention (config/sources.yaml `retention:`).

    Staged records and quarantined payloads go, their hashes stay (the message log still verifies); the unified
    dossiers are the system of record and are never purged."""
    from onestop.retention import purge as run_purge

    _logging(verbose)
    with embedded_db.running():
        report = run_purge(dry_run=dry_run)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        console.print(report.table())


@app.command()
def chaos(
    scale: Annotated[float, typer.Option(help="1.0 = 20,400 dossiers over the 13 sources")] = 1.0,
    only: Annotated[list[str] | None, typer.Option(help="run the scenarios whose name contains this")] = None,
) -> None:
    """Fault injection over a whole simulated province (its own database in var/chaos), checked against the
    simulators' and the portal's ground truth. The last line: `chaos: N scenarios, M dossiers, lost L, duplicated D`."""
    from onestop import settings
    from onestop.chaos.suite import run as run_chaos

    raise typer.Exit(run_chaos(scale, settings.var_dir() / "chaos", only))


@app.command()
def pools() -> None:
    """Airflow pools for every source, as JSON for `airflow pools import` (one pool caps calls into one system)."""
    from onestop import registry

    reg = registry.load()
    doc = {s.pool: {"slots": s.pool_slots, "description": f"calls into {s.title}", "include_deferred": False}
           for s in reg.sources}  # fmt: skip
    print(json.dumps(doc, ensure_ascii=False, indent=2))


@schema_app.command("export")
def schema_export(out: Annotated[Path | None, typer.Option(help="file (default: stdout)")] = None) -> None:
    """The canonical dossier as JSON Schema."""
    from schemas import Dossier

    text = json.dumps(Dossier.model_json_schema(), ensure_ascii=False, indent=2)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)


@config_app.command("check")
def config_check(
    live: Annotated[
        str | None,
        typer.Option("--live", help="also read this source's first page and check the paths the spec reads"),
    ] = None,
) -> None:
    """Validate the source registry and every mapping it names; errors give file and line."""
    from connectors.connection import get_connection, tls_verification_off
    from connectors.errors import ConfigError
    from mappings import MappingError, get_mapping
    from onestop import registry

    problems: list[str] = []
    try:
        reg = registry.load()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        print("registry has errors", file=sys.stderr)
        raise typer.Exit(1) from None
    for dialect in sorted({s.dialect for s in reg.sources}):
        try:
            get_mapping(dialect)
        except MappingError as exc:
            problems += [str(p) for p in exc.problems]
        except FileNotFoundError as exc:
            problems.append(str(exc))
    for conn_id in dict.fromkeys([s.conn_id for s in reg.sources] + [reg.portal.conn_id]):
        try:
            conn = get_connection(conn_id)
        except ConfigError as exc:
            problems.append(f"warning: {exc}")
            continue
        if tls_verification_off(conn):
            problems.append(
                f"warning: connection {conn_id!r} turns TLS certificate verification off (verify_tls)"
            )
    if live is not None:
        problems += _live_problems(reg.source(live) if live in reg.names() else None, live)
    for p in problems:
        print(p, file=sys.stderr)
    errors = [p for p in problems if not p.startswith("warning:")]
    print(f"{len(reg.sources)} sources, {len(errors)} errors, {len(problems) - len(errors)} warnings")
    raise typer.Exit(1 if errors else 0)


def _live_problems(source, name: str) -> list[str]:
    from onestop.preview import preview

    if source is None:
        return [f"--live {name}: no source of that name in the registry"]
    result = preview(source, pages=1, show=0)
    found = [f"{source.name} (live): {p}" for p in result.problems]
    if result.error:
        found.append(f"{source.name} (live): {result.error}")
    return found


@config_app.command("reference")
def config_reference(
    out: Annotated[
        Path | None, typer.Option(help="file (e.g. docs/sources-reference.md; default: stdout)")
    ] = None,
) -> None:
    """Every key a source entry and its `rest:` section may say, generated from the spec models (Markdown)."""
    from connectors.spec.reference import markdown

    if out:
        out.write_text(markdown(), encoding="utf-8")
    else:
        print(markdown(), end="")


@source_app.command("preview")
def source_preview(
    name: str,
    pages: Annotated[int, typer.Option("--pages", min=1, help="pages to read")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    since: Annotated[
        str | None, typer.Option(help="read [now - since, now], e.g. 7d (default: from the source's start)")
    ] = None,
    show: Annotated[int, typer.Option(help="normalized records to show")] = 3,
) -> None:
    """A dry run against the live system that writes nothing: requests, records per page, the first records
    normalized, and why others would be quarantined. Exits 1 when a call fails (with the system's words)."""
    from dataclasses import asdict

    from connectors.errors import ConfigError
    from connectors.spec.common import parse_duration
    from onestop import registry
    from onestop.preview import preview

    try:
        source = registry.load().source(name)
        window = parse_duration(since) if since else None
        if since and not hasattr(window, "total_seconds"):
            raise ConfigError(f"--since {since!r}: a duration such as 30m, 6h or 7d")
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise typer.Exit(2) from None
    result = preview(source, pages=pages, since=window, show=show)
    if as_json:
        print(json.dumps(asdict(result), ensure_ascii=False, indent=2, default=str))
    else:
        _print_preview(result)
    raise typer.Exit(0 if result.ok else 1)


def _print_preview(result) -> None:
    console.print(
        f"[bold]{result.source}[/] ({result.kind}): window {result.window[0]} .. {result.window[1]}"
    )
    for i, request in enumerate(result.requests, 1):
        console.print(
            f"request {i}: " + json.dumps(request, ensure_ascii=False), highlight=False, markup=False
        )
    for i, n in enumerate(result.records_per_page, 1):
        console.print(f"page {i}: {n} records")
    for record in result.records:
        console.print_json(json.dumps(record, ensure_ascii=False, default=str))
    for reason, n in result.would_quarantine.items():
        console.print(f"would be quarantined: {n} × {reason}", highlight=False, markup=False)
    for problem in result.problems:
        console.print(f"[yellow]problem:[/] {problem}")
    if result.error:
        console.print(f"[red]failed:[/] {result.error}", highlight=False)


@mapping_app.command("try")
def mapping_try(
    dialect: str,
    quarantined: Annotated[
        bool, typer.Option("--quarantined", help="try the open quarantined records")
    ] = True,
    file: Annotated[
        Path | None, typer.Option(help="a mapping file to try instead of mappings/<dialect>.yaml")
    ] = None,
    show: Annotated[int, typer.Option(help="failing records to list")] = 10,
) -> None:
    """Dry-run a changed mapping against the dialect's quarantined records: what would now pass."""
    from onestop.mapping_try import try_mapping
    from schemas.personal_data import mask_text

    with embedded_db.running():
        result = try_mapping(dialect, file)
    print(f"{dialect}: {result.tried} quarantined records tried, {len(result.would_pass)} would now pass,"
          f" {len(result.still_failing)} still fail")  # fmt: skip
    for reason, n in result.reasons.most_common():
        print(f"  {n:6d}  {reason}")
    for _source, _record, reasons in result.still_failing[:show]:
        for line in reasons:
            print(f"  {mask_text(line)}")


if __name__ == "__main__":
    app()
