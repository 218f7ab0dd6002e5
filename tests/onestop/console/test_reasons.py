"""Every reason a record can be quarantined for is shown in Vietnamese: the console knows its shape
(onestop.console.words.REASONS), none falls through to "Khác: <the English text>".

The reasons are the pipeline's own: the shipped mappings' verdicts on thousands of spoiled records (the model
agreement test's generator: naughty strings, text past its bound, forbidden and invisible characters, bad
numbers, dates and codes), and what the page readers find wrong inside a record as they read it."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import get_args

import pytest

from connectors.base import RECORD_LIMIT, RawRecord, kept
from connectors.jsonpage import PageReader, read_lines, unreadable_defects
from connectors.record_errors import mark_record_errors
from connectors.rows import read_csv, read_sheet
from connectors.spec.rest import CsvSpec, RecordsSpec, RowsSpec, SheetSpec
from connectors.xmlrpc import read_answer
from mappings import get_mapping
from onestop.console import words
from onestop.console.i18n import translations

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "mappings"))
from test_model_agreement import SHIPPED, generated, simulated

OTHER = translations("vi").gettext("Other: %(text)s").split("%")[0]


def untranslated(reasons: set[str]) -> list[str]:
    """The reasons shown as "Other: …", or naming what a value was in English ("got a list")."""
    shown = {r: str(words.reason(r)) for r in reasons}
    return sorted(r for r, s in shown.items() if s.startswith(OTHER) or s.endswith(tuple(words.VALUE_KINDS)))


@pytest.mark.parametrize("dialect", list(SHIPPED))
def test_every_reason_a_mapping_gives_is_shown_in_vietnamese(dialect: str) -> None:
    m = get_mapping(dialect)
    records = generated(dialect, 3000) + (simulated(1000) if dialect == "igate" else [])
    reasons = {e.reason for r in records for e in m.normalize(r, "s").errors}
    assert len(reasons) > 20, reasons  # the spoiled records reach many reasons
    assert untranslated(reasons) == []


def test_every_defect_a_page_reader_finds_is_shown_in_vietnamese() -> None:
    page = (
        b'{"items": [{"a": 1, "a": 2}, {"n": NaN}, {"t": "x\\u0000y"}, {"t": "\\ud800"}, [1], "x", null,'
        b' {"t": "ok\x7f"}, {"t": "\xff"}]}'
    )
    _, raw = PageReader("s", "items").read(page)
    _, deep = PageReader("s", "items").read(b'{"items": [{"x": ' + b"[" * 300 + b"]" * 300 + b"}]}")
    raw = [*raw, *(deep or [])]
    m = get_mapping("igate")
    wrong_kinds = [m.normalize(v, "s") for v in ([], "x", 1)]  # a record that is not an object
    lines = read_lines(b'{"a": 1}\n{"a": \n[1]\n')
    huge = kept({}, '{"t": "' + "x" * RECORD_LIMIT + '"}', "application/json")
    table = (
        b'a,b\n1\n2,"[1,"\n3,"{""n"": NaN}"\n4,"{""k"": 1, ""k"": 2}"\n5,"x\n'
        + b"6,"
        + b"[" * 100_000
        + b"\n"
    )
    rows = read_csv("s", table, CsvSpec(json_columns=["b"]))
    leaves = [
        "<struct><member><value><int>1</int></value></member></struct>",
        "<i4>7a</i4>",
        "<double>1e999</double>",
        f"<int>{'9' * 5000}</int>",
        "<boolean>2</boolean>",
        "<date/>",
    ]
    rpc = [
        {
            "v": read_answer(
                "s",
                f"<methodResponse><params><param><value>{v}</value></param></params></methodResponse>".encode(),
            )
        }
        for v in leaves
    ]
    typed = [RawRecord(r, "{}", defects=tuple(unreadable_defects(r))) for r in rpc]
    sheet = (
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:'
        'spreadsheet"><Worksheet><Table><Row><Cell><Data>a</Data></Cell><Cell><Data>b</Data></Cell></Row><Row>'
        '<Cell><Data ss:Type="Error">#REF!</Data></Cell><Cell><Data ss:Type="Number">12,5</Data></Cell></Row>'
        "</Table></Worksheet></Workbook>"
    )
    typed += read_sheet("s", sheet.encode(), SheetSpec())
    partial = {
        "data": {"l": [{}]},
        "errors": [{"message": "hệ thống con không phản hồi", "path": ["l", 0, "x"]}],
    }
    named = mark_record_errors(
        "s", partial, [RawRecord({}, "{}")], RecordsSpec(path="data.l", record_errors="graphql")
    )
    reasons = {d.reason for r in [*raw, *lines, huge, *rows, *named, *typed] for d in r.defects}
    reasons |= {e.reason for o in wrong_kinds for e in o.errors}
    assert len(reasons) >= 22, reasons
    assert untranslated(reasons) == []


def test_every_defect_of_a_row_of_cells_is_shown_in_vietnamese() -> None:
    """`records.rows`: a row that is no list, a filled cell past the columns, a jqGrid record without its cells."""
    page = b'{"data": [["a", "b", "c"], {"x": 1}, "x", null, 1, true]}'
    _, rows = PageReader("s", "data", RowsSpec(columns=["a", "b"])).read(page)
    grid = b'{"rows": [{"id": 1, "cell": ["2"]}, {"id": 2}, {"id": 3, "cell": "x"}, [1]]}'
    _, cells = PageReader("s", "rows", RowsSpec(columns=["id"], cells_path="cell")).read(grid)
    reasons = {d.reason for r in [*rows, *cells] for d in r.defects}
    assert len(reasons) == 10, reasons
    assert untranslated(reasons) == []


def test_what_a_defect_names_beyond_one_field_is_said_in_vietnamese() -> None:
    assert [str(words.field_name(f)) for f in ("(record)", "(detail)", "trang 3")] == [
        "(cả bản ghi)",
        "(lời gọi chi tiết hồ sơ)",
        "trang 3",
    ]


def test_every_field_of_the_canonical_record_has_a_vietnamese_label() -> None:
    """An administrator reads "Mã thủ tục: thiếu", not "procedure_code: thiếu"; an item of a list is named by its
    list, its position and its own label; a name the schema does not have is shown as the data names it."""
    from schemas.dossier import Dossier

    def names(model: type, prefix: str = "") -> list[str]:
        found = []
        for name, f in model.model_fields.items():
            found.append(prefix + name)
            inner = [a for arg in get_args(f.annotation) or (f.annotation,) for a in get_args(arg) or (arg,)]
            models = [a for a in inner if isinstance(a, type) and hasattr(a, "model_fields")]
            if models and not prefix and name != "text_fixes":  # a repair's own fields are the engine's
                found += names(models[0], f"{name}.")
        return found

    unlabelled = [n for n in names(Dossier) if n not in words.FIELD_LABELS]
    assert unlabelled == []
    shown = {n: str(words.field_name(n)) for n in ("procedure_code", "applicant.id_number", "history[3].at")}
    assert shown == {
        "procedure_code": "Mã thủ tục",
        "applicant.id_number": "Số giấy tờ tùy thân",
        "history[3].at": "Quá trình xử lý [3] › Thời điểm",
    }
    assert [str(words.field_name(n)) for n in ("fees[2].x", "<b>x</b>")] == [
        "fees[2].x",
        "&lt;b&gt;x&lt;/b&gt;",
    ]


def test_a_portal_result_not_taken_for_a_delivery_is_shown_in_vietnamese() -> None:
    """The reasons a delivery waits with when the portal's per-record result is unlike any it should send."""
    from connectors.portal import _result

    reasons = {_result("HS-1", r).message for r in ("OK", {"message": "đã nhận"}, {"error_code": None})}
    assert len(reasons) == 3 and untranslated(reasons) == []


def test_the_count_of_a_record_s_defects_not_listed_is_shown_in_vietnamese() -> None:
    from connectors.base import MAX_DEFECTS, Defect, listed

    [*_, more] = listed(tuple(Defect("x", "NaN") for _ in range(MAX_DEFECTS + 7)))
    assert more.reason == "7 more not listed" and untranslated({more.reason}) == []


def test_a_commune_not_found_by_its_names_is_said_in_vietnamese() -> None:
    """mappings.unit_names: a name that is no unit, or that several units have (the count said)."""
    from html import unescape

    from mappings.errors import ConversionError, safe_reason
    from mappings.transforms import build_transform

    reasons = []
    for text in ("Phường Không Có, Thành phố Hải Dương", "Xã Hồng Phong, Tỉnh Hải Dương"):
        with pytest.raises(ConversionError) as refused:
            build_transform("commune_code_by_name:30")(text)
        reasons.append(safe_reason(refused.value.reason))
    assert untranslated(set(reasons)) == []
    assert [unescape(str(words.reason(r))) for r in reasons] == [
        "không tìm thấy đơn vị cấp xã 'Phường Không Có, Thành phố Hải Dương'"
        " (không có đơn vị hành chính nào mang tên này)",
        "tên đơn vị cấp xã 'Xã Hồng Phong, Tỉnh Hải Dương' chưa rõ là đơn vị nào"
        " (có 3 đơn vị hành chính mang tên này)",
    ]


def test_a_refused_delivery_is_said_in_the_portals_own_words() -> None:
    """The portal answers in Vietnamese already: its message is shown as what the portal said, not as "Other"."""
    from types import SimpleNamespace

    delivery, quarantine = SimpleNamespace(kind="delivery"), SimpleNamespace(kind="quarantine")
    said = "DongBoHoSoMC: Dữ liệu không hợp lệ: MaTTHC (bắt buộc)"
    assert str(words.failure_reason(delivery, said)) == f"Cổng DVC trả lời: {said}"
    assert str(words.failure_reason(quarantine, said)).startswith(OTHER)
    known = "missing"  # a message of one of our shapes is ours, translated as such
    assert str(words.failure_reason(delivery, known)) == str(words.reason(known)) == "thiếu"


def test_every_typed_value_that_does_not_fit_is_said_in_vietnamese() -> None:
    """typed_values (DynamoDB's, Firestore's JSON): each way a wrapper can be wrong, as the record's reason."""
    from mappings.typed import build

    dynamodb, firestore = build("dynamodb", None, ""), build("firestore", None, "fields")
    misfits = [
        (dynamodb, {"a": {"S": "x", "N": "1"}}),  # two type keys
        (dynamodb, {"a": {}}),  # none
        (dynamodb, {"a": "plain"}),  # not a wrapper
        (dynamodb, {"a": {"Q": "x"}}),  # an unknown one
        (dynamodb, {"a": {"N": "một"}}),  # not a number
        (dynamodb, {"a": {"N": "1e999999"}}),  # beyond DynamoDB's range
        (dynamodb, {"a": {"BOOL": "yes"}}),
        (dynamodb, {"a": {"S": 5}}),
        (dynamodb, {"a": {"L": {"x": 1}}}),
        (dynamodb, {"a": {"M": [1]}}),
        (firestore, {"fields": {"a": {"integerValue": "1.5"}}}),
        (firestore, {"fields": {"a": {"arrayValue": []}}}),
        (firestore, {"fields": []}),
        (firestore, {"fields": {"a": {"integerValue": "99999999999999999999"}}}),  # past int64
        (dynamodb, {"a": {"SS": ["x", 1]}}),  # a set of texts holding a number
    ]
    reasons = set()
    for table, record in misfits:
        _plain, failures = table.decode(record)
        assert failures, record
        reasons |= {f"typed value: {why}" for _path, why in failures}
    assert len(reasons) >= 10, reasons
    assert untranslated(reasons) == []
    said = [
        re.sub(r"<code>&#39;[^<]*&#39;</code>", "", str(words.reason(r))) for r in reasons
    ]  # a quoted type key
    english = [s for s in said if any(w in s for w in ("expected", "type key", "number", "integer", "got "))]
    assert english == []
    assert untranslated({"no '/' in the value, before its last segment"}) == []


def test_a_json_text_that_is_not_json_is_said_in_vietnamese() -> None:
    """json_text: a value the mapping reads as JSON written as text, each way it can fail to be JSON."""
    from mappings.jsontexts import JsonTexts

    texts = JsonTexts(("ghi_chu",))
    reasons = set()
    for text in ("{không phải JSON", "[1, 2", "[" * 5000, '{"a": 1} rác'):
        _record, failures = texts.decode({"ghi_chu": text})
        assert failures, text
        reasons |= {why for _path, why in failures}
    assert untranslated(reasons) == []
    assert all(str(words.reason(r)).startswith("không phải văn bản JSON") for r in reasons)


def test_every_ejson_value_that_does_not_fit_has_a_shape_of_its_own() -> None:
    """typed_values: mongo_ejson: each way an Extended JSON value can be wrong is a reason the console knows (its
    Vietnamese words are the maintainer's to add to the catalogue: until then it shows the English msgid)."""
    from mappings.typed import build

    ejson = build("mongo_ejson", None, "")
    misfits = [
        {"$date": "12/03/2025"},
        {"$date": "2025-03-12T08:15:00"},
        {"$date": {"$numberLong": "9" * 18}},
        {"$date": True},
        {"$date": 1, "ghiChu": "x"},
        {"$numberInt": "3000000000"},
        {"$numberDouble": "1e999"},
    ]
    reasons = set()
    for value in misfits:
        _plain, failures = ejson.decode({"a": value})
        assert failures, value
        reasons |= {f"typed value: {why}" for _path, why in failures}
    assert len(reasons) == len(misfits)
    assert untranslated(reasons) == []
    shown = [str(words.reason(r)) for r in reasons]
    assert not [s for s in shown if "<code>not a" in s or "<code>a time" in s]  # none shown as a bare quote


def test_a_list_that_shrank_past_each_range_asked_has_a_shape_of_its_own() -> None:
    """paging: a system that refuses a range past the list's end with HTTP 416 (PostgREST's PGRST103), again and
    again, fails the run so; the console knows the message (its Vietnamese words: the maintainer's catalogue)."""
    said = (
        "hd_thu: page 2: the list shrank while it was read (97 → a range past its end, HTTP 416), 4 times over: "
        "records that moved up past a page already read would be skipped; the run fails so that the next one reads "
        "this window again"
    )
    assert untranslated({said}) == [] and "trang 2" in str(words.reason(said))
