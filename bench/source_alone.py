"""The bench's district system alone: how many records/s it serves to a client that only reads bytes.

    .venv/bin/python -m bench.source_alone [--count 1000000] [--page-size 200] [--sample 20000] [--cache-dir DIR]

Starts the iGate simulator in its pre-rendered mode (`--prerendered`, the bench's source) with the bench's
generator (seed 7, 175 days of receipts) and `--count` dossiers, and walks the whole window page by page the way
our REST connector does (an OAuth2 client-credentials token by HTTP Basic, then GET /api/v1/dossiers?page=0,1,...
&size=N until a short page), over one keep-alive HTTP/1.1 connection, reading each body's bytes: no JSON parsing,
a page's records are counted by their opening `{"id":"`. Then the same walk against the normal mode (records
rendered per request) on `--sample` records, side by side, after one first page (on its first request the
normal mode computes the window's order, ~15 s for 1M, and caches it) and once it is idle (it indexes its
event times in a thread). Both with the CPU time the server and the client spent. Prints one JSON line last.

`measure()` is what bench/run.py calls with a running simulator's URL and login.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

SEED, SPAN_DAYS = "7", "175"
LOGIN = {
    "login": "igate",
    "password": "secret",
}  # onestop.simulators.demo.SIMULATORS["igate"]: the connection's fields
RECORD_START = b'{"id":"'  # a record's first bytes; nested objects' ids are numbers ({"id":1})


def _credentials(login: dict[str, Any]) -> tuple[str, str]:
    """(client id, secret) from a connection's fields (login/password) or client_id/client_secret."""
    return str(login.get("login", login.get("client_id", ""))), str(
        login.get("password", login.get("client_secret", ""))
    )


def measure(
    url: str,
    login: dict[str, Any],
    page_size: int = 200,
    limit: int | None = None,
    *,
    window: dict[str, str] | None = None,
    timeout: float = 600,
) -> dict[str, Any]:
    """Read the whole window (`window`: updatedFrom/updatedTo, default all) page by page, or until `limit`
    records; {"records", "seconds", "records_per_s", "pages", "bytes", "client_cpu_s"}. The clock runs from the
    token on; client_cpu_s is this process's CPU time meanwhile (on a busy machine, the figure is shared)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)  # HTTP/1.1: keep-alive
    try:
        started, cpu = time.perf_counter(), time.process_time()
        client_id, secret = _credentials(login)
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        conn.request("POST", "/oauth/token", body="grant_type=client_credentials",
                     headers={"Authorization": f"Basic {basic}",
                              "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        answer = conn.getresponse()
        token_body = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"token: HTTP {answer.status} {token_body[:200]!r}")
        headers = {"Authorization": f"Bearer {json.loads(token_body)['access_token']}"}
        records = pages = size = 0
        page = 0
        while limit is None or records < limit:
            query = urlencode({"page": page, "size": page_size, **(window or {})})
            conn.request("GET", f"/api/v1/dossiers?{query}", headers=headers)
            answer = conn.getresponse()
            body = answer.read()
            if answer.status != 200:
                raise RuntimeError(f"page {page}: HTTP {answer.status} {body[:200]!r}")
            n = body.count(RECORD_START)
            records, pages, size = records + n, pages + 1, size + len(body)
            if n < page_size:
                break
            page += 1
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        conn.close()
    return {"records": records, "seconds": seconds, "records_per_s": records / seconds if seconds else 0.0,
            "pages": pages, "bytes": size, "client_cpu_s": cpu}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    from onestop.simulators.process import start_simulator

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=1_000_000, help="dossiers in the system")
    p.add_argument("--page-size", type=int, default=200)
    p.add_argument(
        "--sample", type=int, default=20_000, help="records read from the normal mode (0: skip it)"
    )
    p.add_argument(
        "--cache-dir", default=None, help="keep the pre-rendered build here (a second run maps it)"
    )
    args = p.parse_args(argv)
    common = ("--seed", SEED, "--count", str(args.count), "--span-days", SPAN_DAYS)
    extra = ("--cache-dir", args.cache_dir) if args.cache_dir else ()
    result: dict[str, Any] = {"count": args.count, "page_size": args.page_size}
    started = time.perf_counter()
    with start_simulator("igate", *common, "--prerendered", *extra) as sim:
        result["start_s"] = time.perf_counter() - started
        info = json.loads(http_get(f"{sim.url}/_sim/prerendered"))
        result["build_s"], result["cached"] = info["build_s"], info["cached"]
        before = _cpu_s(sim.proc.pid)
        result["prerendered"] = measure(sim.url, LOGIN, args.page_size)
        result["prerendered"]["server_cpu_s"] = _cpu_s(sim.proc.pid) - before
        result["prerendered_rss_mb"] = _rss_mb(sim.proc.pid)
    print(f"pre-rendered ({args.count:,} dossiers, built in {result['build_s']:.1f} s"
          f"{', from the cache' if result['cached'] else ''}): {_line(result['prerendered'])}", flush=True)  # fmt: skip
    if args.sample:
        with start_simulator("igate", *common) as sim:
            measure(sim.url, LOGIN, args.page_size, limit=1)  # it computes the window's order once (cached)
            _wait_idle(sim.proc.pid)  # and indexes its event times in a thread (1M: ~15 s of one core)
            before = _cpu_s(sim.proc.pid)
            result["normal"] = measure(sim.url, LOGIN, args.page_size, limit=args.sample)
            result["normal"]["server_cpu_s"] = _cpu_s(sim.proc.pid) - before
        print(f"normal mode (sample): {_line(result['normal'])}", flush=True)
    print(json.dumps(result))


def http_get(url: str) -> bytes:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", parts.path)
        return conn.getresponse().read()
    finally:
        conn.close()


def _wait_idle(pid: int, limit: float = 300) -> None:
    """Until the process uses less than a tenth of a core over a second (or `limit` seconds have passed)."""
    deadline = time.monotonic() + limit
    last = _cpu_s(pid)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _cpu_s(pid)
        if now - last < 0.1:
            return
        last = now


def _cpu_s(pid: int) -> float:
    """A process's CPU time (user + system), psutil if there, else /proc."""
    try:
        import psutil

        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    except ImportError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float | None:
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 1e6
    except Exception:  # a figure we can do without
        return None


def _line(figure: dict[str, Any]) -> str:
    return (f"{figure['records_per_s']:,.0f} records/s ({figure['records']:,} records, {figure['pages']:,} pages,"
            f" {figure['bytes'] / 1e6:,.0f} MB in {figure['seconds']:.1f} s; CPU: server {figure['server_cpu_s']:.1f} s,"
            f" client {figure['client_cpu_s']:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
