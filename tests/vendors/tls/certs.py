"""The tls vendor's certificates, made fresh per test run with trustme: the province's private CA, an
intermediate that signs the server's certificate (the server sends the chain), and the ESB's client certificate
signed by the root. The connection gets the CA as PEM text and the client pair as file paths (both forms the
connection extra accepts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trustme

CLIENT_NAME = "onestop-esb.haiduong.gov.vn"  # the only client the server lets in (its certificate's CN)


def prepare(folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    root = trustme.CA(organization_name="Sở TT&TT Hải Dương", organization_unit_name="Root CA")
    intermediate = root.create_child_ca()
    server = intermediate.issue_cert("127.0.0.1", "localhost", common_name="motcua.kinhmon.haiduong.gov.vn")
    client = root.issue_cert(CLIENT_NAME, common_name=CLIENT_NAME)

    ca = folder / "tls-ca.pem"
    root.cert_pem.write_to_path(str(ca))
    server_cert, server_key = folder / "tls-server.pem", folder / "tls-server.key"
    server_cert.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    server.private_key_pem.write_to_path(str(server_key))
    client_cert, client_key = folder / "tls-client.pem", folder / "tls-client.key"
    client_cert.write_bytes(b"".join(blob.bytes() for blob in client.cert_chain_pems))
    client.private_key_pem.write_to_path(str(client_key))
    return {
        "server_args": ["--certfile", server_cert, "--keyfile", server_key, "--cafile", ca],
        "extra": {
            "ca_bundle": root.cert_pem.bytes().decode("ascii"),
            "client_cert": str(client_cert),
            "client_key": str(client_key),
        },
    }
