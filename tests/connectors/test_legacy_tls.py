"""An old district server (Windows Server 2008's IIS: TLS 1.0 only) behind a certificate of the province's own CA:
refused by default with a message that says what the connection's `tls_legacy: true` does; read with it, the
certificate still checked. The portal's connection carries its transport settings too (a proxy, a CA, TLS)."""

from __future__ import annotations

import json
import ssl
import warnings
from contextlib import AbstractContextManager
from typing import Any

import pytest
import trustme

from connectors.connection import Connection
from connectors.errors import ProtocolError
from onestop.console import words
from onestop.pipeline import delivery
from tests.connectors.entries import opened
from tests.connectors.scripted_server import Answering, serving

SPEC = {"request": {"path": "/ds"}, "records": "items", "paginator": {"type": "single"}}
CA = trustme.CA(organization_name="Sở TT&TT Hải Dương")


class Items(Answering):
    def answer(self, body: bytes) -> None:
        self.send(200, {"Content-Type": "application/json"}, json.dumps({"items": [{"id": 1}]}).encode())


def old_server(version: ssl.TLSVersion) -> AbstractContextManager[str]:
    """An HTTPS server that speaks nothing newer than `version`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    CA.issue_cert("127.0.0.1").configure_cert(context)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return serving(Items, tls=context)


def connection(url: str, **extra: Any) -> Connection:
    return Connection("c", url, "u", "p", extra={"ca_bundle": CA.cert_pem.bytes().decode(), **extra})


OLD = [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1]


@pytest.mark.parametrize("version", OLD, ids=["tls1.0", "tls1.1"])
def test_an_old_servers_tls_is_refused_by_default_with_a_message_that_says_what_lets_it_through(
    version: ssl.TLSVersion,
) -> None:
    with old_server(version) as url, pytest.raises(ProtocolError) as caught:
        list(opened("rest", SPEC, connection(url)).pages(None, None))
    said = str(caught.value)
    assert ": TLS: " in said and said.endswith(
        "(an old server's TLS: `tls_legacy: true` on its connection accepts it)"
    )
    shown = str(words.reason(f"ProtocolError: {said}"))
    assert "tls_legacy: true" in shown and "Other" not in shown


@pytest.mark.parametrize("version", OLD, ids=["tls1.0", "tls1.1"])
def test_tls_legacy_reads_it_and_still_checks_the_certificate(version: ssl.TLSVersion) -> None:
    with old_server(version) as url:
        pages = list(opened("rest", SPEC, connection(url, tls_legacy=True)).pages(None, None))
        assert [r.record for page in pages for r in page] == [{"id": 1}]
        stranger = Connection(
            "c", url, "u", "p", extra={"tls_legacy": "true"}
        )  # no CA: the certificate is unknown
        with pytest.raises(ProtocolError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            list(opened("rest", SPEC, stranger).pages(None, None))
    assert "tls_legacy" not in str(caught.value)  # legacy already: no hint that cannot help


def test_the_portal_client_goes_through_its_connections_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provincial data centre reaches the internet through a proxy only: the portal's connection says so."""
    seen: list[str] = []

    class Proxy(Answering):  # an HTTP proxy is asked for absolute URLs
        def answer(self, body: bytes) -> None:
            seen.append(self.path)
            said = {"error_code": "0", "session": "s-1"} if self.path.endswith("/login") else {"ok": True}
            self.send(200, {"Content-Type": "application/json"}, json.dumps(said).encode())

    with serving(Proxy) as proxy:
        conn = {"host": "http://dichvucong.example.gov.vn", "login": "u", "password": "p",
                "extra": {"proxy": proxy, "dstcode": "H23"}}  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_PORTAL", json.dumps(conn))
        portal, _config = delivery._portal(lambda **_: None, None, None)  # type: ignore[arg-type]
        portal._login()  # the first call any delivery makes
    assert seen and all(p.startswith("http://dichvucong.example.gov.vn/") for p in seen)
