"""XML answers read in one streaming pass: records at a local-name path below the root, the rest as a dict."""

from __future__ import annotations

import unicodedata

import pytest

from connectors.errors import ProtocolError
from connectors.safexml import inline_references, read_answer, refers_inside

ANSWER = b"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><KetQua TongSo="2" xmlns="urn:v">
  <MaLoi>00</MaLoi><ThongBao/>
  <DanhSach>
    <HoSo Ma="A"><Buoc><HoSo>not a record: a step that names its dossier</HoSo></Buoc></HoSo>
    <HoSo Ma="B"/>
  </DanhSach>
</KetQua></s:Body></s:Envelope>"""


def test_records_are_the_elements_at_the_path_and_the_rest_is_a_small_dict() -> None:
    envelope, records = read_answer(ANSWER, "Body.KetQua.DanhSach.HoSo", "v")
    assert [r["@Ma"] for r, _ in records] == ["A", "B"]
    assert records[0][0]["Buoc"] == {"HoSo": "not a record: a step that names its dossier"}
    assert records[1][1].startswith('<HoSo xmlns="urn:v"')  # namespaces kept: the staged text parses alone
    assert envelope == {
        "Body": {"KetQua": {"@TongSo": "2", "MaLoi": "00", "ThongBao": None, "DanhSach": None}}
    }


ATOM = b"""<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<feed xml:base="http://sp/_vti_bin/ListData.svc/" xmlns="http://www.w3.org/2005/Atom"
  xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"
  xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
  <title type="text">HoSo</title>
  <entry m:etag="W/&quot;2&quot;"><id>http://sp/_vti_bin/ListData.svc/HoSo(7)</id>
    <content type="application/xml"><m:properties>
      <d:Title>000.00.11.H23-250102-0001</d:Title>
      <d:Id m:type="Edm.Int32">7</d:Id>
      <d:NgayNop m:type="Edm.DateTime" m:null="true" />
      <d:Email m:null="true" />
      <d:NgayTiepNhan m:type="Edm.DateTime">2025-01-02T08:15:00</d:NgayTiepNhan>
      <d:SoTien m:type="Edm.Double">100000</d:SoTien>
      <d:GhiChu m:null="false">co</d:GhiChu>
    </m:properties></content>
  </entry>
  <link rel="next" href="http://sp/_vti_bin/ListData.svc/HoSo?$skiptoken=7" />
</feed>"""


def test_odata_atom_s_metadata_is_machinery_and_m_null_is_null() -> None:
    """OData v2's Atom (WCF Data Services, SharePoint 2010's ListData.svc): m:type and m:etag are the format's,
    not the record's, so a typed property reads as its text; m:null="true" is a null, as xsi:nil is."""
    feed, records = read_answer(ATOM, "entry", "v")
    ((entry, text),) = records
    assert entry["content"]["properties"] == {
        "Title": "000.00.11.H23-250102-0001",
        "Id": "7",
        "NgayNop": None,
        "Email": None,
        "NgayTiepNhan": "2025-01-02T08:15:00",
        "SoTien": "100000",
        "GhiChu": "co",
    }
    # staged as it came
    assert "@etag" not in entry and 'm:null="true"' in text
    assert feed["link"] == {"@rel": "next", "@href": "http://sp/_vti_bin/ListData.svc/HoSo?$skiptoken=7"}


def test_a_declared_charset_overrides_the_document_s() -> None:
    body = '<?xml version="1.0" encoding="utf-8"?><R><HoSo><Ten>Nguyê\u0303n</Ten></HoSo></R>'.encode(
        "cp1258"
    )
    _, records = read_answer(body, "HoSo", "v", encoding="windows-1258")
    assert unicodedata.normalize("NFC", records[0][0]["Ten"]) == "Nguyễn"


@pytest.mark.parametrize(
    "body",
    [b'<!DOCTYPE r [<!ENTITY x "y">]><R><HoSo>&x;</HoSo></R>', b"<R><HoSo></R>"],
    ids=["dtd", "not-well-formed"],
)
def test_hostile_or_broken_answers_are_refused_naming_the_source(body: bytes) -> None:
    with pytest.raises(ProtocolError, match=r"^v: (page [0-9]+: )?answer "):
        read_answer(body, "HoSo", "v")


def test_a_records_path_written_from_the_root_element_fails_rather_than_reading_nothing() -> None:
    body = b"<NewDataSet><HoSo><Ma>1</Ma></HoSo><HoSo><Ma>2</Ma></HoSo></NewDataSet>"
    with pytest.raises(
        ProtocolError,
        match=r"no record at 'NewDataSet.HoSo' below the root element <NewDataSet>, "
        r"but the answer has <HoSo> elements at 'HoSo'",
    ):
        read_answer(body, "NewDataSet.HoSo", "v")
    assert [r["Ma"] for r, _ in read_answer(body, "HoSo", "v")[1]] == ["1", "2"]


def test_an_empty_page_with_an_element_of_the_record_s_name_elsewhere_is_still_an_empty_page() -> None:
    body = b"<KetQua><ThongKe><HoSo>0</HoSo></ThongKe><DanhSach/></KetQua>"
    document, records = read_answer(body, "DanhSach.HoSo", "v")
    assert records == [] and document["ThongKe"] == {"HoSo": "0"}


AXIS = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"><soapenv:Body>
  <ns1:layHoSoResponse soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/" xmlns:ns1="urn:hs">
    <layHoSoReturn href="#id0"/>
  </ns1:layHoSoResponse>
  <multiRef id="id0" soapenc:root="0" xsi:type="ns2:KetQua" xmlns:ns2="urn:m">
    <tongSo xsi:type="xsd:int">2</tongSo>
    <danhSach soapenc:arrayType="ns2:HoSo[2]" xsi:type="soapenc:Array"><item href="#id1"/><item href="#id2"/></danhSach>
  </multiRef>
  <multiRef id="id2" soapenc:root="0" xsi:type="ns2:HoSo" xmlns:ns2="urn:m"><ma xsi:type="xsd:string">B</ma>
    <nguoiNop href="#id3"/></multiRef>
  <multiRef id="id1" soapenc:root="0" xsi:type="ns2:HoSo" xmlns:ns2="urn:m"><ma xsi:type="xsd:string">A</ma>
    <nguoiNop href="#id3"/></multiRef>
  <multiRef id="id3" soapenc:root="0" xsi:type="ns2:NguoiNop" xmlns:ns2="urn:m"><ten xsi:type="xsd:string">An</ten>
  </multiRef>
</soapenv:Body></soapenv:Envelope>"""


def test_soap_encoding_s_references_are_read_where_they_are_used() -> None:
    assert refers_inside(AXIS[:400])
    envelope, records = read_answer(inline_references(AXIS, "v"), "Body.*.layHoSoReturn.danhSach.item", "v")
    assert [r for r, _ in records] == [
        {"ma": "A", "nguoiNop": {"ten": "An"}},
        {"ma": "B", "nguoiNop": {"ten": "An"}},
    ]
    assert envelope["Body"] == {"layHoSoResponse": {"layHoSoReturn": {"tongSo": "2", "danhSach": None}}}


@pytest.mark.parametrize(
    ("refs", "said"),
    [
        (
            "".join(f'<v id="v{i}">' + f'<x href="#v{i + 1}"/>' * 10 + "</v>" for i in range(9))
            + '<v id="v9">x</v>',
            "loop or multiply",
        ),  # ten references to one value, nine deep: a billion copies from a few hundred bytes
        ('<a id="a"><b href="#nowhere"/></a>', "does not hold"),
    ],
    ids=["multiplied", "dangling"],
)
def test_references_that_multiply_or_dangle_are_refused_not_expanded(refs: str, said: str) -> None:
    body = f'<E><Body><r href="#{"a" if "a" in refs[:8] else "v0"}"/>{refs}</Body></E>'.encode()
    with pytest.raises(ProtocolError, match=said):
        inline_references(body, "v")


def test_a_loop_of_references_ends_each_value_written_once_on_its_way() -> None:
    body = b'<E><Body><r href="#a"/><a id="a"><b href="#b"/></a><b id="b"><a href="#a"/></b></Body></E>'
    inlined = inline_references(body, "v")
    assert len(inlined) < 10 * len(body) and b"href" not in inlined
