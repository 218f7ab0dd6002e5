"""A token endpoint that states no lifetime but issues JWTs (RFC 7519): the token's own `exp` says when to take a
new one, so a read that outlives its first token never has an expired one refused. A real HTTP server issues
short-lived JWTs and refuses any token past its `exp`."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

from connectors.auth import jwt_lifetime
from connectors.connection import Connection
from tests.connectors.entries import opened
from tests.connectors.scripted_server import Answering, serving

LIFETIME_S = 1
PAGE_DELAY_S = 0.35
PAGES = 6
JSON = {"Content-Type": "application/json"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict[str, Any]) -> str:
    return ".".join(
        [b64(b'{"alg":"HS256","typ":"JWT"}'), b64(json.dumps(claims).encode()), b64(b"signature")]
    )


def test_the_lifetime_of_a_jwt_is_its_exp() -> None:
    assert 59 < (jwt_lifetime(jwt({"exp": time.time() + 60})) or 0) <= 60
    # not a JWT, no exp, an exp past or absurd, a payload that is not JSON: no lifetime of its own
    assert [
        jwt_lifetime(t)
        for t in (
            "opaque-token",
            jwt({"sub": "esb"}),
            jwt({"exp": time.time() - 5}),
            jwt({"exp": 1e12}),
            "a.bm90IGpzb24.c",
            jwt({"exp": "soon"}),
            "a.W10.c",
            f"a.{b64(b'[' * 100_000)}.c",
        )
    ] == [None] * 8  # fmt: skip (the last: a payload nested deeper than any parser goes)


def test_a_read_that_outlives_its_jwt_takes_a_new_one_before_it_expires() -> None:
    issued: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            if self.path == "/oauth/token":
                token = jwt({"sub": "esb_tinh", "exp": int(time.time()) + LIFETIME_S + 1})
                with lock:
                    issued.append(token)
                self.send(200, JSON, json.dumps({"access_token": token, "token_type": "Bearer"}).encode())
                return
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            payload = (
                json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")) if token in issued else {}
            )
            if payload.get("exp", 0) <= time.time():
                with lock:
                    refused.append(self.path)
                self.send(401, JSON, b'{"error": "invalid_token"}')
                return
            time.sleep(PAGE_DELAY_S)  # a slow search backend: the read outlives a token
            page = int(self.path.rsplit("=", 1)[1])
            items = [{"id": page}] if page <= PAGES else []
            self.send(200, JSON, json.dumps({"items": items}).encode())

    spec = {"request": {"path": "/ds", "query": {"page": "{page}"}}, "records": "items",
            "paginator": {"type": "page_number", "page_size": 1},
            "auth": {"type": "oauth2_client_credentials", "token_url": "/oauth/token"}}  # fmt: skip
    with serving(Handler) as url:
        reader = opened("rest", spec, Connection("c", url, "id", "key"))
        ids = [r.record["id"] for page in reader.pages(None, None) for r in page]

    assert ids == list(range(1, PAGES + 1))
    assert len(issued) >= 2, "the read outlived its first token"
    assert refused == []  # renewed before its exp, never refused
