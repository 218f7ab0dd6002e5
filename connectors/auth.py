"""Credentials on a request, as the source's `auth:` says (connectors.spec.auth), from its Airflow connection.

Tokens (OAuth2, a login call) are fetched when first needed, renewed a little before they expire, and renewed
once more when the system refuses one mid-sync (HTTP 401/403, or an error rule meaning `auth`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
import requests

from connectors.connection import Connection
from connectors.errors import AuthError, ConfigError, ProtocolError
from connectors.htmlform import hidden_value, holds_field, looks_html, page_says
from connectors.http import Answer, HttpClient, parse_json
from connectors.safexml import read_document
from connectors.spec.auth import AuthSpec, SignatureSpec
from connectors.spec.common import get_path
from connectors.templates import render_text
from connectors.xmlrpc import read_answer as read_xmlrpc
from schemas.personal_data import quote_answer

T = TypeVar("T")
RENEWABLE = frozenset({"oauth2_client_credentials", "oauth2_password", "login"})
DEFAULT_TTL_S = 300.0  # a token whose lifetime nobody states is renewed this often

Check = Callable[[str, Any], None]  # raises when an answer is an error envelope (the source's `errors:`)
Login = Callable[[], tuple[str, float | None]]  # logs in: (the token, its lifetime in seconds if known)


def _no_check(operation: str, document: Any) -> None:
    return None


class Authenticator:
    def __init__(
        self,
        spec: AuthSpec,
        conn: Connection,
        client: HttpClient,
        check: Check = _no_check,
        answer: str = "json",
        charset: str | None = None,
        login: Login | None = None,
    ) -> None:
        self.spec, self.conn, self.client, self.check = spec, conn, client, check
        self.answer, self.charset = (
            answer,
            charset,
        )  # how a login call's answer is read (the source's answers)
        self._token: str | int | None = None
        self._refresh_token: str | None = None
        self._csrf: str | None = None  # the login page's CSRF token (`login_page`)
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0
        self.login = login  # a login of another protocol (a SOAP operation): it replaces spec.type's
        require_credentials(conn, spec.type)
        if spec.type in ("ntlm", "digest"):
            host_authentication(client, conn, spec.type)
        self._signer = (
            Signer(spec.signature, conn) if spec.signature is not None and spec.type == "hmac" else None
        )

    @property
    def renewable(self) -> bool:
        return self.login is not None or self.spec.type in RENEWABLE

    def secrets(self) -> list[str]:
        """What must never be shown (`onestop source preview` masks these wherever they appear)."""
        return [str(s) for s in (self.conn.password, self._token, self._refresh_token, self._csrf) if s]

    def invalidate(self) -> None:
        with self._lock:
            self._token, self._expires_at = None, 0.0
            if self.spec.cookie_session:
                self.client.session.cookies.clear()

    def token(self) -> str | int | None:
        """The current token of an OAuth2 or login auth (fetched or renewed as needed); None for the others."""
        if not self.renewable:
            return None
        with self._lock:
            if self._expires_at <= time.monotonic():
                self._renew()
            return self._token

    def apply(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Request arguments for HttpClient.call() with these credentials added."""
        kind, conn = self.spec.type, self.conn
        headers = dict(kwargs.get("headers") or {})
        if kind == "basic":
            kwargs["auth"] = (conn.login or "", conn.password or "")
        elif kind == "hmac":
            kwargs["auth"] = self._signer  # signs the request as it is sent: every retry anew
        elif kind == "bearer":
            headers["Authorization"] = f"Bearer {conn.password or ''}"
        elif kind == "api_key" and self.spec.name:
            if self.spec.in_ == "query":
                kwargs["params"] = {**(kwargs.get("params") or {}), self.spec.name: conn.password or ""}
            else:
                headers[self.spec.name] = conn.password or ""
        elif kind.startswith("oauth2"):
            headers["Authorization"] = f"Bearer {self.token()}"
        elif kind == "login":
            token = self.token()
            if self.spec.header and token is not None:
                headers[self.spec.header] = f"{self.spec.prefix}{token}"
            page = self.spec.login_page
            if page is not None and page.header and self._csrf:
                headers[page.header] = self._csrf
        kwargs["headers"] = headers
        return kwargs

    def vet(self, operation: str, answer: Answer) -> Answer:
        """The answer, unless it is the login form again (`login_page`: redirected to its path, or an HTML page
        holding its token input): the session ended, an AuthError (logged in again once by `renewing`)."""
        if self._is_login_page(answer, anywhere=True):
            raise AuthError(
                self.client.endpoint,
                f"{operation}: the session ended: the answer is the login page "
                f"({urlsplit(answer.url).path or '/'})",
            )
        return answer

    def _is_login_page(self, answer: Answer, anywhere: bool) -> bool:
        """An HTML answer that landed on the login page's path, or (`anywhere`) that holds its token input."""
        page = self.spec.login_page
        if page is None or answer.status >= 400:
            return False
        body = answer.head(1 << 20)
        if not looks_html(body, answer.headers.get("Content-Type") if answer.headers else None):
            return False
        landed = urlsplit(answer.url).path.rstrip("/") == urlsplit(self.client.url(page.path)).path.rstrip(
            "/"
        )
        return landed or (anywhere and holds_field(body, page.field, answer.charset or self.charset))

    def renewing(self, call: Callable[[], T]) -> T:
        """`call()`; when the system refuses the token mid-sync (an AuthError), it is renewed once and `call` made
        again (`call` reads the token afresh)."""
        for attempt in (1, 2):
            try:
                return call()
            except AuthError:
                if attempt == 2 or not self.renewable:
                    raise
                self.invalidate()
        raise AssertionError("unreachable")

    def request_json(self, method: str, path: str, *, operation: str, **kwargs: Any) -> Any:
        """client.json() with these credentials; a token refused mid-sync is renewed once."""
        return self.renewing(
            lambda: self.client.json(
                method, path, operation=operation, vet=self.vet, **self.apply(dict(kwargs))
            )
        )

    # --- fetching tokens -----------------------------------------------------------------------------------

    def _renew(self) -> None:
        kind = self.spec.type
        if self.login is not None:
            self._token, ttl = self.login()
            self._set_expiry(ttl)
        elif kind == "login":
            self._login()
        elif kind == "oauth2_password" and self._refresh_token:
            try:
                self._oauth({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
            except AuthError:  # the refresh token expired too: log in with the password again
                self._refresh_token = None
                self._oauth(self._password_grant())
        elif kind == "oauth2_password":
            self._oauth(self._password_grant())
        else:
            self._oauth({"grant_type": "client_credentials"}, client_auth=True)
        self.tokens_fetched += 1

    def _password_grant(self) -> dict[str, str]:
        form = {
            "grant_type": "password",
            "username": self.conn.login or "",
            "password": self.conn.password or "",
        }
        for name in ("client_id", "client_secret"):
            if value := self.conn.extra.get(name):
                form[name] = str(value)
        return form

    def _oauth(self, form: dict[str, str], client_auth: bool = False) -> None:
        if self.spec.scope:
            form["scope"] = self.spec.scope
        answer = self.client.call(
            "POST",
            self.spec.token_url or "",
            operation="token",
            read=lambda a: self._read_token(a, "access_token", "expires_in"),
            data=form,
            auth=(self.conn.login or "", self.conn.password or "") if client_auth else None,
        )
        self._token, ttl, document = answer
        if isinstance(document, dict) and document.get("refresh_token"):
            self._refresh_token = str(document["refresh_token"])
        self._set_expiry(ttl)

    def _login(self) -> None:
        spec = self.spec
        assert spec.request is not None
        values = {"login": self.conn.login or "", "password": self.conn.password or ""}
        if spec.cookie_session:
            self.client.session.cookies.clear()
        if spec.login_page is not None and spec.login_page.csrf:
            self._csrf = self.client.call(
                "GET", spec.login_page.path, operation="login page", read=self._form_token
            )
            values["csrf"] = self._csrf
        method, path, kwargs = spec.request.rendered(values)
        token, ttl, _ = self.client.call(
            method,
            path or spec.request.path,
            operation="login",
            read=lambda a: self._read_token(a, spec.token_path, spec.expires_in_path),
            **kwargs,
        )
        if spec.cookie_session and not self.client.session.cookies:
            raise AuthError(self.client.endpoint, "login: the answer set no session cookie")
        self._token = token
        self._set_expiry(ttl if ttl is not None else (spec.ttl.total_seconds() if spec.ttl else None))

    def _read_token(
        self, answer: Answer, token_path: str | None, ttl_path: str | None
    ) -> tuple[str | None, float | None, Any]:
        operation = "token" if self.spec.type.startswith("oauth2") else "login"
        # the form again: the credentials were refused (a form without a token: any page holding its input)
        page = self.spec.login_page
        if self._is_login_page(answer, anywhere=page is not None and not page.csrf):
            said = page_says(answer.head(1 << 20), answer.charset or self.charset)
            raise AuthError(
                self.client.endpoint,
                f"{operation}: refused, the login page again: {quote_answer(said, 512) or '(it says nothing)'}",
            )
        document = None
        if token_path or answer.body.strip():
            try:
                if self.answer == "xml" and operation == "login":
                    document = read_document(answer.body, self.client.endpoint, self.charset)
                elif self.answer == "xmlrpc" and operation == "login":
                    document = read_xmlrpc(self.client.endpoint, answer.body)
                else:
                    # the answer's declared charset, as a page's is read (a windows-1258 refusal in an envelope)
                    charset = self.charset or answer.other_charset
                    document = parse_json(self.client.endpoint, operation, answer, charset)
            except Exception as exc:
                if not token_path:
                    pass  # a cookie session: its answer need not be read
                elif _names_key(answer.body, token_path):  # the token may be in it: not quoted
                    raise ProtocolError(
                        self.client.endpoint,
                        f"{operation}: answer is not {self.answer.upper()} ({type(exc).__name__}; "
                        f"{len(answer.body)} bytes, not quoted: they name {token_path!r} and may hold the token)",
                    ) from None
                else:
                    raise
        self.check(operation, document)  # the system's own refusal ("wrong password") in an envelope
        if not token_path:
            return None, None, document
        token = get_path(document, token_path)
        if not token or not isinstance(token, str | int) or isinstance(token, bool):
            # an object or a list may hold the token elsewhere: its skeleton; a bare value (false) as it came
            structured = isinstance(document, dict | list)
            said = _shape(document) if structured else quote_answer(answer.body, 1024)
            raise AuthError(
                self.client.endpoint,
                f"{operation}: no token at {token_path!r} in the answer: {said}",
            )
        ttl = get_path(document, ttl_path) if ttl_path else None
        try:
            seconds = float(ttl) if ttl is not None else None
        except (TypeError, ValueError):
            seconds = None
        # A number stays one (Odoo's login answers the user's id, which each call sends back as a number).
        return token if isinstance(token, int) else str(token), seconds, document

    def _form_token(self, answer: Answer) -> str:
        page = self.spec.login_page
        assert page is not None
        token = hidden_value(answer.head(1 << 20), page.field, answer.charset or self.charset)
        if not token:
            raise ProtocolError(
                self.client.endpoint,
                f"login page: no hidden input {page.field!r} with a value in the page at "
                f"{urlsplit(answer.url).path or '/'} (HTTP {answer.status})",
            )
        return token

    def _set_expiry(self, ttl: float | None) -> None:
        # Renew a little early so that a token never expires between our check and the server's.
        if ttl is None and isinstance(self._token, str):
            ttl = jwt_lifetime(self._token)
        ttl = DEFAULT_TTL_S if ttl is None else ttl
        self._expires_at = time.monotonic() + max(ttl - min(30.0, ttl / 5), 0.2)


def _names_key(body: bytes, path: str) -> bool:
    """The body holds the last key of `path` (`data.token` → `token`): it may hold that value too."""
    key = path.replace("]", ".").split(".")[-1].strip("'[ ")
    return bool(key) and key.encode() in body


# A run of this many characters without a space may be a token (JWTs, session ids, API keys are 26 and more);
# a vendor's words and codes ("Sai mật khẩu", "invalid_grant", 1002) are shorter.
_OPAQUE = re.compile(r"\S{25,}")


def _shape(document: Any, depth: int = 4) -> str:
    """A login or token answer as its JSON with whatever may be a token written `…` (a token at another key than
    the one configured would be quoted otherwise): its keys, its words and short codes show, four levels deep."""

    def skeleton(value: Any, left: int) -> Any:
        if isinstance(value, dict):
            return {str(k): skeleton(v, left - 1) for k, v in list(value.items())[:30]} if left else "…"
        if isinstance(value, list):
            return [skeleton(value[0], left - 1)] if value and left else []
        if value is None or isinstance(value, bool):
            return value  # false says no login
        if isinstance(value, int | float):
            return value if abs(value) < 10**6 else "…"  # a status code, not a numeric key
        return "…" if _OPAQUE.search(str(value)) else value

    return quote_answer(json.dumps(skeleton(document, depth), ensure_ascii=False), 1024)


class Signer(requests.auth.AuthBase):
    """`auth: hmac`: each request, as it is sent (its final URL and body), signed with an HMAC keyed by the
    connection's password; the signature and the spec's other headers (its time, a nonce, the key id) added."""

    def __init__(self, spec: SignatureSpec, conn: Connection) -> None:
        self.spec, self.login, self.key = spec, conn.login or "", (conn.password or "").encode()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        spec, parts = self.spec, urlsplit(request.url or "")
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else b""
        now = datetime.now(UTC)
        stamp = {"epoch_s": str(int(now.timestamp())), "epoch_ms": str(int(now.timestamp() * 1000)),
                 "iso": now.strftime("%Y-%m-%dT%H:%M:%SZ")}[spec.timestamp]  # fmt: skip
        values = {"method": request.method, "path": parts.path, "query": parts.query,
                  "body": body.decode("utf-8", "replace"), "body_sha256": hashlib.sha256(body).hexdigest(),
                  "timestamp": stamp, "nonce": uuid.uuid4().hex, "login": self.login}  # fmt: skip
        digest = hmac.new(
            self.key, (render_text(spec.message, values) or "").encode(), spec.algorithm
        ).digest()
        for name, template in spec.headers.items():
            request.headers[name] = render_text(template, values) or ""
        signature = digest.hex() if spec.encoding == "hex" else base64.b64encode(digest).decode()
        request.headers[spec.header] = spec.prefix + signature
        request.signed_by = self  # type: ignore[attr-defined]  # a redirect is signed again (connectors.http)
        return request


def jwt_lifetime(token: str) -> float | None:
    """Seconds left before a JWT's `exp` (RFC 7519), read without checking its signature (the token is the
    server's to check): how long a token whose answer states no lifetime may be used. None when the token is no
    JWT or states no time to come."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        # orjson refuses a payload nested past 1024 levels without recursing: json.loads would recurse to
        # Python's limit, where any finalizer the collector runs meanwhile fails for want of stack
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        left = float(claims["exp"]) - time.time()
    except (ValueError, TypeError, KeyError, OverflowError):
        return None
    return left if 0 < left < 366 * 86400 else None


# What each kind of auth sends of its connection: one that lacks it fails as a wrong configuration, before any
# call, not as refused credentials (an empty password the system refuses would send the administrator looking for
# a wrong one).
CREDENTIALS = {"basic": ("login", "password"), "ntlm": ("login", "password"), "digest": ("login", "password"),
               "bearer": ("password",), "api_key": ("password",), "hmac": ("password",)}  # fmt: skip


def require_credentials(
    conn: Connection | None, kind: str, needed: Iterable[str] | None = None, source: str | None = None
) -> None:
    """ConfigError, before any call, when the connection lacks what `kind` sends (its CREDENTIALS, or `needed`:
    what a source's requests send themselves); `source` names the source the error is said for."""
    wanted = CREDENTIALS.get(kind, ()) if needed is None else needed
    if missing := [n for n in ("login", "password") if n in wanted and not getattr(conn, n, None)]:
        where = f"source {source}: " if source else ""
        raise ConfigError(
            f"{where}connection {getattr(conn, 'conn_id', None)!r} needs a {' and a '.join(missing)} ({kind})"
        )


def host_authentication(client: HttpClient, conn: Connection, kind: str) -> None:
    """Every request of this client answers its host's challenge with the connection's login and password: the
    WSDL, the pages, the details. `ntlm`: IIS's Windows authentication (login DOMAIN\\user or user@domain), the
    handshake run per connection; `digest`: HTTP Digest (RFC 7616), answered per challenge; `basic`: sent with
    each request. A refused login comes back as HTTP 401 (an AuthError)."""
    from requests.auth import HTTPDigestAuth
    from requests_ntlm import HttpNtlmAuth

    require_credentials(conn, kind)
    schemes = {"ntlm": HttpNtlmAuth, "digest": HTTPDigestAuth}
    client.session.auth = (
        schemes[kind](conn.login, conn.password) if kind in schemes else (conn.login, conn.password)
    )
