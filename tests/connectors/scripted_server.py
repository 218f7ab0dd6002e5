"""A real HTTP server on 127.0.0.1 that answers from a script: for testing what clients do with faults."""

from __future__ import annotations

import itertools
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, dict[str, str], bytes]


class Answering(BaseHTTPRequestHandler):
    """A request handler that reads a request's body and writes an Answer, quietly: what every test server here
    shares (subclasses say how to answer, in `answer(body)`)."""

    protocol_version = "HTTP/1.1"

    def answer(self, body: bytes) -> None:
        raise NotImplementedError

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.answer(self.rfile.read(length) if length else b"")

    do_GET = do_POST = _answer

    def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """`handler` on 127.0.0.1 in threads (over TLS with `tls`), its URL yielded; shut down after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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

    class Handler(Answering):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def answer(self, body: bytes) -> None:
            with lock:
                log.append(f"{self.command} {self.path}")
            self.send(*route(self.path, body))

    with serving(Handler) as url:
        yield url, log


@contextmanager
def scripted_server(answers: list[Answer]) -> Iterator[tuple[str, list[str]]]:
    """Serve each (status, headers, body) once in order, then the last one forever. Yields (url, request log)."""
    served = itertools.count()

    def route(_path: str, _body: bytes) -> Answer:
        return answers[min(next(served), len(answers) - 1)]

    with routed_server(route, keep_alive=False) as running:
        yield running


class Dripping(Answering):
    """A system (or a proxy before it) that sends its answer a few bytes at a time, each well within the read
    timeout: the headers too, or only the body."""

    drip_headers = False
    pause = 0.2

    def answer(self, body: bytes) -> None:
        said = b'{"items": [' + b'{"id": 1}, ' * 200 + b"]}"
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(said)}\r\n\r\n".encode()
        with suppress(OSError):  # cut off: the client shut its end
            if not self.drip_headers:
                self.wfile.write(head)
                head = b""
            for i in range(0, len(head + said), 4):
                self.wfile.write((head + said)[i : i + 4])
                self.wfile.flush()
                time.sleep(self.pause)
        self.close_connection = True
