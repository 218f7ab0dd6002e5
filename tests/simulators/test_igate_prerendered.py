"""The iGate simulator's pre-rendered mode (--prerendered) serves what the normal mode serves.

For a few seeds, windows and page sizes (derandomised: drawn from a Random seeded per case), before and after
clock moves (forward, backward, far forward), every page of the pre-rendered mode equals the normal mode's: the
parsed records and the paging metadata, and the bytes themselves (the same serialisation), with the same status,
content type and HTTP Date. So do /_sim/truth, the single-dossier route and the errors.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests

from onestop.simulators.igate_calendar import TZ
from onestop.simulators.process import SimulatorProcess, start_simulator

COUNT = 400
SEEDS = (7, 1001)
SIZES = (1, 13, 200, 5000)  # 5000: capped at 1000 by both
MOVES = ({"advance_hours": 50}, {"advance_hours": -30}, {"advance_hours": 24 * 40})


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed{s}")
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[SimulatorProcess, SimulatorProcess]]:
    args = ("--seed", str(request.param), "--count", str(COUNT), "--span-days", "175")
    with start_simulator("igate", *args) as normal, start_simulator("igate", *args, "--prerendered") as fast:
        yield normal, fast


def token(sim: SimulatorProcess) -> str:
    resp = requests.post(f"{sim.url}/oauth/token", auth=("igate", "secret"),
                         data={"grant_type": "client_credentials"}, timeout=10)  # fmt: skip
    resp.raise_for_status()
    return resp.json()["access_token"]


def iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds")


def windows(rng: random.Random, clock: datetime) -> list[dict[str, str]]:
    """No window, open-ended ones, random ones (fractional seconds too), one past the clock, an empty one."""
    start = datetime(2025, 1, 2, tzinfo=TZ)
    span = (clock - start).total_seconds() + 20 * 86400

    def moment() -> datetime:
        return start + timedelta(seconds=rng.random() * span)

    out: list[dict[str, str]] = [{}, {"updatedFrom": iso(moment())}, {"updatedTo": iso(moment())}]
    for _ in range(2):
        a, b = sorted((moment(), moment()))
        out.append({"updatedFrom": iso(a), "updatedTo": iso(b.replace(microsecond=rng.randrange(10**6)))})
    out.append({"updatedFrom": iso(clock - timedelta(hours=6)), "updatedTo": iso(clock + timedelta(days=3))})
    out.append({"updatedFrom": iso(clock + timedelta(seconds=1))})
    return out


def read(
    sim: SimulatorProcess, tok: str, window: dict[str, str], size: int, pages: int
) -> list[requests.Response]:
    """Pages 0.. until a short page (at most `pages`), and the page after the last."""
    out, page = [], 0
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {tok}"
        while page < pages:
            resp = session.get(
                f"{sim.url}/api/v1/dossiers", params={"page": page, "size": size, **window}, timeout=60
            )
            out.append(resp)
            if resp.status_code != 200 or len(resp.json()["content"]) < min(size, 1000):
                break
            page += 1
        out.append(session.get(f"{sim.url}/api/v1/dossiers", params={"page": page + 1, "size": size, **window},
                               timeout=60))  # fmt: skip
    return out


def same_answers(a: requests.Response, b: requests.Response, what: str) -> None:
    assert a.status_code == b.status_code, what
    assert a.headers["content-type"] == b.headers["content-type"], what
    assert a.headers["date"] == b.headers["date"], what
    assert a.json() == b.json(), what  # the records, and page/size
    assert a.content == b.content, what  # the same serialisation, byte for byte


def compare_now(normal: SimulatorProcess, fast: SimulatorProcess, rng: random.Random) -> int:
    clock = requests.get(f"{normal.url}/_sim/clock", timeout=10).json()["clock"]
    assert requests.get(f"{fast.url}/_sim/clock", timeout=10).json()["clock"] == clock
    tn, tf = token(normal), token(fast)
    served = 0
    for window in windows(rng, datetime.fromisoformat(clock)):
        for size in rng.sample(SIZES, 2):
            pages = 4 if size < 100 else 50  # tiny pages: the first few (and the one after) are enough
            left, right = read(normal, tn, window, size, pages), read(fast, tf, window, size, pages)
            assert len(left) == len(right), (window, size)
            for page, (a, b) in enumerate(zip(left, right, strict=True)):
                same_answers(a, b, f"{window} size {size} answer {page}")
                served += len(a.json()["content"])
    truth = requests.get(f"{normal.url}/_sim/truth", timeout=60)
    assert truth.content == requests.get(f"{fast.url}/_sim/truth", timeout=60).content
    ids = [json.loads(line)["id"] for line in truth.text.splitlines()]
    for dossier_id in [*rng.sample(ids, 3), "0" * 24, "nope"]:
        a = requests.get(f"{normal.url}/api/v1/dossiers/{dossier_id}", headers={"Authorization": f"Bearer {tn}"},
                         timeout=10)  # fmt: skip
        b = requests.get(f"{fast.url}/api/v1/dossiers/{dossier_id}", headers={"Authorization": f"Bearer {tf}"},
                         timeout=10)  # fmt: skip
        same_answers(a, b, dossier_id)
    return served


def test_prerendered_serves_the_normal_modes_truth_before_and_after_clock_moves(pair) -> None:
    normal, fast = pair
    rng = random.Random(COUNT)  # derandomised: the same draws on every run
    served = compare_now(normal, fast, rng)
    for move in MOVES:
        answers = [requests.post(f"{sim.url}/_sim/clock", json=move, timeout=60) for sim in (normal, fast)]
        assert answers[0].status_code == answers[1].status_code == 200
        assert answers[0].json() == answers[1].json()
        served += compare_now(normal, fast, rng)
    assert served > COUNT  # the comparison saw records, not only empty pages


def test_prerendered_refuses_like_the_normal_mode(pair) -> None:
    normal, fast = pair
    for params in ({"page": -1}, {"size": 0}, {"page": "x"}, {"updatedFrom": "soon"},
                   {"updatedFrom": "2025-03-02T00:00:00", "updatedTo": "2025-03-01T00:00:00"}):  # fmt: skip
        answers = [requests.get(f"{sim.url}/api/v1/dossiers", params=params, timeout=10,
                                headers={"Authorization": f"Bearer {token(sim)}"}) for sim in (normal, fast)]  # fmt: skip
        same_answers(*answers, str(params))
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        answers = [
            requests.get(f"{sim.url}/api/v1/dossiers", headers=headers, timeout=10) for sim in (normal, fast)
        ]
        same_answers(*answers, str(headers))
        assert answers[1].headers["www-authenticate"] == answers[0].headers["www-authenticate"]
    bad = [
        requests.post(f"{sim.url}/oauth/token", auth=("igate", "wrong"), timeout=10) for sim in (normal, fast)
    ]
    same_answers(*bad, "bad secret")


def test_prerendered_refuses_fault_modes() -> None:
    with pytest.raises(RuntimeError, match="no --fault"):
        start_simulator("igate", "--count", "10", "--prerendered", "--fault", "out_of_order")


def check_build_in_worker_processes(cache_dir: str) -> None:
    """The forked, chunked build (what 1M dossiers get) and a cached one: each record's bytes are its JSON. Run in
    a fresh single-threaded process, as the simulator builds (a threaded process renders in-process instead)."""
    from onestop.simulators import igate_prerendered as pre
    from onestop.simulators._common import default_clock
    from onestop.simulators._server import json_response
    from onestop.simulators.igate_data import DossierGenerator, GeneratorConfig

    pre.PARALLEL_FROM = 0
    gen = DossierGenerator(GeneratorConfig(seed=3, count=500, span_days=175))
    clock = default_clock(gen.config.start) - 40 * 86400  # some dossiers not received yet
    built = pre.build(gen, clock, workers=2, cache_dir=cache_dir)
    again = pre.build(gen, clock, workers=2, cache_dir=cache_dir)
    assert not built.cached and again.cached
    for build in (built, again):
        served = pre.Prerendered(gen, clock, build)
        expected = [gen.record(i, clock) for i in range(gen.count)]
        assert 0 < sum(r is not None for r in expected) < gen.count
        for i, record in enumerate(expected):
            body = served.record_bytes(i)
            assert (None if body is None else bytes(body)) == (
                None if record is None else json_response(record).body
            ), i


def test_a_build_in_worker_processes_and_from_the_cache_holds_every_record_as_rendered(tmp_path) -> None:
    script = (
        "import sys; from tests.simulators.test_igate_prerendered import check_build_in_worker_processes as check;"
        " check(sys.argv[1]); print('built twice, every record as rendered')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and "2 process(es)" in done.stderr, done.stdout + done.stderr
    assert done.stdout.strip() == "built twice, every record as rendered"
