"""Airflow hooks for the four kinds of district system; test_connection() is what the Test button runs.

A test makes one real, cheap, authenticated call (the connector's probe()) with the same connector code a
sync uses, and answers (False, a message naming the system and what went wrong, in Vietnamese with the failure's
own words as technical detail) instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from airflow.sdk import BaseHook

from connectors.connection import Connection, apply_connection_fields, field_value
from connectors.errors import AuthError, ConfigError, ConnectorError, ProtocolError, TransientError
from connectors.factory import open_source
from connectors.spec.source import SourceConfig
from onestop import registry
from onestop.airflow.provider import KINDS, SOURCE_FIELD

if TYPE_CHECKING:
    from airflow.sdk import Connection as AirflowConnection

# The person at the Test button is waiting: one attempt, and a bounded wait.
PROBE_TIMEOUT_S = 20.0
# What the administrator at the Test button reads (in Vietnamese, as the console speaks): what went wrong and
# what to check; the failure's own words follow as technical detail.
_HINTS: tuple[tuple[type[Exception], str], ...] = (
    (AuthError, "thông tin đăng nhập bị từ chối: kiểm tra Client id / tài khoản và Secret / mật khẩu / API key"),
    (TransientError, "không nhận được câu trả lời dùng được: kiểm tra Base URL, hệ thống có đang chạy và truy cập "
     "được từ máy chủ này không"),
    (ProtocolError, "câu trả lời không như mong đợi: kiểm tra các đường dẫn và cấu hình nguồn trong registry"),
    (ConfigError, "cấu hình chưa đúng: kiểm tra kết nối và nguồn trong registry"),
)  # fmt: skip
OTHER_HINT = "lỗi không lường trước"
DETAIL = "Chi tiết kỹ thuật"


def to_connection(conn: AirflowConnection) -> Connection:
    """An Airflow connection as the connectors' Connection. Airflow's URI form splits a Base URL's port into
    `port`; it goes back into the URL, where the connectors look for it."""
    host, port = (conn.host or "").strip(), conn.port
    if "://" in host and port:
        parts = urlsplit(host)
        if parts.port is None:
            host = urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))
        port = None
    return Connection(
        conn_id=conn.conn_id,
        host=host,
        login=conn.login,
        password=conn.password,
        port=port,
        schema=conn.schema or None,
        extra=conn.extra_dejson,
    )


def sources_for(kind: str, conn_id: str, extra: Mapping[str, Any]) -> tuple[list[SourceConfig], str]:
    """The registry entries whose protocol settings a test of this connection uses, and why those.

    The Test button hands the hook a throwaway connection id, so the form's Registry source field is the
    way to name an entry there; `airflow connections test <id>` finds the entries by their conn_id.
    """
    reg = registry.load()
    if named := field_value(kind, extra, SOURCE_FIELD):
        source = reg.source(named)
        if source.kind != kind:
            raise ConfigError(f"registry source {named!r} is of kind {source.kind}, not {kind}")
        return [source], f"cấu hình của nguồn {named}"
    if mine := [s for s in reg.sources if s.conn_id == conn_id and s.kind == kind]:
        return mine, "cấu hình của nguồn " + ", ".join(s.name for s in mine)
    if same_kind := [s for s in reg.sources if s.kind == kind]:
        first = same_kind[0]
        return [first], f"cấu hình của nguồn {first.name} (chọn nguồn khác ở ô Registry source)"
    for name, profile in reg.profiles.items():
        if profile.get("kind") == kind and kind in profile:  # a vendor profile no source uses yet
            entry = {"name": f"{kind}_{name}", "title": name, "dialect": name, "conn_id": conn_id, **profile}
            return [SourceConfig.model_validate(entry)], f"cấu hình của hồ sơ nhà cung cấp (profile) {name}"
    raise ConfigError(
        f"the registry has no {kind} source or profile to take the protocol settings from (its `{kind}:` section "
        "says how the system is asked: add the source to config/sources.yaml first)"
    )


def describe(exc: Exception) -> str:
    """A failure in one line: what to check, in Vietnamese, then its own words (connector errors already name
    their system)."""
    hint = next((h for cls, h in _HINTS if isinstance(exc, cls)), OTHER_HINT)
    own = str(exc) if isinstance(exc, ConnectorError | ConfigError) else f"{type(exc).__name__}: {exc}"
    return f"{hint}. {DETAIL}: {own}"


def probe(source: SourceConfig, conn: Connection) -> str:
    """One cheap authenticated call into the system, as the sync would make it."""
    quick = apply_connection_fields(source, conn.extra).model_copy(
        update={"max_attempts": 1, "timeout_s": min(source.timeout_s, PROBE_TIMEOUT_S), "rate_limit": None}
    )
    connector = open_source(quick, conn=conn)
    try:
        return connector.probe()
    finally:
        client = getattr(connector, "client", None)  # the HTTP session: the API server lives on
        if client is not None:
            client.close()


class OnestopHook(BaseHook):
    """A district system's Airflow connection; a subclass names its kind, and what Airflow reads off the
    class (conn_type, hook_name, default_conn_name) follows from the kind's entry in KINDS."""

    kind: ClassVar[str]
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]
    default_conn_name: ClassVar[str]
    conn_name_attr = "onestop_conn_id"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        k = KINDS[cls.kind]
        cls.conn_type, cls.hook_name = k.conn_type, k.hook_name
        cls.default_conn_name = f"{k.conn_type}_default"

    def __init__(self, onestop_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.onestop_conn_id = onestop_conn_id or self.default_conn_name

    def get_conn(self) -> Connection:
        return to_connection(self.get_connection(self.onestop_conn_id))

    def test_connection(self) -> tuple[bool, str]:
        """(ok, what the administrator reads: in Vietnamese, the system's and the library's own words after
        "Chi tiết kỹ thuật")."""
        system = KINDS[self.kind].vietnamese
        try:
            conn = self.get_conn()
            if not conn.host:
                return False, f"{system}: chưa điền Base URL (Host)"
            sources, chosen = sources_for(self.kind, self.onestop_conn_id, conn.extra)
        except Exception as exc:  # the Test button shows a message, never a traceback
            return False, f"{system}: {describe(exc)}"
        ok, found = True, []
        for source in sources:
            try:
                found.append(f"{source.name}: kết nối và xác thực được. {DETAIL}: {probe(source, conn)}")
            except Exception as exc:
                ok = False
                found.append(f"{source.name}: {describe(exc)}")
        return ok, f"{system} tại {conn.base_url}, kiểm tra theo {chosen} — " + "; ".join(found)


class OnestopRestHook(OnestopHook):
    """REST JSON systems (iGate-style): OAuth2 or keys, page-numbered JSON."""

    kind = "rest"


class OnestopSoapHook(OnestopHook):
    """SOAP systems: a served WSDL, WS-Security UsernameToken."""

    kind = "soap"


class OnestopXmlHook(OnestopHook):
    """Legacy XML-over-HTTP systems (ASP.NET style), HTTP Basic."""

    kind = "xml"


class OnestopFeedHook(OnestopHook):
    """Change feeds with acknowledgement, an API key in a header."""

    kind = "feed"
