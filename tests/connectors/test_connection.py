"""Connections come from Airflow's AIRFLOW_CONN_* forms (JSON or URI); a missing one names itself."""

import pytest

from connectors.connection import get_connection
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
