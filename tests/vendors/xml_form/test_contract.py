"""HSMC 2.x holds its contract, spoken directly, without the connector (test_vendors onboards it): a login
form gives a session id, searches are form POSTs answered in Windows-1258 XML, every mistake is an error code
inside HTTP 200 (or Tomcat's own page for a wrong method), counted; and every served <HO_SO> goes through
hsmc_xml.yaml to exactly the ground truth."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

import mappings
from tests.vendors import harness, truth
from tests.vendors.xml_form.server import LOGIN_PATH, PASSWORD, REFUSAL, SEARCH_PATH, USER

MAPPING = Path(__file__).with_name("hsmc_xml.yaml")
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
ROWS = 50


@contextmanager
def running(*args: str) -> Iterator[Server]:
    """The server as the harness starts it (harness.started wants a source.yaml, which waits for issue 14)."""
    with harness.start_server("xml_form", *args) as p:
        yield Server(p.url)


@dataclass
class Server:
    url: str

    def stats(self) -> dict[str, Any]:
        return harness.control(self.url, "stats")

    def truth(self) -> list[dict[str, Any]]:
        return harness.control(self.url, "truth")


@pytest.fixture(scope="module")
def vendor() -> Iterator[Server]:
    with running() as server:
        yield server


def xml(resp: requests.Response) -> etree._Element:
    return etree.fromstring(resp.content, PARSER)


def login(url: str, user: str = USER, password: str = PASSWORD) -> requests.Response:
    return requests.post(f"{url}{LOGIN_PATH}", data={"taikhoan": user, "matkhau": password}, timeout=10)


def session(url: str) -> str:
    root = xml(login(url))
    assert root.get("TRANG_THAI") == "1", etree.tostring(root, encoding="unicode")
    return str(root.findtext("PHIEN_LAM_VIEC"))


def search(url: str, form: Any, **kwargs: Any) -> requests.Response:
    return requests.post(f"{url}{SEARCH_PATH}", data=form, timeout=10, **kwargs)


def window(url: str, sid: str, start: datetime, end: datetime, page: int = 1) -> dict[str, Any]:
    return {
        "maphien": sid,
        "tungay": start.strftime("%d/%m/%Y %H:%M:%S"),
        "denngay": end.strftime("%d/%m/%Y %H:%M:%S"),
        "trang": page,
        "sodong": ROWS,
    }


def refused(vendor: Server) -> int:
    return vendor.stats()["refused"]


@pytest.fixture(scope="module")
def served(vendor: Server) -> dict[str, Any]:
    """Every record of a read through 60-day windows (the cap) and their pages, as a connector would."""
    url, sid = vendor.url, session(vendor.url)
    before = refused(vendor)
    records: list[etree._Element] = []
    pages: list[etree._Element] = []
    raw: list[bytes] = []
    start = datetime(2025, 1, 1)
    while start < datetime(2025, 9, 1):
        end = start + timedelta(days=60)
        page, last = 1, 1
        while page <= last:
            resp = search(url, window(url, sid, start, end, page))
            root = xml(resp)
            assert root.findtext("MA_LOI") == "00", root.findtext("THONG_BAO")
            paging = root.find("PHAN_TRANG")
            assert paging is not None and paging.get("TRANG") == str(page)
            last = int(paging.get("TONG_SO_TRANG", "0"))
            records.extend(root.iterfind("DANH_SACH_HO_SO/HO_SO"))
            pages.append(root)
            raw.append(resp.content)
            page += 1
        start = end
    return {"records": records, "pages": pages, "raw": raw, "refused": refused(vendor) - before}


def test_the_happy_path_pages_through_every_truth_dossier(vendor: Server, served: dict[str, Any]) -> None:
    ids = [r.get("ID") for r in served["records"]]
    assert sorted(ids) == sorted(i["source_record_id"] for i in vendor.truth())
    assert len(ids) == len(set(ids)) == harness.COUNT
    assert len([p for p in served["pages"] if p.find("DANH_SACH_HO_SO/HO_SO") is not None]) >= 3
    assert served["refused"] == 0


def test_answers_are_windows_1258_xml_with_decomposed_tones(served: dict[str, Any]) -> None:
    body = served["raw"][0]
    assert body.startswith(b'<?xml version="1.0" encoding="windows-1258"?>')
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("cp1258")
    assert not unicodedata.is_normalized("NFC", text)
    assert "ti\u0309nh Ha\u0309i Dương" in text  # "tỉnh Hải Dương": the hook above as a combining mark


def test_every_served_record_maps_to_the_truth(vendor: Server, served: dict[str, Any]) -> None:
    mapping = mappings.compile_mapping(mappings.load_mapping(MAPPING))
    expected = {i["source_record_id"]: i for i in vendor.truth()}
    compared, mismatches = 0, []
    for element in served["records"]:
        record = mappings.element_to_dict(element)
        outcome = mapping.normalize(record, "vendor_xml_form")
        assert outcome.dossier is not None, outcome.describe("vendor_xml_form")
        loaded = outcome.dossier.model_dump(mode="json")
        for path, value in truth.canonical_fields(expected[outcome.record_id or ""]):
            compared += 1
            if not truth.same(value, truth.lookup(loaded, path)):
                mismatches.append((outcome.record_id, path, value, truth.lookup(loaded, path)))
    assert mismatches == []
    assert compared > 250 * 30


def test_a_wrong_password_is_e01_with_the_vendors_refusal_inside_http_200(vendor: Server) -> None:
    before = refused(vendor)
    resp = login(vendor.url, password="sai-mat-khau-0000")
    root = xml(resp)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/xml; charset=windows-1258"
    assert root.get("TRANG_THAI") == "0" and root.findtext("MA_LOI") == "E01"
    assert harness.nfc(root.findtext("THONG_BAO") or "") == REFUSAL
    assert root.find("PHIEN_LAM_VIEC") is None
    assert refused(vendor) == before + 1


GOOD = {"tungay": "01/01/2025 00:00:00", "denngay": "01/03/2025 00:00:00", "trang": "1", "sodong": "50"}


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"sodong": "500"}, "E06", "sodong phải là số nguyên từ 1 đến 100"),
        ({"trang": "0"}, "E06", "trang phải là số nguyên từ 1"),
        ({"tungay": "2025-01-01 00:00:00"}, "E04", "dd/MM/yyyy HH:mm:ss"),
        ({"denngay": "01/03/2025 00:00"}, "E04", "dd/MM/yyyy HH:mm:ss"),
        ({"denngay": "02/03/2025 00:00:01"}, "E09", "không được vượt quá 60 ngày"),
        ({"tungay": "01/03/2025 00:00:00", "denngay": "01/01/2025 00:00:00"}, "E07", "Từ ngày phải trước"),
        ({"trang": "9"}, "E08", "vượt quá tổng số trang"),
        ({"page": "1"}, "E03", "Tham số không được hỗ trợ: page"),
        ({"sodong": None}, "E03", "Thiếu tham số: sodong"),
    ],
    ids=[
        "rows-500",
        "page-0",
        "iso-date",
        "no-seconds",
        "61-days",
        "reversed",
        "past-last",
        "unknown",
        "missing",
    ],
)
def test_a_malformed_search_is_refused_with_its_error_code(
    vendor: Server, change: dict[str, str | None], code: str, words: str
) -> None:
    url = vendor.url
    form = {"maphien": session(url), **GOOD, **change}
    before = refused(vendor)
    root = xml(search(url, {k: v for k, v in form.items() if v is not None}))
    assert (root.get("TRANG_THAI"), root.findtext("MA_LOI")) == ("0", code)
    assert words in harness.nfc(root.findtext("THONG_BAO") or "")
    assert refused(vendor) == before + 1


def test_only_a_form_body_is_read_and_only_post_is_served(vendor: Server) -> None:
    url = vendor.url
    form = {"maphien": session(url), **GOOD}
    before = refused(vendor)
    as_json = xml(search(url, form={}, json=form))  # the servlet parses no JSON: every parameter is missing
    assert as_json.findtext("MA_LOI") == "E03" and "Thiếu tham số: maphien" in harness.nfc(
        as_json.findtext("THONG_BAO") or ""
    )
    in_url = xml(requests.post(f"{url}{SEARCH_PATH}", params=form, timeout=10))
    assert in_url.findtext("MA_LOI") == "E03"
    twice = xml(search(url, [*form.items(), ("trang", "2")]))
    assert twice.findtext("MA_LOI") == "E03" and "bị lặp: trang" in harness.nfc(
        twice.findtext("THONG_BAO") or ""
    )
    get = requests.get(f"{url}{SEARCH_PATH}", params=form, timeout=10)
    assert get.status_code == 405 and "HTTP method GET is not supported by this URL" in get.text
    assert requests.post(f"{url}/hsmc/DanhSachServlet", data=form, timeout=10).status_code == 404
    assert refused(vendor) == before + 5


def test_an_unknown_or_expired_session_is_e02_and_busy_is_e05_then_the_same_call_works() -> None:
    with running("--session-ttl", "1", "--busy-at", "2") as vendor:
        url = vendor.url
        unknown = xml(search(url, {"maphien": "0" * 32, **GOOD}))
        assert unknown.findtext("MA_LOI") == "E02"  # data request 1
        form = {"maphien": session(url), **GOOD}
        busy = xml(search(url, form))  # data request 2
        assert busy.findtext("MA_LOI") == "E05" and "thử lại" in harness.nfc(busy.findtext("THONG_BAO") or "")
        assert xml(search(url, form)).findtext("MA_LOI") == "00"
        expires = datetime.strptime(
            str(xml(login(url)).find("PHIEN_LAM_VIEC").get("HET_HAN")), "%d/%m/%Y %H:%M:%S"
        )
        assert expires > datetime(2025, 1, 1)
        time.sleep(1.1)
        expired = xml(search(url, form))
        assert expired.findtext("MA_LOI") == "E02" and "đã hết hạn" in harness.nfc(
            expired.findtext("THONG_BAO") or ""
        )
        assert [r["reason"].split()[0] for r in vendor.stats()["refusals"]] == ["E02", "E05", "E02"]
