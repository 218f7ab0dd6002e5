"""Credentials and endpoints come from Airflow Connections (or their AIRFLOW_CONN_* env form), never from code.

Inside an Airflow task the Task SDK resolves them (secrets backends included); the CLI, tests and benchmarks
read the same AIRFLOW_CONN_{ID} variables without importing Airflow.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from connectors.errors import ConfigError


@dataclass(frozen=True)
class Connection:
    conn_id: str
    host: str = ""
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    port: int | None = None
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """`host` may be a whole URL (http://10.0.0.5:8080/api) or a bare host with `schema` as the scheme."""
        if "://" in self.host:
            return self.host.rstrip("/")
        scheme = self.schema or "http"
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{self.host}{port}"


def _from_env(conn_id: str) -> Connection | None:
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.startswith("{"):
        data = json.loads(raw)
        extra = data.get("extra") or {}
        return Connection(
            conn_id=conn_id,
            host=data.get("host") or "",
            login=data.get("login"),
            password=data.get("password"),
            port=data.get("port"),
            schema=data.get("schema"),
            extra=json.loads(extra) if isinstance(extra, str) else extra,
        )
    parts = urlsplit(raw)
    query = dict(parse_qsl(parts.query))
    extra = json.loads(query.pop("__extra__")) if "__extra__" in query else query
    return Connection(
        conn_id=conn_id,
        host=unquote(parts.hostname or ""),
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        port=parts.port,
        schema=unquote(parts.path.lstrip("/")) or None,
        extra=extra,
    )


def _from_airflow(conn_id: str) -> Connection | None:
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # pragma: no cover - Airflow is always installed with the product
        return None
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # not in a task, or no such connection: the caller says which id is missing
        return None
    return Connection(
        conn_id=conn_id,
        host=conn.host or "",
        login=conn.login,
        password=conn.password,
        port=conn.port,
        schema=conn.schema,
        extra=conn.extra_dejson,
    )


def get_connection(conn_id: str) -> Connection:
    conn = _from_env(conn_id) or _from_airflow(conn_id)
    if conn is None:
        raise ConfigError(
            f"Airflow connection {conn_id!r} is not defined "
            f"(create it in Admin → Connections, or set AIRFLOW_CONN_{conn_id.upper()})"
        )
    return conn
