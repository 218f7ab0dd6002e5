"""The source registry (config/sources.yaml): one entry per district or sector system.

Adding a district is one entry here (and, for a new vendor dialect, one mappings/<dialect>.yaml): no Python.
Protocol details shared by every system of one vendor live in a `profiles:` entry that sources name.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from connectors.errors import ConfigError
from onestop import settings

_DURATION = re.compile(r"^(?P<n>\d+)\s*(?P<unit>s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(value: Any) -> Any:
    if isinstance(value, str) and (m := _DURATION.match(value.strip())):
        return timedelta(**{_UNITS[m["unit"]]: int(m["n"])})
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthSpec(_Spec):
    type: Literal["oauth2_client_credentials", "bearer", "api_key", "basic", "none"] = "none"
    token_url: str | None = None  # oauth2: relative to the connection's base URL
    header: str = "Authorization"  # api_key: the header that carries the connection's password


class PaginatorSpec(_Spec):
    type: Literal["page_number"] = "page_number"
    page_param: str = "page"
    size_param: str = "size"
    base_page: int = 0
    page_size: int = Field(default=200, ge=1, le=5000)
    stop: Literal["short_page", "total", "last_page"] = "short_page"
    total_path: str | None = None  # stop: total — where the record count is in the answer
    last_page_path: str | None = None  # stop: last_page — where the last page number is


class IncrementalSpec(_Spec):
    start_param: str
    end_param: str | None = None
    format: Literal["iso", "yyyyMMddHHmmss", "dd/MM/yyyy"] = "iso"


class RestSpec(_Spec):
    resource: str
    records: str = ""  # dotted path to the list of records in a page ("" = the page is the list)
    auth: AuthSpec = AuthSpec()
    paginator: PaginatorSpec = PaginatorSpec()
    incremental: IncrementalSpec | None = None
    params: dict[str, str] = {}


class SoapSpec(_Spec):
    """A SOAP (document/literal) district system: zeep builds the envelope from the served WSDL."""

    wsdl: str = "/soap?wsdl"  # relative to the connection's base URL
    operation: str = "LayDanhSachHoSo"
    from_param: str = "TuNgay"
    to_param: str = "DenNgay"
    page_param: str = "Trang"
    size_param: str = "SoBanGhi"
    base_page: int = 1
    page_size: int = Field(default=200, ge=1, le=5000)
    record_element: str = "HoSo"  # local name of one record in the answer
    total_element: str | None = "TongSo"  # local name of the total count, when the answer has one
    ws_security: bool = True  # WS-Security UsernameToken from the connection's login/password


class XmlSpec(_Spec):
    """A legacy XML-over-HTTP system (ASP.NET style): pages from 1, a receipt-date window only."""

    resource: str = "/DichVu/DanhSachHoSo.aspx"
    page_param: str = "currPage"
    size_param: str = "pageSize"
    base_page: int = 1
    page_size: int = Field(default=200, ge=1, le=5000)
    from_param: str = "tuNgay"
    to_param: str = "denNgay"
    date_format: Literal["dd/MM/yyyy", "iso", "yyyyMMddHHmmss"] = "dd/MM/yyyy"
    record_element: str = "HoSo"
    last_page_element: str = "lastPage"
    total_element: str = "TotalCount"
    error_element: str = "ErrorCode"  # errors come inside HTTP 200: a non-zero code here is a failure
    message_element: str = "ErrorMessage"
    auth_error_codes: list[str] = ["401", "403"]  # ErrorCodes that mean "credentials refused" (an AuthError)
    auth: AuthSpec = AuthSpec(type="basic")


class FeedSpec(_Spec):
    """A change feed (sector systems through the provincial integration platform): leased batches that come
    again unless acknowledged, deletions included."""

    fetch: str = "/feed/fetch"
    ack: str = "/feed/ack"
    batch_size: int = Field(default=200, ge=1, le=5000)
    max_batches: int = Field(default=10_000, ge=1)  # a run stops after this many batches (the rest waits)
    auth: AuthSpec = AuthSpec(type="api_key", header="X-API-Key")


class SourceConfig(_Spec):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")
    title: str
    kind: Literal["rest", "soap", "xml", "feed"]
    dialect: str
    conn_id: str
    district_code: str | None = None
    schedule: str | None = "*/30 * * * *"
    lookback: Duration = timedelta(minutes=15)
    start: datetime = datetime.fromisoformat("2025-01-01T00:00:00+07:00")
    pool_slots: int = Field(default=2, ge=1)
    timeout_s: float = 60.0
    max_attempts: int = Field(default=5, ge=1)
    rate_limit: float | None = Field(
        default=None, gt=0
    )  # requests per second into this system (beside the pool)
    # What the watermark tracks: the source's update time, or (a system queryable by receipt date only) receipt.
    watermark_field: Literal["updated", "received"] = "updated"
    # Alerts (onestop/alerts.py): no successful sync for longer than `freshness` is critical; more than
    # `max_error_rate` of the last 24 h's fetched records failing (quarantine, delivery, failed runs) a warning.
    freshness: Duration = timedelta(hours=2)
    max_error_rate: float = Field(default=0.05, ge=0)
    rest: RestSpec | None = None
    soap: SoapSpec | None = None
    xml: XmlSpec | None = None
    feed: FeedSpec | None = None

    @property
    def pool(self) -> str:
        """Airflow pool capping concurrent calls to this (often fragile) system."""
        return f"onestop_{self.name}"


class PortalConfig(_Spec):
    conn_id: str = "onestop_portal"
    batch_size: int = Field(default=100, ge=1, le=500)
    max_attempts: int = Field(default=8, ge=1)
    timeout_s: float = 60.0
    retry_backoff: Duration = timedelta(seconds=30)  # first wait after a failed batch; doubles, up to 2^10×


class RetentionConfig(_Spec):
    """How long raw payloads carrying citizens' personal data are kept (onestop/retention.py, `onestop purge`).
    The unified dossier record is the province's system of record and is not purged."""

    raw_payloads: Duration = timedelta(days=30)  # staged records of runs; closed quarantined records
    quarantine: Duration = timedelta(days=90)  # open quarantined records keep their row, lose the payload
    incidents: Duration = timedelta(days=180)  # failed calls, task failures (they quote remote answers)
    message_log: Duration = timedelta(
        days=730
    )  # older entries move to archive files (hashes, ids: no payloads)

    @field_validator("raw_payloads", "quarantine", "incidents", "message_log")
    @classmethod
    def _at_least_a_day(cls, value: timedelta) -> timedelta:
        if value < timedelta(days=1):  # a run's staged records must outlive its load
            raise ValueError("a retention period is at least 1d")
        return value


class BreakerConfig(_Spec):
    """Circuit breakers, one per endpoint (each source, the portal): after `threshold` consecutive failures
    calls fail fast for `cooldown`, doubled after each failed trial up to `max_cooldown`."""

    threshold: int = Field(default=5, ge=1)
    cooldown: Duration = timedelta(seconds=30)
    max_cooldown: Duration = timedelta(minutes=30)


class AlertsConfig(_Spec):
    """Where alerts go (onestop/alerts.py) when one is raised or cleared: e-mail through an Airflow SMTP
    connection, and a chat app's incoming webhook (an Airflow connection whose host is the URL)."""

    email_to: list[str] = []  # empty: no e-mail
    smtp_conn_id: str = "smtp_default"
    webhook_conn_id: str | None = None  # e.g. onestop_alert_webhook; None: no webhook


class Registry(_Spec):
    portal: PortalConfig = PortalConfig()
    breakers: BreakerConfig = BreakerConfig()
    retention: RetentionConfig = RetentionConfig()
    alerts: AlertsConfig = AlertsConfig()
    sources: list[SourceConfig]

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"no source named {name!r} in the registry (known: {', '.join(self.names())})")

    def names(self) -> list[str]:
        return [s.name for s in self.sources]


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (
            _merge(merged[key], value)
            if isinstance(merged.get(key), dict) and isinstance(value, dict)
            else value
        )
    return merged


def parse(data: dict, origin: str = "<registry>") -> Registry:
    """Validate a registry document; every problem names the file, the line, the entry and the field."""
    problems: list[str] = []

    def where(*path: Any) -> str:
        from mappings.yamllines import line_of

        return f"{origin}:{line_of(data, path)}"

    profiles = data.get("profiles") or {}
    defaults = data.get("defaults") or {}
    entries = []
    for i, entry in enumerate(data.get("sources") or []):
        profile_name = entry.get("profile")
        if profile_name is not None and profile_name not in profiles:
            problems.append(
                f"{where('sources', i, 'profile')}: sources[{i}] ({entry.get('name')}): unknown profile {profile_name!r}"
            )
        own = {k: v for k, v in entry.items() if k != "profile"}
        entries.append(_merge(_merge(defaults, profiles.get(profile_name, {})), own))
    registry = None
    try:
        # Every other top-level block (portal, breakers, retention, …) as written; an unknown one is an error.
        blocks = {k: v or {} for k, v in data.items() if k not in ("profiles", "defaults", "sources")}
        registry = Registry(**blocks, sources=entries)
    except ValidationError as exc:
        for err in exc.errors():
            loc = list(err["loc"])
            if loc[:1] == ["sources"] and len(loc) > 1:
                i, field = loc[1], ".".join(str(p) for p in loc[2:])
                line = where("sources", i, *loc[2:])
                problems.append(
                    f"{line}: sources[{i}] ({entries[i].get('name', '?')}): {field}: {err['msg']}"
                )
            else:
                problems.append(f"{where(*loc)}: {'.'.join(str(p) for p in loc)}: {err['msg']}")
    if registry is not None:
        seen: dict[str, int] = {}
        for i, s in enumerate(registry.sources):
            if s.name in seen:
                problems.append(
                    f"{where('sources', i, 'name')}: source name {s.name!r} appears twice (first: sources[{seen[s.name]}])"
                )
            seen.setdefault(s.name, i)
            if s.kind == "rest" and s.rest is None:
                problems.append(
                    f"{where('sources', i)}: source {s.name}: kind rest needs a `rest:` section (or a profile)"
                )
            # soap, xml and feed have complete defaults: an absent section means "the usual".
            if s.kind == "soap" and s.soap is None:
                s.soap = SoapSpec()
            if s.kind == "xml" and s.xml is None:
                s.xml = XmlSpec()
            if s.kind == "feed" and s.feed is None:
                s.feed = FeedSpec()
    if problems:
        raise ConfigError("\n".join(problems))
    assert registry is not None
    return registry


def read(path: Path) -> Registry:
    from mappings.yamllines import read_with_lines

    data, problems = read_with_lines(path.read_text(encoding="utf-8"), str(path))
    if problems:
        raise ConfigError("\n".join(str(p) for p in problems))
    return parse(data or {}, origin=str(path))


@cache
def _load(path: Path, mtime: float) -> Registry:
    return read(path)


def load(path: Path | None = None) -> Registry:
    """The registry, re-read only when the file changes (DAG files parse it every 30 s)."""
    path = path or settings.sources_file()
    return _load(path, path.stat().st_mtime)
