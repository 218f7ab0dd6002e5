"""XML answers read in one streaming pass: records at a local-name path below the root, the rest as a dict."""

from __future__ import annotations

import unicodedata

import pytest

from connectors.errors import ProtocolError
from connectors.safexml import read_answer

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
