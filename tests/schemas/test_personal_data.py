"""The one personal-data mask (schemas.personal_data), form by form: every way a CCCD, a CMND, a Vietnamese phone
or an e-mail is written comes out masked (in text, as a JSON number, as a key), and what merely has digits (dates,
timestamps, MaHoSo and procedure codes, amounts, UUIDs and hex record ids) comes out as it went in."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.personal_data import mask_data, mask_text, quote_answer

HERE = "◊"  # where a template takes the planted value


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# (template, planted): the planted CCCD, CMND or phone, written as a citizen, a clerk or a vendor writes it.
NUMBERS = [
    # citizen IDs: CCCD (12 digits), old CMND (9), in text, in JSON, in XML, in a query, glued to a word
    ("CCCD ◊", "001203004567"),
    ("CCCD:◊", "001099012345"),
    ("Số CCCD◊ đã hết hạn", "030203004567"),
    ('{"SoGiayToChuHoSo":"◊"}', "030203004567"),
    (
        '{"SoDinhDanh":◊,"LoaiDinhDanh":1}',
        "1203004567",
    ),  # a CCCD as a JSON number: its leading zeros are gone
    ("<SoCMND>◊</SoCMND>", "123456789"),
    ("CMND ◊.", "012345678"),
    ("CCCD ◊", "030 203 004 567"),
    ("CCCD ◊", "030.203.004.567"),
    ("CCCD ◊", "0302-0300-4567"),
    ("GET /api/v1/citizens?id_number=◊&page=1", "001203004567"),
    ("Hồ sơ của ông A (CCCD ◊) bị trả lại", "001203004567"),
    ("ValueError: a CCCD has 12 digits: '◊'", "00120300456"),
    # mobile phones: 10 digits from 0, in groups of any size
    ("◊", "0912345678"),
    ("SĐT◊", "0912345678"),
    ("SĐT: ◊", "0912 345 678"),
    ("ĐT ◊", "0912.345.678"),
    ("◊", "0912-345-678"),
    ("◊", "091 234 5678"),
    ("◊", "09 12 34 56 78"),
    ("◊", "0912 34 56 78"),
    ("◊", "0912345 678"),
    ("◊", "0912 345678"),
    ("◊", "0912 - 345 - 678"),
    ("◊", "0912\u00a0345\u00a0678"),
    ("◊", "0912–345–678"),
    ("Liên hệ:◊, anh Nam", "0358 123 456"),
    ("gọi ◊ lúc 2025", "0987.654.321"),
    ("ngày 01.07.2025 ◊", "0912345678"),
    ("◊ ngày 03.07.2025", "0912 345 678"),
    # with the country code: +84, 84, 0084, (+84), and the trunk (0) kept or not
    ("◊", "+84912345678"),
    ("◊", "+84 912 345 678"),
    ("◊", "+84-912-345-678"),
    ("◊", "+84.912.345.678"),
    ("◊", "84912345678"),
    ("◊", "84 912 345 678"),
    ("◊", "84-912-345-678"),
    ("◊", "0084912345678"),
    ("◊", "0084 912 345 678"),
    ("◊", "(+84) 912 345 678"),
    ("◊", "(+84)912345678"),
    ("◊", "(84) 912-345-678"),
    ("◊", "+84 (0) 912 345 678"),
    ("◊", "+84(0)912345678"),
    ("◊", "+84 0912 345 678"),
    ("tel:◊", "+84912345678"),
    # landlines: 11 digits with the area code 02x
    ("◊", "(024) 3823 4567"),
    ("◊", "024 3823 4567"),
    ("◊", "02438234567"),
    ("◊", "024.3823.4567"),
    ("◊", "(0220) 3852 123"),
    ("◊", "0220 3852 123"),
    ("◊", "+84 24 3823 4567"),
    ("◊", "+84 (0) 24 3823 4567"),
    ("◊", "0084 24 3823 4567"),
    ("◊", "+84 220 3852 123"),
    ("◊", "(+84-24) 3823-4567"),
    # old 11-digit mobiles (before 2018), still in migrated rows
    ("◊", "01689 123 456"),
    # in JSON, XML, URLs
    ('{"SoDienThoai":"◊"}', "+84 912 345 678"),
    ('{"SoDienThoai":◊}', "912345678"),  # a mobile as a JSON number: its 0 is gone
    ('{"SoDienThoai":◊}', "84912345678"),
    ("<DienThoai>◊</DienThoai>", "0912.345.678"),
    ("GET /api/citizens?sdt=◊ HTTP/1.1", "0912%20345%20678"),
    ("GET /api/citizens?sdt=%2B◊&page=1", "84912345678"),
    ("GET /api/citizens?sdt=%20◊&page=1", "84912345678"),
    # typed on a full-width keyboard, or in another script's digits: the same numbers
    ("CCCD ◊ đã tồn tại", "０３０１８７００４２１９"),
    ("SĐT: ◊", "０９１２ ４６８ ０１３"),
    ("SĐT: ◊", "０９１２\u3000４６８\u3000０１３"),
    ("رقم ◊", "٠٣٠١٨٧٠٠٤٢١٩"),
    ("tel ◊", "+٨٤ ٩١٢ ٣٤٥ ٦٧٨"),
]


@pytest.mark.parametrize(("template", "planted"), NUMBERS)
def test_a_citizen_id_or_a_phone_is_masked_in_every_form(template: str, planted: str) -> None:
    text = template.replace(HERE, planted)
    masked = mask_text(text)
    at = template.index(HERE)
    shown = masked[at : at + len(planted)]
    number = digits(unquote(planted))  # 0912%20345%20678 is 0912 345 678 in a URL
    assert number not in digits(unquote(masked))
    kept = digits(unquote(shown))
    assert len(kept) <= 3 and number.endswith(kept)  # at most the last 3 digits
    assert re.sub(r"\d", "*", unquote(shown)) == re.sub(r"\d", "*", unquote(planted))  # separators stay
    assert (
        masked[:at] == text[:at] and masked[at + len(planted) :] == text[at + len(planted) :]
    )  # the rest stays


# (template, e-mail): its local part (before the at-sign, however written) must go, its domain stays.
EMAILS = [
    ("◊", "nguyen.van.a@gmail.com"),
    ("Email: ◊.", "Tran.Thi.B+hs@so-tp.haiduong.gov.vn"),
    ("<Email>◊</Email>", "ho.ten@haiduong.gov.vn"),
    ("mailto:◊", "an.nguyen@example.vn"),
    ('{"Email":"◊"}', "0912345678@gmail.com"),
    ("◊", "nguyen.van.a%40gmail.com"),  # percent-encoded
    ("◊", "nguyen.van.a%2540gmail.com"),  # twice
    ("GET /api/citizens?email=◊&page=1", "a.b%40x.vn"),
    ("https://portal.example.vn/search?q=1&email=◊", "nguyen%2Bhs%40gmail.com"),
    ("<a href='mailto:◊'>", "nguyen.van.a&#64;gmail.com"),
    ("◊", "nguyen.van.a＠gmail.com"),
]


@pytest.mark.parametrize(("template", "email"), EMAILS)
def test_an_e_mail_loses_its_local_part_in_every_form(template: str, email: str) -> None:
    local, domain = re.split(r"@|%(?:25)*40|&#64;|＠", email)
    masked = mask_text(template.replace(HERE, email))
    assert local not in masked and local[1:] not in masked
    assert domain in masked
    if local[0].isdigit():  # a phone as the local part: no more than its first digit
        assert len(digits(masked)) <= 1


KEPT = [
    # record ids: UUIDs in any case, in braces or not, and hex ids (ObjectId, our dossier uid, digests)
    "2f1c3c1e-4b7a-4d2e-be35-123456789852",
    "2F1C3C1E-4B7A-4D2E-BE35-123456789852",
    "{2f1c3c1e-4b7a-4d2e-be35-123456789852}",
    "urn:uuid:01234567-0123-0123-0123-012345678901",
    "run_id=01234567-0912-3456-7890-012345678901",
    "record 507f1f77bcf86cd799439011",
    '"_id": "990601165ff7153a82e88dbf"',
    "etag 0123456789abcdef0123456789abcdef",
    "sha1 51835800c730ddb45104622954b6694605758bf8",
    "sha256:" + "001203004567" + "ab" * 26,  # 64 hex digits
    # dates, times and timestamps
    "20250701",
    "20250701100000",
    "NgayTiepNhan=20250701083000",
    "2025-07-01T10:00:00",
    "2025-07-01T10:00:00+07:00",
    "2025-07-01 10:00:00.123456+07",
    "2026-12-03T12:47:02.390867+00:00",  # microseconds and a UTC offset: not a phone
    "manual__2026-12-03T12:47:02.090867+00:00",  # an Airflow run id
    "[2025-07-19T23:00:04.344+0700] {taskinstance.py:1234} INFO",
    "01.07.2025",
    "03 07 2025",
    "03.07.2025 10:00",
    "01/07/2025 08:30",
    "1751338800000",
    # dossier, procedure and agency codes
    "000.00.14.H56-200203-0118",
    "000.00.14.H56-080203-0118",
    "000.00.14.H56-080203-01188",
    "H56-20250701-0001234",
    "1.000656",
    "1.000656.000.00.00.H56",
    "000.00.00.G12",
    # amounts, counts, status codes, ports, paths, fractions
    "LePhi: 1.250.000",
    "1.250.000.000 đồng",
    "LePhi: 84.000.000",
    "run 1234: 300 records, 13,456,789 bytes in 0.123456789012 s",
    "took 1.0912345678 s",
    "GET http://10.0.1.23:8080/api/v1/dossiers?page=2&size=300 -> HTTP 500",
    "http://district/api/0912/345/678",
    "@functools.wraps(f)",
]


@pytest.mark.parametrize("text", KEPT)
def test_what_merely_has_digits_is_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_record_ids_stay_while_the_personal_data_next_to_them_is_masked() -> None:
    text = (
        "run 2f1c3c1e-4b7a-4d2e-be35-123456789852 record 507f1f77bcf86cd799439011: CCCD 001203004567,"
        " SĐT 0912 345 678, ngày 01.07.2025, email a.b%40x.vn, hồ sơ 000.00.14.H56-080203-0118"
    )
    assert mask_text(text) == (
        "run 2f1c3c1e-4b7a-4d2e-be35-123456789852 record 507f1f77bcf86cd799439011: CCCD *********567,"
        " SĐT **** *** 678, ngày 01.07.2025, email a***%40x.vn, hồ sơ 000.00.14.H56-080203-0118"
    )


def test_two_phones_in_a_row_are_both_masked() -> None:
    assert mask_text("0912 345 678 0987 654 321") == "**** *** 678 **** *** 321"


# (value, planted digits): personal data as JSON numbers (leading zeros lost), as keys, deep inside.
DATA = [
    ({"SoCCCD": 1203004567}, "1203004567"),  # 001203004567
    ({"SoCCCD": 30203004567}, "30203004567"),  # 030203004567
    ({"SoCMND": 123456789}, "123456789"),
    ({"SoDienThoai": 912345678}, "912345678"),  # 0912345678
    ({"SoDienThoai": 84912345678}, "84912345678"),
    ({"SoDienThoai": 2438234567}, "2438234567"),  # (024) 3823 4567
    ([{"phones": [912345678.0]}], "912345678"),  # through a float
    ({"001203004567": {"HoTen": "Nguyễn Văn An"}}, "001203004567"),  # an ID as a key
    ({"0912 345 678": "anh Nam"}, "0912345678"),
    ({912345678: "x"}, "912345678"),
    ({"errors": [{"reason": "SĐT 0912345678 sai", "line": 3}]}, "0912345678"),
    ({"nguyen.van.a@gmail.com": True}, "nguyen.van.a"),
]


@pytest.mark.parametrize(("value", "planted"), DATA)
def test_personal_data_as_a_number_or_a_key_is_masked(value: Any, planted: str) -> None:
    shown = json.dumps(mask_data(value), ensure_ascii=False)
    if planted.isdigit():
        assert planted not in digits(shown) and len(digits(shown)) <= 3 + (shown.count('"line": 3') and 1)
    else:
        assert planted not in shown


def test_other_numbers_and_keys_stay_as_they_are() -> None:
    value = {
        "records": 300, "status": 500, "port": 8080, "fee": 1250000, "NgayTiepNhan": 20250701,
        "updated": 20250701100000, "epoch": 1751338800, "epoch_ms": 1751338800000, "ratio": 0.5, "ok": True,
        "line": 123456789012,  # 12 digits not from 0: a CCCD always starts with 0, a number cannot
        "MaHoSo": "000.00.14.H56-200203-0118", "20250701": [1, 2.5, None],
    }  # fmt: skip
    assert mask_data(value) == value


def test_keys_that_mask_alike_are_all_kept() -> None:
    masked = mask_data({"001203004567": 1, "002203004567": 2})
    assert masked == {"*********567": 1, "*********567#2": 2}


def test_a_masked_number_stays_json() -> None:
    masked = mask_data([{"SoCCCD": 1203004567, "n": (912345678, 7)}])
    assert masked == [{"SoCCCD": "*******567", "n": ("******678", 7)}]
    assert json.loads(json.dumps(masked)) == [{"SoCCCD": "*******567", "n": ["******678", 7]}]


# Property: wherever a CCCD or a phone is planted, whatever text is around it, its digits never survive.
PLANTED = [planted for template, planted in NUMBERS if template == HERE] + [
    "001203004567", "030 203 004 567", "123456789", "0912 345 678", "1203004567",
]  # fmt: skip
AROUND = st.text(
    alphabet=st.characters(categories=("L", "M", "P", "Zs"))
    | st.sampled_from("ăâđêôơưĐƯàảãáạệộởữự -.,:;()[]{}\"'/@%+#*"),
    max_size=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=AROUND, planted=st.sampled_from(PLANTED), after=AROUND)
def test_a_planted_id_or_phone_never_survives_whatever_surrounds_it(
    before: str, planted: str, after: str
) -> None:
    masked = mask_text(before + planted + after)
    assert digits(planted) not in digits(masked)
    assert len(digits(masked)) <= 3  # the text around has no digits: only the last 3 of the planted ones
    assert digits(planted) not in digits(quote_answer(before + planted + after))


@settings(max_examples=200, deadline=None)
@given(
    planted=st.sampled_from([1203004567, 30203004567, 123456789, 912345678, 84912345678]),
    path=st.lists(st.text(alphabet="abcxyz_", min_size=1, max_size=5), min_size=1, max_size=4),
    as_key=st.booleans(),
)
def test_a_planted_number_never_survives_in_data(planted: int, path: list[str], as_key: bool) -> None:
    value: Any = {planted: "x"} if as_key else planted
    for name in reversed(path):
        value = {name: [value]}
    assert str(planted) not in digits(json.dumps(mask_data(value)))
