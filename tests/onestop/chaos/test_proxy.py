"""The fault-injection proxy as a real process in front of real upstreams (the portal simulator, an iGate
simulator for chunked answers, `python -m http.server` for a 20 MB file): each fault fires, the client sees
the expected symptom, and the portal's `logins` counter tells whether the request reached the upstream."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from onestop.chaos.proxy_client import FaultProxy, start_proxy
from onestop.simulators.process import SimulatorProcess, start_simulator

CREDENTIALS = {"username": "portal", "password": "secret"}
DSTCODE = {"dstcode": "H23"}
BIG_FILE_SIZE = 20 << 20


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    state = tmp_path_factory.mktemp("chaos-portal") / "portal.sqlite"
    with start_simulator("portal", "--state", str(state)) as sim:
        yield sim


@pytest.fixture(scope="module")
def proxy(portal: SimulatorProcess) -> Iterator[FaultProxy]:
    with start_proxy(portal.url) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults(proxy: FaultProxy) -> None:
    """Every test starts with no fault and zeroed counters (the proxy is shared by the module)."""
    proxy.clear()
    proxy.reset_counters()


@pytest.fixture(scope="module")
def file_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bytes]]:
    """`python -m http.server` serving a 20 MB random file: (base URL, the file's bytes)."""
    root = tmp_path_factory.mktemp("chaos-files")
    data = os.urandom(BIG_FILE_SIZE)
    (root / "big.bin").write_bytes(data)
    cmd = [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (http://127.0.0.1:N/) ..."
        match = re.search(r"\((http://127\.0\.0\.1:\d+)/\)", banner)
        assert match, f"http.server did not start: {banner!r}"
        yield match.group(1), data
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


@pytest.fixture(scope="module")
def file_proxy(file_server: tuple[str, bytes]) -> Iterator[FaultProxy]:
    with start_proxy(file_server[0]) as running:
        yield running


@pytest.fixture(scope="module")
def igate_proxy() -> Iterator[tuple[SimulatorProcess, FaultProxy]]:
    """An iGate simulator, whose /_sim/truth answers with chunked transfer encoding, and a proxy to it."""
    with start_simulator("igate", "--count", "200") as sim, start_proxy(sim.url) as running:
        yield sim, running


def login(base: str, session: requests.Session | None = None, timeout: float = 10) -> requests.Response:
    return (session or requests).post(f"{base}/login", json=CREDENTIALS, headers=DSTCODE, timeout=timeout)


def logins(portal: SimulatorProcess) -> int:
    """How many logins the portal itself has applied: proof of whether a request got through."""
    return requests.get(f"{portal.url}/_inspect/summary", timeout=10).json()["logins"]


def eventually(check: Callable[[], Any], timeout: float = 5) -> None:
    """Waits for a condition the proxy reaches just after the client has seen its symptom."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def proxy_address(proxy: FaultProxy) -> tuple[str, int]:
    url = urlsplit(proxy.url)
    assert url.hostname is not None and url.port is not None
    return url.hostname, url.port


# ------------------------------------------------------------------------------------------ pass-through


def test_ready_line_gives_proxy_and_control_urls(proxy: FaultProxy) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", proxy.url)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", proxy.control_url)
    assert proxy.url != proxy.control_url
    assert proxy.process.extra_urls == [proxy.control_url]
    assert requests.get(f"{proxy.control_url}/health", timeout=5).json() == {"ok": True}


def test_without_faults_requests_pass_and_are_counted(proxy: FaultProxy, portal: SimulatorProcess) -> None:
    before = logins(portal)
    answer = login(proxy.url)
    assert answer.status_code == 200
    assert answer.json()["error_code"] == 0 and answer.json()["session"]
    assert requests.get(f"{proxy.url}/health", timeout=5).json() == {"ok": True}
    assert logins(portal) == before + 1
    counters = proxy.counters()
    assert counters == {
        "requests": 2,
        "forwarded": 2,
        "injected": {},
        "answer_lost": 0,
        "connections": 2,
        "upstream_errors": 0,
    }


def test_keep_alive_session_uses_one_connection_even_with_injected_answers(proxy: FaultProxy) -> None:
    proxy.set_fault(type="status", status=503, every=2)
    with requests.Session() as session:
        codes = [login(proxy.url, session).status_code for _ in range(6)]
    assert codes == [200, 503] * 3
    counters = proxy.counters()
    assert counters["connections"] == 1
    assert counters["requests"] == 6 and counters["forwarded"] == 3
    assert counters["injected"] == {"status_503": 3}


def test_clear_lets_traffic_pass_again(proxy: FaultProxy) -> None:
    proxy.set_fault(type="reset")
    with pytest.raises(requests.ConnectionError):
        login(proxy.url)
    proxy.clear()
    assert proxy.faults() == []
    assert login(proxy.url).json()["error_code"] == 0
    proxy.reset_counters()
    assert proxy.counters()["requests"] == 0


# ---------------------------------------------------------------------------------------------- faults


def test_reset_before_is_not_forwarded_and_a_session_recovers(
    proxy: FaultProxy, portal: SimulatorProcess
) -> None:
    before = logins(portal)
    proxy.set_fault(type="reset", count=1)
    with requests.Session() as session:
        with pytest.raises(requests.ConnectionError):
            login(proxy.url, session)
        assert logins(portal) == before
        assert login(proxy.url, session).json()["error_code"] == 0  # count=1: the retry passes
    counters = proxy.counters()
    assert counters["injected"] == {"reset": 1}
    assert counters["forwarded"] == 1 and counters["answer_lost"] == 0
    assert logins(portal) == before + 1


def test_reset_after_applies_the_call_but_loses_the_answer(
    proxy: FaultProxy, portal: SimulatorProcess
) -> None:
    before = logins(portal)
    proxy.set_fault(type="reset", phase="after")
    with pytest.raises(requests.ConnectionError):
        login(proxy.url)
    assert logins(portal) == before + 1
    counters = proxy.counters()
    assert counters["injected"] == {"reset": 1}
    assert counters["forwarded"] == 1 and counters["answer_lost"] == 1


def test_timeout_before_hangs_without_forwarding(proxy: FaultProxy, portal: SimulatorProcess) -> None:
    before = logins(portal)
    proxy.set_fault(type="timeout", seconds=30)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        login(proxy.url, timeout=0.5)
    assert time.monotonic() - started < 5
    # Once `seconds` are over the connection closes without an answer.
    proxy.set_fault(type="timeout", seconds=0.3)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        login(proxy.url, timeout=10)
    assert 0.3 <= time.monotonic() - started < 5
    assert logins(portal) == before
    counters = proxy.counters()
    assert counters["injected"] == {"timeout": 2} and counters["forwarded"] == 0


def test_timeout_after_applies_the_call_and_hangs(proxy: FaultProxy, portal: SimulatorProcess) -> None:
    before = logins(portal)
    proxy.set_fault(type="timeout", phase="after", seconds=30)
    with pytest.raises(requests.exceptions.ReadTimeout):
        login(proxy.url, timeout=0.5)
    eventually(lambda: proxy.counters()["answer_lost"] == 1)
    assert logins(portal) == before + 1
    assert proxy.counters()["injected"] == {"timeout": 1}


def test_truncate_sends_half_the_body_under_the_full_length(
    proxy: FaultProxy, portal: SimulatorProcess
) -> None:
    before = logins(portal)
    proxy.set_fault(type="truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        login(proxy.url)
    assert logins(portal) == before + 1
    counters = proxy.counters()
    assert counters["injected"] == {"truncate": 1} and counters["answer_lost"] == 1


def test_status_before_answers_synthetically_without_forwarding(
    proxy: FaultProxy, portal: SimulatorProcess
) -> None:
    before = logins(portal)
    for status in (500, 503, 429):
        proxy.set_fault(type="status", status=status, retry_after=7)
        answer = login(proxy.url)
        assert answer.status_code == status
        assert answer.json() == {"error": "injected"}
        assert answer.headers["Retry-After"] == "7"
    proxy.set_fault(type="status", status=503)
    assert "Retry-After" not in login(proxy.url).headers
    assert logins(portal) == before
    counters = proxy.counters()
    assert counters["injected"] == {"status_500": 1, "status_503": 2, "status_429": 1}
    assert counters["forwarded"] == 0


def test_status_after_replaces_an_applied_answer(proxy: FaultProxy, portal: SimulatorProcess) -> None:
    before = logins(portal)
    proxy.set_fault(type="status", status=500, phase="after")
    assert login(proxy.url).status_code == 500
    assert logins(portal) == before + 1
    assert proxy.counters()["answer_lost"] == 1


def test_latency_delays_before_or_after_forwarding(proxy: FaultProxy, portal: SimulatorProcess) -> None:
    before = logins(portal)
    proxy.set_fault(type="latency", latency_ms=300)
    started = time.monotonic()
    assert login(proxy.url).json()["error_code"] == 0
    assert time.monotonic() - started >= 0.3
    # After: the upstream has applied the call by the time the impatient client gives up.
    proxy.set_fault(type="latency", latency_ms=1000, phase="after")
    with pytest.raises(requests.exceptions.ReadTimeout):
        login(proxy.url, timeout=0.3)
    assert logins(portal) == before + 2
    counters = proxy.counters()
    assert counters["injected"] == {"latency": 2} and counters["answer_lost"] == 0


def test_down_refuses_new_connections_and_resets_kept_alive_ones(
    proxy: FaultProxy, portal: SimulatorProcess
) -> None:
    with requests.Session() as session:
        assert login(proxy.url, session).status_code == 200  # a kept-alive connection from before
        before = logins(portal)
        proxy.set_fault(type="down")
        with pytest.raises(requests.ConnectionError):
            login(proxy.url, session)
        for _ in range(2):
            with pytest.raises(requests.ConnectionError):
                login(proxy.url)
        assert logins(portal) == before
        proxy.clear()
        assert login(proxy.url, session).status_code == 200
    counters = proxy.counters()
    assert counters["injected"] == {"down": 3}
    assert counters["connections"] == 4  # the session's first, the two refused, the session's new one
    assert counters["requests"] == 3  # refused connections were reset before any request was read


def test_every_count_and_path_select_the_requests(proxy: FaultProxy) -> None:
    proxy.set_fault(type="status", status=500, every=2, count=2, path="/login")
    codes = []
    for _ in range(6):
        codes.append(login(proxy.url).status_code)
        assert requests.get(f"{proxy.url}/health", timeout=5).status_code == 200  # other paths pass
    assert codes == [200, 500, 200, 500, 200, 200]
    [fault] = proxy.faults()
    assert fault["matched"] == 4 and fault["injected"] == 2  # once the count is spent, requests pass
    assert proxy.counters()["injected"] == {"status_500": 2}


def test_a_list_of_faults_first_that_fires_wins(proxy: FaultProxy) -> None:
    proxy.set_faults(
        {"type": "status", "status": 503, "path": "/health"},
        {"type": "status", "status": 429, "path": "/login", "retry_after": 2},
        {"type": "status", "status": 500, "path": "/login"},
    )
    assert requests.get(f"{proxy.url}/health", timeout=5).status_code == 503
    assert login(proxy.url).status_code == 429
    assert requests.get(f"{proxy.url}/_inspect/summary", timeout=5).status_code == 200
    assert proxy.counters()["injected"] == {"status_503": 1, "status_429": 1}


def test_control_api_refuses_bad_specs_and_keeps_the_active_fault(proxy: FaultProxy) -> None:
    proxy.set_fault(type="latency", latency_ms=1)
    bad_specs: list[dict[str, Any]] = [
        {"type": "explode"},
        {"type": "reset", "every": 0},
        {"type": "reset", "phase": "during"},
        {"type": "truncate", "phase": "before"},
        {"type": "truncate", "truncate_at": 1.5},
        {"type": "status", "status": 200},
        {"type": "latency", "latency": 5},
        {"type": "timeout", "seconds": "long"},
    ]
    for spec in bad_specs:
        with pytest.raises(ValueError, match="proxy refused"):
            proxy.set_fault(**spec)
    assert [f["type"] for f in proxy.faults()] == ["latency"]
    assert requests.get(f"{proxy.control_url}/nowhere", timeout=5).status_code == 404
    assert requests.get(f"{proxy.control_url}/clear", timeout=5).status_code == 405
    bad_json = requests.post(f"{proxy.control_url}/faults", data=b"{not json", timeout=5)
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error"]


# -------------------------------------------------------------------------------------- HTTP handling


def test_unreachable_upstream_answers_502() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with start_proxy(f"http://127.0.0.1:{port}") as dead_end:
        answer = requests.get(f"{dead_end.url}/health", timeout=10)
        assert answer.status_code == 502
        assert answer.json()["error"] == "bad gateway"
        counters = dead_end.counters()
        assert counters["upstream_errors"] == 1 and counters["forwarded"] == 0


def test_large_answer_is_relayed_intact_and_can_be_truncated(
    file_proxy: FaultProxy, file_server: tuple[str, bytes]
) -> None:
    _, data = file_server
    with requests.Session() as session:
        started = time.monotonic()
        answer = session.get(f"{file_proxy.url}/big.bin", timeout=30)
        elapsed = time.monotonic() - started
        assert answer.status_code == 200
        assert int(answer.headers["Content-Length"]) == len(answer.content) == BIG_FILE_SIZE
        assert hashlib.sha256(answer.content).digest() == hashlib.sha256(data).digest()
        assert elapsed < 10, f"20 MB took {elapsed:.1f} s"
        head = session.head(f"{file_proxy.url}/big.bin", timeout=10)  # no body, same connection after
        assert head.headers["Content-Length"] == str(BIG_FILE_SIZE) and head.content == b""
        assert session.get(f"{file_proxy.url}/big.bin", timeout=30).content == data
    assert file_proxy.counters()["connections"] == 1
    file_proxy.set_fault(type="truncate", truncate_at=0.9)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{file_proxy.url}/big.bin", timeout=30)


def test_chunked_answer_is_relayed_with_a_length_and_truncation_shows(
    igate_proxy: tuple[SimulatorProcess, FaultProxy],
) -> None:
    sim, chunked_proxy = igate_proxy
    direct = requests.get(f"{sim.url}/_sim/truth", timeout=10)
    assert direct.headers.get("Transfer-Encoding") == "chunked"
    relayed = requests.get(f"{chunked_proxy.url}/_sim/truth", timeout=10)
    assert relayed.content == direct.content and len(direct.content) > 10_000
    assert relayed.headers["Content-Length"] == str(len(direct.content))
    assert "Transfer-Encoding" not in relayed.headers
    chunked_proxy.set_fault(type="truncate", truncate_at=0.25)
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        requests.get(f"{chunked_proxy.url}/_sim/truth", timeout=10)


def test_large_and_chunked_request_bodies_reach_the_upstream(
    proxy: FaultProxy, portal: SimulatorProcess
) -> None:
    before = logins(portal)
    padded = {**CREDENTIALS, "padding": "x" * (8 << 20)}  # the portal parses the whole JSON body
    assert (
        requests.post(f"{proxy.url}/login", json=padded, headers=DSTCODE, timeout=30).json()["error_code"]
        == 0
    )
    pieces = [b'{"username": "portal", ', b'"password": "secret"}']  # a generator: sent chunked
    answer = requests.post(f"{proxy.url}/login", data=iter(pieces), headers=DSTCODE, timeout=10)
    assert answer.json()["error_code"] == 0
    assert logins(portal) == before + 2


def test_misbehaving_clients_do_not_stop_the_proxy(proxy: FaultProxy) -> None:
    address = proxy_address(proxy)
    with socket.create_connection(address) as client:  # hangs up inside the body
        client.sendall(b'POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"user')
    with socket.create_connection(address) as client:  # hangs up inside the head
        client.sendall(b"GET /health HTTP/1.1\r\nHo")
    with socket.create_connection(address) as client:  # resets mid-request
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(b"POST /login HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
    with socket.create_connection(address) as client:  # not HTTP: 400, then closed
        client.sendall(b"HELLO THERE\r\n\r\n")
        client.settimeout(5)
        reply = b"".join(iter(lambda: client.recv(4096), b""))
        assert reply.startswith(b"HTTP/1.1 400 ")
    proxy.set_fault(type="latency", latency_ms=200)
    with socket.create_connection(address) as client:  # leaves before its delayed answer comes
        client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    proxy.clear()
    assert login(proxy.url).json()["error_code"] == 0
    assert proxy.process.proc.poll() is None
    assert "Traceback" not in proxy.process.stderr_tail(100_000)
