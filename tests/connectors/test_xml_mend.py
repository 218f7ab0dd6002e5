"""A character XML forbids, as legacy systems write it (an ADO Recordset saved by a VB6 component, a page that
concatenates its XML), costs the record that holds it, not its page: the record is quarantined naming the field
and the character, every other record of the page is read as sent, and the answer stays as safe as any."""

from __future__ import annotations

import json
import unicodedata
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import RawRecord
from connectors.errors import RefusedAnswer
from connectors.safexml import NotXml, scan_answer
from connectors.xmlmend import mend
from mappings import get_mapping
from onestop import pipeline
from tests.vendors.xml_form.server import cp1258

ADO = (
    "<?xml version='1.0' encoding='{charset}'?>"
    "<xml xmlns:s='uuid:BDC6E3F0-6DA3-11d1-A2A3-00AA00C14882' xmlns:rs='urn:schemas-microsoft-com:rowset'"
    " xmlns:z='#RowsetSchema'><s:Schema id='RowsetSchema'/><rs:data>{rows}</rs:data></xml>"
)


def page(*names: str, charset: str = "utf-8") -> bytes:
    """An ADO Recordset page whose rows' HoTen are `names`, written as given (a forbidden character too)."""
    rows = "".join(f"<z:row HoSoID='{n}' HoTen='{name}'/>" for n, name in enumerate(names, 1))
    text = ADO.format(charset=charset, rows=rows)
    if charset == "windows-1258":
        return cp1258(text)
    return text.encode(charset)


def records(body: bytes, path: str = "data.row", encoding: str | None = None) -> list[RawRecord]:
    _, found = scan_answer(body, path, "hd_thu", encoding)
    return [record for chunk in found.chunks() for record in chunk]


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("&#0;", "a control character U+0000 at position 5"),
        ("&#x1;", "a control character U+0001 at position 5"),
        ("&#x0001;", "a control character U+0001 at position 5"),
        ("&#26;", "a control character U+001A at position 5"),
        ("\x01", "a control character U+0001 at position 5"),
        ("\x00", "a control character U+0000 at position 5"),
        ("\x1b", "a control character U+001B at position 5"),
        ("&#xFFFE;", "non-character U+FFFE at position 5"),
        ("&#xFFFF;", "non-character U+FFFF at position 5"),
        ("&#xD800;", "non-character U+FDD9 at position 5"),
        ("&#x110000;", "non-character U+FDD9 at position 5"),
        ("&#x" + "1" * 1_000_000 + ";", "non-character U+FDD9 at position 5"),  # a 1 MB number
    ],
)
def test_a_forbidden_character_costs_its_record_alone_naming_field_and_character(
    written: str, said: str
) -> None:
    body = page("Lê Văn An", f"Trần{written}Bình", "Ngô Thị Cúc")
    first, bad, last = records(body)
    assert (first.record, first.defects) == ({"@HoSoID": "1", "@HoTen": "Lê Văn An"}, ())
    assert (last.record, last.defects) == ({"@HoSoID": "3", "@HoTen": "Ngô Thị Cúc"}, ())
    assert [(d.field, d.reason) for d in bad.defects] == [("@HoTen", said)]
    assert bad.record["@HoSoID"] == "2"  # the quarantine row names the record
    assert "Trần" not in bad.defects[0].reason  # the value is personal data: never in the reason


def test_without_a_forbidden_character_nothing_is_mended() -> None:
    assert mend(page("Lê Văn An", "&#x41;&#9;")) is None
    assert [r.defects for r in records(page("a&#10;b"))] == [()]


def test_a_windows_1258_answer_is_mended_as_it_declares_and_its_vietnamese_read_whole() -> None:
    body = page("Nguyễn Văn Đức", "Pham\x02Hùng", charset="windows-1258")
    good, bad = records(body)
    assert unicodedata.normalize("NFC", good.record["@HoTen"]) == "Nguyễn Văn Đức"
    assert [(d.field, d.reason) for d in bad.defects] == [
        ("@HoTen", "a control character U+0002 at position 5")
    ]


def test_a_charset_the_registry_tells_is_the_one_mended() -> None:
    body = page("Ly\x03Thường", charset="windows-1258").replace(b"windows-1258", b"utf-8")
    [bad] = records(body, encoding="windows-1258")
    assert [d.reason for d in bad.defects] == ["a control character U+0003 at position 3"]


def test_text_inside_cdata_and_comments_is_not_a_reference() -> None:
    body = b"<R><HoSo><Ten><![CDATA[a&#0;b\x01c]]></Ten></HoSo><!-- \x02 --><HoSo><Ten><![CDATA[&#0;]]></Ten></HoSo></R>"
    bad, good = records(body, "HoSo")
    assert bad.record == {"Ten": "a&#0;b\ufdd1c"}  # the section's text as sent, its control character marked
    assert [(d.field, d.reason) for d in bad.defects] == [("Ten", "a control character U+0001 at position 7")]
    assert (good.record, good.defects) == ({"Ten": "&#0;"}, ())


def test_the_staged_text_of_a_mended_record_parses_again_and_holds_its_marker() -> None:
    from connectors.safexml import parse_record

    [bad] = records(page("x\x07y"))
    assert parse_record(bad.payload).get("HoTen") == "x\ufdd7y"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        # a DTD is refused before any record, mended or not
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "&#0;">]><R><HoSo Ten="&e;"/></R>', "DTD"),
        (b"<!DOCTYPE R SYSTEM 'http://evil/x.dtd'><R><HoSo Ten='a\x01'/></R>", "DTD"),
        # a forbidden character in a name of markup is no value: the answer stays refused
        (b"<R><Ho\x01So Ten='a'/></R>", "not well-formed"),
        # UTF-16 writes no byte as its ASCII: nothing is mended there
        ("<R><HoSo Ten='a\x01'/></R>".encode("utf-16"), "not well-formed"),
        # a page broken otherwise is refused as before
        (b"<R><HoSo Ten='a\x01'></R>", "not well-formed"),
    ],
)
def test_what_mending_cannot_make_safe_or_whole_is_still_refused_naming_the_source(
    body: bytes, why: str
) -> None:
    with pytest.raises(RefusedAnswer) as refused:
        records(body, "HoSo")
    assert str(refused.value).startswith("hd_thu: ") and why in str(refused.value)
    assert not isinstance(refused.value, NotXml) or "DTD" not in why


def test_a_mended_record_is_quarantined_naming_source_record_and_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONESTOP_CITIZEN_ID_KEY", json.dumps({"conn_type": "generic", "password": "k" * 32})
    )
    _, raw = records(page("An", "B\x01ình"))
    row = (0, "2", raw.content_type, raw.payload, pipeline.defects_json(raw), raw.record)
    _, [bad], _ = pipeline.normalize_chunk(get_mapping("igate"), "hd_thu", [row])
    assert bad.record_id == "2"
    assert [(e["field"], e["reason"]) for e in json.loads(bad.errors)] == [
        ("@HoTen", "a control character U+0001 at position 2")
    ]


# What a district system's text holds: any character XML carries (no surrogate, no non-character).
TEXT = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters=[chr(c) for c in range(0xFDD0, 0xFDF0)] + ["\ufffe", "\uffff"],
    min_codepoint=0x09,
)
FORBIDDEN = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))]


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(
        st.lists(
            st.one_of(
                st.text(TEXT, max_size=8),
                st.sampled_from(FORBIDDEN).map(lambda c: ("raw", c)),
                st.sampled_from(FORBIDDEN).map(lambda c: ("ref", c)),
            ),
            max_size=4,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_page_gives_every_record_and_each_forbidden_character_costs_only_its_record(
    names: list[list[str | tuple[str, str]]],
) -> None:
    def written(part: str | tuple[str, str]) -> str:
        if isinstance(part, tuple):
            return part[1] if part[0] == "raw" else f"&#{ord(part[1])};"
        return escape(part, {"'": "&apos;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})

    def sent(parts: list[str | tuple[str, str]]) -> str:
        return "".join(p if isinstance(p, str) else p[1] for p in parts)

    rows = "".join(f"<z:row N='{n}' T='{''.join(map(written, parts))}'/>" for n, parts in enumerate(names))
    body = ADO.format(charset="utf-8", rows=rows).encode("utf-8")
    read = records(body)
    assert [r.record["@N"] for r in read] == [str(n) for n in range(len(names))]  # none lost
    for parts, record in zip(names, read, strict=True):
        bad = [i for i, ch in enumerate(sent(parts)) if ch in FORBIDDEN]
        if bad:
            assert [d.field for d in record.defects] == ["@T"]
            assert record.defects[0].reason.endswith(f"at position {bad[0] + 1}")
        else:
            assert record.defects == ()
            assert record.record["@T"] == sent(parts)
