"""What every vendor server shares, and nothing of its contract: the command line, the READY line, the control
endpoints (`/_vendor/truth`, `/_vendor/stats`) and the request log. Standard library only (http.server).

A vendor subclasses VendorHandler and implements `vendor(method)`; it answers with `send_json` / `send_body`
and refuses with `refuse(...)`, which counts the refusal (a sync that worked has made the server refuse nothing).

    python -m tests.vendors.<vendor>.server --port 0 --seed 7 --count 250   ->  READY http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from schemas.dossier import HCM
from tests.vendors import truth


class Stats:
    """What the server received and what it refused (thread-safe: ThreadingHTTPServer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.refusals: list[dict[str, Any]] = []
        self.data_requests = 0

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def count_data_request(self) -> int:
        with self._lock:
            self.data_requests += 1
            return self.data_requests

    def refuse(self, status: int, reason: str, path: str) -> None:
        with self._lock:
            self.refusals.append({"status": status, "reason": reason, "path": path})

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "refused": len(self.refusals),
                "refusals": list(self.refusals),
                "requests": list(self.requests),
            }


class BearerTokens:
    """The access tokens a vendor issued and when each expires; `--revoke-at` ends them all (thread-safe)."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, token: str, ttl: float) -> str:
        with self._lock:
            self._expiry[token] = time.monotonic() + ttl
        return token

    def valid(self, handler: VendorHandler) -> bool:
        """Does the request carry `Authorization: Bearer <a token issued, not expired>`? False for the request
        `--revoke-at` names, which ends every token (a data request: counted)."""
        scheme, _, token = (handler.headers.get("Authorization") or "").partition(" ")
        with self._lock:
            valid = scheme == "Bearer" and self._expiry.get(token, 0) > time.monotonic()
        if valid and handler.revoke_due():
            with self._lock:
                self._expiry.clear()
            return False
        return valid


class VendorHandler(BaseHTTPRequestHandler):
    """One request. Subclasses implement `vendor(method)`; `self.truth` is the ground truth (list of dicts)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as real systems do: every answer has a Content-Length
    server_version = "VendorServer/1.0"
    truth: ClassVar[list[dict[str, Any]]] = []
    stats: ClassVar[Stats]
    options: ClassVar[argparse.Namespace]

    # --- plumbing -------------------------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.route = parts.path
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body: bytes = self.rfile.read(length) if length else b""
        if self.route.startswith("/_vendor/"):
            self._control(method)
            return
        self.stats.record(
            {
                "method": method,
                "path": self.route,
                "query": {k: v[0] if len(v) == 1 else v for k, v in self.query.items()},
                "headers": dict(self.headers.items()),
                "body": self.raw_body.decode("utf-8", "replace"),
                "at": datetime.now(HCM).isoformat(),
            }
        )
        try:
            self.vendor(method)
        except Exception as exc:  # a server bug must show as a 500 with its cause, not a dropped connection
            self.send_body(500, f"server error: {type(exc).__name__}: {exc}".encode(), "text/plain")
            raise

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the request log is /_vendor/stats

    def _control(self, method: str) -> None:
        if method == "GET" and self.route == "/_vendor/truth":
            self.send_json(self.truth)
        elif method == "GET" and self.route == "/_vendor/stats":
            self.send_json(self.stats.as_dict())
        elif not self.vendor_control(method):
            self.send_body(404, b"no such control endpoint", "text/plain")

    # --- for vendors ----------------------------------------------------------------------------------------
    def vendor(self, method: str) -> None:
        raise NotImplementedError

    @classmethod
    def load_truth(cls, vendor: str, options: argparse.Namespace) -> list[dict[str, Any]]:
        """The ground truth `serve` installs as `truth` (and /_vendor/truth answers). A vendor whose data holds
        more than the truth (a change feed's deleted dossiers) overrides it; the default is the generator's."""
        return truth.generate(vendor, options.seed, options.count)

    def vendor_control(self, method: str) -> bool:
        """A vendor's own control endpoint under /_vendor/ (beside truth and stats): answer it and return
        True, or return False for 404."""
        return False

    def revoke_due(self) -> bool:
        """Count one data request; True for the `--revoke-at`th, whose session the vendor must then refuse (as if
        an administrator had revoked every session): tests of re-login use it, the contract does not."""
        return self.stats.count_data_request() == self.options.revoke_at

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json_body(self) -> Any:
        """The parsed JSON body; ValueError when it is not JSON."""
        return json.loads(self.raw_body.decode("utf-8"))

    def send_body(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_body(status, body, "application/json; charset=utf-8", headers)

    def refuse(self, status: int, reason: str, send: Callable[[], None]) -> None:
        """Count a refusal (`reason` is for the stats), then answer it with the vendor's own `send()`."""
        self.stats.refuse(status, reason, self.route)
        send()


def arguments(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=250)
    parser.add_argument(
        "--revoke-at",
        type=int,
        default=0,
        help="sessions/tokens are revoked at the Nth data request (0: never)",
    )
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def serve(
    vendor: str,
    handler: type[VendorHandler],
    options: argparse.Namespace,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Generate the truth, bind, print `READY <url>` (flushed) and serve until killed."""
    handler.options = options
    handler.truth = handler.load_truth(vendor, options)
    handler.stats = Stats()
    server = ThreadingHTTPServer((options.host, options.port), handler)
    server.daemon_threads = True
    scheme = "http"
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    print(f"READY {scheme}://{options.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


def parse_local(text: str, pattern: str) -> datetime:
    """A zone-less vendor time (strptime pattern) in Asia/Ho_Chi_Minh."""
    return datetime.strptime(text, pattern).replace(tzinfo=HCM)


def updated(item: dict[str, Any]) -> datetime:
    """The truth item's update time: what vendors filter their window on."""
    return datetime.fromisoformat(item["source_updated_at"])
