"""Connections come from Airflow's AIRFLOW_CONN_* forms (JSON or URI); a missing one names itself."""

import stat
from pathlib import Path

import pytest

from connectors.connection import (
    Connection,
    apply_connection_fields,
    get_connection,
    tls_verification_off,
    transport_options,
)
from connectors.errors import ConfigError


def test_json_form(monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_X1",
        '{"conn_type": "http", "host": "http://10.1.2.3:8080/api", "login": "u", "password": "p", "extra": {"dstcode": "H23"}}',
    )
    conn = get_connection("x1")
    assert (conn.base_url, conn.login, conn.password, conn.extra) == (
        "http://10.1.2.3:8080/api",
        "u",
        "p",
        {"dstcode": "H23"},
    )


def test_uri_form(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_X2", "http://user:p%40ss@igate.local:8443/https?dstcode=H23")
    conn = get_connection("x2")
    assert (conn.base_url, conn.password, conn.extra) == (
        "https://igate.local:8443",
        "p@ss",
        {"dstcode": "H23"},
    )


def test_a_missing_connection_says_how_to_define_it() -> None:
    with pytest.raises(ConfigError, match="AIRFLOW_CONN_NOPE"):
        get_connection("nope")


def test_transport_settings_come_from_the_connection_and_pem_text_becomes_a_private_file() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    conn = Connection(
        "x", extra={"ca_bundle": pem, "client_cert": "/etc/ssl/me.pem", "proxy": "http://p:3128"}
    )
    options = transport_options(conn)
    ca = Path(options["verify"])
    assert ca.read_text() == pem and stat.S_IMODE(ca.stat().st_mode) == 0o600
    assert stat.S_IMODE(ca.parent.stat().st_mode) == 0o700
    assert transport_options(conn)["verify"] == str(ca)  # the same text, the same file: nothing piles up
    assert options["cert"] == "/etc/ssl/me.pem" and options["proxies"] == {
        "http": "http://p:3128",
        "https": "http://p:3128",
    }


@pytest.mark.parametrize(
    ("value", "off"), [(False, True), ("false", True), ("no", True), (True, False), (None, False)]
)
def test_tls_verification_is_off_only_when_written_so(value: object, off: bool) -> None:
    conn = Connection("x", extra={} if value is None else {"verify_tls": value})
    assert tls_verification_off(conn) is off
    assert ("verify" in transport_options(conn)) is off


def test_config_check_warns_about_a_connection_without_tls_verification(monkeypatch) -> None:
    from typer.testing import CliRunner

    from onestop.cli import app

    monkeypatch.setenv(
        "AIRFLOW_CONN_ONESTOP_SRC_HD_CHI_LINH",
        '{"host": "https://motcua.example", "extra": {"verify_tls": false}}',
    )
    result = CliRunner().invoke(app, ["config", "check"])
    assert (
        "warning: connection 'onestop_src_hd_chi_linh' turns TLS certificate verification off"
        in result.stderr
    )


@pytest.mark.parametrize(
    ("proxy", "says"),
    [
        ("socks5://user:s3cret@10.0.0.1:1080", "proxy: a 'socks5' proxy is not supported (an HTTP proxy is"),
        ("socks5h://10.0.0.1:1080", "proxy: a 'socks5h' proxy is not supported"),
        ("ftp://10.0.0.1", "proxy: a 'ftp' proxy is not supported"),
        ("http://user:s3cret@", "proxy: no host"),
        ("\u202e://x", "proxy: not a proxy URL"),
    ],
)
def test_a_proxy_requests_could_not_use_is_refused_without_its_url(proxy: str, says: str) -> None:
    """Refused as the connection is read, not at the first call; the URL may hold a password: never quoted."""
    with pytest.raises(ConfigError) as raised:
        transport_options(Connection("onestop_src_x", extra={"proxy": proxy}))
    assert str(raised.value).startswith(f"connection 'onestop_src_x': {says}")
    assert "s3cret" not in str(raised.value) and "10.0.0.1" not in str(raised.value)


@pytest.mark.parametrize("proxy", ["http://proxy.tinh.gov.vn:3128", "proxy:3128", "https://u:p@proxy:443/"])
def test_an_http_proxy_is_taken(proxy: str) -> None:
    assert transport_options(Connection("x", extra={"proxy": proxy}))["proxies"] == {
        "http": proxy,
        "https": proxy,
    }


def test_config_check_refuses_a_socks_proxy(monkeypatch) -> None:
    from typer.testing import CliRunner

    from onestop.cli import app

    monkeypatch.setenv(
        "AIRFLOW_CONN_ONESTOP_SRC_HD_CHI_LINH",
        '{"host": "https://motcua.example", "extra": {"proxy": "socks5://10.0.0.1:1080"}}',
    )
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 1
    assert "connection 'onestop_src_hd_chi_linh': proxy: a 'socks5' proxy is not supported" in result.stderr


def test_a_connection_s_own_field_overrides_the_registry_and_keeps_every_rule() -> None:
    from onestop import registry

    rest = {
        "request": {"path": "/x", "query": {"p": "{page}"}},
        "records": "data",
        "paginator": {"type": "page_number"},
        "errors": [{"when": {"path": "ok", "equals": False}, "message": "msg"}],
        "auth": {"type": "oauth2_client_credentials", "token_url": "/oauth/token"},
    }
    entry = {"name": "d1", "title": "D1", "kind": "rest", "dialect": "igate", "conn_id": "c", "rest": rest}
    source = registry.parse({"sources": [entry]}).sources[0]
    changed = apply_connection_fields(source, {"token_url": "/connect/token"})
    assert changed.rest.auth.token_url == "/connect/token" and changed.rest.errors == source.rest.errors
