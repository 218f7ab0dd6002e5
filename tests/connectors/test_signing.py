"""`auth: hmac`: each request signed as it is sent — its method, path, query, body and time — with an HMAC keyed by
the connection's password. A real HTTP server recomputes every signature; a retried request is signed anew (its
own time and nonce), a body is covered by its hash."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from connectors.connection import Connection
from connectors.errors import ConfigError
from onestop import registry
from tests.connectors.entries import entry, opened
from tests.connectors.scripted_server import Answering, serving

SECRET = "bi-mat-ung-dung"
SIGNATURE = {"message": "{method} {path}?{query} {timestamp} {nonce} {body_sha256}", "algorithm": "sha512",
             "header": "Authorization", "prefix": "HMAC ", "timestamp": "epoch_ms",
             "headers": {"X-Time": "{timestamp}", "X-Nonce": "{nonce}", "X-Key": "{login}"}}  # fmt: skip


def signed(request: Answering, body: bytes) -> bool:
    """Whether a request carries the signature SIGNATURE describes, recomputed as the gateway does."""
    path, _, query = request.path.partition("?")
    time, nonce = request.headers["X-Time"], request.headers["X-Nonce"]
    message = f"{request.command} {path}?{query} {time} {nonce} {hashlib.sha256(body).hexdigest()}"
    expected = "HMAC " + hmac.new(SECRET.encode(), message.encode(), hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, request.headers["Authorization"])


def test_every_request_and_every_retry_is_signed_as_it_is_sent() -> None:
    seen: list[dict[str, Any]] = []

    class Gateway(Answering):
        def answer(self, body: bytes) -> None:
            seen.append({"ok": signed(self, body),
                         "nonce": self.headers["X-Nonce"], "key": self.headers["X-Key"]})  # fmt: skip
            if len(seen) == 1:  # the first try meets a gateway restarting: retried, signed anew
                self.send(503, {}, b"")
            elif not seen[-1]["ok"]:
                self.send(401, {}, b"chu ky sai")
            else:
                self.send(
                    200, {"Content-Type": "application/json"}, json.dumps({"items": [{"id": 1}]}).encode()
                )

    spec = {"request": {"method": "POST", "path": "/tim-kiem", "query": {"v": "2"},
                        "json": {"tuNgay": "{start}", "trang": "{page}"}},
            "incremental": {"format": "iso"}, "records": "items", "paginator": {"type": "single"},
            "auth": {"type": "hmac", "signature": SIGNATURE}}  # fmt: skip
    with serving(Gateway) as url:
        reader = opened(
            "rest", spec, Connection("c", url, login="ung-dung-1", password=SECRET), max_attempts=3
        )
        ids = [r.record["id"] for page in reader.pages(None, None) for r in page]

    assert ids == [1]
    assert [s["ok"] for s in seen] == [True, True] and seen[0]["nonce"] != seen[1]["nonce"]
    assert {s["key"] for s in seen} == {"ung-dung-1"}


@pytest.mark.parametrize(
    ("auth", "says"),
    [({"type": "hmac"}, "hmac needs `signature`"),
     ({"type": "hmac", "signature": {"message": "{method}{secret}"}}, r"not \['secret'\]")],
)  # fmt: skip
def test_a_signature_that_cannot_be_made_is_refused_with_the_registry(auth: dict, says: str) -> None:
    spec = {"request": {"path": "/ds"}, "paginator": {"type": "single"}, "auth": auth}
    with pytest.raises(Exception, match=says):
        registry.parse({"sources": [entry("rest", spec)]})


def test_a_connection_without_its_secret_is_a_configuration_error_before_any_call() -> None:
    spec = {"request": {"path": "/ds"}, "paginator": {"type": "single"},
            "auth": {"type": "hmac", "signature": {"message": "{path}"}}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"connection 'c' needs a password \(hmac\)"):
        opened("rest", spec, Connection("c", "http://127.0.0.1:9", login="ung-dung-1"))


def test_a_redirect_is_signed_again_and_another_host_gets_no_signature() -> None:
    """A gateway that moved its path answers 307 to the new one: that request is signed for where it goes. A
    redirect to another host takes no signature, nor the key id, with it."""
    other: list[dict[str, str]] = []

    class Elsewhere(Answering):
        def answer(self, body: bytes) -> None:
            other.append(dict(self.headers))
            self.send(200, {"Content-Type": "application/json"}, b'{"items": [{"id": 9}]}')

    with serving(Elsewhere) as elsewhere:
        elsewhere_url = elsewhere.replace("127.0.0.1", "localhost")  # another host name, for requests

        class Gateway(Answering):
            def answer(self, body: bytes) -> None:
                path = self.path.partition("?")[0]
                if not signed(self, body):
                    self.send(401, {}, b"chu ky sai")
                elif path == "/cu":
                    self.send(307, {"Location": "/moi?v=2"}, b"")
                elif path == "/moi":
                    self.send(302, {"Location": f"{elsewhere_url}/ngoai"}, b"")

        spec = {"request": {"path": "/cu"}, "records": "items", "paginator": {"type": "single"},
                "auth": {"type": "hmac", "signature": SIGNATURE}}  # fmt: skip
        with serving(Gateway) as url:
            reader = opened("rest", spec, Connection("c", url, login="ung-dung-1", password=SECRET))
            ids = [r.record["id"] for page in reader.pages(None, None) for r in page]

    assert ids == [9]  # /cu → /moi (signed again, else refused) → another host
    assert len(other) == 1 and not {"Authorization", "X-Time", "X-Nonce", "X-Key"} & set(other[0])
