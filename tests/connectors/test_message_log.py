"""The message log: untouched it verifies; each of five attacks is detected — an edited, a deleted, a reordered,
a recomputed and a tail-truncated log."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.store.message_log import GENESIS, MessageLog, entry_hash, export_anchors, verify

KEY = b"hmac-key-from-an-airflow-connection"


def write_log(pg_url: str, key: bytes | None, anchors: Path, db) -> Path:
    """Ten entries on one source's chain and three on the portal's, anchored outside the database."""
    log = MessageLog(pg_url, key)
    for i in range(10):
        log.append("hd_chi_linh", "in", "page", f"page {i}".encode(), [f"id{i}a", f"id{i}b"])
    for i in range(3):
        log.append("portal", "out", "DongBoHoSoMC", f"batch {i}".encode(), [f"000.00.16.H23-250101-{i:04d}"])
    log.close()
    export_anchors(db, anchors)
    return anchors


@pytest.fixture
def logged(db, pg_url, tmp_path: Path) -> Path:
    return write_log(pg_url, KEY, tmp_path / "anchors.jsonl", db)


def problems(db, anchors: Path, key: bytes | None = KEY) -> list[str]:
    return [str(p) for p in verify(db, key, anchors)]


def test_an_untouched_log_verifies(db, logged: Path) -> None:
    assert problems(db, logged) == []


def test_an_edited_entry_is_detected(db, logged: Path) -> None:
    db.execute("UPDATE onestop.message_log SET size = size + 1 WHERE chain = 'hd_chi_linh' AND seq = 5")
    assert problems(db, logged) == ["hd_chi_linh #5: its content does not match its hash (edited)"]


def test_a_deleted_entry_is_detected(db, logged: Path) -> None:
    db.execute("DELETE FROM onestop.message_log WHERE chain = 'hd_chi_linh' AND seq = 4")
    found = problems(db, logged)
    assert "hd_chi_linh #5: entries 4..4 are missing (deleted)" in found


def test_reordered_entries_are_detected(db, logged: Path) -> None:
    for src, dst in ((6, -6), (7, 6), (-6, 7)):  # swap entries 6 and 7
        db.execute(
            "UPDATE onestop.message_log SET seq = %s WHERE chain = 'hd_chi_linh' AND seq = %s", (dst, src)
        )
    found = problems(db, logged)
    assert any("hd_chi_linh #6" in p for p in found) and any("reordered" in p for p in found)


def recompute(db, key: bytes | None) -> None:
    """What a forger does after editing: rebuild every hash of the chain so that it links up again."""
    rows = db.execute(
        "SELECT seq, at, direction, kind, payload_hash, size, ids FROM onestop.message_log"
        " WHERE chain = 'hd_chi_linh' ORDER BY seq"
    ).fetchall()
    prev = GENESIS
    for seq, at, direction, kind, payload_hash, size, ids in rows:
        digest = entry_hash(key, "hd_chi_linh", seq, at, direction, kind, payload_hash, size, list(ids), prev)
        db.execute(
            "UPDATE onestop.message_log SET prev_hash = %s, entry_hash = %s WHERE chain = 'hd_chi_linh' AND seq = %s",
            (prev, digest, seq),
        )
        prev = digest


def test_a_recomputed_chain_is_detected_by_the_key(db, logged: Path) -> None:
    db.execute("UPDATE onestop.message_log SET ids = '{forged}' WHERE chain = 'hd_chi_linh' AND seq = 3")
    recompute(db, key=None)  # the forger does not have the HMAC key
    assert any("hd_chi_linh" in p and "(edited)" in p for p in problems(db, logged))


def test_without_a_key_a_recomputed_chain_is_caught_by_the_anchors(db, pg_url, tmp_path: Path) -> None:
    anchors = write_log(pg_url, None, tmp_path / "anchors.jsonl", db)
    db.execute("UPDATE onestop.message_log SET ids = '{forged}' WHERE chain = 'hd_chi_linh' AND seq = 3")
    recompute(db, key=None)
    assert problems(db, anchors, key=None) == [
        "hd_chi_linh #10: differs from its anchor outside the database (recomputed)"
    ]


def test_a_truncated_tail_is_detected(db, logged: Path) -> None:
    db.execute("DELETE FROM onestop.message_log WHERE chain = 'hd_chi_linh' AND seq >= 9")
    assert problems(db, logged) == ["hd_chi_linh #10: an anchored entry is gone (the log was truncated)"]
