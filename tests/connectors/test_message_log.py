"""The message log: untouched it verifies; each of five attacks is detected — an edited, a deleted, a reordered,
a recomputed and a tail-truncated log; archiving its old entries leaves the rest verifiable."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from connectors.store.message_log import GENESIS, MessageLog, archive, entry_hash, export_anchors, verify

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


def test_old_entries_move_to_an_archive_file_and_the_rest_still_verifies(db, logged: Path, tmp_path) -> None:
    db.execute(
        "UPDATE onestop.message_log SET at = at - interval '3 years' WHERE chain = 'hd_chi_linh' AND seq <= 6"
    )
    cutoff = db.execute("SELECT now() - interval '730 days'").fetchone()[0]
    kept = db.execute("SELECT * FROM onestop.message_log WHERE chain = 'portal' OR seq > 6").fetchall()

    assert [(c, n) for c, n, _ in archive(db, cutoff, tmp_path / "archive")] == [("hd_chi_linh", 6)]

    assert (
        db.execute("SELECT * FROM onestop.message_log WHERE chain = 'portal' OR seq > 6").fetchall() == kept
    )
    assert db.execute("SELECT count(*) FROM onestop.message_log").fetchone() == (len(kept),)
    assert problems(db, logged) == []
    [file] = (tmp_path / "archive").glob("hd_chi_linh.*.jsonl.gz")
    entries = [json.loads(line) for line in gzip.decompress(file.read_bytes()).splitlines()]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6] and entries[0]["prev_hash"] == GENESIS
    assert (
        entries[-1]["entry_hash"]
        == db.execute(
            "SELECT entry_hash FROM onestop.message_log_checkpoint WHERE chain = 'hd_chi_linh'"
        ).fetchone()[0]
    )
    assert archive(db, cutoff, tmp_path / "archive") == []  # nothing more is due

    # With everything due, each chain keeps its newest entry: the next append follows it.
    later = db.execute("SELECT now() + interval '1 day'").fetchone()[0]
    moved = {c: n for c, n, _ in archive(db, later, tmp_path / "archive")}
    assert moved == {"hd_chi_linh": 3, "portal": 2}
    assert db.execute("SELECT chain, seq FROM onestop.message_log ORDER BY 1").fetchall() == [
        ("hd_chi_linh", 10), ("portal", 3)
    ]  # fmt: skip
    assert problems(db, logged) == []

    # What remains is as tamper-evident as before: a forged checkpoint, a deleted remaining entry.
    db.execute("UPDATE onestop.message_log_checkpoint SET entry_hash = %s WHERE chain = 'portal'", (GENESIS,))
    assert "portal #3: does not follow the entry before it (deleted or reordered)" in problems(db, logged)
    db.execute("DELETE FROM onestop.message_log WHERE chain = 'hd_chi_linh'")
    assert "hd_chi_linh #10: an anchored entry is gone (the log was truncated)" in problems(db, logged)


def test_entries_are_written_in_batches_and_two_writers_on_one_chain_keep_it_whole(db, pg_url) -> None:
    """A page's entry waits for its batch (one commit per batch, not per page) and is written by flush(), which
    callers run before committing what it describes; two logs appending to one chain never fork it."""
    first, second = MessageLog(pg_url, KEY), MessageLog(pg_url, KEY)
    count = lambda: db.execute("SELECT count(*) FROM onestop.message_log").fetchone()[0]  # noqa: E731
    first.append("hd_chi_linh", "in", "page", b"page 1", ["a"])
    assert count() == 0  # pending: its batch is not full and not a second old
    for i in range(MessageLog.BATCH):
        (first if i % 2 else second).append("hd_chi_linh", "in", "page", f"page {i}".encode(), [str(i)])
    second.flush()
    first.close()
    second.close()
    assert count() == MessageLog.BATCH + 1
    seqs = [r[0] for r in db.execute("SELECT seq FROM onestop.message_log ORDER BY seq").fetchall()]
    assert seqs == list(range(1, MessageLog.BATCH + 2))
    assert [str(p) for p in verify(db, KEY)] == []
