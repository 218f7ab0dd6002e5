"""From a registry entry and its Airflow connection to a connector object, by kind."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from connectors.base import Source
from connectors.connection import (
    Connection,
    apply_connection_fields,
    get_connection,
    tls_context,
    transport_options,
)
from connectors.errors import ConfigError
from connectors.http import Breaker, FailureRecorder, HttpClient, HttpSettings
from connectors.spec.source import SourceConfig


def source_zone(source: SourceConfig) -> ZoneInfo:
    """The zone of the source's zone-less times: its registry `timezone`, else its dialect mapping's."""
    from mappings import get_mapping

    return ZoneInfo(source.timezone) if source.timezone else get_mapping(source.dialect).tz


def open_source(
    source: SourceConfig,
    recorder: FailureRecorder | None = None,
    conn: Connection | None = None,
    breaker: Breaker | None = None,
) -> Source:
    conn = conn or get_connection(source.conn_id)
    # A connection's own form fields (token URL, WSDL path, …) win over the registry's.
    source = apply_connection_fields(source, conn.extra)
    settings = HttpSettings(
        read_timeout=source.timeout_s,
        max_attempts=source.max_attempts,
        answer_timeout=source.answer_timeout_s,
    )
    client = HttpClient(
        source.name,
        conn.base_url,
        settings,
        on_failure=recorder,
        rate_limit=source.rate_limit,
        breaker=breaker,
        transport=transport_options(conn),
        ssl_context=tls_context(conn),
        charset=paged.charset if (paged := source.rest or source.xml or source.soap) is not None else None,
    )
    http_spec = source.rest if source.kind == "rest" else source.xml if source.kind == "xml" else None
    if http_spec is not None:  # REST JSON and legacy XML over HTTP: one language, one connector
        from connectors.rest import RestSource

        return RestSource(source.name, http_spec, conn, client, source_zone(source))
    if source.kind == "soap" and source.soap is not None:
        from connectors.soap import SoapSource

        return SoapSource(source.name, source.soap, conn, client, source_zone(source))
    if source.kind == "feed" and source.feed is not None:
        from connectors.feed import FeedSource

        return FeedSource(source.name, source.feed, conn, client)
    raise ConfigError(f"source {source.name}: kind {source.kind!r} has no connector")
