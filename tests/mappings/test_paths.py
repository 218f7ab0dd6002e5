"""The path language, on JSON records and on XML records read with element_to_dict."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from mapping_samples import minimal_record

from mappings import CompiledMapping, element_to_dict
from mappings.paths import PathSyntaxError, compile_path

RECORD = {
    "applicant": {"address": {"ward": {"code": "10507"}}},
    "history": [{"status": 1}, {"status": 2}, {"status": 4}],
    "empty": None,
    "text": "abc",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("applicant.address.ward.code", "10507"),
        ("history[0].status", 1),
        ("history[-1].status", 4),
        ("history[7].status", None),  # out of range
        ("applicant.nothing.code", None),  # a missing key
        ("empty.code", None),  # a None on the way
        ("text.code", None),  # not an object
        ("history.status", None),  # a key on a list: say which item
        ("$.text", "abc"),
    ],
)
def test_paths_on_json(path: str, expected: object) -> None:
    assert compile_path(path).get(RECORD) == expected


ODATA = {"@odata.count": 250, "@odata.nextLink": "https://x/HoSo?$skip=50", "value": [{"Mã.hồ sơ": "HS-1"}]}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("['@odata.nextLink']", "https://x/HoSo?$skip=50"),  # as JSONPath quotes a key with a dot
        ('["@odata.count"]', 250),
        ("value[0]['Mã.hồ sơ']", "HS-1"),
        ("$['@odata.count']", 250),
        ("@odata.nextLink", None),  # unquoted: the key `@odata`, then `nextLink`
    ],
)
def test_a_key_holding_a_dot_is_quoted_in_brackets(path: str, expected: object) -> None:
    assert compile_path(path).get(ODATA) == expected


@given(st.lists(st.text(min_size=1).filter(lambda k: "'" not in k), min_size=1, max_size=4), st.integers())
def test_any_keys_quoted_read_what_they_name(keys: list[str], value: int) -> None:
    record: object = value
    for key in reversed(keys):
        record = {key: record}
    assert compile_path("".join(f"['{k}']" for k in keys)).get(record) == value


@pytest.mark.parametrize(
    "bad", ["", "a..b", "a.", "a[x]", "a[1", " a", "a b.[0]", "[0]", "a['']", "a[0]b", "a['x"]
)
def test_bad_paths_are_refused(bad: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(bad)


XML = b"""<?xml version="1.0" encoding="utf-8"?>
<ns:HoSo xmlns:ns="urn:hoso" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="HS-7" version="2">
  <ns:MaHoSo>000.00.14.H23-250312-0118</ns:MaHoSo>
  <ns:ChuHoSo loai="1">Nguy\xe1\xbb\x85n V\xc4\x83n An</ns:ChuHoSo>
  <ns:GhiChu/>
  <ns:NgayTra xsi:nil="true"/>
  <!-- a comment is skipped -->
  <ns:QuaTrinh><ns:Buoc><ns:TrangThai>1</ns:TrangThai></ns:Buoc><ns:Buoc><ns:TrangThai>2</ns:TrangThai></ns:Buoc></ns:QuaTrinh>
  <ns:TaiLieu><ns:Tep><ns:Ten>to-khai.pdf</ns:Ten></ns:Tep></ns:TaiLieu>
</ns:HoSo>"""


def test_element_to_dict() -> None:
    record = element_to_dict(etree.fromstring(XML))
    assert record == {
        "@id": "HS-7",
        "@version": "2",
        "MaHoSo": "000.00.14.H23-250312-0118",
        "ChuHoSo": {"@loai": "1", "#text": "Nguyễn Văn An"},
        "GhiChu": None,
        "NgayTra": None,
        "QuaTrinh": {"Buoc": [{"TrangThai": "1"}, {"TrangThai": "2"}]},
        "TaiLieu": {"Tep": {"Ten": "to-khai.pdf"}},  # one child: a dict, not a list
    }
    assert element_to_dict(etree.fromstring(b"<a>x</a>")) == {"#text": "x"}


def test_the_same_paths_read_xml() -> None:
    record = {"HoSo": element_to_dict(etree.fromstring(XML))}
    assert compile_path("HoSo.@id").get(record) == "HS-7"
    assert compile_path("HoSo.ChuHoSo.@loai").get(record) == "1"
    assert compile_path("HoSo.ChuHoSo.#text").get(record) == "Nguyễn Văn An"
    assert compile_path("HoSo.QuaTrinh.Buoc[1].TrangThai").get(record) == "2"
    assert compile_path("HoSo.TaiLieu.Tep[0].Ten").get(record) == "to-khai.pdf"  # a one-child "list"


XML_DIALECT = """
    history:
      path: QuaTrinh.Buoc
      each:
        status: {path: TrangThai, code: status}
        at: {path: ThoiDiem, formats: [yyyyMMddHHmmss]}
        actor: $.name
    documents: {path: TaiLieu.Tep, each: {name: Ten, size: KichThuoc}}
"""
XML_TABLES = """
code_tables:
  status: {target: status, values: {"1": 1, "2": 2, "4": 4}}
"""


def xml_record(steps: int, files: int) -> dict[str, object]:
    buoc = "".join(
        f"<Buoc><TrangThai>{s}</TrangThai><ThoiDiem>2025031208{i}000</ThoiDiem></Buoc>"
        for i, s in enumerate((1, 2, 4)[:steps])
    )
    tep = "".join(f"<Tep><Ten>f{i}.pdf</Ten><KichThuoc>{100 + i}</KichThuoc></Tep>" for i in range(files))
    xml = f"<HoSo><QuaTrinh>{buoc}</QuaTrinh><TaiLieu>{tep}</TaiLieu></HoSo>"
    return minimal_record(**element_to_dict(etree.fromstring(xml)))


def test_each_reads_xml_lists_of_one_and_of_many(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(XML_DIALECT, top=XML_TABLES)

    d = m.normalize(xml_record(steps=3, files=1), "s").dossier

    assert d is not None
    assert [int(e.status) for e in d.history] == [1, 2, 4]
    assert [e.actor for e in d.history] == ["Nguyễn Văn An"] * 3  # `$.` reads the record root
    assert [(x.name, x.size) for x in d.documents] == [("f0.pdf", 100)]  # one <Tep>: a dict, one item


def test_each_on_an_empty_or_absent_list(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(XML_DIALECT, top=XML_TABLES)
    d = m.normalize(xml_record(steps=0, files=0), "s").dossier  # <QuaTrinh/> is None
    assert d is not None and d.history == [] and d.documents == []


def test_each_on_something_that_is_not_a_list(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(XML_DIALECT, top=XML_TABLES)
    [error] = m.normalize(minimal_record(TaiLieu={"Tep": "oops"}), "s").errors
    assert (error.field, error.source_path, error.reason) == (
        "documents",
        "TaiLieu.Tep",
        "expected a list, got str",
    )


def test_a_fallback_chain_takes_the_first_value(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml("field_code: [sector.code, sectorCode, linhVuc]\n")
    for extra, expected in (
        ({"sector": {"code": "G14"}, "sectorCode": "X"}, "G14"),
        ({"sector": {"code": ""}, "sectorCode": "X"}, "X"),  # a null value does not win
        ({"sector": None, "linhVuc": "L1"}, "L1"),
        ({}, None),
    ):
        d = m.normalize(minimal_record(**extra), "s").dossier
        assert d is not None and d.field_code == expected, extra


def test_xsi_type_and_soap_encoding_attributes_are_not_data() -> None:
    xml = (
        b'<HoSo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:enc="http://schemas.xmlsoap.org/soap/'
        b'encoding/" xsi:type="ns2:HoSo" loai="1"><id xsi:type="xsd:long">5</id>'
        b'<ds enc:arrayType="ns2:Buoc[1]" xsi:type="enc:Array"><item xsi:type="ns2:Buoc"><tt>2</tt></item></ds></HoSo>'
    )
    assert element_to_dict(etree.fromstring(xml)) == {"@loai": "1", "id": "5", "ds": {"item": {"tt": "2"}}}


FHIR = {
    "link": [
        {"relation": "self", "url": "u0"},
        {"relation": "previous", "url": "u1"},
        {"relation": "next", "url": "u2"},
    ],
    "identifier": [{"system": "urn:qg", "value": "G22"}, {"system": "urn:dvc.hd/ma.ho.so", "value": "HS-1"}],
    "extension": [{"url": "qua-trinh", "n": 1}, {"url": "trich-yeu", "v": "x"}, {"url": "qua-trinh", "n": 2}],
    "flag": [{"on": True, "v": 7}],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("link[?(@.relation=='next')][0].url", "u2"),  # selected by a sibling value, wherever it stands
        ('link[?@.relation=="next"][0].url', "u2"),  # RFC 9535's form
        ("link[?(@.relation=='last')][0].url", None),  # none: no value
        ("identifier[?(@.system=='urn:dvc.hd/ma.ho.so')][0].value", "HS-1"),  # dots and slashes in the value
        ("extension[?(@.url=='qua-trinh')]", [{"url": "qua-trinh", "n": 1}, {"url": "qua-trinh", "n": 2}]),
        ("extension[?(@.url=='qua-trinh')][-1].n", 2),
        ("flag[?(@.on=='true')][0].v", 7),  # compared as text
        ("link[?(@.relation=='next')].url", None),  # a key on the list it yields: say which item
        ("text[?(@.a=='b')]", None),  # not a list
    ],
)
def test_a_filter_selects_list_items_by_a_sibling_value(path: str, expected: object) -> None:
    assert compile_path(path).get({**FHIR, "text": "abc"}) == expected


@pytest.mark.parametrize(
    "bad", ["[?(@.a=='b')]", "a.[?(@.a=='b')]", "a[?(@.=='b')]", "a[?(@.a==b)]", "a[?(@.a=='b']"]
)
def test_bad_filters_are_refused(bad: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(bad)


def test_a_mapping_reads_through_filters(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(
        """
    agency_code: "identifier[?(@.system=='urn:dvc')][0].value"
    applicant.phone: "telecom[?(@.system=='phone')][0].value"
    history:
      path: "extension[?(@.url=='qua-trinh')]"
      each:
        status: {path: "extension[?(@.url=='trang-thai')][0].valueCode", code: status}
        at: "extension[?(@.url=='thoi-diem')][0].valueDateTime"
""",
        top=XML_TABLES,
    )
    step = [
        {"url": "thoi-diem", "valueDateTime": "2025-03-12T08:00:00+07:00"},
        {"url": "trang-thai", "valueCode": "2"},
    ]
    record = minimal_record(
        identifier=[{"system": "urn:qg", "value": "G22"}, {"system": "urn:dvc", "value": "HS-9"}],
        telecom=[{"system": "email", "value": "a@b.vn"}, {"system": "phone", "value": "0912345678"}],
        extension=[{"url": "trich-yeu"}, {"url": "qua-trinh", "extension": step}],
    )

    d = m.normalize(record, "s").dossier

    assert d is not None and d.agency_code == "HS-9" and d.applicant.phone == "0912345678"
    assert [(int(e.status), e.at.isoformat()) for e in d.history] == [(2, "2025-03-12T08:00:00+07:00")]


def test_json_ld_keys_with_a_prefix_or_an_at_sign_are_plain_keys() -> None:
    """API Platform's Hydra: `hydra:member`, `hydra:view.hydra:next`, `@id`; `['@context']` quoted works too."""
    answer = {
        "@context": "/api/contexts/HoSo",
        "hydra:member": [{"@id": "/api/ho_sos/7", "@type": "HoSo"}],
        "hydra:view": {"@id": "/api/ho_sos?page=1", "hydra:next": "/api/ho_sos?page=2"},
    }
    assert compile_path("hydra:view.hydra:next").get(answer) == "/api/ho_sos?page=2"
    assert compile_path("hydra:member[0].@id").get(answer) == "/api/ho_sos/7"
    assert compile_path("['@context']").get(answer) == "/api/contexts/HoSo"
    assert compile_path("hydra:member[?(@.@type=='HoSo')][0].@id").get(answer) == "/api/ho_sos/7"
