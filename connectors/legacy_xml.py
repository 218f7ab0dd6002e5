"""Legacy XML-over-HTTP district systems (ASP.NET style): HTTP Basic, pages from 1 to lastPage, a window of
receipt days, and errors inside HTTP 200 (a non-zero ErrorCode).

Such a system can only be asked by receipt date, so its watermark is a receipt time (the registry's
`watermark_field: received`): the pipeline hands over [watermark − lookback, now] and this connector asks for
those days, inclusive, in Asia/Ho_Chi_Minh. It cannot see a later update to a dossier received before the
window; only a lookback as long as a dossier stays open brings such updates in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connectors.auth import Authenticator
from connectors.base import XML, RawRecord
from connectors.connection import Connection
from connectors.errors import AuthError, ProtocolError
from connectors.http import HttpClient
from connectors.safexml import first_text, iter_elements, to_text
from connectors.spec.legacy import XmlSpec
from mappings.xmltree import element_to_dict
from schemas.dossier import HCM

log = logging.getLogger(__name__)
SUCCESS_CODES = frozenset({"", "0", "00"})  # an empty <ErrorCode/> is how some of these systems say "fine"


def format_day(value: datetime, fmt: str) -> str:
    """A window bound as the system wants it, in Vietnam's time (a UTC bound names another day otherwise)."""
    local = value.astimezone(HCM) if value.tzinfo is not None else value
    if fmt == "iso":
        return local.isoformat()
    if fmt == "yyyyMMddHHmmss":
        return local.strftime("%Y%m%d%H%M%S")
    return local.strftime("%d/%m/%Y")


def _number(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


class LegacyXmlSource:
    """Reads the dossiers received within a window, one page (one bounded XML answer) at a time."""

    def __init__(self, name: str, spec: XmlSpec, conn: Connection, client: HttpClient) -> None:
        self.name, self.spec, self.client = name, spec, client
        self.authenticator = Authenticator(spec.auth, conn, client)

    def _get(self, params: dict[str, Any], operation: str) -> bytes:
        """One page's body, checked: a non-zero ErrorCode is raised (and recorded like any failed call)."""
        for attempt in (1, 2):
            body = self.client.request(
                "GET", self.spec.resource, operation=operation, **self.authenticator.apply({"params": params})
            )
            try:
                self._check(body, operation)
            except AuthError:
                if attempt == 2 or not self.authenticator.renewable:
                    raise
                self.authenticator.invalidate()  # a token that expired mid-sync: fetch a new one, once
                continue
            return body
        raise AssertionError("unreachable")

    def _check(self, body: bytes, operation: str) -> None:
        spec = self.spec
        code = self._text(body, spec.error_element)
        if code is None:
            error: ProtocolError | AuthError = ProtocolError(
                self.name, f"{operation}: answer has no <{spec.error_element}>: {body[:160]!r}"
            )
        else:
            if code in SUCCESS_CODES:
                return
            message = (first_text(body, spec.message_element, self.name) or "").strip() or "(no message)"
            kind = AuthError if code in spec.auth_error_codes else ProtocolError
            error = kind(self.name, f"{operation}: {spec.error_element} {code}: {message}")
        self.client._record(operation, error)  # errors inside HTTP 200 belong in the attempts table too
        raise error

    def _text(self, body: bytes, tag: str) -> str | None:
        """The first `tag`'s text: "" for an empty element, None when there is none."""
        for element in iter_elements(body, tag, self.name):
            return (element.text or "").strip()
        return None

    def _params(self, page: int, size: int) -> dict[str, Any]:
        return {self.spec.page_param: page, self.spec.size_param: size}

    def probe(self) -> str:
        """One authenticated page of one record for today: proves the URL, the credentials and the shape."""
        spec = self.spec
        today = format_day(datetime.now(HCM), spec.date_format)
        params = {**self._params(spec.base_page, 1), spec.from_param: today, spec.to_param: today}
        body = self._get(params, "probe")
        total = _number(first_text(body, spec.total_element, self.name))
        return (
            f"{self.name}: authenticated; {total if total is not None else '?'} dossier(s) received {today}"
        )

    def pages(self, window_start: datetime | None, window_end: datetime | None) -> Iterator[list[RawRecord]]:
        spec = self.spec
        params = self._params(spec.base_page, spec.page_size)
        if window_start is not None:
            params[spec.from_param] = format_day(window_start, spec.date_format)
        if window_end is not None:
            params[spec.to_param] = format_day(window_end, spec.date_format)
        page, seen, total = spec.base_page, 0, None
        while True:
            params[spec.page_param] = page
            body = self._get(params, "page")
            last = _number(first_text(body, spec.last_page_element, self.name))
            total = _number(first_text(body, spec.total_element, self.name))
            records = [
                RawRecord(element_to_dict(el), to_text(el), XML)
                for el in iter_elements(body, spec.record_element, self.name)
            ]
            if records:
                yield records
            seen += len(records)
            if self._last(page, len(records), seen, last, total):
                break
            page += 1
        if total is not None and seen != total:  # dossiers received while we paged: the next run sees them
            log.info("%s: read %s records, the last page said %s", self.name, seen, total)

    def _last(self, page: int, count: int, seen: int, last: int | None, total: int | None) -> bool:
        if count == 0:
            return True
        if last is not None:
            return page >= last
        if total is not None:
            return seen >= total
        return count < self.spec.page_size
