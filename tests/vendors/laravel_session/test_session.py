"""The Laravel web app's session: the login form's CSRF token posted back, X-CSRF-TOKEN on every page; a session
dropped mid-read (a 302 to /login, or the login page answered in place) means one new login through the form and
the same page asked again; wrong credentials are the login page again, its alert the refusal."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from connectors.errors import AuthError
from onestop import pipeline
from tests.vendors import harness
from tests.vendors.laravel_session.server import PASSWORD, REFUSAL

PAGES = "/ho-so/danh-sach"


@pytest.mark.parametrize("ended_as", ["redirect", "page"])
def test_a_dropped_session_means_one_new_login_through_the_form_and_nothing_lost(
    ended_as: str, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("laravel_session", tmp_path, "--revoke-at", "2", "--ended-as", ended_as) as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats, items = vendor.stats(), vendor.truth()

    assert counts.loaded == len(items) == harness.COUNT
    assert not harness.compare(db, vendor.source, items).missing
    assert [r["reason"] for r in stats["refusals"]] == ["no session"]
    calls = [(r["method"], r["path"]) for r in stats["requests"] if r["path"] != "/home"]
    login = [("GET", "/login"), ("POST", "/login")]
    after = [("GET", "/login")] if ended_as == "redirect" else []  # the redirect followed
    expected = [*login, ("POST", PAGES), ("POST", PAGES), *after, *login, ("POST", PAGES)]
    assert calls[: len(expected)] == expected
    pages = [r for r in stats["requests"] if r["path"] == PAGES]
    assert pages[1]["body"] == pages[2]["body"]  # the refused page is asked again
    assert pages[0]["headers"]["X-CSRF-TOKEN"] != pages[2]["headers"]["X-CSRF-TOKEN"]  # the new form's token


def test_wrong_credentials_say_the_login_pages_alert_and_no_secret(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("laravel_session", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch, vendor.wrong_connection())
        with pytest.raises(AuthError) as failure:
            pipeline.sync(vendor.source)
        stats = vendor.stats()

    said = str(failure.value)
    assert said.startswith("vendor_laravel_session: login: refused, the login page again: ")
    assert REFUSAL in said and "Mật khẩu" not in said  # the alert, not the whole page
    assert harness.WRONG_PASSWORD not in said and PASSWORD not in said
    assert [r["reason"] for r in stats["refusals"]] == ["credentials", "credentials"]
    token = stats["requests"][1]["body"].split("_token=")[1].split("&")[0]
    assert token and token not in said
