"""The commands of whoever configures the ESB: the canonical schema, the source registry's checks and reference,
a source's live preview and a mapping's dry run against the quarantine."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from onestop import embedded_db
from onestop.cli.terminal import console

schema_app = typer.Typer(help="The canonical provincial dossier schema.")
config_app = typer.Typer(help="The source registry and mappings.")
mapping_app = typer.Typer(help="Vendor dialect mappings (mappings/<dialect>.yaml).")
source_app = typer.Typer(help="One registered source (district or sector system).")


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
    from connectors.connection import (
        field_value,
        get_connection,
        proxy_problem,
        tls_legacy,
        tls_verification_off,
    )
    from connectors.errors import ConfigError
    from mappings import MappingError, get_mapping, mapping_path
    from onestop import registry, settings

    problems: list[str] = []
    try:
        reg = registry.load()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        print("registry has errors", file=sys.stderr)
        raise typer.Exit(1) from None
    if not reg.sources:
        problems.append(
            f"warning: {settings.sources_file()} declares no sources: no DAG will sync anything "
            "(`sources:` deleted, or left empty?)"
        )
    for dialect in sorted({s.dialect for s in reg.sources}):
        try:
            mapping_path(dialect)
        except MappingError as exc:  # no such file: say which sources name it
            users = ", ".join(s.name for s in reg.sources if s.dialect == dialect)
            problems += [f"{p} (the dialect of {users})" for p in exc.problems]
            continue
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
        if (proxy := field_value("", conn.extra, "proxy")) and (problem := proxy_problem(proxy)):
            problems.append(f"connection {conn_id!r}: {problem}")
        if tls_verification_off(conn):
            problems.append(
                f"warning: connection {conn_id!r} turns TLS certificate verification off (verify_tls)"
            )
        if tls_legacy(conn):
            problems.append(
                f"warning: connection {conn_id!r} accepts an old server's TLS 1.0/1.1, weak keys and ciphers "
                "(tls_legacy): plan the server's upgrade"
            )
    if live is not None:
        problems += _live_problems(reg.source(live) if live in reg.names() else None, live)
    for p in problems:
        print(p, file=sys.stderr)
    errors = [p for p in problems if not p.startswith("warning:")]
    print(f"{len(reg.sources)} sources, {len(errors)} errors, {len(problems) - len(errors)} warnings")
    raise typer.Exit(1 if errors else 0)


def _live_problems(source, name: str) -> list[str]:
    from onestop.operations.preview import preview

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
    from onestop.operations.preview import preview

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
    from onestop.operations.mapping_try import try_mapping
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
