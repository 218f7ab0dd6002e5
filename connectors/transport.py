"""Our HTTP connections, beneath requests: what urllib3 and http.client leave to their callers.

- A whole answer's time limit. requests' read timeout bounds each wait for the next bytes, not the answer: a system
  (or a proxy in front of it) that sends a byte now and then holds a call, and the sync's task, for hours. Each
  connection a call uses is noted as its request goes out; past the limit its socket is shut, the read blocked on
  it returns at once, and the call is said to be cut off (connectors.http).
- Interim answers. http.client skips a `100 Continue` only: a `103 Early Hints` (a CDN's, a proxy's) or a
  `102 Processing` was taken for the answer itself, empty, and the real one read as the answer to the next call.
- An old server's TLS settings, when the connection has them (connectors.connection.tls_context).
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import connection, connectionpool


class Deadline:
    """One call's limit: the connections it used, shut when the limit passes."""

    def __init__(self) -> None:
        self.passed = threading.Event()
        self.done = False  # the call ended: nothing to cut
        self._connections: list[connection.HTTPConnection] = []
        self._lock = threading.Lock()

    def note(self, used: connection.HTTPConnection) -> None:
        with self._lock:
            self._connections.append(used)
            if self.passed.is_set():  # noted after the limit: shut as it starts
                _shut(used)

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.passed.set()
            for used in self._connections:
                _shut(used)


def _shut(used: connection.HTTPConnection) -> None:
    sock = used.sock
    if sock is not None:
        with suppress(OSError):  # closed meanwhile
            sock.shutdown(socket.SHUT_RDWR)  # a blocked recv returns now; the pool discards the connection


class _Calls(threading.local):
    deadline: Deadline | None = None


_calls = _Calls()


class _Watch:
    """One thread for every deadline of the process, in the order they pass (a timer thread per call would cost
    ~100 µs of CPU each: a detail call per dossier makes thousands)."""

    def __init__(self) -> None:
        self.reset()
        # A forked child (Airflow's task runner, a normalize worker) has no watch thread and maybe a lock held by it.
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._due: list[tuple[float, int, Deadline]] = []
        self._changed = threading.Condition()
        self._count = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: Deadline, seconds: float) -> None:
        with self._changed:
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._count), deadline))
            if self._thread is None:  # first use
                self._thread = threading.Thread(target=self._run, name="answer-deadlines", daemon=True)
                self._thread.start()
            self._changed.notify()

    def disarm(self, deadline: Deadline) -> None:
        deadline.done = True  # taken off lazily, when its time comes

    def _run(self) -> None:
        with self._changed:
            while True:
                while self._due and self._due[0][2].done:
                    heapq.heappop(self._due)
                if not self._due:
                    self._changed.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                heapq.heappop(self._due)[2].expire()


_watch = _Watch()


@contextmanager
def answer_deadline(seconds: float) -> Iterator[Deadline]:
    """The calls this thread makes inside are cut off `seconds` after they start (the Deadline says whether)."""
    deadline = Deadline()
    before, _calls.deadline = _calls.deadline, deadline
    _watch.arm(deadline, seconds)
    try:
        yield deadline
    finally:
        _watch.disarm(deadline)
        _calls.deadline = before


class _Noted:
    """A connection that tells the calling thread's deadline it is in use, each time a request goes out on it (a
    kept-alive connection serves several calls)."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = _calls.deadline
        if deadline is not None:
            deadline.note(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


# Named as urllib3's own: their names are in the errors they raise ("HTTPConnectionPool(host=…): Max retries …").
class _FinalAnswer(http.client.HTTPResponse):
    """http.client's response, past any interim answer (1xx but 100, which http.client skips itself, and 101)."""

    def _read_status(self) -> tuple[str, int, str]:
        while True:
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not 101 < status < 200:
                return version, status, reason
            http.client.parse_headers(self.fp)  # its headers (103's Link hints): not the answer's


class HTTPConnection(_Noted, connection.HTTPConnection):
    response_class = _FinalAnswer


class HTTPSConnection(_Noted, connection.HTTPSConnection):
    response_class = _FinalAnswer


class HTTPConnectionPool(connectionpool.HTTPConnectionPool):
    ConnectionCls = HTTPConnection


class HTTPSConnectionPool(connectionpool.HTTPSConnectionPool):
    ConnectionCls = HTTPSConnection


_POOLS = {"http": HTTPConnectionPool, "https": HTTPSConnectionPool}


class NotingAdapter(HTTPAdapter):
    """requests' adapter whose pools (direct, or through an HTTP proxy) use noted connections, and the connection's
    own TLS settings when it has any (connectors.connection.tls_context)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._tls = {"ssl_context": ssl_context} if ssl_context is not None else {}
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs, **self._tls)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs, **self._tls)
        if not proxy.lower().startswith("socks"):  # a SOCKS proxy's own pools: no limit but the read timeout
            manager.pool_classes_by_scheme = _POOLS
        return manager
