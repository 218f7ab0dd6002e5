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
from connectors.errors import ConfigError, ProtocolError
from onestop import registry
from tests.connectors.entries import entry, opened
from tests.connectors.scripted_server import Answering, scripted_server, serving

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


AUTHS = {
    "api_key": ({"type": "api_key", "in": "header", "name": "X-Api-Key"}, {}),
    "bearer": ({"type": "bearer"}, {}),
    "basic": ({"type": "basic"}, {}),
    "a header of the source's": (
        {"type": "none"},
        {"headers": {"X-Mat-Khau": "{password}", "X-Dang-Nhap": "{login}"}},
    ),
}


@pytest.mark.parametrize("kind", list(AUTHS))
def test_a_redirect_to_another_host_carries_no_credential_of_any_kind(kind: str) -> None:
    """requests takes Authorization off a request redirected to another host, and nothing else: an api key in a
    header, or a password a source sends in a header of its own, would follow the Location."""
    other: list[dict[str, str]] = []

    class Elsewhere(Answering):
        def answer(self, body: bytes) -> None:
            other.append(dict(self.headers))
            self.send(200, {"Content-Type": "application/json"}, b'{"items": [{"id": 9}]}')

    auth, request = AUTHS[kind]
    with serving(Elsewhere) as elsewhere:
        away = elsewhere.replace("127.0.0.1", "localhost") + "/ngoai"
        with scripted_server([(302, {"Location": away}, b"")]) as (url, _):
            spec = {"request": {"path": "/ds", **request}, "records": "items", "paginator": {"type": "single"},
                    "auth": auth}  # fmt: skip
            reader = opened("rest", spec, Connection("c", url, login="esb-tinh", password=SECRET))
            assert [r.record["id"] for page in reader.pages(None, None) for r in page] == [9]
    assert len(other) == 1
    assert not [
        v for v in other[0].values() if SECRET in v or "esb-tinh" in v or "Basic" in v or "Bearer" in v
    ]


def test_a_redirect_to_another_host_that_keeps_the_body_is_not_followed() -> None:
    """307 and 308 keep the method and the body: a login's password, a JSON-RPC call's credentials."""
    with scripted_server([(307, {"Location": "http://localhost:9/dang-nhap"}, b"")]) as (url, log):
        spec = {"request": {"method": "POST", "path": "/ds", "json": {"mat_khau": "{password}"}}, "records": "items",
                "paginator": {"type": "single"}}  # fmt: skip
        reader = opened("rest", spec, Connection("c", url, login="esb-tinh", password=SECRET))
        with pytest.raises(ProtocolError, match=r"redirected with its body to another host \(localhost:9\)"):
            list(reader.pages(None, None))
    assert len(log) == 1
