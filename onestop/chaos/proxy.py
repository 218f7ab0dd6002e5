"""A fault-injection HTTP proxy for the chaos suite, run as its own process between a connector and one
upstream (a district simulator, the portal simulator) to prove that no dossier is lost under faults.

    python -m onestop.chaos.proxy --target http://127.0.0.1:PORT [--port 0] [--control-port 0]

It prints one line, `READY http://127.0.0.1:<port> http://127.0.0.1:<control_port>` (proxy URL, then control
URL), and serves until SIGTERM/SIGINT. Point the connector at the proxy URL; drive faults through the control
URL, a small JSON API:

    POST /faults          a fault spec, or {"faults": [spec, ...]}: replaces the active faults
    GET  /faults          the active faults with their matched/injected tallies
    POST /clear           no faults: traffic passes
    GET  /counters        {"requests", "forwarded", "injected": {name: n}, "answer_lost", "connections",
                           "upstream_errors"}
    POST /counters/reset
    GET  /health

A spec: {"type": T, "every": N, "count": C, "path": "/prefix", "phase": "before"|"after", "latency_ms": ms,
"status": 500|503|429, "retry_after": s, "truncate_at": 0.5, "seconds": 3600}. It fires on the Nth, 2Nth, …
request whose path starts with `path` (every=1: all of them), at most `count` times (null: no cap). With
several faults the first that fires wins. Types (each counted under its name in `injected` when it fires):

    latency   wait latency_ms, before forwarding (phase before) or before relaying the answer (after)
    reset     TCP RST to the client; before: not forwarded; after: forwarded, answer dropped (answer_lost)
    timeout   answer nothing for `seconds` (until the client leaves), then close; before/after as reset
    truncate  forwarded; the answer's head with its full Content-Length but only truncate_at of the body,
              then close (answer_lost); an answer without a body is withheld whole
    status    a synthetic `status` answer {"error": "injected"} (+ Retry-After if retry_after is given),
              counted as status_<code>; before: not forwarded; after: forwarded, answer replaced (answer_lost)
    down      every new connection is reset on accept (and requests on older keep-alive connections):
              counted once per refused connection; with a `path`, only requests to it are reset

"answer_lost" counts calls the upstream applied whose answer the client never got: the retry must be
idempotent. An unreachable upstream gives 502 (counted in upstream_errors).

From Python: `with start_proxy(sim.url) as proxy: proxy.set_fault(type="reset", phase="after")`.

Only what the faults need of HTTP/1.1 is implemented: request and answer boundaries (Content-Length, chunked,
read until close), client keep-alive, and a fresh upstream connection per request (`Connection: close`, Host
rewritten). Answers are read whole before relaying (an 'after' fault needs the complete answer, and a
truncation needs its length), so chunked answers reach the client de-chunked, with a Content-Length.
Standard library only (asyncio streams); the FaultProxy client uses requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import socket
import struct
import sys
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from onestop.simulators.process import SimulatorProcess, start_process

if TYPE_CHECKING:
    import requests

HOST = "127.0.0.1"
HEAD_LIMIT = 1 << 20  # longest request/status line plus headers accepted
CONNECT_TIMEOUT = 10.0
SMALL_BODY = 1 << 16  # bodies below this go out in the same write as the head
FAULT_TYPES = ("latency", "reset", "timeout", "truncate", "status", "down")
PHASES: dict[str, tuple[str, ...]] = {  # allowed phases per type, the default first
    "latency": ("before", "after"),
    "reset": ("before", "after"),
    "timeout": ("before", "after"),
    "truncate": ("after",),
    "status": ("before", "after"),
    "down": ("before",),
}
# Never copied to the upstream request: hop-by-hop, or set by the proxy itself.
REQUEST_DROP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
    | {"expect", "content-length", "host"}
)
RESPONSE_DROP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "trailer", "content-length"}
)
INJECTED_BODY = b'{"error":"injected"}'

log = logging.getLogger("onestop.chaos.proxy")


class HttpError(Exception):
    """A malformed or cut-short HTTP message."""


# ---------------------------------------------------------------------------------------------- messages


@dataclass
class Message:
    """A request or an answer: start line, headers in order (latin-1, so any byte round-trips), body."""

    start: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def tokens(self, name: str) -> set[str]:
        """The comma-separated tokens of every `name` header, lower-cased (Connection, Transfer-Encoding)."""
        return {
            t.strip().lower() for k, v in self.headers if k.lower() == name for t in v.split(",") if t.strip()
        }

    @property
    def framed(self) -> bool:
        """Whether the sender declared a body (so an empty one still needs Content-Length: 0 upstream)."""
        return self.header("content-length") is not None or self.header("transfer-encoding") is not None


@dataclass
class Request(Message):
    method: str = ""
    target: str = ""  # origin form: /path?query
    version: str = "HTTP/1.1"

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        if self.version == "HTTP/1.0":
            return "keep-alive" in self.tokens("connection")
        return "close" not in self.tokens("connection")


@dataclass
class Answer(Message):
    status: int = 200
    reason: str = "OK"
    from_upstream: bool = True  # False for the proxy's own answers (502, injected status)

    @property
    def bodiless(self) -> bool:
        return 100 <= self.status < 200 or self.status in (204, 304)


def synthetic(status: int, payload: bytes, extra: list[tuple[str, str]] | None = None) -> Answer:
    headers = [("Content-Type", "application/json"), *(extra or [])]
    return Answer("", headers, payload, status, _reason(status), from_upstream=False)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def render_head(start: str, headers: list[tuple[str, str]]) -> bytes:
    return "\r\n".join([start, *(f"{k}: {v}" for k, v in headers), "", ""]).encode("latin-1")


async def read_head(reader: asyncio.StreamReader) -> Message | None:
    """The start line and headers, or None at a clean end of stream between messages."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError("connection closed inside a message head") from None
    except asyncio.LimitOverrunError:
        raise HttpError("message head too long") from None
    lines = raw.decode("latin-1").lstrip("\r\n").split("\r\n")
    headers = []
    for line in filter(None, lines[1:]):
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(f"bad header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return Message(lines[0], headers)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await read_head(reader)
    if head is None:
        return None
    parts = head.start.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(f"bad request line {head.start[:80]!r}")
    method, target, version = parts
    if not target.startswith("/"):  # absolute form (a client configured to use us as a proxy)
        split = urlsplit(target)
        target = split._replace(scheme="", netloc="").geturl() or "/"
        target = target if target.startswith("/") else "/" + target
    return Request(head.start, head.headers, method=method, target=target, version=version)


async def read_answer(reader: asyncio.StreamReader, method: str) -> Answer:
    """The upstream's final answer (interim 1xx ones are skipped), body included."""
    while True:
        head = await read_head(reader)
        if head is None:
            raise HttpError("upstream closed without answering")
        parts = head.start.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise HttpError(f"bad status line {head.start[:80]!r}")
        answer = Answer(head.start, head.headers, status=int(parts[1]), reason=(parts[2:] or [""])[0])
        if not 100 <= answer.status < 200 or answer.status == 101:
            break
    if method != "HEAD" and not answer.bodiless:
        answer.body = await read_body(reader, answer, until_close=True)
    return answer


async def read_body(reader: asyncio.StreamReader, message: Message, *, until_close: bool) -> bytes:
    """The body by chunked encoding, Content-Length or (answers only) end of stream; de-chunked."""
    try:
        if "chunked" in message.tokens("transfer-encoding"):
            return await read_chunked(reader)
        length = message.header("content-length")
        if length is not None:
            if not length.isdigit():
                raise HttpError(f"bad Content-Length {length[:40]!r}")
            return await reader.readexactly(int(length))
        return await reader.read() if until_close else b""
    except asyncio.IncompleteReadError:
        raise HttpError("connection closed inside a body") from None
    except asyncio.LimitOverrunError:
        raise HttpError("chunk size line too long") from None


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []  # joined once at the end: no quadratic copying on large bodies
    while True:
        size_field = (await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise HttpError(f"bad chunk size {size_field[:20]!r}") from None
        if size < 0:
            raise HttpError("negative chunk size")
        if size == 0:
            break
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError("chunk data not followed by CRLF")
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers: dropped
        pass
    return b"".join(parts)


# ------------------------------------------------------------------------------------------------ faults


@dataclass
class Fault:
    type: str
    every: int = 1
    count: int | None = None
    path: str = ""
    phase: str = "before"
    latency_ms: float = 0
    status: int = 503
    retry_after: float | None = None
    truncate_at: float = 0.5
    seconds: float = 3600
    matched: int = field(default=0, metadata={"state": True})
    injected: int = field(default=0, metadata={"state": True})

    @classmethod
    def from_spec(cls, spec: Any) -> Fault:
        """Validates a control-API spec; ValueError says what is wrong."""
        if not isinstance(spec, dict):
            raise ValueError("a fault spec is a JSON object")
        allowed = {f.name for f in fields(cls) if not f.metadata.get("state")}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ValueError(f"unknown fault field(s) {unknown}; known: {sorted(allowed)}")
        kind = spec.get("type")
        if kind not in FAULT_TYPES:
            raise ValueError(f"type must be one of {list(FAULT_TYPES)}, not {kind!r}")
        phase = spec.get("phase", PHASES[kind][0])
        if phase not in PHASES[kind]:
            raise ValueError(f"phase of a {kind!r} fault must be one of {list(PHASES[kind])}")
        path = spec.get("path", "")
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise ValueError("path must be a string starting with '/'")
        count = spec.get("count")
        retry_after = spec.get("retry_after")
        return cls(
            type=kind,
            phase=phase,
            path=path,
            every=int(_number(spec, "every", 1, low=1, integer=True)),
            count=None if count is None else int(_number(spec, "count", 0, low=0, integer=True)),
            latency_ms=_number(spec, "latency_ms", 0, low=0),
            status=int(_number(spec, "status", 503, low=400, high=599, integer=True)),
            retry_after=None if retry_after is None else _number(spec, "retry_after", 0, low=0),
            truncate_at=_number(spec, "truncate_at", 0.5, low=0, high=0.999999),
            seconds=_number(spec, "seconds", 3600, low=0),
        )

    @property
    def name(self) -> str:
        """The key under which its injections are counted."""
        return f"status_{self.status}" if self.type == "status" else self.type

    def take(self, path: str) -> bool:
        """Counts a request to `path` (if it matches) and says whether to inject into it."""
        if not path.startswith(self.path) or (self.count is not None and self.injected >= self.count):
            return False
        self.matched += 1
        if self.matched % self.every:
            return False
        self.injected += 1
        return True

    def describe(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def summary(self) -> str:
        """type(phase) and the fields that differ from their defaults, for the log."""
        changed = [
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if f.name not in ("type", "phase") and getattr(self, f.name) != f.default
        ]
        return f"{self.type}({self.phase}) {' '.join(changed)}".rstrip()


def _number(
    spec: dict[str, Any],
    key: str,
    default: float,
    *,
    low: float,
    high: float | None = None,
    integer: bool = False,
) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and value != int(value)):
        raise ValueError(f"{key} must be {'an integer' if integer else 'a number'}, not {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{key} must be in [{low}, {'∞' if high is None else high}], not {value!r}")
    return value


def parse_faults(body: bytes) -> list[Fault]:
    """A spec, a list of specs or {"faults": [...]}; an empty list means no faults."""
    try:
        payload = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    if isinstance(payload, dict) and set(payload) == {"faults"}:
        payload = payload["faults"]
    specs = payload if isinstance(payload, list) else [payload]
    return [Fault.from_spec(spec) for spec in specs]


@dataclass
class Counters:
    requests: int = 0
    forwarded: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    answer_lost: int = 0
    connections: int = 0
    upstream_errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ------------------------------------------------------------------------------------------------- proxy


def reset(writer: asyncio.StreamWriter) -> None:
    """Aborts the connection with a TCP RST (SO_LINGER 0) rather than a FIN, as a crashed peer would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def hang(reader: asyncio.StreamReader, seconds: float) -> None:
    """Answers nothing for `seconds`, but stops as soon as the client gives up, so hung calls do not pile up."""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(seconds):
            while await reader.read(1 << 16):
                pass


async def send(
    writer: asyncio.StreamWriter, answer: Answer, request: Request, keep_alive: bool, cut: int | None = None
) -> None:
    """Relays `answer` with a Content-Length; `cut` sends only that many body bytes (the header still
    announces them all, so the client can tell the answer is incomplete)."""
    headers = [(k, v) for k, v in answer.headers if k.lower() not in RESPONSE_DROP]
    if request.method == "HEAD":  # no body was read: the upstream's length stays as information
        length = answer.header("content-length")
        headers += [("Content-Length", length)] if length is not None else []
    elif not answer.bodiless:
        headers.append(("Content-Length", str(len(answer.body))))
    headers.append(("Connection", "keep-alive" if keep_alive else "close"))
    head = render_head(f"HTTP/1.1 {answer.status} {answer.reason}".rstrip(), headers)
    body = memoryview(answer.body)[:cut]  # a view: no copy of a large body
    if len(body) < SMALL_BODY:
        writer.write(head + body)
    else:
        writer.write(head)
        writer.write(body)
    await writer.drain()


class Proxy:
    """Relays requests to the target and injects the active faults. One event loop: no locking needed."""

    def __init__(self, target: SplitResult) -> None:
        self.target = target
        self.faults: list[Fault] = []
        self.generation = 0  # bumped on each change of faults; tells old connections from new ones
        self.counters = Counters()

    def set_faults(self, faults: list[Fault]) -> None:
        self.faults = faults
        self.generation += 1
        for fault in faults:
            log.info("fault set: %s", fault.summary())

    def pick(self, path: str | None, stale_connection: bool = False) -> Fault | None:
        """The fault to inject: on a new connection (path None) only a path-less 'down'; on a request any
        other fault, and a path-less 'down' only on a connection accepted before it was set."""
        for fault in self.faults:
            connection_level = fault.type == "down" and not fault.path
            if path is None and not connection_level:
                continue
            if path is not None and connection_level and not stale_connection:
                continue
            if fault.take(path or "/"):
                injected = self.counters.injected
                injected[fault.name] = injected.get(fault.name, 0) + 1
                return fault
        return None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counters.connections += 1
        generation = self.generation
        peer = writer.get_extra_info("peername")
        try:
            if self.pick(None) is not None:
                log.info("down: refused connection from %s", peer)
                reset(writer)
                return
            while await self.serve_one(reader, writer, generation):
                pass
        except HttpError as exc:
            log.warning("client %s: %s", peer, exc)
            with contextlib.suppress(ConnectionError):
                body = json.dumps({"error": str(exc)}).encode()
                await send(writer, synthetic(400, body), Request("", [], method="GET"), keep_alive=False)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away: nothing to answer
        except Exception:
            log.exception("unexpected error with client %s", peer)
        finally:
            writer.close()

    async def serve_one(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, generation: int
    ) -> bool:
        """Reads and answers one request; says whether the connection can take another. `generation`:
        the faults' generation when the connection was accepted."""
        request = await read_request(reader)
        if request is None:
            return False
        if "100-continue" in request.tokens("expect"):  # we want the body now, whatever happens next
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.body = await read_body(reader, request, until_close=False)
        self.counters.requests += 1
        fault = self.pick(request.path, stale_connection=generation != self.generation)
        if fault is None:
            answer = await self.forward(request)
            await send(writer, answer, request, request.keep_alive)
            return request.keep_alive
        log.info("inject %s (%s) on %s %s", fault.name, fault.phase, request.method, request.target)
        return await self.inject(fault, request, reader, writer)

    async def inject(
        self, fault: Fault, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        keep = request.keep_alive
        if fault.phase == "before":
            if fault.type in ("reset", "down"):
                reset(writer)
                return False
            if fault.type == "timeout":
                await hang(reader, fault.seconds)
                return False
            if fault.type == "status":
                await send(writer, self.injected_status(fault), request, keep)
                return keep
            await asyncio.sleep(fault.latency_ms / 1000)  # latency
            await send(writer, await self.forward(request), request, keep)
            return keep
        answer = await self.forward(request)
        if fault.type == "latency":
            await asyncio.sleep(fault.latency_ms / 1000)
            await send(writer, answer, request, keep)
            return keep
        if answer.from_upstream:  # the upstream did the work; the client will not learn it
            self.counters.answer_lost += 1
        if fault.type == "reset":
            reset(writer)
        elif fault.type == "timeout":
            await hang(reader, fault.seconds)
        elif fault.type == "status":
            await send(writer, self.injected_status(fault), request, keep)
            return keep
        elif answer.body:  # truncate
            await send(writer, answer, request, False, cut=int(len(answer.body) * fault.truncate_at))
        # else: an empty body cannot be cut short, so the whole answer is withheld (closed unanswered)
        return False

    @staticmethod
    def injected_status(fault: Fault) -> Answer:
        extra = []
        if fault.retry_after is not None:
            value = fault.retry_after
            extra.append(("Retry-After", str(int(value)) if value == int(value) else str(value)))
        return synthetic(fault.status, INJECTED_BODY, extra)

    async def forward(self, request: Request) -> Answer:
        """Sends the request on a fresh upstream connection and reads the whole answer; 502 if that fails."""
        host, port = self.target.hostname or HOST, self.target.port or 80
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(host, port, limit=HEAD_LIMIT)
        except (OSError, TimeoutError) as exc:
            return self.bad_gateway(f"cannot connect to {self.target.netloc}: {exc or type(exc).__name__}")
        self.counters.forwarded += 1
        try:
            writer.write(render_head(*self.upstream_head(request)))
            writer.write(request.body)
            await writer.drain()
            return await read_answer(reader, request.method)
        except (OSError, HttpError) as exc:
            return self.bad_gateway(f"upstream {self.target.netloc}: {exc or type(exc).__name__}")
        finally:
            writer.close()

    def upstream_head(self, request: Request) -> tuple[str, list[tuple[str, str]]]:
        drop = REQUEST_DROP | request.tokens("connection")
        headers = [("Host", self.target.netloc)]
        headers += [(k, v) for k, v in request.headers if k.lower() not in drop]
        if request.body or request.framed:
            headers.append(("Content-Length", str(len(request.body))))
        headers.append(("Connection", "close"))
        return f"{request.method} {self.target.path.rstrip('/')}{request.target} HTTP/1.1", headers

    def bad_gateway(self, detail: str) -> Answer:
        self.counters.upstream_errors += 1
        log.warning("502: %s", detail)
        return synthetic(502, json.dumps({"error": "bad gateway", "detail": detail}).encode())


# ----------------------------------------------------------------------------------------------- control


class Control:
    """The control API: JSON in, JSON out, one request per connection."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.routes = {
            ("POST", "/faults"): self.post_faults,
            ("GET", "/faults"): lambda _: self.faults(),
            ("POST", "/clear"): self.clear,
            ("GET", "/counters"): lambda _: self.proxy.counters.as_dict(),
            ("POST", "/counters/reset"): self.reset_counters,
            ("GET", "/health"): lambda _: {"ok": True},
        }

    def faults(self) -> dict[str, Any]:
        return {"faults": [f.describe() for f in self.proxy.faults]}

    def post_faults(self, body: bytes) -> dict[str, Any]:
        self.proxy.set_faults(parse_faults(body))
        return self.faults()

    def clear(self, _: bytes) -> dict[str, Any]:
        self.proxy.set_faults([])
        return {"ok": True}

    def reset_counters(self, _: bytes) -> dict[str, Any]:
        self.proxy.counters = Counters()
        return {"ok": True}

    def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        handler = self.routes.get((method, path.rstrip("/") or "/"))
        if handler is None:
            known = any(p == (path.rstrip("/") or "/") for _, p in self.routes)
            return (405, {"error": "method not allowed"}) if known else (404, {"error": "not found"})
        try:
            return 200, handler(body)
        except ValueError as exc:
            return 400, {"error": str(exc)}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_request(reader)
            if request is None:
                return
            request.body = await read_body(reader, request, until_close=False)
            status, payload = self.route(request.method, request.path, request.body)
        except HttpError as exc:
            request, status, payload = Request("", [], method="GET"), 400, {"error": str(exc)}
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        try:
            await send(writer, synthetic(status, json.dumps(payload).encode()), request, keep_alive=False)
        except ConnectionError:
            pass
        finally:
            writer.close()


# ---------------------------------------------------------------------------------------------- process


def parse_target(value: str) -> SplitResult:
    target = urlsplit(value)
    if target.scheme != "http" or not target.hostname:
        raise argparse.ArgumentTypeError(f"an http://host:port URL is needed, not {value!r}")
    try:
        target.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return target


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m onestop.chaos.proxy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--target", type=parse_target, required=True, help="upstream base URL, http://host:port")
    p.add_argument("--port", type=int, default=0, help="proxy port (0: any free one)")
    p.add_argument("--control-port", type=int, default=0, help="control API port (0: any free one)")
    p.add_argument("--host", default=HOST, help="address both ports bind to")
    return p


def _url(server: asyncio.Server) -> str:
    host, port = server.sockets[0].getsockname()[:2]
    return f"http://{host}:{port}"


async def run(args: argparse.Namespace) -> None:
    proxy = Proxy(args.target)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(
        proxy.handle, args.host, args.port, limit=HEAD_LIMIT, backlog=1024, reuse_address=True
    )
    control = await asyncio.start_server(
        Control(proxy).handle, args.host, args.control_port, limit=HEAD_LIMIT, reuse_address=True
    )
    print(f"READY {_url(server)} {_url(control)}", flush=True)
    await stop.wait()
    # No wait_closed(): it would wait for hung ('timeout') connections; asyncio.run cancels those tasks.
    server.close()
    control.close()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s proxy %(message)s")
    asyncio.run(run(args))


# ------------------------------------------------------------------------------------------------ client


class FaultProxy:
    """The test side of a running proxy process: its URLs and the control API."""

    def __init__(self, process: SimulatorProcess) -> None:
        import requests  # here, so the proxy process itself needs only the standard library

        if not process.extra_urls:
            raise ValueError(f"{process!r} did not announce a control URL")
        self.process = process
        self.url = process.url
        self.control_url = process.extra_urls[0]
        self._http: requests.Session = requests.Session()

    def set_fault(self, **spec: Any) -> list[dict[str, Any]]:
        """Replaces the active faults with this one, e.g. set_fault(type="reset", phase="after")."""
        return self._call("POST", "/faults", spec)["faults"]

    def set_faults(self, *specs: dict[str, Any]) -> list[dict[str, Any]]:
        """Replaces the active faults with these; the first that fires on a request wins."""
        return self._call("POST", "/faults", {"faults": list(specs)})["faults"]

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")["faults"]

    def clear(self) -> None:
        self._call("POST", "/clear")

    def counters(self) -> dict[str, Any]:
        return self._call("GET", "/counters")

    def reset_counters(self) -> None:
        self._call("POST", "/counters/reset")

    def stop(self) -> int | None:
        self._http.close()
        return self.process.stop()

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        answer = self._http.request(method, f"{self.control_url}{path}", json=payload, timeout=10)
        if answer.status_code == 400:
            raise ValueError(f"proxy refused {method} {path}: {answer.json().get('error')}")
        answer.raise_for_status()
        return answer.json()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FaultProxy(url={self.url!r}, control_url={self.control_url!r}, pid={self.process.proc.pid})"


def start_proxy(
    target_url: str,
    *,
    port: int = 0,
    control_port: int = 0,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> FaultProxy:
    """Starts `python -m onestop.chaos.proxy` in front of `target_url` and waits until it is ready."""
    process = start_process(
        "onestop.chaos.proxy",
        *("--target", target_url, "--port", str(port), "--control-port", str(control_port)),
        env=env,
        timeout=timeout,
    )
    return FaultProxy(process)


if __name__ == "__main__":
    main()
