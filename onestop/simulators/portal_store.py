"""The portal's persistent state: one SQLite file (WAL), one connection behind a lock, a commit per request.

Handlers run in uvicorn's thread pool, so every use of the connection holds `lock`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dossier (
    ma_ho_so TEXT PRIMARY KEY,
    trang_thai INTEGER,
    writes INTEGER NOT NULL,
    record TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS progress (
    ma_ho_so TEXT NOT NULL,
    thoi_diem TEXT NOT NULL,
    trang_thai TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (ma_ho_so, thoi_diem, trang_thai)
);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_UPSERT = (
    "INSERT INTO dossier (ma_ho_so, trang_thai, writes, record, updated_at) VALUES (?, ?, 1, ?, ?)"
    " ON CONFLICT (ma_ho_so) DO UPDATE SET trang_thai = excluded.trang_thai, record = excluded.record,"
    " writes = dossier.writes + 1, updated_at = excluded.updated_at"
)
_CHUNK = 900  # bound parameters per IN (...) query


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class PortalStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a process crash
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Holds the lock for one request's work and commits it as one transaction."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @staticmethod
    def bump(conn: sqlite3.Connection, counts: dict[str, int]) -> None:
        conn.executemany(
            "INSERT INTO counter (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = counter.value + excluded.value",
            [(k, v) for k, v in counts.items() if v],
        )

    @staticmethod
    def held(conn: sqlite3.Connection, codes: list[str]) -> set[str]:
        unique = list(dict.fromkeys(codes))
        found: set[str] = set()
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in conn.execute(f"SELECT ma_ho_so FROM dossier WHERE ma_ho_so IN ({marks})", chunk)
            )
        return found

    @staticmethod
    def write_dossiers(conn: sqlite3.Connection, rows: list[tuple[str, int | None, str]]) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn.executemany(_UPSERT, [(code, status, text, now) for code, status, text in rows])

    @staticmethod
    def add_progress(conn: sqlite3.Connection, rows: list[tuple[str, str, str, str]]) -> int:
        """Inserts progress rows, ignoring exact repeats; returns how many were new."""
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO progress (ma_ho_so, thoi_diem, trang_thai, record) VALUES (?, ?, ?, ?)",
            rows,
        )
        return conn.total_changes - before

    def counters(self) -> dict[str, int]:
        with self.lock:
            return dict(self.conn.execute("SELECT name, value FROM counter").fetchall())

    def dossier_chunks(self, size: int = 2000) -> Iterator[list[tuple]]:
        """All held dossiers in MaHoSo order, a chunk per lock hold so writers are not starved."""
        last = ""
        while True:
            with self.lock:
                rows = self.conn.execute(
                    "SELECT d.ma_ho_so, d.trang_thai, d.writes,"
                    " (SELECT count(*) FROM progress p WHERE p.ma_ho_so = d.ma_ho_so), d.record"
                    " FROM dossier d WHERE d.ma_ho_so > ? ORDER BY d.ma_ho_so LIMIT ?",
                    (last, size),
                ).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def dossier(self, code: str) -> tuple[tuple, list[str]] | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT d.ma_ho_so, d.trang_thai, d.writes,"
                " (SELECT count(*) FROM progress p WHERE p.ma_ho_so = d.ma_ho_so), d.record"
                " FROM dossier d WHERE d.ma_ho_so = ?",
                (code,),
            ).fetchone()
            if row is None:
                return None
            progress = [
                r[0]
                for r in self.conn.execute(
                    "SELECT record FROM progress WHERE ma_ho_so = ? ORDER BY thoi_diem, trang_thai", (code,)
                )
            ]
        return row, progress

    def reset(self) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM dossier")
            conn.execute("DELETE FROM progress")
            conn.execute("DELETE FROM counter")
