"""What every bench stage shares: the province's names and sizes, timing, memory sampling, simulators."""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REST = "hd_thanh_pho_hai_duong"  # the registry's iGate REST source: the one dlt can read too
SMALL = (
    "hd_chi_linh"  # another iGate source, ~10,000 dossiers at the clock: the incremental cycle's small twin
)
# Its receipts go on well past the clock (24,000 over 400 days, ~10,200 received by then), so that five
# incremental rounds still find new dossiers arriving; the large system spans 175 days like the others.
SPAN_DAYS = 175
SMALL_COUNT, SMALL_SPAN_DAYS = 24_000, 400
INCREMENTAL_CHANGES = 1_000  # changes in each incremental cycle of the large system
SOAP = "hd_kim_thanh"
XML = "hd_gia_loc"
# The registry's four iGate (REST) sources: the rest4 stage reads one simulator each, ours and dlt's.
REST4 = ("hd_thanh_pho_hai_duong", "hd_chi_linh", "hd_kinh_mon", "hd_nam_sach")
IGATE_LOGIN = {"login": "igate", "password": "secret"}


class TreeMemory:
    """Peak PSS and peak RSS of a process and all its children, sampled every `every` s (psutil).

    PSS shares each shared page among the processes that map it, so forked workers are not counted twice as
    they are by RSS. Reading it costs: every 100 ms, walking /proc for the tree and smaps for each process took
    ~18% of a core from the sync it measured on 2 cores; every 500 ms it is 4× less, and a sync's memory moves
    slower than that (its pages and COPY queues are bounded; workers start once).
    """

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every = pid, every
        self.peak_pss, self.peak_rss = 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, root: psutil.Process) -> None:
        pss = rss = 0
        for proc in [root, *root.children(recursive=True)]:
            try:
                info = proc.memory_full_info()
            except psutil.Error:  # a child that ended between the listing and the read
                continue
            pss += getattr(info, "pss", info.rss)  # no PSS outside Linux: RSS stands in
            rss += info.rss
        self.peak_pss, self.peak_rss = max(self.peak_pss, pss), max(self.peak_rss, rss)

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self._sample(root)
            self._stop.wait(self.every)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# Who ran, by command line (the first match names the kind); a process none names (a forked or spawned worker)
# takes its parent's kind.
KINDS: tuple[tuple[str, str], ...] = (
    ("onestop.simulators", "simulators"),
    ("onestop.cli", "ours"),
    ("airflow", "ours"),  # the province stage: scheduler and task processes run our syncs
    ("load_igate.py", "dlt"),
    ("bench.lean", "lean"),
)


def kind_of(cmdline: list[str], name: str) -> str | None:
    # PostgreSQL by its executable's name: its backends rename their command line ("postgres: bench bench [local]
    # COPY"), and a client's may hold "postgresql://" (dlt's, the lean pipeline's).
    if name == "postgres" or (cmdline and cmdline[0].endswith("/postgres")):
        return "PostgreSQL"
    text = " ".join(cmdline)
    return next((kind for needle, kind in KINDS if needle in text), None)


class CoreShare:
    """Where the machine's cores went during a stage: CPU seconds by kind of process (KINDS: ours, PostgreSQL,
    the simulators, dlt, the lean pipeline, this bench process; "other" for the rest), beside what the
    cores had in all (wall time × cores), idle and stolen by the host (psutil.cpu_times).

    Every process is polled every `every` s (a poll of ~90 processes costs ~8 ms here: under 1% of one core at
    once a second). A process that ends between two polls still counts whole: its parent, reaping it, adds its
    total to its own children's times (a sync's workers, PostgreSQL's backends, the sync itself reaped by this
    process), and what that total holds beyond the ended process's last poll goes to the ended process's kind.
    What the machine counted busy and no process claimed (interrupts, a process that came and went unseen under
    a parent that does not wait for it) is "unattributed": the parts add up to the cores' time.
    """

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        # pid -> (parent pid, kind, own CPU seconds, its reaped children's CPU seconds) at the last poll
        self._last: dict[int, tuple[int, str, float, float]] = {}
        self._spent: dict[str, float] = {}
        # parent pid -> CPU of ended children counted already but not yet in its reaped time (a zombie not yet
        # waited for): taken off what its reaped time gains next
        self._owed: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.share: dict[str, float] = {}

    def _add(self, kind: str, seconds: float) -> None:
        self._spent[kind] = self._spent.get(kind, 0.0) + max(seconds, 0.0)

    def _poll(self, first: bool = False) -> None:
        seen: dict[int, tuple[int, str | None, float, float]] = {}
        for proc in psutil.process_iter(["ppid", "name", "cmdline", "cpu_times"]):
            info, times = proc.info, proc.info["cpu_times"]
            if times is None:
                continue
            seen[proc.pid] = (info["ppid"] or 0, kind_of(info["cmdline"] or [], info["name"] or ""),
                              times.user + times.system, times.children_user + times.children_system)  # fmt: skip
        now: dict[int, tuple[int, str, float, float]] = {}
        me = os.getpid()  # this bench process (and this sampler): its own kind, not "other"
        for pid, (ppid, kind, own, reaped) in seen.items():
            parent = ppid
            while kind is None and parent in seen:  # a worker: its parent's kind
                parent, kind = seen[parent][0], seen[parent][1]
            now[pid] = (ppid, "bench" if pid == me else kind or "other", own, reaped)
        if not first:
            # A living process -> its descendants ended since the last poll (kind, last total): a worker and its
            # sync ending together are both in the total that the sync's parent reaps.
            ended: dict[int, list[tuple[str, float]]] = {}
            for pid, (ppid, kind, own, reaped) in self._last.items():
                if pid not in now:
                    while ppid in self._last and ppid not in now:
                        ppid = self._last[ppid][0]
                    ended.setdefault(ppid, []).append((kind, own + reaped))
            for pid, (_ppid, kind, own, reaped) in now.items():
                _, _, own_before, reaped_before = self._last.get(pid, (0, kind, 0.0, 0.0))
                self._add(kind, own - own_before)  # a process new since the last poll: all its CPU
                children = ended.get(pid, [])
                tail = reaped - reaped_before - sum(total for _, total in children) - self._owed.pop(pid, 0.0)
                if tail < 0:
                    self._owed[pid] = -tail
                self._add(children[0][0] if children else kind, tail)  # what its ended children did unseen
        self._last = now

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(psutil.Error):
                self._poll()

    def __enter__(self) -> CoreShare:
        self._started, self._machine = time.perf_counter(), psutil.cpu_times()
        self._poll(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()
        machine, wall = psutil.cpu_times(), time.perf_counter() - self._started
        idle = (
            machine.idle
            - self._machine.idle
            + getattr(machine, "iowait", 0)
            - getattr(self._machine, "iowait", 0)
        )
        steal = getattr(machine, "steal", 0.0) - getattr(self._machine, "steal", 0.0)
        cores = psutil.cpu_count() or 1
        total = wall * cores
        spent = {kind: round(s, 1) for kind, s in sorted(self._spent.items(), key=lambda kv: -kv[1])}
        unattributed = max(total - idle - steal - sum(spent.values()), 0.0)
        self.share = {"core_seconds": round(total, 1), "cores": cores, **spent,
                      "unattributed": round(unattributed, 1), "idle": round(idle, 1), "steal": round(steal, 1)}  # fmt: skip

    def summary(self) -> str:
        return share_summary(self.share)


def share_summary(share: dict[str, float]) -> str:
    """Each kind's part of the cores' time (CoreShare.share), largest first, then what no process claimed, idle
    and steal: "ours 58% · PostgreSQL 31% · … · idle 5%"."""
    total = share.get("core_seconds") or 1.0
    parts = [f"{kind} {value / total:.0%}" for kind, value in share.items()
             if kind not in ("core_seconds", "cores") and value / total >= 0.005]  # fmt: skip
    return " · ".join(parts)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def start_igate(*args: str, prerendered: bool = True) -> tuple[Any, str]:
    """An iGate simulator, pre-rendered when asked and when the simulator knows the flag.

    Returns (the SimulatorProcess, a note): a simulator that rejects `--prerendered` (argparse exits before
    READY) is started again in its normal mode, and the note says so, so the figure is never silently wrong.
    """
    from onestop.simulators.process import start_simulator

    if prerendered:
        try:
            # The build (~100 s for 1M dossiers) is kept in var/bench and mapped again by the next run.
            cache = ("--cache-dir", str(ROOT / "var" / "bench" / "igate-prerendered"))
            return start_simulator("igate", *args, "--prerendered", *cache, timeout=900), "prerendered"
        except RuntimeError as exc:
            first = str(exc).splitlines()[0][:200]
            return start_simulator(
                "igate", *args, timeout=120
            ), f"normal mode (--prerendered refused: {first})"
    return start_simulator("igate", *args, timeout=120), "normal mode"


def create_database(name: str) -> str:
    """A fresh database `name` on the bench's embedded server; its libpq URL."""
    from onestop.db import connect

    with connect() as conn:
        conn.autocommit = True
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return database_url(name)


def database_url(name: str) -> str:
    """The bench database's URL with another database name (the URL's path)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ["ONESTOP_DB_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def hours_for_reads(count: int, span_days: int, clock_iso: str, read_from: float | None, reads: int) -> float:
    """How far a simulator's clock must move for its next run to read `reads` records: those whose updatedDate
    falls in the run's window [watermark - lookback (`read_from`, epoch seconds), the new clock] (bisection on
    the simulators' own generator: seed 7, `count` dossiers, `span_days` of receipts). A busy system's lookback
    alone may hold more: the move is then as small as the bisection gets."""
    from onestop.simulators.igate_calendar import parse_iso
    from onestop.simulators.igate_data import INDEXED_FROM, DossierGenerator, GeneratorConfig

    gen = DossierGenerator(GeneratorConfig(seed=7, count=count, span_days=span_days))
    if count >= INDEXED_FROM:
        gen.build_event_index()
    start = int(parse_iso(clock_iso))
    lo = start + 1 if read_from is None else math.ceil(read_from)

    def read(hours: float) -> int:
        end = start + round(hours * 3600)
        return len(gen.matching(lo, end, end))

    low, high = 0.0, 0.25
    while read(high) < reads and high < 24 * 365:  # small windows first: a 1M system is scanned by range
        low, high = high, high * 2
    hours = high
    for _ in range(25):
        hours = (low + high) / 2
        found = read(hours)
        if abs(found - reads) <= reads // 100:
            break
        low, high = (hours, high) if found < reads else (low, hours)
    return hours


def one_rest_district(stack: contextlib.ExitStack, root: Path, size: int, **env: str) -> Any:
    """A fresh embedded PostgreSQL under `root` (stopped when `stack` closes) and the REST district system of
    `size` dossiers in its normal mode, its connection set: what the profiles measure one sync against."""
    from onestop import db, embedded_db
    from onestop.simulators.demo import SIMULATORS, set_connection
    from onestop.simulators.process import start_simulator

    os.environ |= {"ONESTOP_VAR": str(root), **env}
    os.environ.pop("ONESTOP_DB_URL", None)
    stack.callback(embedded_db.stop)
    url = embedded_db.start()
    db.recreate(url)
    os.environ["ONESTOP_DB_URL"] = url
    args = ("--seed", "7", "--count", str(size), "--span-days", str(SPAN_DAYS))
    sim = stack.enter_context(start_simulator("igate", *args))
    set_connection(f"onestop_src_{REST}", sim.url, **SIMULATORS["igate"][1])
    return sim


def run_measured(cmd: list[str], **popen: Any) -> tuple[float, bytes, bytes, int, TreeMemory]:
    """A command run to its end with its process tree's memory sampled: (seconds from start to exit, stdout,
    stderr, return code, the sampler with its peaks)."""
    import subprocess

    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
    with TreeMemory(proc.pid) as memory:
        out, err = proc.communicate()
    return time.perf_counter() - started, out, err, proc.returncode, memory


def bench_registry(root: Path) -> Path:
    """The shipped registry with the district systems' courtesy rate limit lifted (`defaults.rate_limit`, 20
    requests/s: pages of 200 would cap every sync at 4,000 records/s). The bench's systems are its own, and dlt
    and the lean pipeline read them unpaced: all three read at the speed they can."""
    import yaml

    data = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    data.setdefault("defaults", {}).pop("rate_limit", None)
    for entry in data.get("sources", []):
        entry.pop("rate_limit", None)
    for profile in (data.get("profiles") or {}).values():
        if isinstance(profile, dict):
            profile.pop("rate_limit", None)
    path = root / "sources.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
