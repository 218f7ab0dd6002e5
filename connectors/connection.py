"""Credentials and endpoints come from Airflow Connections (or their AIRFLOW_CONN_* env form), never from code.

Inside an Airflow task the Task SDK resolves them (secrets backends included); the CLI, tests and benchmarks
read the same AIRFLOW_CONN_{ID} variables without importing Airflow.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import ssl
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from connectors.errors import ConfigError

if TYPE_CHECKING:
    from connectors.spec.source import SourceConfig


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


# What a connection's own form fields override in its source's registry entry (the Airflow connection types in
# onestop.airflow.provider show them): kind → (extra field, path of the spec value it replaces).
OVERRIDES: dict[str, tuple[str, tuple[str, ...]]] = {
    "rest": ("token_url", ("rest", "auth", "token_url")),
    "soap": ("wsdl", ("soap", "wsdl")),
    "xml": ("resource", ("xml", "request", "path")),
    "feed": ("api_key_header", ("feed", "auth", "name")),
}
# Transport settings any HTTP connection may carry in its extra (mutual TLS and proxies of provincial platforms).
TRANSPORT_FIELDS = ("ca_bundle", "client_cert", "client_key", "proxy", "verify_tls", "tls_legacy")


def field_value(kind: str, extra: Mapping[str, Any], name: str) -> str | None:
    """A form field from a connection's extra; Airflow 2 forms stored them as `extra__<type>__<name>`."""
    value = extra.get(name)
    if value is None:
        value = extra.get(f"extra__onestop_{kind}__{name}")
    text = str(value).strip() if value is not None else ""
    return text or None


def apply_connection_fields(source: SourceConfig, extra: Mapping[str, Any]) -> SourceConfig:
    """The registry entry with what this connection's own form field overrides (validated again)."""
    if source.kind not in OVERRIDES:
        return source
    name, path = OVERRIDES[source.kind]
    value = field_value(source.kind, extra, name)
    if value is None:
        return source
    data = source.model_dump(by_alias=True, exclude_unset=True)  # what was written, validated again
    node = data
    for key in path[:-1]:
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return type(source).model_validate(data)


def tls_verification_off(conn: Connection) -> bool:
    """Only an explicit `verify_tls: false` turns certificate checks off (config check warns about it)."""
    value = conn.extra.get("verify_tls")
    return value is False or (isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"))


def tls_legacy(conn: Connection) -> bool:
    """Only an explicit `tls_legacy: true` lets an old server's TLS through (config check warns about it)."""
    value = conn.extra.get("tls_legacy")
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"))


def tls_context(conn: Connection) -> ssl.SSLContext | None:
    """The TLS settings of a connection to an old server (`tls_legacy`): TLS 1.0 and 1.1, and the keys, digests
    and ciphers OpenSSL's security level 0 allows (a district's Windows Server 2008 IIS offers nothing newer), the
    certificate still verified; None: the defaults (TLS 1.2 and up, security level 2)."""
    if not tls_legacy(conn):
        return None
    context = ssl.create_default_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1 is deprecated: that is the point
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    # Renegotiation without RFC 5746 (Python 3.12 names the flag; 3.11 has only its value).
    context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
    return context


_pem_dir: Path | None = None


def _pem_file(value: str, name: str) -> str:
    """A path as given, or PEM text (as Airflow connections often hold it) in a private file of this process:
    one file per content, in one folder removed when the process ends (a private key does not outlive it)."""
    global _pem_dir
    if "-----BEGIN" not in value:
        return value
    if _pem_dir is None:
        _pem_dir = Path(tempfile.mkdtemp(prefix="onestop-tls-"))  # mode 0700
        atexit.register(shutil.rmtree, _pem_dir, True)
    path = _pem_dir / f"{hashlib.sha256(value.encode()).hexdigest()[:32]}-{name}"
    if not path.exists():
        path.touch(0o600)
        path.write_text(value.strip() + "\n", encoding="ascii")
    return str(path)


def transport_options(conn: Connection) -> dict[str, Any]:
    """requests settings from a connection: CA bundle, client certificate, proxy, verification."""
    extra, options = conn.extra, {}
    if ca := field_value("", extra, "ca_bundle"):
        options["verify"] = _pem_file(ca, "ca.pem")
    if tls_verification_off(conn):
        options["verify"] = False
    if cert := field_value("", extra, "client_cert"):
        key = field_value("", extra, "client_key")
        options["cert"] = (
            (_pem_file(cert, "cert.pem"), _pem_file(key, "key.pem")) if key else _pem_file(cert, "cert.pem")
        )
    if proxy := field_value("", extra, "proxy"):
        if problem := proxy_problem(proxy):
            raise ConfigError(f"connection {conn.conn_id!r}: {problem}")
        options["proxies"] = {"http": proxy, "https": proxy}
    return options


def proxy_problem(proxy: str) -> str | None:
    """What is wrong with a connection's proxy, said without the proxy's URL (it may hold a password): only an
    HTTP proxy (`http://host:port`, also for HTTPS systems: a CONNECT tunnel) is supported; a SOCKS proxy needs
    a library this product does not ship, and requests would refuse it only at the first call."""
    scheme, sep, rest = proxy.partition("://")
    if not sep:
        return None  # host:port, read by requests as http://host:port
    if scheme.lower() not in ("http", "https"):
        return (
            f"proxy: a {scheme[:20]!r} proxy is not supported (an HTTP proxy is: http://host:port)"
            if scheme.isascii() and scheme.replace("-", "").isalnum()
            else "proxy: not a proxy URL (http://host:port)"
        )
    if not rest.rpartition("@")[2].strip("/"):
        return "proxy: no host (http://host:port)"
    return None
