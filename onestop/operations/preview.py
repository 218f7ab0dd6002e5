"""`onestop source preview NAME`: what a source would give, before its first sync writes anything.

A dry run against the live system: the requests a sync would make (secrets masked), the records per page, the
first records normalized by the source's mapping and the reasons those that would be quarantined get. Nothing is
written: no database row, no message-log entry, no anchor (no failure recorder, no breaker, no staging).
A change feed is peeked where it offers a peek call, and otherwise not read at all (a fetch would lease a batch
and delay the real sync).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as xml_escape

from connectors.connection import get_connection
from connectors.errors import ConfigError, ConnectorError
from connectors.factory import open_source
from connectors.spec.source import SourceConfig
from mappings import get_mapping
from schemas.personal_data import mask_data, mask_text

SECRET_HEADER = re.compile(r"auth|token|key|cookie|secret|session|password", re.IGNORECASE)


@dataclass
class Preview:
    source: str
    kind: str
    window: tuple[str, str]
    requests: list[dict[str, Any]] = field(default_factory=list)
    records_per_page: list[int] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # the first ones, normalized (masked)
    would_quarantine: dict[str, int] = field(default_factory=dict)  # reason → records
    problems: list[str] = field(default_factory=list)  # paths the spec reads that the answer lacks
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


SHOWN = 4096  # characters of one value of a request shown whole


class _Secrets:
    """Replaces every known secret (the connection's password, tokens) and secret-looking header values."""

    def __init__(self, values: list[str]) -> None:
        # Each as it can stand in a request: verbatim, escaped in XML (zeep's envelopes), in JSON, in a URL or form.
        forms = {
            form
            for v in values
            if v and len(v) >= 3
            for form in (
                v,
                xml_escape(v),
                xml_escape(v, {'"': "&quot;"}),  # in an attribute, as lxml writes it
                xml_escape(v, {'"': "&quot;", "'": "&apos;"}),
                json.dumps(v)[1:-1],
                json.dumps(v, ensure_ascii=False)[1:-1],
                quote(v, safe=""),
                quote_plus(v),
            )
        }
        self.values = sorted(forms, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.values:
            value = value.replace(secret, "***")
        value = mask_text(value)
        # A value past a page of text (a scroll id of a megabyte, as a cursor may be) is shown by its beginning.
        return value if len(value) <= SHOWN else f"{value[: SHOWN // 16]}… ({len(value)} characters)"

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def _request_entry(method: str, url: str, kwargs: dict[str, Any], secrets: _Secrets) -> dict[str, Any]:
    entry: dict[str, Any] = {"method": method, "url": secrets.text(url)}
    if params := kwargs.get("params"):
        entry["query"] = secrets.data(params)
    if headers := kwargs.get("headers"):
        entry["headers"] = {
            k: "***" if SECRET_HEADER.search(k) else secrets.text(str(v)) for k, v in headers.items()
        }
    if kwargs.get("auth"):
        entry["auth"] = "basic ***"
    if kwargs.get("json") is not None:
        entry["json"] = secrets.data(kwargs["json"])
    data = kwargs.get("data")
    if isinstance(data, bytes):  # an XML body, a SOAP envelope (a login's carries the password)
        entry["body"] = secrets.text(data.decode("utf-8", "replace"))
    elif data is not None:
        entry["form"] = secrets.data(data)
    return entry


def preview(
    source: SourceConfig, *, pages: int = 1, since: timedelta | None = None, show: int = 3
) -> Preview:
    """Read the first `pages` pages of [now − since (else the source's start), now] and normalize them."""
    now = datetime.now(UTC)
    start = now - since if since is not None else source.start
    result = Preview(source.name, source.kind, (start.isoformat(), now.isoformat()))
    try:
        conn = get_connection(source.conn_id)
        reader = open_source(source, recorder=None, conn=conn, breaker=None)  # nothing recorded anywhere
    except (ConfigError, ConnectorError) as exc:
        result.error = mask_text(str(exc))
        return result
    client = reader.client  # type: ignore[attr-defined]
    # The secrets as of each request: a token fetched during the read is masked from then on.
    client.trace = lambda method, url, kwargs: result.requests.append(
        _request_entry(method, url, kwargs, _Secrets([conn.password or "", *_tokens(reader)]))
    )
    first_pages: list[Any] = []
    if hasattr(reader, "on_page"):
        reader.on_page = first_pages.append  # REST: the answers themselves, for the live checks
    mapping = get_mapping(source.dialect, source.timezone)
    reasons: Counter[str] = Counter()
    # A change feed is only peeked (FeedSource.peek): a fetch would lease a batch and delay the real sync.
    stream = reader.peek() if source.kind == "feed" else reader.pages(start, now)  # type: ignore[attr-defined]
    try:
        for page in stream:
            result.records_per_page.append(len(page))
            for raw in page:
                if mapping.is_deleted(raw.record):
                    continue
                outcome = mapping.normalize(raw.record, source.name)
                if outcome.dossier is not None and len(result.records) < show:
                    result.records.append(
                        mask_data(outcome.dossier.model_dump(mode="json", exclude_defaults=True))
                    )
                for e in outcome.errors:
                    reasons[mask_text(f"{e.field}: {e.reason}")] += 1
            if len(result.records_per_page) >= pages:
                break
    except ConnectorError as exc:
        result.error = str(exc)  # connector errors are masked and capped where they are made
    finally:
        stream.close()
    result.would_quarantine = dict(reasons.most_common())
    try:
        if first_pages:  # a paged system: what its first page shows is wrong in the registry
            result.problems = reader.problems(first_pages[0])  # type: ignore[attr-defined]
    except ConnectorError as exc:
        result.error = result.error or str(exc)
    finally:
        client.close()
    return result


def _tokens(reader: Any) -> list[str]:
    authenticator = getattr(reader, "authenticator", None)
    return authenticator.secrets() if authenticator is not None else []
