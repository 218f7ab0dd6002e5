"""Start a simulator (or any `python -m` server) as a child process and wait for its `READY <url>` line.

Used by tests, the demo and the chaos proxy; the READY line may carry further URLs after the first.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SimulatorProcess:
    """A running simulator (or other READY-line process): its URL(s) and its process. Stops on context exit."""

    def __init__(
        self,
        url: str,
        proc: subprocess.Popen,
        stderr_file: IO[bytes] | None = None,
        reader: threading.Thread | None = None,
        extra_urls: list[str] | None = None,
    ) -> None:
        self.url = url
        self.extra_urls = extra_urls or []  # further URLs on the READY line (e.g. a control port)
        self.proc = proc
        self._stderr_file = stderr_file
        self._reader = reader

    def stderr_tail(self, limit: int = 4000) -> str:
        return _tail(self._stderr_file, limit)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, wait, SIGKILL if it hangs. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=2)  # it ends at EOF; closing the pipe under it would raise there
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._stderr_file is not None and not self._stderr_file.closed:
            self._stderr_file.close()
        return self.proc.returncode

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimulatorProcess(url={self.url!r}, pid={self.proc.pid})"


def _tail(file: IO[bytes] | None, limit: int) -> str:
    if file is None or file.closed:
        return ""
    file.flush()
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(max(0, size - limit))
    return file.read().decode("utf-8", "replace")


def _drain(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    """Reads stdout for the process's whole life, so the pipe never fills up and blocks the server."""
    try:
        for line in iter(stream.readline, b""):
            lines.put(line)
    except (OSError, ValueError):  # the pipe was closed under us
        pass
    finally:
        lines.put(None)


# `igate --prerendered` renders every record before READY: 1M dossiers take minutes on 2 cores.
PRERENDER_TIMEOUT = 1800  # s


def start_simulator(
    kind: str, *args: str, env: dict[str, str] | None = None, timeout: float | None = None
) -> SimulatorProcess:
    """Launch `python -m onestop.simulators.<kind> --port 0 *args` and wait for READY (by default 30 s; a
    pre-rendered build, PRERENDER_TIMEOUT)."""
    if timeout is None:
        timeout = PRERENDER_TIMEOUT if "--prerendered" in args else 30
    return start_process(f"onestop.simulators.{kind}", "--port", "0", *args, env=env, timeout=timeout)


def start_process(
    module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> SimulatorProcess:
    """Launch `python -m <module> *args` and wait for its `READY <url> [<url> ...]` line.

    `env` is laid over the current environment. stderr goes to a temporary file (not a pipe, which could
    fill up and stall a long run); its tail is in the error if the process dies or never gets ready.
    """
    full_env = {**os.environ, **(env or {})}
    # The package must be importable whatever the caller's working directory.
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), full_env.get("PYTHONPATH")]))
    name = module.rsplit(".", 1)[-1]
    stderr_file = tempfile.TemporaryFile(prefix=f"sim-{name}-")  # noqa: SIM115 - lives as long as the child
    cmd = [sys.executable, "-m", module, *args]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=stderr_file, stdin=subprocess.DEVNULL, env=full_env
    )
    assert proc.stdout is not None
    lines: queue.Queue[bytes | None] = queue.Queue()
    reader = threading.Thread(
        target=_drain, args=(proc.stdout, lines), daemon=True, name=f"sim-{name}-stdout"
    )
    reader.start()
    deadline = time.monotonic() + timeout
    problem = f"did not print READY within {timeout:g} s"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            line = lines.get(timeout=min(remaining, 0.5))
        except queue.Empty:
            continue
        if line is None:
            proc.wait(timeout=5)
            problem = f"exited with code {proc.returncode} before READY"
            break
        words = line.decode("utf-8", "replace").split()
        if len(words) >= 2 and words[0] == "READY":
            return SimulatorProcess(words[1], proc, stderr_file, reader, extra_urls=words[2:])
    sim = SimulatorProcess("", proc, stderr_file, reader)
    tail = sim.stderr_tail()
    sim.stop(timeout=5)
    raise RuntimeError(f"`python -m {' '.join(cmd[2:])}` {problem}; stderr tail:\n{tail}")
