"""PostgREST's own login (the SQL user management of its docs: `POST /rpc/login` answering {"token": <JWT>}),
onboarded with the registry's `login` auth instead of a token kept in the connection: the JWT's own `exp` says when
to log in again, a token that PostgREST refuses mid-read as expired (PGRST301) is one new login and the same range
asked again, and a wrong password fails the run fast in PostgREST's words (28P01), asking no data."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connectors.errors import ConnectorError
from onestop import pipeline
from tests.vendors import harness
from tests.vendors.postgrest.server import LOGIN_EMAIL, LOGIN_PASS, LOGIN_REFUSAL, REFUSAL

LOGIN = """\
auth:
      type: login
      request:
        method: POST
        path: /rpc/login
        json: {email: "{login}", pass: "{password}"}
      token_path: token                        # its lifetime: the JWT's own exp
      header: Authorization
      prefix: "Bearer "
"""


def with_login(vendor: harness.Vendor, monkeypatch: pytest.MonkeyPatch, password: str = LOGIN_PASS) -> None:
    harness.configure(vendor, monkeypatch, {**vendor.connection, "login": LOGIN_EMAIL, "password": password})
    entry = (
        (vendor.folder / "source.yaml").read_text(encoding="utf-8").replace("auth: {type: bearer}\n", LOGIN)
    )
    assert "/rpc/login" in entry
    (vendor.work / "sources.yaml").write_text("sources:\n" + textwrap.indent(entry, "  "), encoding="utf-8")


def requests_of(stats: dict[str, Any]) -> list[str]:
    return [r["path"] if r["method"] == "POST" else r["headers"]["Range"] for r in stats["requests"]]


def test_a_login_token_refused_as_expired_mid_read_is_one_new_login_and_the_same_range(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("postgrest", tmp_path, "--revoke-at", "2") as vendor:
        with_login(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()
        compared = harness.compare(db, vendor.source, vendor.truth())

    assert counts.loaded == harness.COUNT and (compared.missing, compared.mismatches) == ([], [])  # type: ignore[attr-defined]
    assert requests_of(stats) == ["/rpc/login", "0-99", "100-199", "/rpc/login", "100-199", "200-299"]
    assert [(r["status"], r["reason"]) for r in stats["refusals"]] == [(401, "PGRST301")]


def test_a_token_that_lives_seconds_is_renewed_before_it_ends(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A token of 2 s, read through a server that answers slowly enough for it to end mid-read: the JWT's `exp` is
    read (no `expires_in` in the answer) and the login made again before the token ends, never after a refusal."""
    with harness.started("postgrest", tmp_path, "--token-ttl", "2", "--slow", "0.9") as vendor:
        with_login(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()

    assert counts.loaded == harness.COUNT and stats["refused"] == 0  # type: ignore[attr-defined]
    assert requests_of(stats).count("/rpc/login") >= 2


def test_a_wrong_password_fails_fast_in_postgrests_words(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("postgrest", tmp_path) as vendor:
        with_login(vendor, monkeypatch, password="sai-mat-khau")
        with pytest.raises(ConnectorError, match=LOGIN_REFUSAL):
            pipeline.sync(vendor.source)
        stats = vendor.stats()

    assert set(r["reason"] for r in stats["refusals"]) == {"28P01"} and len(stats["refusals"]) <= 2
    assert not [r for r in stats["requests"] if r["path"] == "/ho_so"] and REFUSAL != LOGIN_REFUSAL
