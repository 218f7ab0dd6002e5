"""A real HTTP server on 127.0.0.1 that answers from a script: for testing what clients do with faults."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, dict[str, str], bytes]


@contextmanager
def routed_server(
    route: Callable[[str, bytes], Answer], keep_alive: bool = True
) -> Iterator[tuple[str, list[str]]]:
    """Answer each request by `route(raw path with its query, body)`, whatever order the requests come in (a client
    that calls in parallel). Yields (url, request log: "METHOD path" as received, percent-encoding kept).
    `keep_alive=False`: each answer ends its connection (HTTP/1.0), so that a body shorter than its
    Content-Length is cut short rather than awaited."""
    log: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length) if length else b""
            with lock:
                log.append(f"{self.command} {self.path}")
            status, headers, body = route(self.path, sent)
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def scripted_server(answers: list[Answer]) -> Iterator[tuple[str, list[str]]]:
    """Serve each (status, headers, body) once in order, then the last one forever. Yields (url, request log)."""
    served = itertools.count()

    def route(_path: str, _body: bytes) -> Answer:
        return answers[min(next(served), len(answers) - 1)]

    with routed_server(route, keep_alive=False) as running:
        yield running
