"""The wcf_wshttp vendor's certificate, made fresh per test run with trustme: TransportWithMessageCredential runs
over HTTPS only. The connection trusts the province's private CA, given as PEM text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trustme


def prepare(folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Sở TT&TT Hải Dương")
    server = ca.issue_cert("127.0.0.1", "localhost", common_name="motcua.kimthanh.haiduong.gov.vn")
    cert, key = folder / "wcf-server.pem", folder / "wcf-server.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    server.private_key_pem.write_to_path(str(key))
    return {
        "server_args": ["--certfile", cert, "--keyfile", key],
        "extra": {"ca_bundle": ca.cert_pem.bytes().decode("ascii")},
    }
