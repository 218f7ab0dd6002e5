"""Real HTTP servers behind their host's authentication, as IIS, Apache or Tomcat put a district's service:

- NTLM (IIS's Windows authentication): a request without credentials is answered 401 `WWW-Authenticate: NTLM`;
  the three-leg handshake (negotiate, challenge, authenticate) runs on one kept-alive connection, checked by
  pyspnego's own NTLM acceptor against a users file;
- HTTP Digest (RFC 7616, MD5, qop=auth): a nonce per challenge, the response recomputed from the password.

Then `route` answers."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import spnego

from tests.connectors.scripted_server import Answer, Answering, serving


@contextmanager
def ntlm_server(
    route: Callable[[str, bytes], Answer], users: dict[str, str], folder: Path
) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """Yields (url, log of (path, the Windows user it was answered for, None when refused))."""
    users_file = folder / "ntlm-users"
    users_file.write_text(
        "".join(f"{u.replace(chr(92), ':')}:{p}\n" for u, p in users.items()), encoding="utf-8"
    )
    log: list[tuple[str, str | None]] = []
    lock = threading.Lock()

    class Handler(Answering):
        context: Any = None  # this connection's handshake

        def answer(self, body: bytes) -> None:
            said = self.headers.get("Authorization", "")
            if not said.startswith("NTLM "):
                self.send(401, {"WWW-Authenticate": "NTLM"}, b"401 - Unauthorized: Access is denied")
                return
            if self.context is None:
                self.context = spnego.server(protocol="ntlm")
            try:
                out = self.context.step(base64.b64decode(said[5:]))
            except spnego.exceptions.SpnegoError:
                self.context = None
                with lock:
                    log.append((self.path, None))
                self.send(401, {"WWW-Authenticate": "NTLM"}, b"401 - Unauthorized: Access is denied")
                return
            if not self.context.complete:
                self.send(401, {"WWW-Authenticate": "NTLM " + base64.b64encode(out or b"").decode()}, b"")
                return
            user, self.context = self.context.client_principal, None
            with lock:
                log.append((self.path, user))
            self.send(*route(self.path, body))

    before = os.environ.get("NTLM_USER_FILE")
    os.environ["NTLM_USER_FILE"] = str(users_file)  # where pyspnego's acceptor reads the accounts
    try:
        with serving(Handler) as url:
            yield url, log
    finally:
        if before is None:
            os.environ.pop("NTLM_USER_FILE", None)
        else:
            os.environ["NTLM_USER_FILE"] = before


@contextmanager
def digest_server(
    route: Callable[[str, bytes], Answer], users: dict[str, str], realm: str = "MotCua"
) -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """Yields (url, log of (path, the user it was answered for, None when refused))."""
    log: list[tuple[str, str | None]] = []
    nonces: set[str] = set()
    lock = threading.Lock()

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # what RFC 7616 names MD5

    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            said = dict(re.findall(r'(\w+)="?([^",]*)"?', self.headers.get("Authorization", "")[7:]))
            user = said.get("username")
            if self.headers.get("Authorization", "").startswith("Digest ") and user in users:
                ha1 = md5(f"{user}:{realm}:{users[user]}")
                ha2 = md5(f"{self.command}:{said.get('uri')}")
                expected = md5(f"{ha1}:{said.get('nonce')}:{said.get('nc')}:{said.get('cnonce')}:auth:{ha2}")
                with lock:
                    known = said.get("nonce") in nonces
                if known and said.get("response") == expected and said.get("uri") == self.path:
                    with lock:
                        log.append((self.path, user))
                    self.send(*route(self.path, body))
                    return
                with lock:
                    log.append((self.path, None))
            nonce = secrets.token_hex(16)
            with lock:
                nonces.add(nonce)
            challenge = (
                f'Digest realm="{realm}", qop="auth", nonce="{nonce}", opaque="{secrets.token_hex(8)}"'
            )
            self.send(401, {"WWW-Authenticate": challenge}, b"401 Unauthorized")

    with serving(Handler) as url:
        yield url, log
