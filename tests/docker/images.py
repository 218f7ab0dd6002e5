"""`make test-images`: the production path (docker/Dockerfile, docker/docker-compose.yaml) run for real with podman.

No registry can be reached here, so the images docker-compose.yaml names are built locally first, offline:
a Debian bookworm root made with debootstrap (imported as an image), on it a stand-in for the official Airflow
image (docker/images/airflow.Containerfile, Airflow from `make wheelhouse`'s output), stand-ins for
`postgres:15-bookworm` and `redis:7.2-bookworm` tagged with those names, and then docker/Dockerfile itself with
its base as a build argument. docker/docker-compose.yaml then runs unchanged under podman-compose (1.6.0, in a
venv of its own under var/) with the staging profile's simulators:

  1. `airflow-init`, then every service healthy;
  2. one REST source synced on the `http@` worker and one SOAP source on the `xml@` worker (each task
     instance's hostname read through Airflow's REST API), then the portal delivery;
  3. `onestop checksum` of the unified database equals a single-process run's (pipeline.sync and deliver in one
     process, in the same image, against fresh simulators with the same seeds, into a database of its own);
  4. a second `up` re-runs `airflow-init` (idempotent: it exits 0 again);
  5. an empty secret in the env file stops compose before anything starts.

Everything made carries the run's name (onestop-images-<hex>) and is removed at the end, whatever happened:
containers, pods, volumes, networks, images, build cache and the debootstrap root. The last line is
`images: built B, services S healthy, checksum equal, left behind 0` (podman's containers, images, volumes and
networks compared before and after). Podman and its companions are installed from Debian's packages when missing.

Found on Debian bookworm's podman 4.3.1: podman-compose 1.6.0 skips `service_healthy` below podman 4.6 (it
logs "Ignored … condition check"), treats `service_completed_successfully` as "stopped", and podman 4.3 refuses to
start containers chained by the `--requires` podman-compose adds; there is no systemd to run health checks on a
timer, and podman 4.3's exec drops the container's HOSTNAME (the workers' checks use it). So this test runs each
service's health check itself (`podman exec -e HOSTNAME=…`, ImagesTest.health_checks) and brings the services up
in the compose file's depends_on order, enforcing each condition (ImagesTest.staged_up).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
IMAGES = DOCKER / "images"
CONF = DOCKER / "containers.conf"
COMPOSE_FILE = DOCKER / "docker-compose.yaml"
PODMAN_COMPOSE = "podman-compose==1.6.0"
COMPOSE_VENV = ROOT / "var" / "podman-compose-1.6.0"
WHEELHOUSE = ROOT / os.environ.get("WHEELHOUSE_DIR", "dist/wheelhouse")  # make wheelhouse's output
DEBIAN_PACKAGES = ("podman", "runc", "golang-github-containernetworking-plugin-dnsname", "debootstrap")
# The Debian root every stand-in starts from: Python for Airflow, PostgreSQL 15 and Redis from bookworm.
ROOT_PACKAGES = (
    "python3.11,python3.11-venv,python3-venv,curl,ca-certificates,dumb-init,libpq5,tzdata,"
    "postgresql-15,redis-server,redis-tools"
)
# One REST and one SOAP source of the registry, with their simulators in the compose file's staging profile.
REST, SOAP = "hd_thanh_pho_hai_duong", "hd_kim_thanh"
SIMULATED = {  # source -> (simulator module, login, the compose file's simulator arguments)
    REST: ("igate", {"login": "igate", "password": "secret"}, ["--seed", "42", "--district", "288"]),
    SOAP: ("soap_district", {"login": "soap", "password": "secret"}, ["--seed", "46", "--district", "293"]),
}
SIM_COMMON = ["--count", "2000", "--span-days", "175"]
DELIVERY = "onestop_deliver_portal"


def log(message: str) -> None:
    print(f"[images {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Failed(Exception):
    pass


class Podman:
    def __init__(self, run: str) -> None:
        self.run_name = run
        self.env = {**os.environ, "CONTAINERS_CONF": str(CONF)}

    def __call__(self, *args: str, check: bool = True, quiet: bool = False, **kw: Any) -> str:
        return sh("podman", *args, env=self.env, check=check, quiet=quiet, **kw)

    def inventory(self) -> dict[str, set[str]]:
        return {
            "containers": set(self("ps", "-a", "-q", "--no-trunc", quiet=True).split()),
            "pods": set(self("pod", "ps", "-q", "--no-trunc", quiet=True).split()),
            "images": set(self("images", "-a", "-q", "--no-trunc", quiet=True).split()),
            "volumes": set(self("volume", "ls", "-q", quiet=True).split()),
            "networks": set(self("network", "ls", "-q", quiet=True).split()),
        }


def sh(
    *args: str,
    check: bool = True,
    quiet: bool = False,
    merged: bool = False,
    timeout: float | None = None,
    **kw: Any,
) -> str:
    """Run a command; its stdout (stdout and stderr when merged, or when it failed)."""
    if not quiet:
        log("$ " + " ".join(args)[:300])
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and done.returncode != 0:
        output = f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
        raise Failed(f"{' '.join(args)[:300]} exited {done.returncode}:\n{output}")
    return done.stdout if done.returncode == 0 and not merged else done.stdout + done.stderr


# --- tools --------------------------------------------------------------------------------------------------


def install_tools() -> None:
    """podman, runc, the dnsname CNI plugin and debootstrap from Debian's packages, when missing."""
    missing = [
        p for p in DEBIAN_PACKAGES if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode
    ]
    if missing:
        log(f"installing from Debian's packages: {' '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh("apt-get", "update", "-q", env=env, timeout=600)
        sh("apt-get", "install", "-y", "-q", "--no-install-recommends", *missing, env=env, timeout=1200)
    tool = COMPOSE_VENV / "bin" / "podman-compose"
    if not tool.exists() or PODMAN_COMPOSE.split("==")[1] not in sh(str(tool), "--version", quiet=True):
        log(f"installing {PODMAN_COMPOSE} into {COMPOSE_VENV.relative_to(ROOT)}")
        sh(sys.executable, "-m", "venv", "--clear", str(COMPOSE_VENV))
        sh(str(COMPOSE_VENV / "bin" / "pip"), "install", "--quiet", PODMAN_COMPOSE, timeout=600)


def debian_mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return "http://deb.debian.org/debian"


# --- the run ------------------------------------------------------------------------------------------------


class ImagesTest:
    def __init__(self) -> None:
        # Development only: IMAGES_REUSE=<run> takes that run's images (kept by IMAGES_KEEP=1) instead of building.
        self.reuse = os.environ.get("IMAGES_REUSE", "")
        self.keep = os.environ.get("IMAGES_KEEP") == "1"
        self.run = self.reuse or f"onestop-images-{secrets.token_hex(4)}"
        self.podman = Podman(self.run)
        self.work = Path("/var/tmp") / self.run  # outside the build context
        self.debian = f"localhost/{self.run}-debian:bookworm"
        self.airflow_base = f"localhost/{self.run}-airflow:3.3.2-python3.11"
        self.onestop = f"localhost/{self.run}-onestop-esb:0.1.0"
        self.standins = {"postgres": "postgres:15-bookworm", "redis": "redis:7.2-bookworm"}
        self.built = 0
        self.healthy = 0
        self.port = free_port()
        self.admin_password = secrets.token_urlsafe(12)
        self.secrets = {
            "POSTGRES_PASSWORD": secrets.token_hex(12),
            "AIRFLOW_DB_PASSWORD": secrets.token_hex(12),
            "ONESTOP_DB_PASSWORD": secrets.token_hex(12),
            "REDIS_PASSWORD": secrets.token_hex(12),
            "AIRFLOW_FERNET_KEY": fernet_key(),
            "AIRFLOW_JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW_API_SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW_ADMIN_PASSWORD": self.admin_password,
        }
        self.stop_checks = threading.Event()
        self.passed: dict[str, bool] = {}  # container -> its last health check passed
        self.projects = [self.run]

    # images ---------------------------------------------------------------------------------------------

    def exists(self, image: str) -> bool:
        return subprocess.run(["podman", "image", "exists", image], env=self.podman.env).returncode == 0

    def build_images(self) -> None:
        if not self.reuse:
            for name in self.standins.values():
                if self.exists(name):
                    raise Failed(
                        f"an image named {name} exists already; this test makes its own and removes it"
                    )
        started = time.monotonic()
        log(f"wheelhouse (make wheelhouse's output, reused while uv.lock is unchanged): {WHEELHOUSE}")
        sh("bash", str(DOCKER / "wheelhouse.sh"), str(WHEELHOUSE), timeout=1800)
        self.work.mkdir(parents=True, exist_ok=True)
        if not (self.reuse and self.exists(self.debian)):
            self.debian_root()
        log(f"Debian root: {self.debian} ({time.monotonic() - started:.0f} s)")
        extra = self.extra_wheels()
        label = ["--label", f"onestop.images.run={self.run}"]
        common = ["build", "--network", "host", "--runtime", "runc", *label]
        common += ["--build-arg", f"DEBIAN_ROOT={self.debian}"]
        if not (self.reuse and self.exists(self.airflow_base)):
            self.podman(
                *common, "-v", f"{WHEELHOUSE}:/tmp/wheelhouse:ro", "-v", f"{extra}:/tmp/wheels-debian:ro",
                "-t", self.airflow_base, "-f", str(IMAGES / "airflow.Containerfile"), str(IMAGES), timeout=1800,
            )  # fmt: skip
        self.built += 1
        for service, tag in self.standins.items():
            if not (self.reuse and self.exists(tag)):
                self.podman(*common, "-t", tag, "-f", str(IMAGES / f"{service}.Containerfile"), str(IMAGES))
            self.built += 1
        self.podman(
            "build", "--network", "host", "--runtime", "runc", *label,
            "--build-arg", f"AIRFLOW_BASE_IMAGE={self.airflow_base}",
            "--ignorefile", str(DOCKER / "Dockerfile.dockerignore"),
            "-t", self.onestop, "-f", str(DOCKER / "Dockerfile"), str(ROOT), timeout=1800,
        )  # fmt: skip
        self.built += 1
        log(f"{self.built} images built ({time.monotonic() - started:.0f} s)")

    def debian_root(self) -> None:
        """debootstrap's bookworm root, imported as an image; the root itself is removed at once."""
        root = self.work / "root"
        # The packages are downloaded once into var/ (like the wheelhouse) and unpacked from there on later runs.
        digest = hashlib.sha256(ROOT_PACKAGES.encode()).hexdigest()[:12]
        debs = ROOT / "var" / "images" / f"debootstrap-bookworm-{digest}.tgz"
        args = ["--variant=minbase", f"--include={ROOT_PACKAGES}"]
        if not debs.exists():
            debs.parent.mkdir(parents=True, exist_ok=True)
            partial = debs.with_name(debs.name + ".partial")
            download = self.work / "download"
            sh("debootstrap", *args, f"--make-tarball={partial}", "bookworm", str(download), debian_mirror(),
               timeout=1200)  # fmt: skip
            partial.rename(debs)
            shutil.rmtree(download, ignore_errors=True)
        sh(
            "debootstrap",
            *args,
            f"--unpack-tarball={debs}",
            "bookworm",
            str(root),
            debian_mirror(),
            timeout=1200,
        )
        sh("bash", "-c", f"tar -C {root} -c . | podman import --quiet - {self.debian}", env=self.podman.env)
        shutil.rmtree(root)

    def extra_wheels(self) -> Path:
        """The locked wheels that Debian bookworm's Python (3.11.2) needs beyond the wheelhouse's.

        The wheelhouse is made for the official image's Python (the latest 3.11), so a requirement with a marker
        such as `python_full_version < '3.11.3'` (async-timeout, for redis) is not in it. The stand-in's Python
        is 3.11.2: those wheels come from PyPI once, hash-checked against uv.lock's export, into var/."""
        from packaging.markers import Marker

        out = ROOT / "var" / "images" / "wheels-python-3.11.2"
        out.mkdir(parents=True, exist_ok=True)
        env = {"python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux"}
        wanted, entry = [], ""
        for line in [*(WHEELHOUSE / "requirements.txt").read_text().splitlines(), ""]:
            if line.startswith((" ", "\t")):
                entry += "\n" + line
                continue
            if entry and ";" in entry.splitlines()[0]:
                marker = entry.splitlines()[0].split(";", 1)[1].rstrip(" \\")
                name = entry.split("==")[0].strip().replace("-", "_").lower()
                have = [
                    w
                    for d in (WHEELHOUSE, out)
                    for w in d.glob("*.whl")
                    if w.name.lower().startswith(name + "-")
                ]
                if not have and Marker(marker).evaluate(env):
                    wanted.append(entry.split(";", 1)[0] + " \\\n" + entry.split("\n", 1)[1])
            entry = line if line and not line.startswith("#") else ""
        if wanted:
            reqs = out / "requirements.txt"
            reqs.write_text("\n".join(wanted) + "\n")
            log(f"wheels for Python 3.11.2 beyond the wheelhouse: {[w.split('==')[0] for w in wanted]}")
            sh(
                str(ROOT / ".venv" / "bin" / "python"), "-m", "pip", "download", "--quiet", "--no-deps",
                "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11",
                "--require-hashes", "-r", str(reqs), "-d", str(out), timeout=600,
            )  # fmt: skip
        return out

    # compose --------------------------------------------------------------------------------------------

    def env_file(self, name: str, **overrides: str) -> Path:
        values = {
            **self.secrets,
            "ONESTOP_IMAGE": self.onestop,
            "ONESTOP_CONNECTIONS_FILE": "staging/connections.env",
            "AIRFLOW_API_PORT": f"127.0.0.1:{self.port}",
            "AIRFLOW_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            "ONESTOP_WORKER_CONCURRENCY": "2",
            **overrides,
        }
        path = self.work / name
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
        return path

    def compose(self, *args: str, project: str | None = None, env_file: Path | None = None, **kw: Any) -> str:
        return sh(
            str(COMPOSE_VENV / "bin" / "podman-compose"), "-p", project or self.run, "-f", str(COMPOSE_FILE),
            "--env-file", str(env_file or self.work / ".env"), "--profile", "staging", *args,
            env=self.podman.env, merged=True, **kw,
        )  # fmt: skip

    def containers(self) -> list[dict]:
        out = self.podman(
            "ps",
            "-a",
            "--filter",
            f"label=io.podman.compose.project={self.run}",
            "--format",
            "json",
            quiet=True,
        )
        return json.loads(out or "[]")

    def container(self, service: str) -> str:
        for c in self.containers():
            if c.get("Labels", {}).get("com.docker.compose.service") == service:
                return c["Names"][0]
        raise Failed(f"no container for service {service}")

    def health_checks(self) -> None:
        """Each container's health check from the compose file, run by this thread.

        Podman runs health checks on systemd timers and there is no systemd here. And podman 4.3's exec (which
        `podman healthcheck run` uses) does not carry the container's HOSTNAME, which Docker's exec does: the
        workers' `celery … ping -d "http@$${HOSTNAME}"` would ask for node `http@`. So the test runs the check
        exactly as written with `podman exec -e HOSTNAME=<the container's hostname>`; the timeout is at least
        30 s (the 2 cores are shared; a Celery ping alone loads Airflow's provider app)."""
        last: dict[str, float] = {}
        while not self.stop_checks.is_set():
            for c in self.containers():
                name = c["Names"][0]
                every = 60 if self.passed.get(name) else 10
                if c.get("State") != "running" or time.monotonic() - last.get(name, 0) < every:
                    continue
                last[name] = time.monotonic()
                config = json.loads(self.podman("inspect", name, quiet=True, check=False) or "[{}]")[0]
                check = (config.get("Config") or {}).get("Healthcheck") or {}
                test = check.get("Test") or []
                if not test or test[0] == "NONE":
                    continue
                argv = (
                    ["/bin/sh", "-c", test[1]]
                    if test[0] == "CMD-SHELL"
                    else test[1:]
                    if test[0] == "CMD"
                    else test
                )
                hostname = config["Config"].get("Hostname", "")
                timeout = max(30, check.get("Timeout", 0) / 1e9)
                try:
                    done = subprocess.run(
                        ["podman", "exec", "-e", f"HOSTNAME={hostname}", name, *argv],
                        env=self.podman.env, capture_output=True, timeout=timeout,
                    )  # fmt: skip
                    self.passed[name] = done.returncode == 0
                except subprocess.TimeoutExpired:
                    self.passed[name] = False
            self.stop_checks.wait(2)

    def health(self) -> dict[str, str]:
        """service -> healthy (its last check passed), starting, or the container's state when not running."""
        states = {}
        for c in self.containers():
            service = c.get("Labels", {}).get("com.docker.compose.service", c["Names"][0])
            if c.get("State") != "running":
                states[service] = c.get("State", "")
            elif c["Names"][0] in self.passed:
                states[service] = "healthy" if self.passed[c["Names"][0]] else "starting"
            else:
                states[service] = "running" if self.has_check(c["Names"][0]) is False else "starting"
        return states

    def has_check(self, name: str) -> bool:
        config = json.loads(self.podman("inspect", name, quiet=True, check=False) or "[{}]")[0]
        test = ((config.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
        return bool(test) and test[0] != "NONE"

    def wait_healthy(self, services: set[str] | None, timeout: float) -> dict[str, str]:
        def ready() -> dict[str, str] | None:
            states = self.health()
            init = [c for c in self.containers() if c["Names"][0] == self.container_name("airflow-init")]
            if init and init[0].get("Exited") and init[0].get("ExitCode"):
                raise Failed(f"airflow-init exited {init[0]['ExitCode']}:\n{self.logs('airflow-init')}")
            wanted = {s: st for s, st in states.items() if services is None or s in services}
            wanted.pop("airflow-init", None)
            self.last_states = wanted
            return wanted if wanted and all(st == "healthy" for st in wanted.values()) else None

        self.last_states: dict[str, str] = {}
        return wait_until(ready, timeout, lambda: f"not healthy: {self.last_states}")

    def container_name(self, service: str) -> str:
        return f"{self.run}_{service}_1"

    def logs(self, service: str, tail: int = 40) -> str:
        return self.podman("logs", "--tail", str(tail), self.container_name(service), check=False, quiet=True)

    # Airflow's REST API -----------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        base = f"http://127.0.0.1:{self.port}"
        if not getattr(self, "token", None):
            self.token = http(
                "POST", f"{base}/auth/token", {"username": "admin", "password": self.admin_password}
            )["access_token"]
        return http(method, f"{base}/api/v2{path}", body, {"Authorization": f"Bearer {self.token}"})

    def sync_and_deliver(self) -> None:
        dags = {s: f"onestop_sync_{s}" for s in SIMULATED}

        def listed() -> bool:
            known = {d["dag_id"] for d in self.api("GET", "/dags?limit=100")["dags"]}
            return {*dags.values(), DELIVERY} <= known

        wait_until(listed, 300, "the DAGs were not parsed")
        for dag_id in [*dags.values(), DELIVERY]:
            self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        runs = {}
        for dag_id in dags.values():
            body = {"logical_date": None, "dag_run_id": f"{self.run}-{dag_id}"}
            runs[dag_id] = self.api("POST", f"/dags/{dag_id}/dagRuns", body)["dag_run_id"]
        log(f"triggered {', '.join(runs)}")

        def synced() -> bool:
            states = {d: self.api("GET", f"/dags/{d}/dagRuns/{r}")["state"] for d, r in runs.items()}
            if "failed" in states.values():
                raise Failed(f"a source run failed: {states}")
            return all(s == "success" for s in states.values())

        wait_until(synced, 600, "the source runs did not finish")
        log("both sources synced")

        def delivered() -> list[dict] | None:
            deliveries = self.api("GET", f"/dags/{DELIVERY}/dagRuns")["dag_runs"]
            if any(r["state"] == "failed" for r in deliveries):
                raise Failed(f"a delivery failed: {deliveries}")
            waiting = self.sql(
                "onestop",
                "SELECT count(*) FROM onestop.outbox WHERE state NOT IN ('delivered', 'superseded')",
            )
            sent = self.sql("onestop", "SELECT count(*) FROM onestop.outbox WHERE state = 'delivered'")
            settled = deliveries and all(r["state"] == "success" for r in deliveries)
            return deliveries if settled and waiting == "0" and int(sent or 0) > 0 else None

        deliveries = wait_until(delivered, 600, "the asset-triggered delivery did not deliver everything")
        sent = self.sql("onestop", "SELECT count(*) FROM onestop.outbox WHERE state = 'delivered'")
        log(f"delivered: {sent} outbox rows in {len(deliveries)} delivery run(s)")

        # Each source's tasks ran on the worker serving its queue: the task instance's hostname is that
        # worker container's hostname (Celery node http@<hostname> / xml@<hostname>).
        hosts = {
            w: self.podman(
                "inspect", "-f", "{{.Config.Hostname}}", self.container_name(w), quiet=True
            ).strip()
            for w in ("airflow-worker-http", "airflow-worker-xml")
        }
        expected = {dags[REST]: hosts["airflow-worker-http"], dags[SOAP]: hosts["airflow-worker-xml"]}
        for dag_id, run_id in runs.items():
            tis = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
            host = expected[dag_id]
            wrong = [
                (t["task_id"], t["hostname"], t["queue"])
                for t in tis
                if t["hostname"] != host and not t["hostname"].startswith(f"{host}.")
            ]
            if not tis or wrong:
                raise Failed(f"{dag_id}: task instances not on {expected[dag_id]}: {wrong or 'none'}")
            log(f"{dag_id}: {len(tis)} task instances on {expected[dag_id]} (queue {tis[0]['queue']})")

    def sql(self, database: str, query: str) -> str:
        return self.podman(
            "exec", self.container_name("postgres"), "psql", "-U", "postgres", "-d", database, "-tAc", query,
            quiet=True,
        ).strip()  # fmt: skip

    # the single-process reference ------------------------------------------------------------------------

    def reference_checksum(self) -> str:
        """pipeline.sync of both sources, then deliver, in one process in the image, on fresh simulators with the
        compose file's seeds, into a database of its own on the same server."""
        password = self.secrets["ONESTOP_DB_PASSWORD"]
        self.sql("postgres", "CREATE DATABASE reference OWNER onestop")
        script = REFERENCE.replace(
            "@SIMULATED@",
            json.dumps({s: [m, login, [*a, *SIM_COMMON]] for s, (m, login, a) in SIMULATED.items()}),
        )
        out = self.podman(
            "exec", "-i", "-e", f"ONESTOP_DB_URL=postgresql://onestop:{password}@postgres:5432/reference",
            "-e", "ONESTOP_VAR=/tmp/reference", "-e", "ONESTOP_SOURCES=/tmp/reference/sources.yaml",
            self.container_name("airflow-worker-xml"), "python", "-", input=script, timeout=900,
        )  # fmt: skip
        return out.strip().splitlines()[-1]

    # cleanup ----------------------------------------------------------------------------------------------

    def cleanup(self, before: dict[str, set[str]]) -> int:
        self.stop_checks.set()
        for project in self.projects:
            try:
                self.compose("down", "-v", "-t", "10", project=project, check=False, timeout=600)
            except Exception as exc:  # cleanup goes on
                log(f"compose down {project}: {exc}")
        p = self.podman
        for project in self.projects:
            ids = p(
                "ps", "-a", "-q", "--filter", f"label=io.podman.compose.project={project}", quiet=True
            ).split()
            if ids:
                p("rm", "-f", "-v", *ids, check=False)
            pods = p("pod", "ps", "-q", "--filter", f"name={project}", quiet=True).split()
            if pods:
                p("pod", "rm", "-f", *pods, check=False)
            vols = p(
                "volume", "ls", "-q", "--filter", f"label=io.podman.compose.project={project}", quiet=True
            ).split()
            if vols:
                p("volume", "rm", "-f", *vols, check=False)
            nets = [n for n in p("network", "ls", "-q", quiet=True).split() if n.startswith(project)]
            if nets:
                p("network", "rm", "-f", *nets, check=False)
        for image in (
            [] if self.keep else [self.onestop, *self.standins.values(), self.airflow_base, self.debian]
        ):
            if subprocess.run(["podman", "image", "exists", image], env=p.env).returncode == 0:
                p("rmi", "-f", image, check=False)
        # Build cache: intermediate images and build containers of this run's builds.
        leftovers = p(
            "images", "-a", "-q", "--filter", f"label=onestop.images.run={self.run}", quiet=True
        ).split()
        if leftovers and not self.keep:
            p("rmi", "-f", *set(leftovers), check=False)
        buildah = p("ps", "-a", "--external", "-q", "--no-trunc", quiet=True, check=False).split()
        new_build = [c for c in buildah if c not in before["containers"]]
        if new_build:
            p("rm", "-f", *new_build, check=False)
        after = p.inventory()
        new = {kind: after[kind] - before[kind] for kind in after}
        # Whatever else appeared during the run (dangling layers of the builds) is this run's too.
        if new["images"] and not self.keep:
            p("rmi", "-f", *new["images"], check=False)
        shutil.rmtree(self.work, ignore_errors=True)
        after = p.inventory()
        left = {kind: sorted(after[kind] - before[kind]) for kind in after}
        count = sum(len(v) for v in left.values())
        if count:
            log(f"left behind: {left}")
        return count

    # the whole test ---------------------------------------------------------------------------------------

    def main(self) -> int:
        install_tools()
        started = time.monotonic()
        before = self.podman.inventory()
        ok = False
        try:
            self.build_images()
            self.env_file(".env")
            self.compose_run()
            ok = True
        except Failed as exc:
            log(f"FAILED: {exc}")
            for service in ("airflow-init", "airflow-apiserver", "airflow-worker-http", "airflow-scheduler"):
                with contextlib.suppress(Exception):
                    log(f"--- {service}:\n{self.logs(service)}")
        finally:
            left = self.cleanup(before)
        log(f"done in {time.monotonic() - started:.0f} s")
        if not ok:
            return 1
        print(
            f"images: built {self.built}, services {self.healthy} healthy, checksum equal, left behind {left}"
        )
        return 0 if left == 0 else 1

    def compose_run(self) -> None:
        # An empty secret: compose refuses before it starts anything (README "Run it in production").
        bad = self.env_file("empty-secret.env", REDIS_PASSWORD="")
        self.projects.append(f"{self.run}-empty")
        out = self.compose("up", "-d", project=f"{self.run}-empty", env_file=bad, check=False, timeout=300)
        started = self.podman(
            "ps", "-a", "-q", "--filter", f"label=io.podman.compose.project={self.run}-empty"
        )
        if "set REDIS_PASSWORD in docker/.env" not in out or started.strip():
            raise Failed(f"an empty REDIS_PASSWORD did not stop compose:\n{out[-2000:]}")
        log("an empty secret stops compose: 'set REDIS_PASSWORD in docker/.env'")

        threading.Thread(target=self.health_checks, daemon=True).start()
        t0 = time.monotonic()
        self.staged_up()
        states = self.wait_healthy(None, 900)
        self.healthy = len(states)
        log(f"{self.healthy} services healthy ({time.monotonic() - t0:.0f} s): {', '.join(sorted(states))}")

        self.sync_and_deliver()
        ours = self.podman("exec", self.container_name("airflow-worker-http"), "onestop", "checksum").strip()
        reference = self.reference_checksum()
        log(f"checksum: compose {ours}, single process {reference}")
        if ours.splitlines()[-1] != reference:
            raise Failed(f"checksum {ours} != single-process {reference}")

        # A second up: airflow-init runs again and succeeds on the migrated databases; everything healthy again.
        self.staged_up()
        log("second up: airflow-init ran again and exited 0")
        self.wait_healthy(None, 600)

    def staged_up(self) -> None:
        """`up` in the compose file's depends_on order, one stage at a time, each stage's conditions enforced here.

        podman-compose 1.6.0 on podman 4.3.1 cannot do it in one `up`: it skips `service_healthy` ("Ignored …
        condition check", podman < 4.6), waits only for "stopped" on `service_completed_successfully`, and the
        `--requires` it gives each container fails to start a chain of them ("generating dependency graph …
        not found in input list"). So: `up -d --no-deps <stage>`, then wait for what the next stages require."""
        import yaml

        services = {
            name: service
            for name, service in yaml.safe_load(COMPOSE_FILE.read_text())["services"].items()
            if "staging" in service.get("profiles", ["staging"])
        }
        required = {
            dep: spec.get("condition", "service_started")
            for service in services.values()
            for dep, spec in (service.get("depends_on") or {}).items()
        }
        done: set[str] = set()
        while len(done) < len(services):
            stage = sorted(
                n for n, s in services.items() if n not in done and set(s.get("depends_on") or {}) <= done
            )
            if not stage:
                raise Failed(f"a depends_on cycle among {set(services) - done}")
            before = {
                n: self.started_at(n) for n in stage if required.get(n) == "service_completed_successfully"
            }
            out = self.compose("up", "-d", "--no-deps", *stage, timeout=1800)
            if "Error" in out:
                raise Failed(f"up {stage}:\n{out[-3000:]}")
            healthy = {n for n in stage if required.get(n) == "service_healthy"}
            if healthy:
                self.wait_healthy(healthy, 600)
                log(f"healthy: {', '.join(sorted(healthy))}")
            for name, previous in before.items():

                def finished(name: str = name, previous: str | None = previous) -> dict | None:
                    state = self.state(name)
                    return state if state["Status"] == "exited" and state["StartedAt"] != previous else None

                state = wait_until(finished, 900, f"{name} did not finish", every=3)
                if state["ExitCode"] != 0:
                    raise Failed(f"{name} exited {state['ExitCode']}:\n{self.logs(name)}")
                log(f"completed successfully: {name}")
            done |= set(stage)

    def state(self, service: str) -> dict:
        return json.loads(self.podman("inspect", self.container_name(service), quiet=True))[0]["State"]

    def started_at(self, service: str) -> str | None:
        done = subprocess.run(
            ["podman", "container", "exists", self.container_name(service)], env=self.podman.env
        )
        return self.state(service)["StartedAt"] if done.returncode == 0 else None


REFERENCE = r"""
import json, os
from contextlib import ExitStack
from pathlib import Path
import yaml

simulated = json.loads('@SIMULATED@')
ref = Path(os.environ["ONESTOP_VAR"])
ref.mkdir(parents=True, exist_ok=True)
shipped = yaml.safe_load((Path(os.environ["ONESTOP_HOME"]) / "config" / "sources.yaml").read_text())
shipped["sources"] = [s for s in shipped["sources"] if s["name"] in simulated]
Path(os.environ["ONESTOP_SOURCES"]).write_text(yaml.safe_dump(shipped, allow_unicode=True))

from onestop import db, pipeline, registry
from onestop.simulators.demo import PORTAL_LOGIN
from onestop.simulators.process import start_simulator

def conn(url, fields):
    return json.dumps({"conn_type": "http", "host": url, **fields})

db.upgrade(os.environ["ONESTOP_DB_URL"])
with ExitStack() as stack:
    portal = stack.enter_context(start_simulator("portal", "--state", str(ref / "portal.sqlite")))
    os.environ["AIRFLOW_CONN_ONESTOP_PORTAL"] = conn(portal.url, PORTAL_LOGIN)
    for source in registry.load(Path(os.environ["ONESTOP_SOURCES"])).sources:
        module, login, args = simulated[source.name]
        sim = stack.enter_context(start_simulator(module, *args))
        os.environ[f"AIRFLOW_CONN_{source.conn_id.upper()}"] = conn(sim.url, login)
    for source in simulated:
        pipeline.sync(source)
    pipeline.deliver()
from connectors.store import status
with db.connect() as c:
    print(status.checksum(c))
"""


def wait_until(predicate: Callable[[], Any], timeout: float, what: Any, every: float = 5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise Failed(f"after {timeout:.0f} s: {what() if callable(what) else what}")
        time.sleep(every)


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise Failed(f"{method} {url}: {exc.code} {exc.read()[:500]!r}") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


if __name__ == "__main__":
    sys.exit(ImagesTest().main())
