"""The console under property-based requests (issue 16): `make test` runs the quick fuzz (the same module as
`make test-console-fuzz`, in a process of its own: it sets up Airflow's environment its own way) and checks its
report; the pieces it counts with are checked here too."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.onestop.console import fuzz

ROOT = Path(__file__).resolve().parents[3]
SUMMARY = re.compile(r"^console fuzz: (\d+) requests, (\d+) operations, handled (\d+), 5xx (\d+)$")
OPERATION = re.compile(r"^  ([A-Z]+ /\S*): (\d+) requests, handled (\d+) ")


def fuzz_env() -> dict[str, str]:
    """This worktree's code; none of this session's database, Airflow or connection settings; bytecode cached
    under var/ (Airflow's import compiles ~2,000 modules otherwise)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ONESTOP_", "AIRFLOW")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    return env | {
        "PYTHONPATH": str(ROOT),
        "ONESTOP_HOME": str(ROOT),
        "PYTHONPYCACHEPREFIX": str(ROOT / "var" / "pycache"),
    }


def test_the_schema_has_every_console_route_but_the_static_files_under_onestop() -> None:
    from connectors.store.failures import KINDS
    from onestop.console.app import create_app

    console = create_app()
    raw = fuzz.console_schema(console, KINDS)
    operations = {f"{method.upper()} {path}" for path, item in raw["paths"].items() for method in item}

    routes = fuzz.console_routes(console)
    assert operations == {f"{method} /onestop{path}" for method, path, _ in routes}
    assert len(operations) == len(routes) >= 9
    assert not any("static" in op for op in operations)
    assert "securitySchemes" not in raw.get("components", {})  # the harness sends real credentials itself


def test_the_edges_replace_only_values_the_fields_schema_admits() -> None:
    hints = fuzz.hints(("a",))
    raw = {
        "paths": {
            "/onestop/x/{key}": {
                "get": {
                    "parameters": [
                        {"name": "key", "in": "path", "schema": {"type": "string"}},
                        {"name": "until", "in": "query", "schema": hints["until"]},
                        {"name": "kind", "in": "query", "schema": hints["kind"]},
                    ]
                }
            }
        }
    }
    edges = fuzz.Edges(raw, keys=["q1"])
    label = "GET /onestop/x/{key}"
    assert set(edges.candidates(label, "query", "until")) == set(fuzz.EDGES["days"])  # the days' edges only
    assert edges.candidates(label, "query", "kind") == []  # no edge is a stage: positive stays positive
    assert "\x00" in edges.candidates(label, "path", "key")


def test_the_handler_counter_counts_calls_of_sync_and_async_endpoints_and_changes_no_answer() -> None:
    app = FastAPI()

    @app.get("/sync/{n}")
    def sync_endpoint(n: int) -> dict:
        return {"n": n}

    @app.post("/async")
    async def async_endpoint() -> dict:
        return {"ok": True}

    counter = fuzz.HandlerCounter()
    counter.install(app)
    counter.install(app)  # a second install wraps nothing twice
    client = TestClient(app)
    assert client.get("/sync/3").json() == {"n": 3}
    assert client.post("/async").json() == {"ok": True}
    assert client.get("/sync/x").status_code == 422  # refused before the handler: not counted
    assert counter.calls == {"GET /sync/{n}": 1, "POST /async": 1}
    assert counter.total() == 2


def test_every_console_operation_fuzzed_through_airflows_own_login_and_no_answer_is_a_5xx() -> None:
    """Schemathesis against Airflow's API app with the plugin mounted, as admin and as viewer: every operation
    gets at least 50 requests, at least 80% reach a handler, and none is answered 5xx."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.onestop.console.fuzz"],
        cwd=ROOT,
        env=fuzz_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = proc.stdout.rstrip().splitlines()
    assert lines, proc.stderr[-4000:]
    summary = SUMMARY.match(lines[-1])
    assert summary, "\n".join(lines[-20:]) + proc.stderr[-3000:]
    requests, operations, handled, server_errors = map(int, summary.groups())
    per_operation = {m[1]: int(m[2]) for m in map(OPERATION.match, lines) if m}

    assert len(per_operation) == operations >= 9, lines
    assert min(per_operation.values()) >= fuzz.MIN_PER_OPERATION, per_operation
    assert handled >= 0.8 * requests, "\n".join(lines)
    assert server_errors == 0, "\n".join(line for line in lines if line.startswith(("5xx", "    as")))
    assert proc.returncode == 0, "\n".join(lines)
