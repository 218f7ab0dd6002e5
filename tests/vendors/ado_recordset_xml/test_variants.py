"""The classic ASP export as its sites run it: in UTF-8 where Response.CodePage is 65001, behind IIS Basic
authentication instead of the login form, with the RecordCount in a header, and with its sessions dropped mid-read (IIS recycled): each read whole
by the same entry with what differs changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.vendors import harness
from tests.vendors.variants import read_whole


def basic(entry: dict[str, Any]) -> None:
    entry["xml"]["auth"] = {"type": "basic"}


def counted(entry: dict[str, Any]) -> None:
    entry["xml"]["paginator"].update(stop="total_count", total_path="header:X-Total-Records")


@pytest.mark.parametrize(
    ("args", "edit"),
    [(["--charset", "utf-8"], None), (["--auth", "basic"], basic), (["--total-header"], counted)],
    ids=["utf-8", "basic", "total-header"],
)
def test_each_site_setting_is_read_whole(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], edit: Any
) -> None:
    read_whole(db, monkeypatch, tmp_path, "ado_recordset_xml", args, edit or (lambda entry: None))


def test_a_session_that_ends_mid_read_is_logged_in_again_once(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts, stats = harness.sync_with_revocation("ado_recordset_xml", tmp_path, monkeypatch, revoke_at=3)
    assert counts.loaded == harness.COUNT
    assert [r["reason"] for r in stats["refusals"]] == ["no session"]
    assert [r["path"] for r in stats["requests"]].count("/dangnhap.asp") >= 2
