"""The host's own authentication, as IIS, Apache or Tomcat ask for it in front of a district's service on the
provincial WAN: `auth: {type: ntlm | digest}` (REST) and `http_auth: ntlm | digest | basic` (SOAP: the WSDL and
every call) answer the challenge with the connection's login and password. The servers are real: pyspnego's
NTLM acceptor checks the handshake; the Digest server recomputes each response from the password."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.connection import Connection
from connectors.errors import AuthError, ConfigError
from connectors.factory import open_source
from onestop import registry
from tests.connectors.host_auth_servers import Answer, digest_server, ntlm_server

USERS = {"MOTCUA\\esb_tinh": "Mat-Khau#2025"}
JSON = {"Content-Type": "application/json"}
XML = {"Content-Type": "text/xml; charset=utf-8"}


def rest_entry(kind: str = "ntlm") -> dict[str, Any]:
    return {
        "name": "hd_thu", "title": "Huyện Thử", "kind": "rest", "dialect": "igate", "conn_id": "c", "max_attempts": 1,
        "rest": {"request": {"path": "/api/HoSo", "query": {"trang": "{page}"}}, "records": "items",
                 "paginator": {"type": "page_number", "page_size": 2}, "auth": {"type": kind}},
    }  # fmt: skip


def pages(url: str, entry: dict[str, Any], login: str | None, password: str | None) -> list[Any]:
    source = registry.parse({"sources": [entry]}).sources[0]
    conn = Connection("c", host=url, login=login, password=password)
    return [r.record for page in open_source(source, conn=conn).pages(None, None) for r in page]


def by_page(path: str, _body: bytes) -> Answer:
    page = int(path.rsplit("=", 1)[1])
    items = [{"id": n} for n in range(2 * page - 1, 2 * page + 1)] if page < 3 else [{"id": 5}]
    return 200, JSON, json.dumps({"items": items}).encode()


def test_a_rest_service_behind_windows_authentication_is_read_with_the_connection_s_domain_account(
    tmp_path: Path,
) -> None:
    with ntlm_server(by_page, USERS, tmp_path) as (url, log):
        records = pages(url, rest_entry(), "MOTCUA\\esb_tinh", "Mat-Khau#2025")
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    assert [user for _, user in log] == ["MOTCUA\\esb_tinh"] * 3  # every page answered for that account


def test_a_wrong_windows_password_fails_fast_as_refused_credentials(tmp_path: Path) -> None:
    with ntlm_server(by_page, USERS, tmp_path) as (url, log), pytest.raises(AuthError) as refused:
        pages(url, rest_entry(), "MOTCUA\\esb_tinh", "sai-mat-khau")
    assert "HTTP 401" in str(refused.value) and "sai-mat-khau" not in str(refused.value)
    assert log == [("/api/HoSo?trang=1", None)]  # refused once, not retried


def test_ntlm_without_a_login_is_a_configuration_error_before_any_call(tmp_path: Path) -> None:
    with (
        ntlm_server(by_page, USERS, tmp_path) as (url, log),
        pytest.raises(ConfigError, match=r"needs a login \(ntlm\)"),
    ):
        pages(url, rest_entry(), None, "Mat-Khau#2025")
    assert log == []


def test_an_asmx_service_on_iis_gives_its_wsdl_and_answers_only_to_the_domain_account(tmp_path: Path) -> None:
    wsdl = (Path(__file__).parent / "wsdl" / "list_detail.wsdl").read_bytes()
    listed = "".join(f"<HoSo><MaHoSo>HS-{n}</MaHoSo></HoSo>" for n in (1, 2))
    answer = (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f'<soap:Body><LayDanhSachHoSoResponse xmlns="http://motcua.vn/"><DanhSach>{listed}</DanhSach>'
        "</LayDanhSachHoSoResponse></soap:Body></soap:Envelope>"
    ).encode()

    def route(path: str, _body: bytes) -> Answer:
        return (200, XML, wsdl) if path.lower().endswith("?wsdl") else (200, XML, answer)

    entry = {
        "name": "hd_thu", "title": "Huyện Thử", "kind": "soap", "dialect": "igate", "conn_id": "c",
        "soap": {"wsdl": "/HoSo.asmx?WSDL", "operation": "LayDanhSachHoSo", "records": "DanhSach.HoSo",
                 "paginator": {"type": "single"}, "http_auth": "ntlm"},
    }  # fmt: skip
    with ntlm_server(route, USERS, tmp_path) as (url, log):
        records = pages(url, entry, "MOTCUA\\esb_tinh", "Mat-Khau#2025")
    assert [r["MaHoSo"] for r in records] == ["HS-1", "HS-2"]
    assert [(path, user) for path, user in log] == [
        ("/HoSo.asmx?WSDL", "MOTCUA\\esb_tinh"),
        ("/HoSo.asmx", "MOTCUA\\esb_tinh"),
    ]


def test_a_service_behind_http_digest_is_read_and_a_wrong_password_is_refused_credentials() -> None:
    users = {"esb_tinh": "Mat-Khau#2025"}
    with digest_server(by_page, users) as (url, log):
        records = pages(url, rest_entry("digest"), "esb_tinh", "Mat-Khau#2025")
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    assert [user for _, user in log] == ["esb_tinh"] * 3
    with digest_server(by_page, users) as (url, log), pytest.raises(AuthError) as refused:
        pages(url, rest_entry("digest"), "esb_tinh", "sai-mat-khau")
    assert "HTTP 401" in str(refused.value) and log == [("/api/HoSo?trang=1", None)]
