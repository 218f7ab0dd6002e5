"""The vendor servers hold their contracts: what a connector gets wrong is refused in the vendor's own words and
counted. (A sync that the servers refuse nothing is then evidence that the connector spoke each contract.)"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from tests.vendors import harness


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, harness.Vendor]]:
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(harness.started(name, Path(tmp_path_factory.mktemp(name))))
            for name in ("post_pages", "has_more", "offset_limit", "cursor")
        }


def refused(vendor: harness.Vendor) -> int:
    return vendor.stats()["refused"]


# --- post_pages: POST search, page in the JSON body, local times ------------------------------------------------
def post_pages_token(url: str) -> str:
    body = {"tenDangNhap": "motcua_namsach", "matKhau": "Mc@NamSach2025"}
    return requests.post(f"{url}/api/auth/dang-nhap", json=body, timeout=10).json()["data"]["token"]


def search(url: str, token: str, body: object) -> requests.Response:
    return requests.post(f"{url}/api/hoso/tim-kiem", json=body, headers={"X-Auth-Token": token}, timeout=10)


GOOD_SEARCH = {
    "dieuKien": {"tuNgay": "2025-01-01 00:00:00", "denNgay": "2025-03-01 00:00:00"},
    "phanTrang": {"trang": 1, "soBanGhi": 50},
}


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"phanTrang": {"trang": "1", "soBanGhi": 50}}, 400, "phanTrang.trang phải là số nguyên"),
        (
            {"dieuKien": {"tuNgay": "2025-01-01T00:00:00+07:00", "denNgay": "2025-03-01 00:00:00"}},
            400,
            "yyyy-MM-dd",
        ),
        ({"dieuKien": {"tuNgay": "2024-01-01 00:00:00", "denNgay": "2025-03-01 00:00:00"}}, 200, "366 ngày"),
        ({"sapXep": "NgayCapNhat"}, 400, "đúng hai trường"),
    ],
)
def test_post_pages_refuses_a_malformed_search(
    servers: dict[str, harness.Vendor], change: dict, status: int, message: str
) -> None:
    vendor = servers["post_pages"]
    before = refused(vendor)
    resp = search(vendor.server.url, post_pages_token(vendor.server.url), {**GOOD_SEARCH, **change})
    assert resp.status_code == status
    assert resp.json()["succeeded"] is False and message in resp.json()["message"]
    assert refused(vendor) == before + 1


def test_post_pages_answers_a_good_search_and_refuses_get_and_a_missing_token(
    servers: dict[str, harness.Vendor],
) -> None:
    url = servers["post_pages"].server.url
    assert search(url, post_pages_token(url), GOOD_SEARCH).json()["succeeded"] is True
    assert requests.get(f"{url}/api/hoso/tim-kiem", timeout=10).status_code == 405
    assert search(url, "", GOOD_SEARCH).json()["errorCode"] == "UNAUTHORIZED"


# --- has_more: OAuth2 password grant, epoch ms ---------------------------------------------------------------
def test_has_more_refuses_expired_tokens_and_unknown_parameters(servers: dict[str, harness.Vendor]) -> None:
    url = servers["has_more"].server.url
    grant = {"grant_type": "password", "username": "esb.haiduong", "password": "Cl0ud-Reader!",
             "client_id": "onestop-esb", "client_secret": "s3cr3t-client-7f2a"}  # fmt: skip
    token = requests.post(f"{url}/oauth/token", data=grant, timeout=10).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    ok = requests.get(f"{url}/api/v2/dossiers", params={"modifiedFrom": 0}, headers=headers, timeout=10)
    assert ok.status_code == 200 and ok.json()["hasMore"] is True
    bad = requests.get(
        f"{url}/api/v2/dossiers", params={"modifiedFrom": 0, "size": 5}, headers=headers, timeout=10
    )
    assert bad.status_code == 400 and "size" in bad.json()["error_description"]
    iso = requests.get(
        f"{url}/api/v2/dossiers", params={"modifiedFrom": "2025-01-01"}, headers=headers, timeout=10
    )
    assert iso.status_code == 400
    json_grant = requests.post(f"{url}/oauth/token", json=grant, timeout=10)
    assert json_grant.status_code == 400  # the token endpoint takes a form, as RFC 6749 says
    time.sleep(1.05)  # tokens live one second
    expired = requests.get(f"{url}/api/v2/dossiers", params={"modifiedFrom": 0}, headers=headers, timeout=10)
    assert expired.status_code == 401 and expired.json()["error_description"] == "The access token expired"


# --- offset_limit: API key in the query, Windows-1258 ---------------------------------------------------------
def cp1258(resp: requests.Response) -> str:
    """Windows-1258 text, tones decomposed as the vendor writes them, read back as NFC."""
    return harness.nfc(resp.content.decode("cp1258"))


def test_offset_limit_answers_in_windows_1258_and_caps_its_window(servers: dict[str, harness.Vendor]) -> None:
    url = f"{servers['offset_limit'].server.url}/HSMC/API/DanhSachHoSo.ashx"
    params = {"khoa": "HD-NS-7Q2M-44KX-A1", "tu": "01/01/2025 00:00", "den": "01/03/2025 00:00", "batdau": 0,
              "soluong": 100}  # fmt: skip
    ok = requests.get(url, params=params, timeout=10)
    assert ok.headers["Content-Type"] == "application/json; charset=windows-1258"
    with pytest.raises(UnicodeDecodeError):
        ok.content.decode("utf-8")
    text = ok.content.decode("cp1258")
    assert json.loads(text)["TONGSO"] > 0
    assert not unicodedata.is_normalized("NFC", text)  # tones arrive as combining marks
    too_long = requests.get(url, params={**params, "den": "01/06/2025 00:00"}, timeout=10)
    assert too_long.status_code == 400 and "92 ngày" in cp1258(too_long)
    missing = requests.get(url, params={k: v for k, v in params.items() if k != "batdau"}, timeout=10)
    assert missing.status_code == 400 and "Thiếu tham số: batdau" in cp1258(missing)


# --- cursor: cookie session, sealed cursor, ma_loi envelope --------------------------------------------------
def test_cursor_needs_its_cookie_and_refuses_a_cursor_of_another_query(
    servers: dict[str, harness.Vendor],
) -> None:
    url = servers["cursor"].server.url
    params = {"tu_ngay": "2025-01-01T00:00:00+07:00", "den_ngay": "2026-01-01T00:00:00+07:00", "so_luong": 80}
    assert requests.get(f"{url}/api/ho_so/dong_bo", params=params, timeout=10).json()["ma_loi"] == "11"
    session = requests.Session()
    login = session.post(
        f"{url}/api/dang_nhap", json={"ten_dang_nhap": "esb_tinh_hd", "mat_khau": "Dong#Bo@2025"}
    )
    assert login.json()["ma_loi"] == "00" and "token" not in login.text and session.cookies.get("HCSESSID")
    first = session.get(f"{url}/api/ho_so/dong_bo", params=params, timeout=10).json()
    cursor = first["du_lieu"]["con_tro_tiep"]
    other = session.get(
        f"{url}/api/ho_so/dong_bo", params={**params, "so_luong": 50, "con_tro": cursor}, timeout=10
    )
    assert other.json()["ma_loi"] == "21"
    unencoded = (
        f"{url}/api/ho_so/dong_bo?tu_ngay=2025-01-01T00:00:00+07:00&den_ngay=2026-01-01T00:00:00Z&so_luong=80"
    )
    assert session.get(unencoded, timeout=10).status_code == 400  # a '+' not percent-encoded reads as a space
