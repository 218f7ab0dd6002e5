"""onestop-esb as an Airflow provider: four connection types, one per kind of district system.

Airflow 3.2+ reads a connection type's form declaratively from the provider info (`conn-fields`: JSON-schema
fields stored in the connection's extra; `ui-field-behaviour`: hidden, relabelled and placeholder standard
fields), without importing the hook; a hook's get_connection_form_widgets()/get_ui_field_behaviour() are
deprecated and need wtforms, which Airflow 3 no longer installs. So the form lives here, as data.

Registered by the `apache_airflow_provider` entry point (pyproject.toml). Standard library and
connectors.connection only: every Airflow process calls get_provider_info() while it discovers providers.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

from connectors.connection import OVERRIDES, TRANSPORT_FIELDS

PACKAGE = "onestop-esb"
SOURCE_FIELD = "source"  # every kind: the registry entry whose protocol settings a test uses


@dataclass(frozen=True)
class ConnectionKind:
    """One registry `kind` as an Airflow connection type."""

    kind: str
    system: str  # English name, also used in test messages
    vietnamese: str
    field_label: (
        str  # the kind's own extra field (connectors.connection.OVERRIDES), which overrides the registry
    )
    field_description: str
    field_placeholder: str
    login_placeholder: str | None  # None: the kind does not use a login (hidden)

    @property
    def field(self) -> str:
        return OVERRIDES[self.kind][0]

    @property
    def conn_type(self) -> str:
        return f"onestop_{self.kind}"

    @property
    def hook_name(self) -> str:
        return f"{self.vietnamese} — {self.system}"

    @property
    def hook_class(self) -> str:
        # onestop.airflow.hooks names each kind's hook after it; importing it here would import Airflow.
        return f"onestop.airflow.hooks.Onestop{self.kind.capitalize()}Hook"

    def hidden_fields(self) -> list[str]:
        # The Base URL carries scheme and port; `schema` would be read as a scheme, so it stays out of sight.
        return ["schema", "port"] + ([] if self.login_placeholder else ["login"])


KINDS: dict[str, ConnectionKind] = {
    k.kind: k
    for k in (
        ConnectionKind(
            kind="rest",
            system="District one-stop system (REST)",
            vietnamese="Hệ thống một cửa (REST)",
            field_label="Token URL",
            field_description="OAuth2 token endpoint, relative to the Base URL. Empty: the registry's.",
            field_placeholder="/oauth/token",
            login_placeholder="OAuth2 client id",
        ),
        ConnectionKind(
            kind="soap",
            system="District one-stop system (SOAP)",
            vietnamese="Hệ thống một cửa (SOAP)",
            field_label="WSDL path",
            field_description="Where the WSDL is served, relative to the Base URL. Empty: the registry's.",
            field_placeholder="/soap?wsdl",
            login_placeholder="WS-Security user",
        ),
        ConnectionKind(
            kind="xml",
            system="Legacy one-stop system (XML over HTTP)",
            vietnamese="Hệ thống một cửa cũ (XML qua HTTP)",
            field_label="Resource path",
            field_description="The page listing dossiers, relative to the Base URL. Empty: the registry's.",
            field_placeholder="/DichVu/DanhSachHoSo.aspx",
            login_placeholder="HTTP Basic user",
        ),
        ConnectionKind(
            kind="feed",
            system="Change feed (integration platform)",
            vietnamese="Luồng thay đổi (nền tảng tích hợp)",
            field_label="API key header",
            field_description="The HTTP header that carries the API key (Password). Empty: the registry's.",
            field_placeholder="X-API-Key",
            login_placeholder=None,
        ),
    )
}


# The transport fields every kind's form shows (connectors.connection.TRANSPORT_FIELDS).
_TRANSPORT_LABELS = {
    "ca_bundle": ("CA bundle", "The system's own certificate authority: a file path or the PEM text."),
    "client_cert": ("Client certificate", "Mutual TLS: our certificate, a file path or the PEM text."),
    "client_key": ("Client key", "Mutual TLS: the certificate's private key, a file path or the PEM text."),
    "proxy": ("HTTP proxy", "e.g. http://proxy.tinh.gov.vn:3128; empty: none."),
    "verify_tls": ("Verify TLS", "false turns certificate checks off (config check warns): avoid."),
    "tls_legacy": (
        "Legacy TLS",
        "true accepts an old server's TLS 1.0/1.1, weak keys and ciphers, the certificate still checked "
        "(config check warns).",
    ),
}
assert tuple(_TRANSPORT_LABELS) == TRANSPORT_FIELDS


def _string_field(label: str, description: str) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": ["string", "null"]}}


def _connection_type(k: ConnectionKind) -> dict[str, Any]:
    placeholders = {
        "host": "https://motcua.example.gov.vn/api",
        k.field: k.field_placeholder,
        SOURCE_FIELD: "hd_chi_linh",
        **({"login": k.login_placeholder} if k.login_placeholder else {}),
    }
    return {
        "connection-type": k.conn_type,
        "hook-class-name": k.hook_class,
        "hook-name": k.hook_name,
        "ui-field-behaviour": {
            "hidden-fields": k.hidden_fields(),
            "relabeling": {
                "host": "Base URL",
                "login": "Client id / user",
                "password": "Secret / password / API key",
            },
            "placeholders": placeholders,
        },
        "conn-fields": {
            k.field: _string_field(k.field_label, k.field_description),
            SOURCE_FIELD: _string_field(
                "Registry source (optional)",
                "Name of the config/sources.yaml entry whose protocol settings the Test button uses. "
                "Empty: the sources naming this connection, else the first source of this kind.",
            ),
            **{name: _string_field(label, text) for name, (label, text) in _TRANSPORT_LABELS.items()},
        },
    }


def _version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # a bare checkout on PYTHONPATH
        return "0.0.0"


def get_provider_info() -> dict[str, Any]:
    """What the `apache_airflow_provider` entry point returns to Airflow's ProvidersManager."""
    return {
        "package-name": PACKAGE,
        "name": "OneStop ESB (Hệ thống một cửa)",
        "description": "District and sector one-stop systems (REST, SOAP, legacy XML, change feeds) "
        "synced into the provincial dossier database.",
        "versions": [_version()],
        "connection-types": [_connection_type(k) for k in KINDS.values()],
    }
