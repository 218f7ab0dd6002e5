"""A 60 MB SOAP or XML page is read as a stream and staged in chunks: `onestop sync` stays under 300 MB (PSS
of the sync process and its children, sampled every 50 ms), and every record is loaded exactly once, the page
counted once. An answer spoiled after its last record (a Fault, an error code, broken XML) fails its page:
nothing staged or loaded, the watermark unmoved; a soap:Server Fault is retried first.

Each record carries a 6 KB base64 attachment no mapping reads (~6,600 records of ~9 KB per page): as many
bytes as 20,000 plain records, a third of the normalizing. A run forks its normalizing workers
(pipeline.normalize_processes) only past its 10,000th record, which these pages do not reach; where it forks
them, each may add its own ~130 MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import psycopg
import pytest
import requests

from connectors.errors import ProtocolError, RefusedAnswer, TransientError
from onestop import pipeline
from onestop.simulators.process import SimulatorProcess, start_process
from tests.conftest import ROOT

MB = 1_000_000
PEAK_LIMIT = 300 * MB
SOURCES = {
    "soap": """
      - name: big_soap
        title: Một trang SOAP 60 MB
        kind: soap
        dialect: dvc_soap
        conn_id: onestop_src_big_soap
        max_attempts: 2
        soap:
          wsdl: "/soap?wsdl"
          operation: LayDanhSachHoSo
          request: {TuNgay: "{start}", DenNgay: "{end}", Trang: "{page}", SoBanGhi: "{page_size}"}
          records: DanhSachHoSo.HoSo
          paginator: {type: page_number, base: 1, page_size: 5000, stop: total_count, total_path: TongSo}
          incremental: {format: iso}
          ws_security: true
    """,
    "xml": """
      - name: big_xml
        title: Một trang XML 60 MB
        kind: xml
        dialect: aspnet_xml
        conn_id: onestop_src_big_xml
        max_attempts: 2
        watermark_field: received
        xml:
          request:
            path: /DichVu/DanhSachHoSo.aspx
            query: {currPage: "{page}", pageSize: "{page_size}", tuNgay: "{start}", denNgay: "{end}"}
          answer: xml
          records: DanhSach.HoSo
          paginator: {type: page_number, base: 1, page_size: 1000, stop: total_pages, total_pages_path: lastPage}
          incremental: {format: dd/MM/yyyy}
          errors:
            - {when: {path: ErrorCode, not_in: ["", "0", "00"]}, code: ErrorCode, message: ErrorMessage}
          auth: {type: basic}
    """,
}
CONNECTIONS = {
    "soap": {"login": "soap", "password": "secret"},
    "xml": {"login": "aspnet", "password": "secret"},
}


ATTACHED = "6000"
WORKER_ALLOWANCE = 130 * MB


def serve(kind: str, *args: str) -> SimulatorProcess:
    module = "tests.connectors.big_page_server"
    return start_process(module, "--kind", kind, "--attached", ATTACHED, *args, timeout=120)


@pytest.fixture(scope="module")
def big_pages() -> Iterator[dict[str, SimulatorProcess]]:
    """A 60 MB page of each kind, rendered by two servers side by side."""
    with ThreadPoolExecutor(2) as pool:
        started = {kind: pool.submit(serve, kind) for kind in ("soap", "xml")}
        servers = {kind: future.result() for kind, future in started.items()}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def registry(folder: Path, kind: str, url: str) -> dict[str, str]:
    """The environment of a sync of the `kind` source against `url`: its registry and its connection."""
    path = folder / f"sources-{kind}.yaml"
    path.write_text("sources:\n" + textwrap.indent(textwrap.dedent(SOURCES[kind]), "  "), encoding="utf-8")
    conn = {"conn_type": "http", "host": url, **CONNECTIONS[kind]}
    return {"ONESTOP_SOURCES": str(path), f"AIRFLOW_CONN_ONESTOP_SRC_BIG_{kind.upper()}": json.dumps(conn)}


def pss(process: psutil.Process) -> int:
    """PSS of a process and all its children (forked normalize workers included), in bytes."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            with open(f"/proc/{p.pid}/smaps_rollup", encoding="ascii") as f:
                total += next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def sync_peak(name: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, int]:
    """`onestop sync <name>` as its own process: (its result, the peak PSS of its process tree)."""
    full_env = {
        **os.environ,
        **env,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "onestop.cli", "sync", name],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        watched = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                peak = max(peak, pss(watched))
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate(timeout=300)
    done.set()
    sampler.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), peak


def count(db: psycopg.Connection, table: str, source: str) -> int:
    return db.execute(f"SELECT count(*) FROM onestop.{table} WHERE source = %s", (source,)).fetchone()[0]


@pytest.mark.slow  # two 60 MB syncs: `make test-slow` (.ci/run), not `make test`
@pytest.mark.parametrize("kind", ["soap", "xml"])
def test_a_60_mb_page_streams_and_loads_every_record_once(
    kind: str,
    big_pages: dict[str, SimulatorProcess],
    db: psycopg.Connection,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = big_pages[kind]
    served = requests.get(f"{server.url}/_stats", timeout=10).json()
    assert served["bytes"] >= 60 * MB
    name = f"big_{kind}"

    result, peak = sync_peak(name, registry(tmp_path, kind, server.url))

    with capsys.disabled():
        print(
            f"\n{name}: a {served['bytes'] / MB:.0f} MB page, {served['records']} records: peak PSS {peak / MB:.0f} MB"
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (count(db, "dossier", name), count(db, "quarantine", name)) == (served["records"], 0)
    pages = db.execute("SELECT pages, fetched FROM onestop.sync_run WHERE source = %s", (name,)).fetchall()
    assert pages == [(1, served["records"])]  # several chunks, one page
    assert requests.get(f"{server.url}/_stats", timeout=10).json()["requests"] == served["requests"] + 1
    workers = pipeline.normalize_processes() if served["records"] >= pipeline.normalize.PARALLEL_FROM else 0
    assert peak < PEAK_LIMIT + workers * WORKER_ALLOWANCE, f"peak PSS {peak / MB:.0f} MB, {workers} workers"


@pytest.mark.parametrize(
    ("kind", "tail", "error", "said", "tries"),
    [
        ("soap", "fault", RefusedAnswer, "page 1: SOAP Fault soap:Client: Lỗi sau danh sách", 1),
        ("soap", "server-fault", TransientError, "page: SOAP Fault soap:Server: Lỗi sau danh sách", 2),
        ("soap", "broken", RefusedAnswer, "page 1: answer is not well-formed XML", 1),
        (
            "xml",
            "fault",
            ProtocolError,
            "page: the system answered an error 500: Lỗi truy vấn sau danh sách",
            1,
        ),
        ("xml", "broken", RefusedAnswer, "page 1: answer is not well-formed XML", 1),
    ],
)
def test_an_answer_spoiled_after_its_records_fails_its_page_and_loads_nothing(
    kind: str,
    tail: str,
    error: type[Exception],
    said: str,
    tries: int,
    db: psycopg.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """8 MB pages (spooled to a file, several chunks), the Fault, the error code or the broken end after the
    last record."""
    name = f"big_{kind}"
    with serve(kind, "--bytes", str(8 * MB), "--tail", tail) as server:
        for key, value in registry(tmp_path, kind, server.url).items():
            monkeypatch.setenv(key, value)
        with pytest.raises(error) as caught:
            pipeline.sync(name)
        requests_made = requests.get(f"{server.url}/_stats", timeout=10).json()["requests"]

    assert str(caught.value).startswith(f"{name}: {said}")
    assert requests_made == tries  # a soap:Server Fault is transient: retried (backoff), then the run fails
    run_id, state, error_text = db.execute(
        "SELECT run_id, state, error FROM onestop.sync_run WHERE source = %s", (name,)
    ).fetchone()
    assert state == "failed" and said in error_text
    staged = db.execute("SELECT count(*) FROM onestop.staging WHERE run_id = %s", (run_id,)).fetchone()[0]
    assert (staged, count(db, "dossier", name), count(db, "watermark", name)) == (0, 0, 0)
