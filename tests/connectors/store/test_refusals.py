"""A page refused as a whole is kept for the administrator (connectors.store.refusals.record): its beginning
masked whatever charset the district system writes in. A UTF-16, UTF-32 or Windows-1258 page once kept its citizen
IDs, phones and e-mails in clear (read as UTF-8: 0\\u00003\\u00000..., which the mask did not see)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from connectors.errors import RefusedAnswer
from connectors.store import refusals
from tests.schemas.test_personal_data_charsets import ENCODINGS, TEXT, encode, leaked

EXCERPT, MESSAGE = 8, 3  # the parameters of the INSERT that hold them


class _Recorder:
    """A connection that keeps what record() writes (no failed call to turn into the refusal: it inserts)."""

    def __init__(self) -> None:
        self.written: list[tuple[Any, ...]] = []

    def execute(self, sql: str, params: tuple[Any, ...]) -> Any:
        self.written.append(params)
        inserted = sql.startswith("INSERT")

        class _Row:
            def fetchone(self) -> tuple[int] | None:
                return (1,) if inserted else None

        return _Row()


def _kept(exc: RefusedAnswer) -> tuple[str, str]:
    conn = _Recorder()
    refusals.record(conn, 7, exc)  # type: ignore[arg-type]
    return conn.written[-1][EXCERPT], conn.written[-1][MESSAGE]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("told", [False, True])
def test_a_refused_page_in_any_charset_is_kept_masked(encoding: str, told: bool) -> None:
    charset = {"cp1258": "windows-1258", "utf-8-sig": "utf-8"}.get(encoding, encoding) if told else None
    refused = RefusedAnswer(
        "hd_src", "page: answer is not JSON (Expecting value) at byte 0", excerpt=encode(TEXT, encoding),
        charset=charset,
    ).on_page(3)  # fmt: skip
    assert refused.charset == charset and refused.page == 3
    excerpt, message = _kept(refused)
    assert leaked(excerpt) == [], excerpt
    assert '"SoCCCD":"*********304","SoDienThoai":"*******944","Email":"n***@example.vn"' in excerpt
    assert "\\u0000" not in excerpt and "\x00" not in excerpt
    if told or encoding != "cp1258":  # read as what it is (Windows-1258 needs saying)
        assert excerpt.startswith("Hồ sơ bị từ chối") and "Nguyễn Văn Ân" in excerpt
    assert message == "hd_src: page 3: answer is not JSON (Expecting value) at byte 0"


def test_a_refusal_from_before_charset_was_known_is_kept_masked() -> None:
    class Older(RefusedAnswer):  # a subclass, or an exception made without the attribute
        def __init__(self, excerpt: bytes) -> None:
            Exception.__init__(self, "hd_src: page: not JSON")
            self.endpoint, self.http_status, self.message = "hd_src", None, "page: not JSON"
            self.excerpt, self.offset, self.page = excerpt, None, 1

    excerpt, _ = _kept(Older(TEXT.encode("utf-16-le")))
    assert leaked(excerpt) == [] and excerpt.startswith("Hồ sơ")


def test_a_refused_utf16_page_is_stored_masked(db: psycopg.Connection) -> None:
    for charset in (None, "utf-16le", "utf-8"):
        refused = RefusedAnswer(
            "hd_src", "page: answer is not JSON", excerpt=TEXT.encode("utf-16"), charset=charset
        )
        attempt = refusals.record(db, None, refused.on_page(1))
        excerpt, message = db.execute(
            "SELECT excerpt, message FROM onestop.attempt WHERE id = %s", (attempt,)
        ).fetchone()
        assert leaked(excerpt) == [] and leaked(message) == [] and excerpt.startswith("Hồ sơ bị từ chối")
