"""A real HTTP server on 127.0.0.1 (a thread per request) that answers each *channel* from its own script.

A channel is the first segment of the path: a source's connection points at `{url}/{channel}`, so one server
serves every hostile source at once. A channel's data requests (the page calls) are answered from its script,
each answer once in order and then the last one forever (retries see the same answer); the calls around them
answer as the protocol needs: an OAuth2 token, the WSDL (SOAP 1.1 or 1.2), a change feed's acknowledgement, an
XML-RPC login's user id.
Bodies are sent byte for byte; a streamed body goes out without Content-Length, ended by closing the connection.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from onestop.simulators import soap_district

SOAP11_WSDL_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12_WSDL_NS = "http://schemas.xmlsoap.org/wsdl/soap12/"


@dataclass(frozen=True)
class Reply:
    """One HTTP answer. `stream` (instead of `body`) yields the body in chunks, sent without Content-Length."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Callable[[], Iterator[bytes]] | None = None
    content_length: str | None = None  # a declared length other than the body's (e.g. over the cap)


@dataclass
class Channel:
    """What one source's system answers: its page script and its protocol (for the calls around pages)."""

    replies: list[Reply]
    soap: str | None = None  # "1.1" | "1.2": serve the district WSDL of that SOAP version
    requests: int = 0  # data requests answered (retries included)


def wsdl(address: str, version: str) -> bytes:
    """The shipped SOAP district WSDL (onestop.simulators.soap_district.wsdl) at `address`; for SOAP 1.2 the
    same service with a SOAP 1.2 binding."""
    text = (
        Path(soap_district.WSDL_TEMPLATE)
        .read_text(encoding="utf-8")
        .replace(soap_district.ADDRESS_SLOT, address)
    )
    if version == "1.2":
        text = text.replace(SOAP11_WSDL_NS, SOAP12_WSDL_NS)
    return text.encode("utf-8")


class HostileServer:
    """Start with `start()`, point sources at `url_of(channel)`, give each channel its script with `serve()`."""

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url_of(self, channel: str) -> str:
        return f"{self.url}/{channel}"

    def serve(self, channel: str, replies: list[Reply], soap: str | None = None) -> None:
        with self.lock:
            self.channels[channel] = Channel(list(replies), soap)

    def requests(self, channel: str) -> int:
        with self.lock:
            found = self.channels.get(channel)
            return found.requests if found else 0

    def _next(self, channel: str) -> tuple[Reply | None, str | None]:
        with self.lock:
            found = self.channels.get(channel)
            if found is None or not found.replies:
                return None, None
            reply = found.replies[min(found.requests, len(found.replies) - 1)]
            found.requests += 1
            return reply, found.soap

    def _soap(self, channel: str) -> str | None:
        with self.lock:
            found = self.channels.get(channel)
            return found.soap if found else None

    def start(self) -> HostileServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one answer per connection, so a body without Content-Length ends when it closes.
            protocol_version = "HTTP/1.0"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                channel, _, rest = parts.path.lstrip("/").partition("/")
                rest = "/" + rest
                if rest == "/oauth/token":
                    token = {"access_token": f"hostile-{channel}", "token_type": "bearer", "expires_in": 3600}
                    return self._send(
                        Reply(200, {"Content-Type": "application/json"}, json.dumps(token).encode())
                    )
                soap = server._soap(channel)
                if soap and self.command == "GET" and (parts.query == "wsdl" or rest.endswith(".wsdl")):
                    body = wsdl(f"{server.url_of(channel)}/soap", soap)
                    return self._send(Reply(200, {"Content-Type": "text/xml; charset=utf-8"}, body))
                if b"dangNhap" in request:  # the GraphQL vendor's login mutation: a bearer token
                    token = {"data": {"dangNhap": {"maTruyCap": f"hostile-{channel}", "hieuLucGiay": 900}}}
                    return self._send(
                        Reply(200, {"Content-Type": "application/json"}, json.dumps(token).encode())
                    )
                if rest.endswith("/xmlrpc/2/common"):  # Odoo's authenticate: the user's id
                    uid = b"<methodResponse><params><param><value><int>7</int></value></param></params></methodResponse>"
                    return self._send(Reply(200, {"Content-Type": "text/xml"}, uid))
                if rest.endswith("/feed/ack"):
                    try:
                        ids = json.loads(request or b"{}").get("ack_ids") or []
                    except ValueError:
                        ids = []
                    return self._send(
                        Reply(
                            200,
                            {"Content-Type": "application/json"},
                            json.dumps({"acked": len(ids)}).encode(),
                        )
                    )
                reply, _ = server._next(channel)
                if reply is None:
                    return self._send(
                        Reply(404, {"Content-Type": "text/plain"}, b"no script for this channel")
                    )
                return self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                headers = dict(reply.headers)
                if reply.stream is None:
                    headers.setdefault("Content-Length", reply.content_length or str(len(reply.body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    if reply.stream is None:
                        for start in range(0, len(reply.body), 1 << 20):
                            self.wfile.write(reply.body[start : start + (1 << 20)])
                    else:
                        for chunk in reply.stream():
                            self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (a body over its cap): that is its right

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:  # keep the report's output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="hostile-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
