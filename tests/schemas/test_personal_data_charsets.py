"""A remote system's bytes in any charset, declared rightly, wrongly or not at all, quoted (schemas.personal_data
.quote_answer, answer_text): a CCCD, a phone or an e-mail never comes out in clear, nor with NULs or invisible
characters between its characters, nor escaped, nor as the other characters a wrong reading makes of it (0912 read
as UTF-16: 㤰㈱). The same refusal in UTF-16 or Windows-1258 is masked as it is in UTF-8 (it once was not)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.personal_data import answer_text, mask_text, quote_answer

CCCD, PHONE, EMAIL = "030167264304", "0923327944", "nguyen.van.an@example.vn"
LOCAL = "nguyen.van.an"
TEXT = (
    f'Hồ sơ bị từ chối {{"SoCCCD":"{CCCD}","SoDienThoai":"{PHONE}","Email":"{EMAIL}",'
    '"GhiChu":"Người nộp: Nguyễn Văn Ân, trường hợp đặc biệt"'
)
SECRETS = (CCCD, PHONE, LOCAL)
UNHIDE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u00ad\u200b-\u200f\u2060\ufeff\ud800-\udfff]|\\u(?:0000|d[89a-f]..)|\\x00"
)


def cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese systems write it: a base letter (ô, ơ, ă...) then its tone as a combining mark."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            split = unicodedata.normalize("NFD", char)
            base, tone = unicodedata.normalize("NFC", split[:-1]), split[-1]
            out += base.encode("cp1258", "replace") + tone.encode("cp1258", "replace")
    return bytes(out)


def encode(text: str, encoding: str) -> bytes:
    return cp1258(text) if encoding == "cp1258" else text.encode(encoding)


def forms(stored: str) -> list[str]:
    """What a reader or a program could make of a stored text: itself, without the NULs, controls and invisible
    characters (and their escapes) between characters, its digits alone, and its characters as the bytes of UTF-16,
    UTF-32, UTF-8 or Windows-1258 read back as Latin-1 (undoing a wrong reading)."""
    bare = UNHIDE.sub("", stored)
    seen = [stored, bare, re.sub(r"\D", "", bare)]
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-8", "cp1258"):
        raw = bare.encode(codec, "ignore").decode("latin-1")
        seen += [raw, raw.replace("\x00", "")]
    return seen


def leaked(stored: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    return [s for s in secrets for form in forms(stored) if s in form]


ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "utf-32-le",
    "utf-32-be",
    "cp1258",
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("declared", ["right", None, "utf-8", "windows-1258", "utf-16", "utf-16le", "utf-32be",
                                      "cp037", "no-such-charset", "base64"])  # fmt: skip
def test_an_answer_in_any_charset_declared_or_not_is_quoted_masked(
    encoding: str, declared: str | None
) -> None:
    charset = (
        {"cp1258": "windows-1258", "utf-8-sig": "utf-8"}.get(encoding, encoding)
        if declared == "right"
        else declared
    )
    stored = quote_answer(encode(TEXT, encoding), 1 << 16, charset)
    assert leaked(stored) == [], stored
    assert (
        "SoCCCD" in stored and "*********304" in stored and "*******944" in stored and "@example.vn" in stored
    )


@pytest.mark.parametrize("encoding", [e for e in ENCODINGS if e not in ("cp1258", "utf-8")])
def test_a_bom_or_utf16_and_utf32_nuls_win_over_what_is_declared(encoding: str) -> None:
    for charset in (None, "utf-8", "windows-1258", "utf-16le", "utf-16be", "utf-32"):
        stored = quote_answer(encode(TEXT, encoding), 1 << 16, charset)
        assert stored.startswith("Hồ sơ bị từ chối") and "Nguyễn Văn Ân" in stored, (charset, stored)
        assert "n***@example.vn" in stored and leaked(stored) == []


def test_windows_1258_declared_reads_in_vietnamese_and_masks_an_accented_e_mail() -> None:
    body = cp1258(TEXT + ", liên hệ nguyễn.văn.ân@xa.gov.vn")
    stored = quote_answer(body, 1 << 16, "windows-1258")
    assert "Nguyễn Văn Ân" in stored and "n***@xa.gov.vn" in stored and "nguyễn" not in stored
    # not declared: read as UTF-8, the letters it cannot read are U+FFFD, and they are masked with the rest
    stored = quote_answer(body, 1 << 16)
    assert leaked(stored) == [] and "nguy" not in stored and "n***@xa.gov.vn" in stored


def test_a_byte_order_mark_before_utf8_or_a_utf16_declaration_of_utf8_bytes_hides_nothing() -> None:
    body = TEXT.encode()
    for data, charset in [
        (b"\xff\xfe" + body, None),
        (b"\xfe\xff" + body, "utf-16"),
        (body, "utf-16"),
        (body, "utf-16be"),
        (body, "utf-32"),
        (body, "cp037"),  # EBCDIC declared, ASCII sent
        (body + "0912345678".encode("utf-16-le"), "utf-16le"),
    ]:
        stored = quote_answer(data, 1 << 16, charset)
        assert leaked(stored, (*SECRETS, "0912345678")) == [], (data[:8], charset, stored)
        assert "*********304" in stored


def test_a_utf16_body_holding_ascii_personal_data_too_is_read_so_that_both_are_masked() -> None:
    data = "Hồ sơ: ".encode("utf-16-le") + f"CCCD {CCCD} ".encode() + f"SĐT {PHONE}".encode("utf-16-le")
    stored = quote_answer(data, 1 << 16)
    assert leaked(stored) == [], stored


def test_a_page_cut_in_the_middle_of_a_character_is_still_read() -> None:
    for encoding in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32"):
        data = encode(TEXT, encoding)
        for cut in (len(data) - 1, len(data) - 3, 101):
            stored = quote_answer(data[:cut], 1 << 16)
            assert leaked(stored) == [] and stored.startswith("Hồ sơ")


def test_answer_text_reads_plain_answers_as_before() -> None:
    assert answer_text(b'{"a": 1}') == '{"a": 1}'
    assert answer_text("Lỗi hệ thống".encode()) == "Lỗi hệ thống"
    assert answer_text(b"\xef\xbb\xbfL\xc3\xb4i") == "Lôi"
    assert answer_text("Lỗi".encode("utf-16")) == "Lỗi"
    assert unicodedata.normalize("NFC", answer_text(cp1258("Lỗi"), "windows-1258")) == "Lỗi"
    assert answer_text(b"L\xf4i", "latin-1") == "Lôi"
    assert answer_text(b"\xff\xfe", None) == ""


# The mask on text: personal data with NULs, controls, invisible characters or escapes between its characters.
HIDDEN = [
    "\x00".join(CCCD),
    "\x00".join(CCCD) + "\x00",
    "\x00\x00\x00".join(PHONE),
    "\u200b".join(PHONE),
    "\u00ad".join(CCCD),
    "\ufeff".join(CCCD),
    "\u2060".join(PHONE),
    "\x01".join(CCCD),
    "\udc80".join(PHONE),
    "\\udc80".join(PHONE),
    "\\u0000".join(CCCD),
    "\\x00".join(PHONE),
    "".join(f"\\u{ord(c):04x}" for c in PHONE),
    "".join(f"&#{ord(c)};" for c in CCCD),
    "".join(f"&#x{ord(c):x};" for c in PHONE),
]


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("template", ["◊", "CCCD ◊ đã hết hạn", '{"SoCCCD":"◊"}', "SĐT:◊."])
def test_personal_data_hidden_by_nuls_invisible_characters_or_escapes_is_masked(
    hidden: str, template: str
) -> None:
    masked = mask_text(template.replace("◊", hidden))
    assert leaked(masked) == [], masked
    assert leaked(quote_answer(template.replace("◊", hidden))) == []


@pytest.mark.parametrize("sep", ["\x00", "\u200b", "\\u0000", "\x00\x00\x00"])
def test_an_e_mail_with_nuls_or_invisible_characters_between_its_letters_loses_its_local_part(
    sep: str,
) -> None:
    masked = mask_text("Email: " + sep.join(EMAIL) + " ok")
    assert LOCAL not in UNHIDE.sub("", masked) and "example.vn" in UNHIDE.sub("", masked)


@pytest.mark.parametrize(
    "text",
    [
        "a\x00b\x00c",
        "Lỗi\\u0000 mã 2025-07-01 \\u1ec5 &#64;handle \u200b 000.00.14.H56-200203-0118",
        '{"t":"Nguy\\u1ec5n","n":1250000}',
        "C:\\xampp\\users",
    ],
)
def test_text_with_nuls_or_escapes_but_no_personal_data_is_left_as_it_was(text: str) -> None:
    assert mask_text(text) == text


# Property: wherever the planted personal data is, whatever the text around it, whatever the bytes are written in
# and whatever the system declares, it never comes out in any form.
PLANTED = ["001203004567", "030 203 004 567", "123456789", "0912 345 678", "0923327944", "+84 912 345 678"]
AROUND = st.text(
    alphabet=st.characters(categories=("L", "M", "P", "Zs"), codec="utf-8")
    | st.sampled_from("ăâđêôơưĐƯàảãáạệộởữự -.,:;()[]{}\"'/@%+#*"),
    max_size=30,
)
DECLARED = st.sampled_from(
    [None, "utf-8", "windows-1258", "latin-1", "utf-16", "utf-16le", "utf-16be", "utf-32"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=AROUND,
    planted=st.sampled_from(PLANTED),
    after=AROUND,
    encoding=st.sampled_from(ENCODINGS),
    declared=DECLARED,
)
def test_planted_personal_data_never_survives_whatever_the_charset(
    before: str, planted: str, after: str, encoding: str, declared: str | None
) -> None:
    text = f"{before} {planted} {after}"
    data = cp1258(text) if encoding == "cp1258" else text.encode(encoding, "replace")
    stored = quote_answer(data, 1 << 16, declared)
    digits = re.sub(r"\D", "", planted)
    assert [f for f in forms(stored) if digits in re.sub(r"\D", "", f)] == [], stored
