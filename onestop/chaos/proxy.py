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

From Python: onestop.chaos.proxy_client (`with start_proxy(sim.url) as proxy: proxy.set_fault(...)`).

Only what the faults need of HTTP/1.1 is implemented (onestop/chaos/http_messages.py): request and answer
boundaries, client keep-alive, and a fresh upstream connection per request (`Connection: close`, Host
rewritten). Standard library only (asyncio streams).
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
from typing import Any
from urllib.parse import SplitResult, urlsplit

from onestop.chaos.http_messages import (
    Answer,
    HttpError,
    Request,
    read_answer,
    read_body,
    read_request,
    render_head,
    send,
    synthetic,
)
from onestop.chaos.proxy_faults import Fault, parse_faults

HOST = "127.0.0.1"
HEAD_LIMIT = 1 << 20  # longest request/status line plus headers accepted
CONNECT_TIMEOUT = 10.0
# Never copied to the upstream request: hop-by-hop, or set by the proxy itself.
REQUEST_DROP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
    | {"expect", "content-length", "host"}
)
INJECTED_BODY = b'{"error":"injected"}'

log = logging.getLogger("onestop.chaos.proxy")


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


if __name__ == "__main__":
    main()
