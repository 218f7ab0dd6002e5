"""Mutual TLS: the gateway lets in only a client certificate from the province's CA, and the OAuth2 token is asked
for over the same mutual TLS with the scope the gateway requires."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme

from tests.vendors import harness
from tests.vendors.tls.server import CLIENT_ID, CLIENT_SECRET, SCOPE


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Vendor]:
    with harness.started("tls", tmp_path_factory.mktemp("tls-mtls")) as running:
        yield running


def ca_file(vendor: harness.Vendor) -> str:
    path = vendor.work / "ca-for-tests.pem"
    path.write_text(vendor.connection["extra"]["ca_bundle"], encoding="ascii")
    return str(path)


def token(vendor: harness.Vendor, cert: tuple[str, str] | None, **form: str) -> requests.Response:
    """A token request over TLS with `cert` as the client certificate (None: none presented)."""
    return requests.post(
        f"{vendor.server.url}/oauth2/token",
        data=form,
        auth=(CLIENT_ID, CLIENT_SECRET),
        verify=ca_file(vendor),  # per request: a Session's verify yields to REQUESTS_CA_BUNDLE
        cert=cert,
        timeout=10,
    )


def client_pair(vendor: harness.Vendor) -> tuple[str, str]:
    extra = vendor.connection["extra"]
    return extra["client_cert"], extra["client_key"]


def test_without_a_client_certificate_there_is_no_connection(vendor: harness.Vendor) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        token(vendor, None, grant_type="client_credentials", scope=SCOPE)


def test_a_certificate_from_another_ca_is_not_let_in(vendor: harness.Vendor, tmp_path: Path) -> None:
    stranger = trustme.CA().issue_cert("onestop-esb.haiduong.gov.vn")
    cert, key = tmp_path / "stranger.pem", tmp_path / "stranger.key"
    stranger.cert_chain_pems[0].write_to_path(str(cert))
    stranger.private_key_pem.write_to_path(str(key))
    with pytest.raises(requests.exceptions.SSLError):
        token(vendor, (str(cert), str(key)), grant_type="client_credentials", scope=SCOPE)


def test_the_token_needs_the_gateways_scope(vendor: harness.Vendor) -> None:
    refused = vendor.stats()["refused"]
    answer = token(vendor, client_pair(vendor), grant_type="client_credentials")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"
    assert vendor.stats()["refused"] == refused + 1

    granted = token(vendor, client_pair(vendor), grant_type="client_credentials", scope=SCOPE)
    assert granted.status_code == 200 and granted.json()["token_type"] == "Bearer"
