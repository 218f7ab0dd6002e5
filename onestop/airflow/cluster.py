"""Airflow's own components (api-server, scheduler, dag-processor, …) as processes on this machine.

Used by the real-scheduler test, `make ui` and the distributed-mode test: the same settings a production
deployment needs (a shared JWT secret, the execution API URL, PostgreSQL metadata), on loopback ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from onestop.airflow import env as airflow_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sqlalchemy_url(libpq_url: str) -> str:
    return libpq_url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class AirflowCluster:
    home: Path
    metadata_url: str  # PostgreSQL (SQLAlchemy form): SQLite locks under concurrent writers
    executor: str = "LocalExecutor"
    extra_env: dict[str, str] = field(default_factory=dict)
    users: dict[str, tuple[str, str]] = field(default_factory=lambda: {"admin": ("admin", "admin")})
    port: int = field(default_factory=free_port)
    # False: the scheduler and the triggerer start no log server (`--skip-serve-logs`). Airflow 3.3's log server
    # binds every interface (8793, 8794) and has no bind-host setting; without it the api-server reads the task
    # logs from the local files (this machine's LocalExecutor), and a running task's log notes that the served
    # copy could not be read.
    serve_logs: bool = True
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(airflow_env.configure(metadata_url=self.metadata_url, home=self.home))
        env.update({
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt_secret"),
            "AIRFLOW__CORE__FERNET_KEY": self._secret("fernet_key"),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{role}" for u, (role, _) in self.users.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        })  # fmt: skip
        # Whatever starts `airflow …` from PATH (`airflow standalone`'s components) gets this interpreter's.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.update(self.extra_env)
        return env

    def _secret(self, name: str) -> str:
        path = self.home / f".{name}"
        if not path.exists():
            if name == "fernet_key":
                from cryptography.fernet import Fernet

                path.write_text(Fernet.generate_key().decode())
            else:
                path.write_text(secrets.token_urlsafe(32))
        return path.read_text().strip()

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            check=check,
        )

    def prepare(self) -> None:
        """Migrate the metadata database and write the users' passwords."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({u: pw for u, (_, pw) in self.users.items()}))
        result = self.airflow("db", "migrate", check=False)
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{result.stderr[-3000:]}")

    def import_pools(self) -> None:
        """One pool per registered source (`onestop pools`), so its tasks are scheduled at all."""
        pools = subprocess.run(
            [sys.executable, "-m", "onestop.cli", "pools"],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        path = self.home / "pools.json"
        path.write_text(pools)
        self.airflow("pools", "import", str(path))

    def start(self, *components: str, name: str | None = None, env: dict[str, str] | None = None) -> None:
        """Start components (`airflow <component>`); `name` keys one process (several `celery worker …`
        with their own args), `env` is laid over this cluster's environment for it (a worker's hostname)."""
        env = {**self.env(), **(env or {})}
        for component in components:
            args = {"api-server": ["api-server", "--port", str(self.port), "--host", "127.0.0.1"]}.get(
                component, component.split()
            )
            if not self.serve_logs and args[0] in ("scheduler", "triggerer"):
                args.append("--skip-serve-logs")
            key = name or component
            log = open(self.home / f"{key.replace(' ', '_')}.log", "ab")  # noqa: SIM115 - lives with the process
            self.procs[key] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited {proc.returncode}: {self.log_tail(name)}")
            try:
                if requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).ok:
                    return
            # A server that has taken the connection but is slow to answer (still starting, on a loaded
            # machine) is not ready yet: the wait goes on until its deadline.
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(1)
        raise TimeoutError(f"Airflow API not ready at {self.url}: {self.log_tail('api-server')}")

    def log_tail(self, component: str, chars: int = 3000) -> str:
        path = self.home / f"{component.replace(' ', '_')}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def token(self, user: str = "admin") -> str:
        resp = requests.post(
            f"{self.url}/auth/token", json={"username": user, "password": self.users[user][1]}, timeout=30
        )
        resp.raise_for_status()
        return resp.json()["access_token"]

    def api(self, method: str, path: str, *, user: str = "admin", **kwargs: Any) -> Any:
        resp = requests.request(
            method,
            f"{self.url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token(user)}"},
            timeout=30,
            **kwargs,
        )
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def wait_until(self, predicate: Any, timeout: float, what: Any, every: float = 2) -> Any:
        """predicate()'s first truthy value; after `timeout` s a TimeoutError saying `what` (a text, or a
        function giving one) with every component's log tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if result := predicate():
                return result
            time.sleep(every)
        logs = "\n".join(f"--- {name} ---\n{self.log_tail(name, 2500)}" for name in self.procs)
        raise TimeoutError(f"{what() if callable(what) else what}\n{logs}")

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 120) -> None:
        """Until the dag-processor has registered every one of `dag_ids`."""
        deadline = time.monotonic() + timeout
        while True:
            known = {d["dag_id"] for d in self.api("GET", "/dags", params={"limit": 1000})["dags"]}
            if known >= set(dag_ids):
                return
            if time.monotonic() > deadline:
                missing = sorted(set(dag_ids) - known)
                raise TimeoutError(
                    f"the dag-processor did not register {missing}: {self.log_tail('dag-processor')}"
                )
            time.sleep(2)

    def unpause(self, dag_ids: list[str]) -> None:
        for dag_id in dag_ids:
            self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """A manual run through the REST API (as an operator or the console would); its dag_run_id."""
        body = {"logical_date": None, **({"conf": conf} if conf else {})}
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def stop(self) -> None:
        """SIGTERM to each component and everything it started (a child may have left its process group, as
        `airflow standalone`'s scheduler does), SIGKILL to what is left after 20 s."""
        import psutil

        family: list[psutil.Process] = []
        for proc in self.procs.values():
            try:
                parent = psutil.Process(proc.pid)
                family += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.terminate()
        _, alive = psutil.wait_procs(family, timeout=20)
        for member in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()
        for proc in self.procs.values():
            proc.wait()
        self.procs.clear()
