"""What WCF's wsHttpBinding (TransportWithMessageCredential) holds a client to: WS-Addressing on every message
(sent because the WSDL names each operation's wsaw:Action: its own MessageID, To the WSDL's address) and a
Timestamp first in the Security header (`ws_timestamp`: without it the service refuses the message's security in
WCF's one sentence), fresh for each call."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from lxml import etree

from connectors.errors import AuthError, ConnectorError
from onestop import pipeline
from tests.vendors import harness
from tests.vendors.wcf_wshttp.server import REFUSAL

NS = {"s": "http://www.w3.org/2003/05/soap-envelope", "a": "http://www.w3.org/2005/08/addressing",
      "o": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
      "u": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"}  # fmt: skip


def synced_without(key: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, dict]:
    """A sync with the registry entry's `key` line left out: its counts or what it raised, and the server's stats."""
    with harness.started("wcf_wshttp", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        if key is not None:
            registry_file = vendor.work / "sources.yaml"
            kept = [
                line for line in registry_file.read_text().splitlines() if not line.strip().startswith(key)
            ]
            registry_file.write_text("\n".join(kept) + "\n")
        try:
            outcome: object = pipeline.sync(vendor.source)
        except ConnectorError as exc:
            outcome = exc
        return outcome, vendor.stats()


def test_each_call_has_its_own_message_id_and_a_fresh_timestamp_before_the_token(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts, stats = synced_without(None, tmp_path, monkeypatch)
    calls = [etree.fromstring(r["body"].encode()) for r in stats["requests"] if r["method"] == "POST"]

    assert counts.loaded == harness.COUNT and len(calls) >= 4  # type: ignore[attr-defined]
    ids = [c.findtext("s:Header/a:MessageID", namespaces=NS) for c in calls]
    assert len(set(ids)) == len(calls) and all(i.startswith("urn:uuid:") for i in ids)
    assert {c.findtext("s:Header/a:To", namespaces=NS) for c in calls} == {
        stats["requests"][-1]["headers"]["Host"].join(("https://", "/DossierService.svc"))
    }
    layouts = {tuple(etree.QName(e).localname for e in c.find("s:Header/o:Security", NS)) for c in calls}
    assert layouts == {("Timestamp", "UsernameToken")}
    stamps = [c.find("s:Header/o:Security/u:Timestamp", NS) for c in calls]
    created = [datetime.fromisoformat(s.findtext("u:Created", namespaces=NS)) for s in stamps]
    expires = [datetime.fromisoformat(s.findtext("u:Expires", namespaces=NS)) for s in stamps]
    assert {(e - c).total_seconds() for c, e in zip(created, expires, strict=True)} == {300.0}
    assert created == sorted(created) and len({s.get(f"{{{NS['u']}}}Id") for s in stamps}) == len(calls)


def test_without_its_timestamp_the_service_refuses_the_message_in_wcfs_own_words_and_once(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcome, stats = synced_without("ws_timestamp", tmp_path, monkeypatch)

    assert isinstance(outcome, AuthError) and harness.nfc(REFUSAL) in harness.nfc(str(outcome))
    assert [r["reason"] for r in stats["refusals"]] == ["InvalidSecurity"]  # refused credentials: not retried
