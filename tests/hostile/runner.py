"""`make test-hostile`: every hostile input of tests/hostile/inputs.yaml through the real sync path, each run
classified against the outcome the input declares, every stored error and log scanned for planted personal data.

Observed outcomes, per input (one primary class; `leaked` is counted on its own):
  crashed      the run ended by an exception outside connectors.errors' hierarchy (ConnectorError, ConfigError
               and their subclasses): RecursionError, UnicodeEncodeError, psycopg's DataError, a KeyError…
               (pipeline: the exception raised; dag: onestop.task_failure.error_class; cli: the class the
               sync_run error starts with, as pipeline.sync records it); or the run's sync_run row is left
               planned/extracting/extracted, or there is none (the command died before this source)
  half-loaded  a failed run left staging rows of its own, rows loaded or quarantined by it, or moved the watermark
  unexpected   neither, but not what the input declares (refused/quarantined/loaded with its details)
  leaked       a planted citizen ID, phone (their digits, every non-digit removed from the text) or e-mail
               (its local part) found in a stored error or log text: every text, jsonb and text[] column of every
               onestop table but the record-data columns of EXEMPT, the captured stdout/stderr/logging of the
               run, the Airflow task logs of dag.test() runs, the embedded PostgreSQL's log, the CLI's output
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import traceback
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from connectors.store import staging
from schemas.text_safety import ascii_digits
from tests.hostile import manifest
from tests.hostile.harness import CLI_SOURCES, NON_TERMINAL, Captured, Harness, clean_error_classes, source_of
from tests.hostile.manifest import HostileInput, HostileRecord
from tests.hostile.pages import PLANTED, Builder, Page

# Columns that hold a record's own data by design: personal data there is the record, not an error text. Every
# other text, jsonb and text[] column of every onestop table is scanned: sync_run.error, attempt.message,
# task_failure.message, quarantine.errors/record_id, circuit.last_error, outbox.error, alert.message, the
# message log's ids… (today neither onestop.outbox nor onestop.message_log keeps a record's content: the
# outbox holds keys and the portal's answer, the message log hashes and ids.)
EXEMPT: dict[tuple[str, str], str] = {
    # A run's staged tables (onestop.staged_<run>_*, named here without the run) hold what the dossier and the
    # quarantine will: dropped when the run loads, else purged after the retention period.
    ("staged_bad", "payload"): "each bad record as sent, until its run loads (then in the quarantine)",
    ("staged_bad", "record_id"): "the source's record id, as sent",
    ("staged_good", "record"): "the canonical record, until its run loads (then in the dossier)",
    ("staged_good", "source_record_id"): "the record's id",
    ("staged_good", "ma_ho_so"): "the record's MaHoSo",
    ("staged_good", "procedure_code"): "the record's procedure code",
    ("staged_good", "agency_code"): "the record's agency code",
    ("staged_good", "district_code"): "the record's unit codes",
    ("staged_good", "commune_code"): "the record's unit codes",
    ("staged_good", "applicant_id_hash"): "a hash of the citizen ID, by design",
    ("staged_deleted", "record_id"): "the source's record id, as sent",
    ("staging", "record_id"): "the source's record id, as sent",
    ("quarantine", "payload"): "the raw record kept for a re-drive (masked in the console)",
    ("dossier", "record"): "the canonical record: applicant.id_number, phone and email are its data",
    ("dossier", "ma_ho_so"): "the record's MaHoSo",
    ("dossier", "source_record_id"): "the record's id",
    ("dossier", "procedure_code"): "the record's procedure code",
    ("dossier", "agency_code"): "the record's agency code",
    ("dossier", "district_code"): "the record's unit codes",
    ("dossier", "commune_code"): "the record's unit codes",
    ("dossier", "applicant_id_hash"): "a hash of the citizen ID, by design",
    ("outbox", "ma_ho_so"): "the record's MaHoSo (the portal's key)",
    ("conflict", "ma_ho_so"): "the record's MaHoSo",
}
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def planted_needles() -> dict[str, str]:
    """What a leak looks like: each planted number's digits; the e-mail's local part."""
    needles = {k: re.sub(r"\D", "", v) for k, v in PLANTED.items() if k != "email"}
    needles["email"] = PLANTED["email"].split("@")[0].lower()
    return needles


NEEDLES = planted_needles()


def leaks_in(text: str) -> list[str]:
    """The planted items found in `text` (digits: in the text with every non-digit removed, any script's digits
    read as ASCII; the e-mail: in the text's NFKC, so that a full-width one is found too)."""
    if not text:
        return []
    digits = ascii_digits(re.sub(r"\D", "", text))
    found = [k for k, v in NEEDLES.items() if k != "email" and v in digits]
    if NEEDLES["email"] in unicodedata.normalize("NFKC", text).lower():
        found.append("email")
    return found


@dataclass
class Run:
    """One source's run as observed."""

    source: str
    run_id: int | None = None
    state: str | None = None
    error: str = ""
    exception: str | None = None  # "Class: message" of what ended it, when known
    error_class: str | None = None
    attempts: int = 0
    staged_left: int = 0
    rows_of_failed_run: int = 0
    watermark: bool = False
    # record id -> the texts staged for it (payload, then what staging knows of it), read before the load
    # released them (a loaded run keeps no payloads)
    staged: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Verdict:
    name: str
    protocol: str
    via: str
    declared: str  # refused | quarantined | loaded
    expected: str  # the declaration in words
    outcome: str = "ok"  # ok | unexpected | crashed | half-loaded
    observed: str = ""
    problems: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # "where: kinds"
    seconds: float = 0.0

    @property
    def bad(self) -> bool:
        return self.outcome != "ok" or bool(self.leaks)


# --- observing -------------------------------------------------------------------------------------------------


def observe_run(conn: psycopg.Connection, source: str) -> Run:
    run = Run(source)
    row = conn.execute(
        "SELECT run_id, state, coalesce(error, '') FROM onestop.sync_run WHERE source = %s ORDER BY run_id DESC LIMIT 1",
        (source,),
    ).fetchone()
    if row is None:
        return run
    run.run_id, run.state, run.error = row
    run.attempts = conn.execute(
        "SELECT count(*) FROM onestop.attempt WHERE run_id = %s", (run.run_id,)
    ).fetchone()[0]
    run.watermark = (
        conn.execute("SELECT count(*) FROM onestop.watermark WHERE source = %s", (source,)).fetchone()[0] > 0
    )
    if run.state == "failed":
        run.staged_left = conn.execute(
            "SELECT count(*) FROM onestop.staging WHERE run_id = %s", (run.run_id,)
        ).fetchone()[0]
        run.rows_of_failed_run = conn.execute(
            "SELECT (SELECT count(*) FROM onestop.dossier WHERE %(r)s IN (last_run_id, deleted_run_id))"
            " + (SELECT count(*) FROM onestop.quarantine WHERE run_id = %(r)s)",
            {"r": run.run_id},
        ).fetchone()[0]
    return run


def text_columns(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(table, column) of every text-like column of the onestop tables (text, varchar, jsonb, json, text[])."""
    rows = conn.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE c.table_schema = 'onestop' AND t.table_type = 'BASE TABLE' AND c.table_name <> 'alembic_version'"
        " AND (c.data_type IN ('text', 'character varying', 'jsonb', 'json') OR c.udt_name IN ('_text', '_varchar'))"
        " ORDER BY 1, 2"
    ).fetchall()
    return [(t, c) for t, c in rows]


def stored_texts(
    conn: psycopg.Connection, columns: list[tuple[str, str]], exempt: bool = True
) -> Iterable[tuple[str, str, dict]]:
    """(where, text, row context) of every non-null value of `columns` (the EXEMPT ones left out): one query
    per table."""
    tables: dict[str, list[str]] = {}
    for table, column in columns:
        if not (exempt and (re.sub(r"^staged_[0-9]+_", "staged_", table), column) in EXEMPT):
            tables.setdefault(table, []).append(column)
    for table, cols in tables.items():
        context = [c for t, c in columns if t == table and c in ("source", "endpoint", "chain")]
        select = ", ".join([f'"{c}"::text' for c in cols] + [f'"{c}"' for c in context])
        for row in conn.execute(f'SELECT {select} FROM onestop."{table}"'):
            about = dict(zip(context, row[len(cols) :], strict=True))
            for column, value in zip(cols, row[: len(cols)], strict=True):
                if value is not None:
                    yield f"{table}.{column}", value, about


def forbidden_in_database(
    conn: psycopg.Connection, columns: list[tuple[str, str]], needles: list[str]
) -> list[str]:
    hits = []
    for where, text, _ in stored_texts(conn, columns, exempt=False):
        hits += [f"{needle!r} in {where}" for needle in needles if needle in text]
    return hits


_PG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] db=(\S*) ")


def own_lines(log: str, database: str) -> str:
    """The server log's lines about `database` (and the server's own, which name none): a line without the
    prefix continues the one before it."""
    kept, mine = [], True
    for line in log.splitlines():
        match = _PG_PREFIX.match(line)
        if match:
            mine = match[1] in ("", database)
        if mine:
            kept.append(line)
    return "\n".join(kept)


class LogWatch:
    """New text in a file since `mark()`: the PostgreSQL log (this harness's database only), Airflow's task
    log files."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.pg_size = 0
        self.airflow: dict[Any, int] = {}

    def mark(self) -> None:
        log = self.harness.pg_log()
        self.pg_size = log.stat().st_size if log is not None and log.is_file() else 0
        self.airflow = self.harness.airflow_logs()

    def new_text(self) -> list[tuple[str, str]]:
        out = []
        log = self.harness.pg_log()
        if log is not None and log.is_file():
            with log.open("rb") as f:
                f.seek(self.pg_size)
                text = f.read().decode("utf-8", "replace")
            out.append(("the PostgreSQL log", own_lines(text, self.harness.database_name)))
        for path, size in self.harness.airflow_logs().items():
            before = self.airflow.get(path, 0)
            if size > before:
                with path.open("rb") as f:
                    f.seek(before)
                    out.append((f"Airflow task log {path.name}", f.read().decode("utf-8", "replace")))
        return out


# --- judging ---------------------------------------------------------------------------------------------------


def _plain(name: str) -> str:
    """fees[0].amount_vnd -> fees.amount_vnd; 'a | b' paths split by the caller."""
    return re.sub(r"\[\d+\]", "", name).strip()


def _named_fields(errors: Any) -> set[str]:
    names: set[str] = set()
    for e in errors if isinstance(errors, list) else []:
        if not isinstance(e, dict):
            continue
        for key in ("field", "source_path"):
            for part in str(e.get(key) or "").split("|"):
                if part.strip():
                    names.add(_plain(part))
    return names


def _lookup(record: Any, path: str) -> Any:
    for step in path.split("."):
        record = record.get(step) if isinstance(record, dict) else None
    return record


def classify_crash(run: Run, clean: set[str]) -> str | None:
    """Why the run counts as crashed, or None."""
    if run.error_class is not None and run.error_class not in clean:
        return f"{run.exception or run.error_class}"
    if run.run_id is None:
        return "no sync run was recorded for the source"
    if run.state in NON_TERMINAL:
        return f"sync_run left in state {run.state!r}" + (f" ({run.exception})" if run.exception else "")
    return None


def judge(
    inp: HostileInput, page: Page, run: Run, conn: psycopg.Connection, clean: set[str]
) -> tuple[str, str, list[str]]:
    """(outcome, observed in words, problems) of one input's run."""
    crash = classify_crash(run, clean)
    if crash is not None:
        return "crashed", f"crashed: {crash}", []
    if run.state == "failed":
        observed = f"refused: {run.error}"
        half = []
        if run.staged_left:
            half.append(f"{run.staged_left} staging rows of the failed run left")
        if run.rows_of_failed_run:
            half.append(f"{run.rows_of_failed_run} dossier/quarantine rows written by the failed run")
        if run.watermark:
            half.append("the watermark moved")
        if half:
            return "half-loaded", observed + " [" + "; ".join(half) + "]", []
    else:
        quarantined = conn.execute(
            "SELECT count(*) FROM onestop.quarantine WHERE run_id = %s", (run.run_id,)
        ).fetchone()[0]
        loaded = conn.execute(
            "SELECT count(*) FROM onestop.dossier WHERE last_run_id = %s", (run.run_id,)
        ).fetchone()[0]
        observed = f"{run.state}: {loaded} dossiers, {quarantined} quarantined"
    problems = _judge_refused(inp, run) if inp.refused is not None else _judge_records(inp, page, run, conn)
    return ("unexpected" if problems else "ok"), observed, problems


def _judge_refused(inp: HostileInput, run: Run) -> list[str]:
    problems = []
    if run.state != "failed":
        return [f"the run ended {run.state!r}, not failed"]
    for pattern in inp.refused or []:
        if not re.search(pattern, run.error, re.IGNORECASE):
            problems.append(f"the error does not say /{pattern}/")
    if run.source not in run.error:
        problems.append("the error does not name the source")
    if run.attempts == 0:
        problems.append("no onestop.attempt row for the refused page")
    if inp.attempts == "1" and run.attempts != 1:
        problems.append(f"{run.attempts} attempts, want 1 (not retried)")
    if inp.attempts == ">=2" and run.attempts < 2:
        problems.append(f"{run.attempts} attempt(s), want >= 2 (retried)")
    return problems


def _judge_records(inp: HostileInput, page: Page, run: Run, conn: psycopg.Connection) -> list[str]:
    if run.state != "loaded":
        return [f"the run ended {run.state!r}, not loaded"]
    problems = []
    held = {
        rid: (record, flags)
        for rid, record, flags in conn.execute(
            "SELECT source_record_id, record, flags FROM onestop.dossier WHERE source = %s", (run.source,)
        )
    }
    missing = [rid for rid in page.good_ids if rid not in held]
    if missing:
        problems.append(f"{len(missing)} of {len(page.good_ids)} good records not loaded")
    rows = conn.execute(
        "SELECT record_id, errors FROM onestop.quarantine WHERE source = %s", (run.source,)
    ).fetchall()
    quarantine: dict[str, list[Any]] = {}
    for rid, errors in rows:
        quarantine.setdefault(rid, []).append(errors)
    known = set(page.good_ids) | {h.record.record_id for h in inp.records if h.record and h.record.record_id}
    anonymous = [rid for rid in quarantine if rid not in known]
    for n, hostile in enumerate(inp.records):
        problems += [
            f"record {n + 1}: {p}" for p in _judge_record(hostile, held, quarantine, anonymous, run, conn)
        ]
    return problems


def _judge_record(
    hostile: HostileRecord,
    held: dict[str, tuple[Any, list[str]]],
    quarantine: dict[str, list[Any]],
    anonymous: list[str],
    run: Run,
    conn: psycopg.Connection,
) -> list[str]:
    record = hostile.record
    assert record is not None
    rid = record.record_id
    problems = []
    if hostile.quarantined is not None:
        wanted = {_plain(f) for f in hostile.quarantined}
        if rid is None or ("*" in wanted and rid not in quarantine):
            if not anonymous:
                problems.append("no quarantine row for it")
        elif rid not in quarantine:
            problems.append("not quarantined" + (" (it loaded)" if rid in held else ""))
        elif "*" not in wanted:
            named = set().union(*(_named_fields(e) for e in quarantine[rid]))
            if not named & wanted:
                problems.append(f"quarantined naming {sorted(named)}, not one of {sorted(wanted)}")
        if rid is not None and rid in held:
            problems.append("it is in onestop.dossier too")
    elif hostile.loaded is not None:
        if rid not in held:
            problems.append("not loaded" + (" (quarantined)" if rid in quarantine else ""))
        else:
            canonical, flags = held[rid]
            expect = hostile.loaded
            if expect.get("flag") and expect["flag"] not in (flags or []):
                problems.append(f"no flag {expect['flag']!r} (flags {flags})")
            if expect.get("fix"):
                target = expect.get("field", "")
                fixes = [f for f in canonical.get("text_fixes") or [] if isinstance(f, dict)]
                if not any(
                    expect["fix"] in str(f.get("fix", ""))
                    and (not target or _plain(str(f.get("field"))) == target)
                    for f in fixes
                ):
                    problems.append(f"no text fix {expect['fix']!r} on {target} (fixes {fixes})")
                value = _lookup(canonical, target) if target else None
                if isinstance(value, str) and any(c in INVISIBLE + BIDI for c in value):
                    problems.append(f"{target} still holds invisible/bidi characters")
    if hostile.raw and rid is not None:
        # the record's text as sent, with what staging knows of it (past 1 MiB: its size and SHA-256)
        staged = run.staged.get(rid, [])
        if not staged:
            problems.append("no staging row for it")
        elif hostile.raw == "verbatim":
            for path, data in hostile.spliced.items():
                try:
                    sent = data.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if sent and not any(sent in p for p in staged):
                    problems.append(f"staging does not keep {path} as sent (re-serialized?)")
        elif hostile.raw == "digest":
            digest = hashlib.sha256(record.data).hexdigest()
            if not any(len(p.encode()) <= 65 * 1024 and digest in p for p in staged):
                sizes = [len(p.encode()) for p in staged]
                problems.append(
                    f"staged {sizes} bytes, want <= 64 KiB + 1 KiB holding the SHA-256 of the record"
                )
    return problems


# --- running ---------------------------------------------------------------------------------------------------


@dataclass
class Runner:
    harness: Harness
    builder: Builder = field(default_factory=Builder)
    clean: set[str] = field(default_factory=clean_error_classes)
    columns: list[tuple[str, str]] = field(default_factory=list)
    last_traceback: str = ""

    def __post_init__(self) -> None:
        with self.harness.connect() as conn:
            self.columns = text_columns(conn)

    def sync(self, source: str, via: str) -> Run:
        """One sync of `source` through the pipeline functions or its Airflow DAG; the exception's class is
        what counts (a clean connector error, or a crash)."""
        from onestop import pipeline

        exc_text, exc_class = None, None
        if via == "dag":
            self.harness.run_dag(source)
        else:
            staged: dict[str, list[str]] = {}
            try:  # pipeline.sync's three steps, to read what was staged before the load drops it (bad records: as sent)
                run_id = pipeline.plan(source).run_id
                pipeline.extract(run_id)
                with self.harness.connect() as conn:
                    for rid, text in conn.execute(
                        sql.SQL(
                            "SELECT s.record_id, b.payload || COALESCE(s.defects::text, '') FROM onestop.staging s"
                            " JOIN {} b USING (seq) WHERE s.run_id = %s"
                        ).format(staging.table(run_id, "bad")),
                        (run_id,),
                    ):
                        staged.setdefault(rid, []).append(text)
                pipeline.load(run_id)
            except BaseException as exc:  # classified below, never re-raised: the next input runs
                exc_class = type(exc).__name__
                exc_text = f"{exc_class}: {exc}"
                self.last_traceback = traceback.format_exc()
        with self.harness.connect() as conn:
            run = observe_run(conn, source)
            if via == "dag":
                failure = conn.execute(
                    "SELECT error_class, message FROM onestop.task_failure WHERE source = %s ORDER BY id DESC LIMIT 1",
                    (source,),
                ).fetchone()
                if failure is not None:
                    exc_class, exc_text = failure[0], f"{failure[0]}: {failure[1]}"
        run.exception, run.error_class = exc_text, exc_class
        if via != "dag":
            run.staged = staged
        return run

    def run_input(self, inp: HostileInput) -> Verdict:
        started = time.monotonic()
        if inp.via == "dag":
            self.harness.dags()  # Airflow's imports: not this input's time
        verdict = Verdict(inp.name, inp.protocol, inp.via, inp.declared, inp.describe())
        source = source_of(inp.protocol)
        page = manifest.build(inp, self.builder)
        self.harness.reset()
        self.harness.serve(source, page.replies, inp.protocol)
        watch = LogWatch(self.harness)
        watch.mark()
        self.last_traceback = ""
        with self.harness.captured() as out:
            run = self.sync(source, inp.via)
        with self.harness.connect() as conn:
            verdict.outcome, verdict.observed, verdict.problems = judge(inp, page, run, conn, self.clean)
            if inp.forbidden:
                verdict.problems += forbidden_in_database(conn, self.columns, inp.forbidden)
                if verdict.outcome == "ok" and verdict.problems:
                    verdict.outcome = "unexpected"
            if inp.rerun and verdict.outcome == "ok":
                self.harness.serve(source, page.replies, inp.protocol)  # the same answers again
                verdict.problems += self._rerun(inp, source, conn)
                if verdict.problems:
                    verdict.outcome = "unexpected"
            verdict.leaks = self._leaks(conn, out, watch, run, {source})
        verdict.seconds = time.monotonic() - started
        return verdict

    def _rerun(self, inp: HostileInput, source: str, conn: psycopg.Connection) -> list[str]:
        """The same answers again: the next run ends loaded, adds no version and no quarantine row."""
        versions, quarantined = conn.execute(
            "SELECT (SELECT count(*) FROM onestop.dossier_version), (SELECT count(*) FROM onestop.quarantine)"
        ).fetchone()
        with self.harness.captured():
            second = self.sync(source, inp.via)
        after = conn.execute(
            "SELECT (SELECT count(*) FROM onestop.dossier_version), (SELECT count(*) FROM onestop.quarantine)"
        ).fetchone()
        problems = []
        if second.state != "loaded":
            problems.append(f"rerun: ended {second.state!r} ({second.exception or second.error})")
        if after[0] != versions:
            problems.append(f"rerun: {after[0] - versions} new dossier versions")
        if after[1] != quarantined:
            problems.append(f"rerun: {after[1] - quarantined} new quarantine rows")
        return problems

    def leak_texts(
        self, conn: psycopg.Connection, out: Captured, watch: LogWatch, run: Run
    ) -> list[tuple[str, str, str | None]]:
        """(where, text, the source its row names) of every stored error and log text the run could have left."""
        texts: list[tuple[str, str, str | None]] = []
        for where, text, context in stored_texts(conn, self.columns):
            texts.append(
                (where, text, context.get("source") or context.get("endpoint") or context.get("chain"))
            )
        texts += [
            ("captured stdout", out.stdout, None),
            ("captured stderr", out.stderr, None),
            ("captured logging", out.logs, None),
            ("the exception (what `onestop sync` prints)", run.exception or "", None),
            ("the traceback", self.last_traceback, None),
        ]
        texts += [(where, text, None) for where, text in watch.new_text()]
        return texts

    def _leaks(
        self, conn: psycopg.Connection, out: Captured, watch: LogWatch, run: Run, sources: set[str]
    ) -> list[str]:
        found: dict[str, set[str]] = {}
        for where, text, owner in self.leak_texts(conn, out, watch, run):
            if owner is not None and owner not in sources and owner != "portal":
                continue
            kinds = leaks_in(text)
            if kinds:
                found.setdefault(where, set()).update(kinds)
        return [f"{where}: {','.join(sorted(kinds))}" for where, kinds in found.items()]

    def run_cli_group(self, inputs: list[HostileInput]) -> list[Verdict]:
        """The cli inputs, each on its own source, synced by ONE `onestop sync A B C` in a subprocess."""
        started = time.monotonic()
        if len(inputs) > len(CLI_SOURCES):
            raise ValueError(f"at most {len(CLI_SOURCES)} cli inputs")
        self.harness.reset()
        pages, sources = [], []
        for inp, source in zip(inputs, CLI_SOURCES, strict=False):
            page = manifest.build(inp, self.builder)
            self.harness.serve(source, page.replies, inp.protocol)
            pages.append(page)
            sources.append(source)
        watch = LogWatch(self.harness)
        watch.mark()
        code, stdout, stderr = self.harness.cli("sync", *sources)
        verdicts = []
        with self.harness.connect() as conn:
            for inp, page, source in zip(inputs, pages, sources, strict=True):
                verdict = Verdict(inp.name, inp.protocol, "cli", inp.declared, inp.describe())
                run = observe_run(conn, source)
                said = _cli_line(stdout + "\n" + stderr, source)
                if run.error:  # pipeline.sync records "Class: message" of what ended the run
                    run.error_class = run.error.split(":", 1)[0].strip() or None
                    run.exception = run.error
                verdict.outcome, verdict.observed, verdict.problems = judge(inp, page, run, conn, self.clean)
                if verdict.outcome == "ok":
                    if inp.declared == "refused" and (said is None or "error" not in said):
                        verdict.problems.append("`onestop sync` did not report this source's failure")
                    if inp.declared != "refused" and (said is None or "fetched" not in said):
                        verdict.problems.append("`onestop sync` printed no counts for this source")
                    if verdict.problems:
                        verdict.outcome = "unexpected"
                verdicts.append(verdict)
            want_failure = any(inp.declared == "refused" for inp in inputs)
            if want_failure and code == 0:
                for verdict in verdicts:
                    verdict.problems.append("`onestop sync` exited 0 although a source failed")
                    if verdict.outcome == "ok":
                        verdict.outcome = "unexpected"
            # What the command printed and the server logged cannot be told apart by source: it is put down to
            # the sources whose run went wrong (a clean loaded run writes no error), else to all of them.
            shared = self._leaks(conn, Captured(stdout, stderr, ""), watch, Run("cli"), set())
            nothing_new = LogWatch(self.harness)
            nothing_new.mark()
            own = {s: self._leaks(conn, Captured(), nothing_new, Run(s), {s}) for s in sources}
            wrong = (
                [v for v in verdicts if v.outcome != "ok"]
                or [v for v in verdicts if v.declared == "refused"]
                or verdicts
            )
        for verdict, source in zip(verdicts, sources, strict=True):
            verdict.leaks = list(dict.fromkeys(own[source] + (shared if verdict in wrong else [])))
            verdict.seconds = (time.monotonic() - started) / len(verdicts)
        return verdicts


def _cli_line(output: str, source: str) -> dict | None:
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{") and f'"{source}"' in line:
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def shown(text: str, limit: int = 220) -> str:
    """A one-line, masked, cut view of an observed text for the report."""
    from schemas.personal_data import mask_text

    text = unicodedata.normalize("NFC", " ".join(str(text).split()))
    text = mask_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_all(harness: Harness, inputs: list[HostileInput], progress: Any = None) -> list[Verdict]:
    """Every input: the `dag` ones in the Airflow worker process (started first, it runs meanwhile), the
    `pipeline` ones here, then the `cli` ones in one command. Verdicts in the manifest's order."""
    dag = [inp for inp in inputs if inp.via == "dag"]
    worker = start_dag_worker(harness, dag) if dag else None
    runner = Runner(harness)
    verdicts: dict[str, Verdict] = {}
    for inp in inputs:
        if inp.via == "pipeline":
            verdicts[inp.name] = runner.run_input(inp)
            if progress:
                progress(verdicts[inp.name])
    cli = [inp for inp in inputs if inp.via == "cli"]
    if cli:
        for verdict in runner.run_cli_group(cli):
            verdicts[verdict.name] = verdict
            if progress:
                progress(verdict)
    if worker is not None:
        for verdict in finish_dag_worker(worker, dag):
            verdicts[verdict.name] = verdict
            if progress:
                progress(verdict)
    return [verdicts[inp.name] for inp in inputs]


@dataclass
class Worker:
    process: Any
    out: Any
    log: Any
    started: float


def start_dag_worker(harness: Harness, inputs: list[HostileInput]) -> Worker:
    import os
    import subprocess
    import sys

    from tests.hostile.harness import ROOT

    out = harness.work / "dag-verdicts.json"
    log = harness.work / "dag-worker.log"
    args = ["--url", harness.dag_database_url, "--pg-log", str(harness.pg_log()), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.hostile.dag_worker", *args, *(i.name for i in inputs)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return Worker(process, out, log, time.monotonic())


def finish_dag_worker(worker: Worker, inputs: list[HostileInput]) -> list[Verdict]:
    """The worker's verdicts; when it died, each of its inputs is a crash of the harness, said plainly."""
    from tests.hostile.harness import ROOT

    code = worker.process.wait()
    if code == 0 and worker.out.is_file():
        return [Verdict(**v) for v in json.loads(worker.out.read_text(encoding="utf-8"))]
    text = worker.log.read_text(encoding="utf-8", errors="replace")
    kept = ROOT / "var" / "hostile-dag-worker.log"  # the harness's own failure: kept for whoever debugs it
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(text, encoding="utf-8")
    tail = [f"see {kept.relative_to(ROOT)}", *text.strip().splitlines()[-2:]]
    return [
        Verdict(
            inp.name,
            inp.protocol,
            inp.via,
            inp.declared,
            inp.describe(),
            outcome="crashed",
            observed=f"the Airflow worker process ended with {code}: {' | '.join(tail)}",
        )
        for inp in inputs
    ]
