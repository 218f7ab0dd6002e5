"""REST JSON district systems, declared in the registry the way dlt's rest_api describes a source:
a client (base URL + auth), a paginator, a records path and an incremental cursor. Pages are read one at a
time as a stream; nothing holds more than one page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connectors.base import JSON, RawRecord
from connectors.connection import Connection
from connectors.errors import AuthError, ProtocolError
from connectors.http import HttpClient
from onestop.registry import AuthSpec, RestSpec
from schemas import jsontext


def dig(document: Any, path: str) -> Any:
    """A dotted path into a JSON document ('' = the document itself)."""
    for key in path.split(".") if path else ():
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def format_time(value: datetime, fmt: str) -> str:
    if fmt == "iso":
        return value.isoformat()
    if fmt == "yyyyMMddHHmmss":
        return value.strftime("%Y%m%d%H%M%S")
    return value.strftime("%d/%m/%Y")


class Authenticator:
    """Adds credentials to a request; refreshes an expired OAuth2 token once when the server says 401."""

    def __init__(self, spec: AuthSpec, conn: Connection, client: HttpClient) -> None:
        self.spec, self.conn, self.client = spec, conn, client
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def headers(self) -> dict[str, str]:
        kind = self.spec.type
        if kind == "oauth2_client_credentials":
            return {"Authorization": f"Bearer {self._oauth_token()}"}
        if kind == "bearer":
            return {"Authorization": f"Bearer {self.conn.password}"}
        if kind == "api_key":
            return {self.spec.header: self.conn.password or ""}
        return {}

    def auth(self) -> tuple[str, str] | None:
        return (self.conn.login or "", self.conn.password or "") if self.spec.type == "basic" else None

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def request_json(self, method: str, path: str, *, operation: str, **kwargs: Any) -> Any:
        """client.json() with these credentials; an OAuth2 token refused mid-sync is renewed once."""
        for attempt in (1, 2):
            try:
                return self.client.json(
                    method, path, operation=operation, headers=self.headers(), auth=self.auth(), **kwargs
                )
            except AuthError:
                if attempt == 2 or self.spec.type != "oauth2_client_credentials":
                    raise
                self.invalidate()  # the token expired mid-sync: fetch a new one, once
        raise AssertionError("unreachable")

    def _oauth_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                answer = self.client.json(
                    "POST",
                    self.spec.token_url or "/oauth/token",
                    operation="token",
                    data={"grant_type": "client_credentials"},
                    auth=(self.conn.login or "", self.conn.password or ""),
                )
                token = answer.get("access_token") if isinstance(answer, dict) else None
                if not token:
                    raise AuthError(self.client.endpoint, "token endpoint answered without an access_token")
                # Renew a little early so a token never expires between our check and the server's.
                ttl = float(answer.get("expires_in") or 300)
                self._token, self._expires_at = token, time.monotonic() + max(ttl - min(30, ttl / 5), 0.5)
                self.tokens_fetched += 1
            return self._token


class RestSource:
    """Reads one district system's records updated within a window, page by page."""

    def __init__(self, name: str, spec: RestSpec, conn: Connection, client: HttpClient) -> None:
        self.name, self.spec, self.client = name, spec, client
        self.authenticator = Authenticator(spec.auth, conn, client)

    def _get_page(self, params: dict[str, Any]) -> Any:
        return self.authenticator.request_json("GET", self.spec.resource, operation="page", params=params)

    def probe(self) -> str:
        """One page of one record: proves the URL, the credentials and the answer's shape."""
        pager = self.spec.paginator
        answer = self._get_page({**self.spec.params, pager.page_param: pager.base_page, pager.size_param: 1})
        records = dig(answer, self.spec.records)
        if not isinstance(records, list):
            raise ProtocolError(self.name, f"no list of records at {self.spec.records!r}")
        return (
            f"{self.name}: authenticated, answer has a list of records at {self.spec.records or '(root)'!r}"
        )

    def pages(self, window_start: datetime | None, window_end: datetime | None) -> Iterator[list[RawRecord]]:
        spec, pager = self.spec, self.spec.paginator
        params: dict[str, Any] = dict(spec.params)
        if spec.incremental is not None:
            if window_start is not None:
                params[spec.incremental.start_param] = format_time(window_start, spec.incremental.format)
            if window_end is not None and spec.incremental.end_param:
                params[spec.incremental.end_param] = format_time(window_end, spec.incremental.format)
        page, seen = pager.base_page, 0
        while True:
            params[pager.page_param], params[pager.size_param] = page, pager.page_size
            answer = self._get_page(params)
            records = dig(answer, spec.records)
            if not isinstance(records, list):
                raise ProtocolError(self.name, f"page {page}: no list of records at {spec.records!r}")
            if records:
                yield [RawRecord(r, jsontext.dumps(r), JSON) for r in records]
            seen += len(records)
            if self._last(answer, page, records, seen):
                return
            page += 1

    def _last(self, answer: Any, page: int, records: list, seen: int) -> bool:
        pager = self.spec.paginator
        if not records:
            return True
        if pager.stop == "total":
            return seen >= int(dig(answer, pager.total_path or "total") or 0)
        if pager.stop == "last_page":
            return page >= int(dig(answer, pager.last_page_path or "lastPage") or page)
        return len(records) < pager.page_size
