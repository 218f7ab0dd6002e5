"""The province the chaos suite breaks: its own embedded PostgreSQL, one simulator per registered source and the
portal simulator, each behind a fault proxy, and the pipeline's steps run as real `onestop` processes that the
suite can SIGKILL at a named point (onestop/pipeline/failpoints.py).

Ground truth comes from the simulators (`/_sim/truth`) and the portal (`/_inspect/dossiers`), never from the
pipeline's own tables; `check()` compares them with the unified database.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import yaml

from onestop import db, embedded_db, registry, settings
from onestop.chaos.proxy_client import FaultProxy, start_proxy
from onestop.simulators.demo import PORTAL_LOGIN, SIMULATORS, set_connection, truth
from onestop.simulators.process import SimulatorProcess, start_simulator
from schemas.jsontext import canonical

# Dossiers per source by dialect, for a province of `scale` 1.0 (20,400 dossiers over the 13 sources).
PER_SOURCE = {"igate": 2400, "dvc_soap": 1500, "aspnet_xml": 1200, "lgsp_feed": 1200}


def chaos_registry(path: Path) -> Path:
    """The product's registry with the waits of a test: short timeouts, a 1 s first delivery backoff."""
    config = yaml.safe_load(settings.sources_file().read_text(encoding="utf-8"))
    config.setdefault("defaults", {}).update({"timeout_s": 2, "max_attempts": 4})
    config.setdefault("portal", {}).update({"timeout_s": 2, "retry_backoff": "1s"})
    # Small pages: each run makes many calls, so every fault finds calls to hit, paging faults included.
    for profile in config.get("profiles", {}).values():
        for kind in ("rest", "soap", "xml", "feed"):
            spec = profile.get(kind)
            if isinstance(spec, dict):  # feeds in batches, every other kind through its paginator
                target = spec if kind == "feed" else spec.setdefault("paginator", {})
                target["batch_size" if kind == "feed" else "page_size"] = 50
    config["breakers"] = {"threshold": 5, "cooldown": "2s", "max_cooldown": "8s"}
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Check:
    dossiers: int  # good dossiers the sources hold now
    lost: int  # missing from the database, at an older version there, or not at the portal at their latest
    duplicated: int  # portal writes no delivered version and no counted resend explains
    resends: int  # outbox resends counted by the pipeline
    problems: list[str] = field(default_factory=list)


class Province:
    def __init__(self, root: Path, scale: float, seed: int = 20251126) -> None:
        self.root, self.scale, self.seed = root, scale, seed
        self.logs = root / "logs"
        self.sims: dict[str, SimulatorProcess] = {}
        self.proxies: dict[str, FaultProxy] = {}
        self.stack = ExitStack()
        self.steps = 0

    # --- life cycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> Province:
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        os.environ["ONESTOP_VAR"] = str(self.root)  # its own embedded PostgreSQL, away from the demo's
        os.environ["ONESTOP_SOURCES"] = str(chaos_registry(self.root / "sources.yaml"))
        os.environ.pop("ONESTOP_DB_URL", None)
        self.stack.callback(embedded_db.stop)
        url = embedded_db.start()
        db.recreate(url)  # a fresh province each time
        self.config = registry.load()
        portal = self.stack.enter_context(
            start_simulator("portal", "--state", str(self.root / "portal.sqlite"))
        )
        requests.post(f"{portal.url}/_inspect/reset", timeout=30).raise_for_status()
        self.portal = portal
        self.portal_proxy = self.stack.enter_context(start_proxy(portal.url))
        set_connection(self.config.portal.conn_id, self.portal_proxy.url, **PORTAL_LOGIN)
        # The message log's HMAC key, from a connection as in production (and no slow Airflow lookup per step).
        set_connection("onestop_message_log", "http://unused", password=secrets.token_hex(16))
        for i, source in enumerate(self.config.sources):
            module, login = SIMULATORS[source.dialect]
            count = max(int(PER_SOURCE[source.dialect] * self.scale), 50)
            args = ["--seed", str(self.seed + i), "--count", str(count), "--span-days", "175"]
            if source.district_code:
                args += ["--district", source.district_code]
            self.sims[source.name] = self.stack.enter_context(start_simulator(module, *args))
            self.proxies[source.name] = self.stack.enter_context(start_proxy(self.sims[source.name].url))
            set_connection(source.conn_id, self.proxies[source.name].url, **login)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    # --- steps as processes -------------------------------------------------------------------------------
    def _env(self, pause_at: str | None, marker: Path) -> dict[str, str]:
        env = {**os.environ, "ONESTOP_DB_URL": embedded_db.url(), "PYTHONUNBUFFERED": "1"}
        if pause_at:
            env |= {"ONESTOP_PAUSE_AT": pause_at, "ONESTOP_PAUSE_FILE": str(marker)}
        return env

    def start(self, *args: str, pause_at: str | None = None) -> tuple[subprocess.Popen, Path, Path]:
        """`onestop <args>` as a process of its own; its output goes to logs/NNN-<args>.log."""
        self.steps += 1
        log = self.logs / f"{self.steps:03d}-{'-'.join(args)[:60]}.log"
        marker = self.root / f"pause-{self.steps}"
        marker.unlink(missing_ok=True)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "onestop.cli", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._env(pause_at, marker),
            )
        return proc, marker, log

    def run(self, *args: str, timeout: float = 600) -> int:
        proc, _, _ = self.start(*args)
        return proc.wait(timeout=timeout)

    def wait_for_pause(self, proc: subprocess.Popen, marker: Path, log: Path, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{log.name} ended ({proc.returncode}) before its pause point:\n{tail(log)}"
                )
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{log.name} never reached its pause point:\n{tail(log)}")
            time.sleep(0.02)

    def kill_at(self, point: str, *args: str) -> int:
        """Run `onestop <args>`, SIGKILL it when it reaches `point`; returns its return code (−9)."""
        proc, marker, log = self.start(*args, pause_at=point)
        self.wait_for_pause(proc, marker, log)
        os.kill(proc.pid, signal.SIGKILL)
        rc = proc.wait(timeout=30)
        marker.unlink(missing_ok=True)
        return rc

    def restart_database_at(self, point: str, *args: str) -> tuple[int, str]:
        """Run `onestop <args>`, restart PostgreSQL while it waits at `point`, let it go on; (rc, its log)."""
        proc, marker, log = self.start(*args, pause_at=point)
        self.wait_for_pause(proc, marker, log)
        embedded_db.restart()
        marker.unlink()
        rc = proc.wait(timeout=300)
        return rc, tail(log)

    # --- the world moves on -------------------------------------------------------------------------------
    def advance(self, names: list[str], hours: float) -> None:
        for name in names:
            requests.post(
                f"{self.sims[name].url}/_sim/clock", json={"advance_hours": hours}, timeout=60
            ).raise_for_status()

    def clear_faults(self) -> None:
        for proxy in [self.portal_proxy, *self.proxies.values()]:
            proxy.clear()

    def recover(self, names: list[str] | None = None) -> None:
        """What the schedule does after a fault: sync the sources again, then drain the outbox until nothing
        is due (a failed batch waits out its short backoff), re-driving what a fault left dead."""
        self.clear_faults()
        names = names or [s.name for s in self.config.sources]
        for name in names:
            if self.config.source(name).kind == "feed":  # its unacknowledged leases come again now
                requests.post(f"{self.sims[name].url}/_sim/expire_leases", timeout=30)
            rc = self.run("sync", name)
            if rc != 0:
                raise RuntimeError(f"recovery sync of {name} failed ({rc}): see {self.logs}")
        self.drain()

    def due(self) -> int:
        with db.connect() as conn:
            return conn.execute(
                "SELECT count(*) FROM onestop.outbox WHERE state IN ('pending', 'sent', 'failed')"
            ).fetchone()[0]

    def drain(self, deadline_s: float = 120) -> None:
        deadline = time.monotonic() + deadline_s
        while True:
            if self.run("deliver") != 0 and time.monotonic() > deadline:
                raise RuntimeError(f"delivery does not recover: see {self.logs}")
            with db.connect() as conn:
                left, wait = conn.execute(
                    "SELECT count(*), GREATEST(EXTRACT(epoch FROM min(next_try_at) - now()), 0)"
                    " FROM onestop.outbox WHERE state IN ('pending', 'sent', 'failed')"
                ).fetchone()
                dead = conn.execute("SELECT count(*) FROM onestop.outbox WHERE state = 'dead'").fetchone()[0]
            if dead:
                self.run("redrive", "--no-deliver")
                continue
            if not left:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{left} deliveries still due after {deadline_s:g} s: see {self.logs}")
            time.sleep(min(float(wait or 0), 5))

    # --- ground truth ---------------------------------------------------------------------------------------
    def portal_holds(self) -> dict[str, dict[str, Any]]:
        with requests.get(f"{self.portal.url}/_inspect/dossiers", stream=True, timeout=120) as resp:
            resp.raise_for_status()
            return {d["MaHoSo"]: d for d in map(json.loads, filter(None, resp.iter_lines()))}

    def check(self) -> Check:
        """The database equals the sources (key, update time, status) and the portal holds each live dossier
        once, exactly as the database's latest version renders for it."""
        from connectors.portal import to_portal

        expected: dict[tuple[str, str], dict] = {}
        for name in self.sims:
            for rec in truth(self.sims[name]):
                if rec["bad"] is None and not rec.get("deleted"):
                    expected[(name, str(rec["id"]))] = rec
        with db.connect() as conn:
            rows = conn.execute(
                "SELECT d.source, d.source_record_id, d.ma_ho_so, d.status, d.source_updated_at, d.record,"
                " d.conflict_with IS NULL, COALESCE(o.delivered, 0), COALESCE(o.resends, 0)"
                " FROM onestop.dossier d LEFT JOIN (SELECT uid, count(*) FILTER (WHERE state = 'delivered')"
                "  AS delivered, sum(resends) AS resends FROM onestop.outbox GROUP BY uid) o USING (uid)"
                " WHERE NOT d.deleted"
            ).fetchall()
        held = {(r[0], r[1]): r for r in rows}
        problems: list[str] = []
        lost = 0
        missing = set(expected) - set(held)
        if missing:
            lost += len(missing)
            problems.append(f"{len(missing)} dossiers missing from the database, e.g. {sorted(missing)[:3]}")
        extra = set(held) - set(expected)
        if extra:
            problems.append(
                f"{len(extra)} dossiers in the database the sources do not hold, e.g. {sorted(extra)[:3]}"
            )
        behind = [
            k
            for k, rec in expected.items()
            if k in held
            and (held[k][3] != rec["status"] or not same_instant(held[k][4], rec.get("updatedDate")))
        ]
        if behind:
            lost += len(behind)
            problems.append(f"{len(behind)} dossiers behind their source in the database, e.g. {behind[:3]}")
        at_portal = self.portal_holds()
        live = [r for r in held.values() if r[6]]
        not_there = [
            r[2]
            for r in live
            if canonical(at_portal.get(r[2], {}).get("record")) != canonical(to_portal(r[5]))
        ]
        if not_there:
            lost += len(not_there)
            problems.append(
                f"{len(not_there)} dossiers not at the portal at their latest version, e.g. {not_there[:3]}"
            )
        ghosts = set(at_portal) - {r[2] for r in live}
        if ghosts:
            problems.append(
                f"the portal holds {len(ghosts)} dossiers the database does not, e.g. {sorted(ghosts)[:3]}"
            )
        duplicated = sum(
            max(0, at_portal[r[2]]["writes"] - r[7] - r[8]) for r in live if r[2] in at_portal
        ) + len(ghosts)
        if duplicated:
            problems.append(f"{duplicated} portal writes no delivered version or counted resend explains")
        resends = sum(int(r[8]) for r in rows)
        return Check(len(expected), lost, duplicated, resends, problems)


def same_instant(held: datetime, text: str | None) -> bool:
    if not text:
        return True
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return True  # a vendor format the check does not parse: status alone decides
    return at.tzinfo is None or held == at


def tail(path: Path, limit: int = 3000) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    return text[-limit:]
