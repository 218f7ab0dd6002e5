"""The jqGrid action behind forms authentication: the login form's anti-forgery token posted back with its
cookie; a ticket that ended mid-read (a 302 to the login form) means one new login and the same page asked
again; wrong credentials are the form again, its validation summary the refusal; `total` counts pages."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from connectors.errors import AuthError
from onestop import pipeline
from tests.vendors import harness
from tests.vendors.jqgrid_mvc.server import LIST, LOGON, PASSWORD, REFUSAL


def test_an_ended_ticket_means_one_new_login_through_the_form_and_nothing_lost(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("jqgrid_mvc", tmp_path, "--revoke-at", "2") as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats, items = vendor.stats(), vendor.truth()

    assert counts.loaded == len(items) == harness.COUNT and counts.quarantined == 0
    assert not harness.compare(db, vendor.source, items).missing
    assert [r["reason"] for r in stats["refusals"]] == ["no ticket"]
    calls = [(r["method"], r["path"]) for r in stats["requests"] if r["path"] != "/"]
    login = [("GET", LOGON), ("POST", LOGON)]
    expected = [*login, ("POST", LIST), ("POST", LIST), ("GET", LOGON), *login, ("POST", LIST), ("POST", LIST),
                ("POST", LIST)]  # fmt: skip
    assert calls == expected
    pages = [r["body"] for r in stats["requests"] if r["path"] == LIST]
    assert pages[1] == pages[2] and "page=2" in pages[2] and "page=4" in pages[-1]


def test_wrong_credentials_say_the_forms_validation_summary(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("jqgrid_mvc", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch, vendor.wrong_connection())
        with pytest.raises(AuthError) as failure:
            pipeline.sync(vendor.source)
        stats = vendor.stats()

    said = str(failure.value)
    assert said == f"vendor_jqgrid_mvc: login: refused, the login page again: {REFUSAL}"
    assert PASSWORD not in said and [r["reason"] for r in stats["refusals"]] == ["credentials", "credentials"]
