"""A session the WCF service ends mid-read (a `SessionExpired` Fault, HTTP 500, declared `means: auth`): the
connector calls the DangNhap operation again once, puts the new token in the AuthHeader, and asks the same page."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from tests.vendors import harness

TOKEN = re.compile(r"<(?:\w+:)?SessionToken>([^<]+)</")
PAGE = re.compile(r"<(?:\w+:)?PageIndex>(\d+)</")


def test_an_ended_session_means_one_new_login_and_the_same_page(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts, stats = harness.sync_with_revocation("soap_login", tmp_path, monkeypatch, revoke_at=2)

    assert counts.loaded == harness.COUNT
    assert [r["reason"] for r in stats["refusals"]] == ["SessionExpired"]
    soap = [r for r in stats["requests"] if r["method"] == "POST"]
    calls = [r["headers"].get("SOAPAction", "").strip('"').rsplit("/", 1)[-1] for r in soap]
    assert calls == [
        "DangNhap",
        "TimKiemHoSo",
        "TimKiemHoSo",
        "DangNhap",
        "TimKiemHoSo",
        "TimKiemHoSo",
        "TimKiemHoSo",
    ]
    pages = [PAGE.search(r["body"])[1] for r in soap if "PageIndex" in r["body"]]
    assert pages == ["0", "1", "1", "2", "3"]  # the refused page is asked again
    tokens = [TOKEN.search(r["body"])[1] for r in soap if "PageIndex" in r["body"]]
    assert tokens[0] == tokens[1] != tokens[2] == tokens[-1]
