"""`make chaos`: faults of every kind over a whole simulated province, each proved to have fired, each followed
by the checks against the simulators' and the portal's own ground truth.

One line per scenario; the last line is exactly `chaos: N scenarios, M dossiers, lost L, duplicated D`.
A scenario that cannot show its fault fired, or whose checks fail, makes the suite exit 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from onestop import settings
from onestop.chaos.province import Check, Province

# The registry's sources by role (config/sources.yaml).
IGATE = ("hd_thanh_pho_hai_duong", "hd_chi_linh", "hd_kinh_mon", "hd_nam_sach")
SOAP = ("hd_kim_thanh", "hd_thanh_ha", "hd_cam_giang", "hd_binh_giang")
XML = ("hd_gia_loc", "hd_tu_ky", "hd_ninh_giang", "hd_thanh_mien")
FEED = "hd_so_tu_phap"
HOURS = 48  # how far a scenario moves its district's clock: the run under fault carries real changes


@dataclass
class Fired:
    evidence: str  # what shows the fault happened (proxy or simulator counters, a return code)
    allowed_resends: int = 0  # portal calls whose answer may have been lost (kills after POST, lost answers)


Scenario = Callable[[Province], Fired]


class NotFired(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise NotFired(message)


# --- proxy faults on a district's path ------------------------------------------------------------------------
def source_fault(source: str, spec: dict, counter: str, *, must_fail: bool = False) -> Scenario:
    def scenario(p: Province) -> Fired:
        proxy = p.proxies[source]
        p.advance([source], HOURS)
        proxy.reset_counters()
        proxy.set_fault(**spec)
        rc = p.run("sync", source)
        fired = proxy.counters()["injected"].get(counter, 0)
        expect(fired > 0, f"{counter} never fired on {source}")
        expect(rc != 0 if must_fail else rc == 0, f"sync of {source} ended {rc} under {counter}")
        p.recover([source])
        return Fired(f"{counter}×{fired} on {source}, sync rc {rc}")

    return scenario


def source_down(source: str) -> Scenario:
    """A district system down over two runs: the first fails after its retries and opens the breaker, the
    second fails fast on the open breaker without calling; after recovery the breaker lets traffic through."""

    def scenario(p: Province) -> Fired:
        proxy = p.proxies[source]
        p.advance([source], HOURS)
        proxy.reset_counters()
        proxy.set_fault(type="down")
        first, second = p.run("sync", source), p.run("sync", source)
        refused = proxy.counters()["injected"].get("down", 0)
        expect(first != 0 and second != 0 and refused > 0, f"{source} down: runs ended {first}, {second}")
        state = circuit(source)
        expect(state == "open", f"{source}'s breaker is {state}, not open")
        wait_for_trial(source)
        p.recover([source])
        expect(circuit(source) == "closed", f"{source}'s breaker did not close after recovery")
        return Fired(f"down×{refused} on {source}, runs rc {first}/{second}, breaker open then closed")

    return scenario


def wait_for_trial(endpoint: str) -> None:
    """Until the open breaker's cool-down (doubled after each failed trial) has passed."""
    from onestop.db import connect

    with connect() as conn:
        wait = conn.execute(
            "SELECT EXTRACT(epoch FROM retry_at - now()) FROM onestop.circuit WHERE endpoint = %s",
            (endpoint,),
        ).fetchone()
    time.sleep(max(float(wait[0] or 0), 0) + 0.2 if wait else 0)


def circuit(endpoint: str) -> str:
    from connectors.store.breaker import breaker_states
    from onestop.db import connect

    with connect() as conn:
        return next((s[1] for s in breaker_states(conn) if s[0] == endpoint), "closed")


# --- proxy faults on the portal's path ------------------------------------------------------------------------
def portal_fault(spec: dict, counter: str, sources: tuple[str, ...]) -> Scenario:
    def scenario(p: Province) -> Fired:
        p.advance(list(sources), HOURS)
        for name in sources:
            expect(p.run("sync", name) == 0, f"sync of {name} failed before the portal fault")
        expect(p.due() > 0, f"nothing to deliver from {sources} before the portal fault")
        proxy = p.portal_proxy
        proxy.reset_counters()
        proxy.set_fault(**spec)
        rc = p.run("deliver")
        counters = proxy.counters()
        fired = counters["injected"].get(counter, 0)
        expect(fired > 0, f"{counter} never fired on the portal path")
        p.recover(list(sources))
        lost = counters.get("answer_lost", 0)
        return Fired(f"{counter}×{fired} on the portal ({lost} answers lost), deliver rc {rc}", lost)

    return scenario


def portal_outage(p: Province) -> Fired:
    """The portal down over a whole run: clear failures, nothing lost; the next run after recovery drains the
    backlog while the breaker lets traffic through again."""
    from onestop.db import connect

    names = [IGATE[0], SOAP[0]]
    p.advance(names, HOURS)
    for name in names:
        expect(p.run("sync", name) == 0, f"sync of {name} failed before the outage")
    p.portal_proxy.reset_counters()
    p.portal_proxy.set_fault(type="down")
    rc = p.run("deliver")
    with connect() as conn:
        failed = conn.execute("SELECT count(*) FROM onestop.outbox WHERE state = 'failed'").fetchone()[0]
    expect(rc != 0 and failed > 0, f"deliver under an outage ended {rc} with {failed} failed rows")
    expect(circuit("portal") == "open", "the portal's breaker did not open")
    refused = p.portal_proxy.counters()["injected"].get("down", 0)
    wait_for_trial("portal")
    p.recover(names)
    expect(circuit("portal") == "closed", "the portal's breaker did not close after the outage")
    return Fired(
        f"down×{refused} on the portal, deliver rc {rc}, {failed} failed then drained, breaker closed"
    )


# --- the district systems' own misbehaviour --------------------------------------------------------------------
def simulator_mode(source: str, mode: str) -> Scenario:
    def scenario(p: Province) -> Fired:
        sim = p.sims[source].url
        requests.post(f"{sim}/_sim/faults", json={"faults": [mode]}, timeout=30).raise_for_status()
        p.advance([source], HOURS * 5)  # enough changes for several pages: paging faults need a second page
        rc = p.run("sync", source)
        stats = requests.get(f"{sim}/_sim/stats", timeout=30).json()
        requests.post(f"{sim}/_sim/faults", json={"faults": []}, timeout=30).raise_for_status()
        fired = stats.get(f"fault_{mode}", 0)
        expect(fired > 0, f"{mode} never fired on {source}")
        expect(rc == 0, f"sync of {source} ended {rc} under {mode}")
        p.recover([source])
        return Fired(f"{mode}×{fired} on {source}")

    return scenario


# --- processes killed at a point, and the database restarted under one -------------------------------------------
def kill(point: str, *args: str, advance: tuple[str, ...] = ()) -> Scenario:
    def scenario(p: Province) -> Fired:
        p.advance(list(advance), HOURS)
        rc = p.kill_at(point, *args)
        expect(rc == -9, f"`onestop {' '.join(args)}` ended {rc}, not −9, at {point}")
        p.recover(list(advance) or None)
        return Fired(f"SIGKILL at {point} of `onestop {' '.join(args)}` (rc {rc})")

    return scenario


def kill_after_post(p: Province) -> Fired:
    names = [IGATE[1], XML[1]]
    p.advance(names, HOURS)
    for name in names:
        expect(p.run("sync", name) == 0, f"sync of {name} failed")
    rc = p.kill_at("after_post", "deliver")
    expect(rc == -9, f"deliver ended {rc}, not −9, after its POST")
    p.recover(names)
    return Fired(f"SIGKILL after the portal POST, before its answer was committed (rc {rc})", 1)


def database_restart(source: str) -> Scenario:
    def scenario(p: Province) -> Fired:
        p.advance([source], HOURS * 4)
        rc, log = p.restart_database_at("mid_load", "sync", source)
        expect(rc != 0, f"sync of {source} survived a database restart under it?")
        expect(
            "terminat" in log or "closed" in log or "connection" in log, f"no connection error: {log[-300:]}"
        )
        p.recover([source])
        return Fired(f"PostgreSQL restarted mid-load of {source} (run rc {rc}, connection cut)")

    return scenario


def initial_load_killed_mid_copy(p: Province) -> Fired:
    """The first load of a district, killed while its COPY into staging is under way; then everything loads."""
    rc = p.kill_at("mid_copy", "sync", IGATE[0])
    expect(rc == -9, f"sync ended {rc}, not −9, mid-COPY")
    p.recover()
    return Fired(
        f"SIGKILL mid-COPY of the first load of {IGATE[0]} (rc {rc}); then the initial load of every source"
    )


SCENARIOS: list[tuple[str, Scenario]] = [
    ("kill mid-COPY (initial load)", initial_load_killed_mid_copy),
    ("latency", source_fault(IGATE[0], {"type": "latency", "latency_ms": 300}, "latency")),
    ("connection reset", source_fault(IGATE[1], {"type": "reset", "phase": "before", "every": 2, "count": 2}, "reset")),
    ("timeout", source_fault(SOAP[0], {"type": "timeout", "phase": "before", "count": 2, "seconds": 10}, "timeout")),
    ("truncated body", source_fault(XML[0], {"type": "truncate", "count": 2}, "truncate")),
    ("HTTP 500 burst", source_fault(IGATE[2], {"type": "status", "status": 500, "count": 3}, "status_500")),
    ("HTTP 503 burst, Retry-After", source_fault(SOAP[1], {"type": "status", "status": 503, "retry_after": 1, "count": 3}, "status_503")),
    ("HTTP 429 burst, Retry-After", source_fault(IGATE[3], {"type": "status", "status": 429, "retry_after": 1, "count": 3}, "status_429")),
    ("district system down", source_down(XML[2])),
    ("portal: reset after POST", portal_fault({"type": "reset", "phase": "after", "every": 2, "count": 2, "path": "/integration"}, "reset", (IGATE[0], SOAP[2]))),
    ("portal: timeout after POST", portal_fault({"type": "timeout", "phase": "after", "count": 1, "seconds": 10, "path": "/integration"}, "timeout", (IGATE[1], XML[3]))),
    ("portal: truncated answer", portal_fault({"type": "truncate", "count": 2, "path": "/integration"}, "truncate", (IGATE[2], SOAP[3]))),
    ("portal: 503 burst", portal_fault({"type": "status", "status": 503, "count": 3, "path": "/integration"}, "status_503", (IGATE[3],))),
    ("portal outage over a whole run", portal_outage),
    ("duplicates across pages", simulator_mode(IGATE[1], "dup_across_pages")),
    ("out-of-order updates", simulator_mode(IGATE[2], "out_of_order")),
    ("token expiring mid-run", simulator_mode(IGATE[3], "token_expiry")),
    ("record changing while paged", simulator_mode(IGATE[0], "change_while_paging")),
    ("kill after fetch", kill("after_fetch", "sync", SOAP[1], advance=(SOAP[1],))),
    ("kill after commit, before feed ack", kill("after_commit", "sync", FEED, advance=(FEED,))),
    ("kill after commit, before delivery", kill("after_commit", "sync", XML[0], advance=(XML[0],))),
    ("kill after portal POST", kill_after_post),
    ("PostgreSQL restart mid-load", database_restart(SOAP[2])),
]  # fmt: skip


def run(scale: float, root: Path, only: list[str] | None = None, out=print) -> int:
    totals = {"scenarios": 0, "lost": 0, "duplicated": 0}
    failures = 0
    dossiers = 0
    started = time.monotonic()
    with Province(root, scale) as p:
        allowed = 0
        if only and not any(o in SCENARIOS[0][0] for o in only):
            # Every check compares the whole province with its sources: load it first, as scenario 01 does.
            p.recover()
        for number, (name, scenario) in enumerate(SCENARIOS, 1):
            if only and not any(o in name for o in only):
                continue
            t0 = time.monotonic()
            try:
                fired = scenario(p)
                check: Check = p.check()
            except (NotFired, RuntimeError, requests.RequestException) as exc:
                failures += 1
                out(f"scenario {number:02d} {name}: FAILED: {exc}")
                continue
            allowed += fired.allowed_resends
            # Resends (dossier records posted again) at most the batches whose answer a fault may have lost.
            bound = allowed * p.config.portal.batch_size
            if check.resends > bound:
                check.problems.append(f"{check.resends} resends, more than {bound} the faults explain")
                check.duplicated += check.resends - bound
            totals["scenarios"] += 1
            totals["lost"] += check.lost
            totals["duplicated"] += check.duplicated
            dossiers = check.dossiers
            verdict = "ok" if not check.problems else "FAILED: " + "; ".join(check.problems)
            failures += bool(check.problems)
            out(
                f"scenario {number:02d} {name}: {fired.evidence} · {check.dossiers} dossiers · lost {check.lost}"
                f" · duplicated {check.duplicated} · resends {check.resends} (≤ {bound})"
                f" · {time.monotonic() - t0:.1f} s · {verdict}"
            )
        out(f"chaos took {time.monotonic() - started:.0f} s; logs in {p.logs}")
    out(
        f"chaos: {totals['scenarios']} scenarios, {dossiers} dossiers, lost {totals['lost']},"
        f" duplicated {totals['duplicated']}"
    )
    return 1 if failures or totals["lost"] or totals["duplicated"] else 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="onestop chaos", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 20,400 dossiers over the 13 sources")
    parser.add_argument("--only", action="append", help="run the scenarios whose name contains this")
    parser.add_argument("--dir", type=Path, default=None, help="working folder (default: var/chaos)")
    args = parser.parse_args(argv)
    root = args.dir or settings.var_dir() / "chaos"
    sys.exit(run(args.scale, root, args.only))


if __name__ == "__main__":
    main()
