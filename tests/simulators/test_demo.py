"""`onestop demo` as a user runs it (a separate process, its own data folder), twice with the same seed,
and `onestop status --json` afterwards, when the demo has stopped every process it started."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from onestop.simulators.demo import SUMMARY_COLUMNS
from tests.conftest import ROOT


def onestop(var: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ONESTOP_DB_URL"))}
    env.update({"ONESTOP_VAR": str(var), "ONESTOP_HOME": str(ROOT), "COLUMNS": "160"})
    return subprocess.run(
        [sys.executable, "-m", "onestop.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def children_of_var(var: Path) -> list[str]:
    """Processes left from this demo: its PostgreSQL (data folder in its command line) or anything started
    with its environment (the simulators)."""
    left = []
    for proc in psutil.process_iter(["cmdline", "pid"]):
        if proc.info["pid"] == os.getpid():
            continue
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if str(var) in cmd or proc.environ().get("ONESTOP_VAR") == str(var):
                left.append(cmd)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return left


@contextmanager
def outside_basetemp() -> Iterator[Path]:
    """A data folder for a demo and its database, not under pytest's basetemp: a pytest session started beside
    this one deletes all but the three newest basetemps (as tests/conftest.onestop_env says), and a demo's
    database with them, mid-run."""
    var = Path(tempfile.mkdtemp(prefix="onestop-demo-"))
    try:
        yield var
    finally:
        shutil.rmtree(var, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_var() -> Iterator[Path]:
    with outside_basetemp() as var:
        yield var


def status(var: Path) -> dict:
    result = onestop(var, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_demo_syncs_delivers_checks_itself_and_stops_everything(demo_var: Path) -> None:
    result = onestop(demo_var, "demo", "--dossiers", "900")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "check: database = sources − bad records" in result.stdout
    rows = [line.replace("┃", " ").replace("│", " ").split() for line in result.stdout.splitlines()]
    assert next(row for row in rows if row[:1] == ["source"]) == list(SUMMARY_COLUMNS)
    assert children_of_var(demo_var) == []
    data = status(demo_var)  # the demo has stopped the database: status starts and stops it itself
    kinds = {s["name"]: (s["kind"], s["dialect"]) for s in data["sources"]}
    assert len(kinds) == 13 and {k for k, _ in kinds.values()} == {"rest", "soap", "xml", "feed"}
    assert all(s["loaded"] > 0 and s["watermark"] for s in data["sources"])
    for s in data["sources"]:
        assert s["fetched"] == sum(
            s[k] for k in ("loaded", "unchanged", "stale", "quarantined", "duplicates", "deleted")
        )
    assert data["portal"]["accepted"] == data["database"]["dossiers"]
    assert children_of_var(demo_var) == []


@pytest.mark.slow  # two whole demos (~3 min): `make test-slow`, in .ci/run
def test_a_second_demo_with_the_same_seed_loads_and_sends_nothing_new() -> None:
    with outside_basetemp() as var:
        first = onestop(var, "demo", "--dossiers", "900")
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        before = status(var)

        result = onestop(var, "demo", "--dossiers", "900")

        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        after = status(var)
    assert [s["loaded"] for s in after["sources"]] == [s["loaded"] for s in before["sources"]]
    assert after["portal"]["received"] == before["portal"]["received"]
    assert after["database"] == before["database"]


def test_checksum_and_schema_export(demo_var: Path) -> None:
    first, second = onestop(demo_var, "checksum"), onestop(demo_var, "checksum")
    assert first.returncode == 0 and first.stdout == second.stdout and len(first.stdout.split()[0]) == 32
    schema = json.loads(onestop(demo_var, "schema", "export").stdout)
    assert schema["title"] == "Dossier"


def test_the_readme_shows_the_demos_own_table() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("## What you will see", 1)[1].split("```", 2)[1]
    assert next(row for row in map(str.split, shown.splitlines()) if row[:1] == ["source"]) == list(
        SUMMARY_COLUMNS
    )
