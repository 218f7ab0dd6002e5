"""Exports that come packed (`rest.archive`): a ZIP archive of CSV files (a file per day or per table) or one
gzip-compressed CSV, downloaded as an attachment; and an archive that comes where text rows are awaited, refused
whole rather than read as hundreds of rows of junk. Unpacking is capped and stays inside the archive."""

from __future__ import annotations

import gzip
import io
import zipfile
from typing import Any

import pytest

from connectors import archives
from connectors.base import RawRecord
from connectors.connection import Connection
from connectors.errors import RefusedAnswer
from connectors.factory import open_source
from connectors.spec.rest import ArchiveSpec
from onestop import registry
from tests.connectors.entries import entry as registered
from tests.connectors.scripted_server import scripted_server
from tests.vendors.xml_form.server import cp1258

ZIP = {"Content-Type": "application/zip", "Content-Disposition": 'attachment; filename="hoso_2025-01-01.zip"'}


def packed(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def records(answers: list[tuple[int, dict[str, str], bytes]], **rest: Any) -> list[RawRecord]:
    entry = registered(
        "rest", {"request": {"path": "/xuat", "query": {"trang": "{page}"}}, "answer": "csv"} | rest
    )
    with scripted_server(answers) as (url, _log):
        reader = open_source(registry.parse({"sources": [entry]}).sources[0], conn=Connection("c", host=url))
        return [r for page in reader.pages(None, None) for r in page]


PAGE = {"paginator": {"type": "page_number", "page_size": 3}}


def test_a_zip_of_a_csv_per_day_is_read_file_after_file_each_with_its_header() -> None:
    body = packed({
        "README.txt": "đọc kỹ",
        "2025-01-01/hoso_2025-01-01.csv": "\ufeffMã hồ sơ,Tên\r\nH1,Một\r\nH2,Hai\r\n",
        "2025-01-02/hoso_2025-01-02.CSV": "Mã hồ sơ,Tên\r\nH3,Ba\r\n",
    })  # fmt: skip
    found = records([(200, ZIP, body), (200, ZIP, packed({"README.txt": "x"}))], archive={
        "format": "zip", "members": "*.csv"}, **PAGE)  # fmt: skip
    assert [r.record for r in found] == [
        {"Mã hồ sơ": "H1", "Tên": "Một"}, {"Mã hồ sơ": "H2", "Tên": "Hai"}, {"Mã hồ sơ": "H3", "Tên": "Ba"},
    ]  # fmt: skip
    assert not any(r.defects for r in found)


def test_a_gzip_file_in_a_charset_of_its_own_is_read_and_a_bad_row_costs_itself() -> None:
    text = cp1258("Mã hồ sơ;Tên\r\nH1;Đăng ký\r\nH2\r\n")  # tones as combining marks, no BOM
    found = records(
        [(200, {"Content-Type": "application/gzip"}, gzip.compress(text))],
        archive={"format": "gzip"}, csv={"delimiter": ";"}, charset="cp1258", **PAGE,
    )  # fmt: skip
    assert [r.record.get("Mã hồ sơ") for r in found] == ["H1", "H2"]
    assert [bool(r.defects) for r in found] == [False, True]


def test_an_archive_where_text_rows_are_awaited_is_refused_whole_not_read_as_junk_rows() -> None:
    body = packed({"hoso.csv": "Mã hồ sơ,Tên\r\n" + "".join(f"H{i},x\r\n" for i in range(200))})
    for answer in (body, gzip.compress(b"a,b\r\n1,2\r\n")):
        with pytest.raises(RefusedAnswer, match=r"answer is not CSV: it is (a ZIP archive|gzip-compressed)"):
            records([(200, {"Content-Type": "application/octet-stream"}, answer)], **PAGE)


def test_a_login_page_where_an_archive_is_awaited_is_refused_as_html() -> None:
    page = b"<!DOCTYPE html><html><body><form><input name='__RequestVerificationToken'></form></body></html>"
    with pytest.raises(RefusedAnswer, match="answer is not a ZIP archive: it is HTML"):
        records([(200, {"Content-Type": "text/html"}, page)], archive={"format": "zip"}, **PAGE)


@pytest.mark.parametrize(
    "name", ["../hoso.csv", "/etc/hoso.csv", "a/../../hoso.csv", "C:/hoso.csv", "..\\x.csv"]
)
def test_a_member_named_outside_the_archive_is_refused(name: str) -> None:
    body = packed({"ok.csv": "a\r\n1\r\n", name: "a\r\n2\r\n"})
    with pytest.raises(RefusedAnswer, match="names a file outside itself"):
        archives.unpack("s", body, ArchiveSpec(format="zip"))


def test_unpacking_is_capped_by_what_inflates_not_by_what_the_archive_claims(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(archives, "UNPACKED_LIMIT", 10_000)
    bomb = packed({"a.csv": "a\r\n" + "0" * 20_000})
    with pytest.raises(RefusedAnswer, match="over the 10000-byte cap"):
        archives.unpack("s", bomb, ArchiveSpec(format="zip"))
    with pytest.raises(RefusedAnswer, match="over the 10000-byte cap"):
        archives.unpack("s", gzip.compress(b"0" * 20_000), ArchiveSpec(format="gzip"))
    split = packed({f"{i}.csv": "0" * 4_000 for i in range(3)})  # each file under the cap, all three over it
    with pytest.raises(RefusedAnswer, match="over the 10000-byte cap"):
        archives.unpack("s", split, ArchiveSpec(format="zip"))
    monkeypatch.setattr(archives, "MAX_MEMBERS", 5)
    with pytest.raises(RefusedAnswer, match="holds 6 files, over the cap of 5"):
        archives.unpack("s", packed({f"{i}.csv": "a" for i in range(6)}), ArchiveSpec(format="zip"))


def test_what_is_no_archive_is_refused_and_archive_needs_rows() -> None:
    for spec in (ArchiveSpec(format="zip"), ArchiveSpec(format="gzip")):
        with pytest.raises(RefusedAnswer, match=r"not a ZIP archive|not gzip-compressed"):
            archives.unpack("s", b"a,b\r\n1,2\r\n", spec)
    with pytest.raises(RefusedAnswer, match="cut short"):
        archives.unpack("s", gzip.compress(b"a,b\r\n" * 100)[:-20], ArchiveSpec(format="gzip"))
    bad = registered(
        "rest", {"request": {"path": "/x"}, "archive": {"format": "zip"}, "paginator": {"type": "single"}}
    )
    with pytest.raises(Exception, match=r"`archive` unpacks an answer of rows"):
        registry.parse({"sources": [bad]})
