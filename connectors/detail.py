"""A call per listed record for its whole dossier (`detail` of a REST, XML or SOAP source, or of a change feed):
the list gives summaries (an id, a code, an update time) or events naming a dossier, a second endpoint or
operation gives each dossier with its history, fees and documents.

Each listed record's detail is written over it (or under `detail.into`) before anything maps it, and staged as
that one record. A detail that cannot be read — gone (HTTP 404), not JSON, an error envelope, no object where
the dossier should be — is a defect of its record alone: the record is quarantined naming `(detail)`, the rest of
the page goes on. What says the system itself is unwell is not a record's fault and fails the run, as a page's
failure does (the watermark holds, nothing is lost): refused credentials, a transient failure that outlasted
its retries, and a page of at least MIN_PAGE_FOR_OUTAGE records whose every detail failed (a detail request
that is wrong for every record, an endpoint that is down).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, NamedTuple

from connectors.auth import Authenticator
from connectors.base import DETAIL_FIELD, JSON, Defect, RawRecord, kept, unguarded
from connectors.errors import AuthError, ConnectorError, ProtocolError, TransientError
from connectors.http import Answer, HttpClient
from connectors.jsonpage import decode, read_record, value_kind
from connectors.paging import check_errors
from connectors.safexml import read_document
from connectors.spec.common import get_path
from connectors.spec.rest import DetailRules, DetailSpec
from schemas import jsontext

MIN_PAGE_FOR_OUTAGE = 3  # a page this long whose every detail failed fails the run


class Fetched(NamedTuple):
    """A detail call's answer: the document, and what is wrong inside it (a duplicate key, a NaN)."""

    document: Any
    defects: list[Defect]


Fetch = Callable[[dict[str, Any]], Fetched]  # the values of the listed record -> its detail call's answer


class DetailReader:
    """Reads the detail of each listed record of a page, `spec.parallel` calls at a time; `fetch` makes one call
    (rest_fetch; a SOAP source's operation) and raises a ConnectorError when it fails."""

    def __init__(self, name: str, spec: DetailRules, fetch: Fetch) -> None:
        self.name, self.spec, self.fetch = name, spec, fetch
        # Set by the extract (onestop.pipeline): of listed records, those the unified database holds as listed
        # (the same id and update time), by position. They are not asked for again, nor read: the lookback lists
        # again, at every run, many that did not change (a detail call each, into a system that is often fragile).
        self.unchanged: Callable[[list[RawRecord]], set[int]] | None = None
        self.unchanged_skipped = 0

    def read(self, page: list[RawRecord]) -> list[RawRecord]:
        """The page's records, each with its detail (or the defect that says why it has none); those that did
        not change since they were loaded are left out."""
        skip = self.spec.skip.holds if self.spec.skip is not None else None
        # No call for a record already quarantined, nor for one the registry says has nothing to read (a deletion).
        wanted = [r for r in page if not r.defects and not (skip and skip(r.record))]
        if wanted and self.unchanged is not None:
            # A change feed's item is kept: it is acknowledged only once its run has loaded.
            same = {id(wanted[i]) for i in self.unchanged(wanted) if wanted[i].ack_id is None}
            if same:
                self.unchanged_skipped += len(same)
                page = [r for r in page if id(r) not in same]
                wanted = [r for r in wanted if id(r) not in same]
        if not wanted:
            return page
        with ThreadPoolExecutor(self.spec.parallel, thread_name_prefix="detail") as pool:
            read = dict(zip(map(id, wanted), pool.map(self._one, wanted), strict=True))
        failures = [r for r in read.values() if r.defects and r.defects[-1].field == DETAIL_FIELD]
        if len(wanted) >= MIN_PAGE_FOR_OUTAGE and len(failures) == len(wanted):
            raise ProtocolError(
                self.name,
                f"detail: every one of the page's {len(wanted)} detail calls failed, the first: "
                f"{failures[0].defects[-1].reason}",
            )
        return [read.get(id(r), r) for r in page]

    def _one(self, listed: RawRecord) -> RawRecord:
        values, missing = {}, []
        for name, path in self.spec.values.items():
            value = get_path(listed.record, path)
            if value is None or isinstance(value, dict | list) or str(value).strip() == "":
                missing.append(f"{{{name}}} ({path})")
            else:
                values[name] = value
        if missing:
            return _failed(listed, f"the listed record has no value for {', '.join(missing)}")
        asked_by = str(next(iter(values.values())))
        try:
            fetched = self.fetch(values)
        except (AuthError, TransientError):
            raise  # the system, not this record: the run fails and the next one reads the window again
        except ConnectorError as exc:  # HTTP 404, another 4xx, not JSON, a SOAP Fault: this record's alone
            return _failed(listed, _said(exc), asked_by)
        merged = self._merged(listed, fetched)
        return replace(merged, record_id=asked_by) if merged.defects else replace(merged, detail_of=asked_by)

    def _merged(self, listed: RawRecord, fetched: Fetched) -> RawRecord:
        detail = get_path(fetched.document, self.spec.record)
        if not isinstance(detail, dict):
            where = self.spec.record or "(the answer)"
            return _failed(
                listed, f"the detail answer has no object at {where!r}: found {value_kind(detail)}"
            )
        # A detail that names another dossier (a cache, a vendor's bug) is not this record's.
        for path in self.spec.values.values():
            asked, answered = get_path(listed.record, path), get_path(detail, path)
            if answered is not None and str(answered).strip() != str(asked).strip():
                return _failed(listed, f"the detail answered for {path} {answered!r}, not {asked!r}")
        into = self.spec.into
        merged = {**listed.record, into: detail} if into else {**listed.record, **detail}
        read = kept(merged, jsontext.visible(jsontext.dumps(merged)), JSON, self._rerooted(fetched.defects))
        return replace(read, ack_id=listed.ack_id)  # a feed's item is acknowledged as it was delivered

    def _rerooted(self, defects: list[Defect]) -> tuple[Defect, ...]:
        """Defects found in the answer, named as the merged record's fields (`data.a` → `a`, or `chiTiet.a`);
        those outside the dossier (its envelope) are not the record's."""
        record, into = self.spec.record, self.spec.into
        out = []
        for d in defects:
            if record and d.field != record and not d.field.startswith((f"{record}.", f"{record}[")):
                continue
            inner = d.field[len(record) :].lstrip(".") if record else d.field
            out.append(Defect(f"{into}.{inner}" if into and inner else into or inner or "(record)", d.reason))
        return tuple(out)


def rest_fetch(
    name: str,
    spec: DetailSpec,
    client: HttpClient,
    auth: Authenticator,
    charset: str | None,
    xml: bool = False,
) -> Fetch:
    """One REST detail call with the source's credentials; every value in its path is percent-encoded (an id
    with `/`, `?` or `..` stays one path segment of this system, never another URL). Its answer is read as a
    page's record is (duplicate keys, NaN, controls: defects), or, for a system that answers XML (`xml`), as its
    pages are; its error envelopes checked inside the call (a `transient` one is retried)."""
    uses_token = "token" in spec.request.names()

    def read(answer: Answer) -> Fetched:
        answer = auth.vet("detail", answer)
        if xml:  # read as safely as a page (no DTD, no entities), below its root element
            document = read_document(answer.stream(), name, charset)
            check_errors(name, spec.errors, "detail", document)
            return Fetched(document, [])
        text, _broken = decode(unguarded(answer.body), charset or answer.other_charset)
        try:
            document, defects = read_record(text)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(name, f"the detail answer is not JSON ({exc})") from None
        check_errors(name, spec.errors, "detail", document)
        return Fetched(document, defects)

    def once(values: dict[str, Any]) -> Fetched:
        if uses_token:
            values = {**values, "token": auth.token()}
        method, path, kwargs = spec.request.rendered(values)  # each value one path segment, percent-encoded
        if path is None:
            raise ProtocolError(name, f"detail: request path {spec.request.path!r} needs a value")
        return client.call(method, path, operation="detail", read=read, **auth.apply(kwargs))

    return lambda values: auth.renewing(lambda: once(values))


def _failed(listed: RawRecord, reason: str, asked_by: str | None = None) -> RawRecord:
    """The listed record as it was listed, quarantined for its detail, named by the value its detail was asked
    by when its mapping finds no id in the summary."""
    return replace(listed, defects=(Defect(DETAIL_FIELD, reason),), record_id=asked_by)


def _said(exc: ConnectorError) -> str:
    """The failure as a defect says it: without the endpoint's name, which the quarantine row already holds."""
    text = str(exc)
    prefix = f"{exc.endpoint}: " if getattr(exc, "endpoint", None) else ""
    return text.removeprefix(prefix)
