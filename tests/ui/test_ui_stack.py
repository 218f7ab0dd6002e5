"""What `make ui` starts (the stack of tests/ui/conftest.py) is reachable from this machine only: every TCP socket
that any of its processes listens on is bound to 127.0.0.1 or ::1 (Airflow's log servers, which bind every
interface, are not started), and the embedded PostgreSQL has no TCP port at all. Without those log servers the
users still log in and a finished task's log still comes back through the REST API (read from its file)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import psutil
import pytest
import requests

from onestop import embedded_db
from onestop.simulators import ui
from tests.ui.conftest import USERS

pytestmark = pytest.mark.browser  # the same slow tier as the browser tests, sharing their stack


def tcp_listeners(processes: list[psutil.Process]) -> dict[tuple[str, int], str]:
    """(address, port) → "pid name" of every listening TCP socket (IPv4 and IPv6) of these processes."""
    found = {}
    for proc in processes:
        try:
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    found[(conn.laddr.ip, conn.laddr.port)] = f"{proc.pid} {' '.join(proc.cmdline()[:4])}"
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # a task process that has just ended
    return found


def test_the_stack_listens_on_loopback_only(console: ui.ConsoleStack) -> None:
    ours = psutil.Process().children(
        recursive=True
    )  # Airflow's components and their children, the simulators
    postmaster_pid = embedded_db.postmaster_pid()
    assert postmaster_pid is not None, "the embedded PostgreSQL is not running"
    postmaster = psutil.Process(postmaster_pid)  # not ours: pg_ctl detached it
    database = [postmaster, *postmaster.children(recursive=True)]
    pids = {p.pid for p in ours}
    assert {p.pid for p in console.cluster.procs.values()} <= pids
    assert {s.proc.pid for s in [*console.sims.values(), console.portal]} <= pids

    listeners = tcp_listeners(ours + database)
    assert ("127.0.0.1", console.cluster.port) in listeners  # the api-server: the check sees what it must
    for sim in [*console.sims.values(), console.portal]:
        assert ("127.0.0.1", urlsplit(sim.url).port) in listeners, sim
    exposed = {a: who for a, who in listeners.items() if not ipaddress.ip_address(a[0]).is_loopback}
    assert exposed == {}, f"listening beyond loopback: {exposed}"
    assert tcp_listeners(database) == {}, "the embedded PostgreSQL listens on TCP (a Unix socket is enough)"


def test_users_log_in_and_task_logs_are_read_without_a_log_server(console: ui.ConsoleStack) -> None:
    cluster = console.cluster
    for user in USERS:
        assert cluster.token(user)
    wrong = requests.post(
        f"{cluster.url}/auth/token", json={"username": "admin", "password": "x"}, timeout=30
    )
    assert wrong.status_code == 401

    dag_id = "onestop_deliver_portal"
    run_id = cluster.trigger(dag_id)

    def finished() -> str | None:
        state = cluster.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
        return state if state in ("success", "failed") else None

    assert cluster.wait_until(finished, 180, f"the {dag_id} run {run_id} to finish") == "success"
    tasks = cluster.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
    assert tasks
    for ti in tasks:
        log = cluster.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/1")
        events = [entry.get("event", "") for entry in log["content"]]
        assert any(e.startswith(str(cluster.home / "logs")) for e in events), events[
            :5
        ]  # its source: the file
        assert not any("Could not read served logs" in e for e in events), events[:5]
        assert sum(1 for entry in log["content"] if "timestamp" in entry) > 3, events  # the task's own lines
