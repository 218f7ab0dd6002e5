"""Legacy XML over HTTP — the REST language with XML answers (`kind: xml`) — against the ASP.NET simulator (a
real process over HTTP), and its dialect mapping."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date, datetime

import pytest
import requests

import mappings
from connectors.base import XML, RawRecord
from connectors.connection import Connection
from connectors.errors import AuthError, ProtocolError
from connectors.factory import open_source
from connectors.http import HttpClient, HttpSettings
from connectors.rest import RestSource
from connectors.safexml import parse_record
from connectors.spec.source import SourceConfig
from onestop import registry
from onestop.simulators.process import SimulatorProcess, start_simulator
from schemas import TextFix
from schemas.dossier import HCM
from tests.conftest import shipped_spec
from tests.connectors.scripted_server import scripted_server

COUNT = 1200
SOURCE = "hd_cam_giang"
FAST = HttpSettings(max_attempts=2, backoff_initial=0.01)
EXPECTED_ERROR = {
    "missing_code": ("ma_ho_so", "missing"),
    "missing_nationCode": ("procedure_code", "missing"),
    "impossible_date": ("received_at", "impossible date '30/02/"),
    "unknown_status": ("status", "unknown value 'KHONG_XAC_DINH'"),
}


class Failures(list):
    def __call__(self, **kwargs: object) -> None:
        self.append(kwargs)


@pytest.fixture(scope="module")
def legacy() -> Iterator[SimulatorProcess]:
    with start_simulator("legacy_xml", "--seed", "7", "--count", str(COUNT), "--district", "295") as sim:
        yield sim


def source_config(**xml: object) -> SourceConfig:
    """A registry entry as a data engineer writes it, with the shipped aspnet_xml profile's protocol."""
    entry = {"name": SOURCE, "title": "Huyện Cẩm Giàng", "kind": "xml", "dialect": "aspnet_xml"}
    entry |= {"conn_id": "onestop_src_hd_cam_giang", "watermark_field": "received"}
    if "page_size" in xml:  # the test's own page size, the shipped profile's paginator otherwise
        paginator = shipped_spec("xml").paginator.model_dump()
        xml["paginator"] = {**paginator, "page_size": xml.pop("page_size")}
    entry["xml"] = shipped_spec("xml", **xml).model_dump(by_alias=True, exclude_unset=True)
    return registry.parse({"sources": [entry]}).sources[0]


def open_legacy(
    sim: SimulatorProcess, password: str = "secret", recorder: Failures | None = None, **xml: object
):
    conn = Connection("onestop_src_hd_cam_giang", host=sim.url, login="aspnet", password=password)
    return open_source(source_config(**xml), recorder=recorder, conn=conn)


def truth(sim: SimulatorProcess) -> list[dict]:
    resp = requests.get(f"{sim.url}/_sim/truth", timeout=120)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line]


def requests_made(sim: SimulatorProcess) -> int:
    return requests.get(f"{sim.url}/_sim/stats", timeout=10).json()["requests"]


def test_the_registry_entry_opens_a_legacy_xml_source(legacy: SimulatorProcess) -> None:
    source = open_legacy(legacy)
    assert isinstance(source, RestSource) and source.name == SOURCE
    assert source.probe().startswith(f"{SOURCE}: authenticated; ")


def test_pages_are_read_from_one_to_the_last_page(legacy: SimulatorProcess) -> None:
    source = open_legacy(legacy, page_size=250)
    before = requests_made(legacy)

    pages = list(source.pages(None, None))

    assert [len(p) for p in pages] == [250] * (COUNT // 250) + [COUNT % 250]
    assert requests_made(legacy) - before == math.ceil(COUNT / 250)  # nothing asked past lastPage
    records = [r for p in pages for r in p]
    assert {r.record["ID"] for r in records} == {t["id"] for t in truth(legacy)}
    first = records[0]
    assert first.content_type == XML and first.payload.startswith("<HoSo><ID>")
    # What is staged parses back to the very record the mapping saw.
    assert mappings.element_to_dict(parse_record(first.payload)) == first.record


def test_the_window_is_a_range_of_receipt_days_in_vietnam(legacy: SimulatorProcess) -> None:
    source = open_legacy(legacy, page_size=25)
    # 2 March 17:30 UTC is 3 March 00:30 in Hà Nội: the days asked for are 03/03 to 05/03.
    start = datetime.fromisoformat("2025-03-02T17:30:00+00:00")
    end = datetime.fromisoformat("2025-03-05T16:00:00+00:00")

    got = [r.record["ID"] for page in source.pages(start, end) for r in page]

    expected = [
        t["id"]
        for t in sorted(truth(legacy), key=lambda t: (t["receiptDate"], t["id"]))
        if date(2025, 3, 3) <= datetime.fromisoformat(t["receiptDate"]).date() <= date(2025, 3, 5)
    ]
    assert len(expected) > 25 and got == expected


def test_an_empty_window_is_one_request_and_no_page(legacy: SimulatorProcess) -> None:
    source = open_legacy(legacy)
    before = requests_made(legacy)
    sunday = datetime.fromisoformat("2025-03-09T10:00:00+07:00")
    assert list(source.pages(sunday, sunday)) == []
    assert requests_made(legacy) - before == 1


def test_refused_credentials_inside_http_200_are_an_auth_error_naming_source_and_code(
    legacy: SimulatorProcess,
) -> None:
    failures = Failures()
    source = open_legacy(legacy, password="wrong", recorder=failures)
    with pytest.raises(
        AuthError,
        match=rf"^{SOURCE}: page: the system answered an error 401: .*sai tên đăng nhập hoặc mật khẩu",
    ):
        next(iter(source.pages(None, None)))
    with pytest.raises(AuthError, match=rf"^{SOURCE}: page: the system answered an error 401"):
        source.probe()
    # Recorded for the administrators like any failed call (the HTTP status was 200).
    assert [(f["endpoint"], f["operation"], f["error_class"], f["http_status"]) for f in failures] == [
        (SOURCE, "page", "AuthError", None),
        (SOURCE, "page", "AuthError", None),
    ]


def test_other_error_codes_are_protocol_errors_with_the_message(legacy: SimulatorProcess) -> None:
    source = open_legacy(legacy, incremental={"format": "iso"})  # misconfigured: this system wants dd/MM/yyyy
    with pytest.raises(
        ProtocolError,
        match=rf"^{SOURCE}: page: the system answered an error 101: Tham số tuNgay không đúng định dạng",
    ):
        list(source.pages(datetime.fromisoformat("2025-03-03T00:00:00+07:00"), None))


def scripted_source(url: str) -> RestSource:
    return RestSource(
        SOURCE,
        shipped_spec("xml"),
        Connection("c", host=url, login="u", password="p"),
        HttpClient(SOURCE, url, FAST),
        HCM,
    )


def test_an_answer_without_an_error_code_is_refused() -> None:
    body = b'<?xml version="1.0"?><Result><Items/></Result>'
    with scripted_server([(200, {}, body)]) as (url, _):
        with pytest.raises(ProtocolError, match=rf"^{SOURCE}: page: the system answered an error: "):
            list(scripted_source(url).pages(None, None))


def test_an_empty_error_code_is_success() -> None:
    body = b"<KetQua><ErrorCode/><TotalCount>0</TotalCount><lastPage>0</lastPage><DanhSach/></KetQua>"
    with scripted_server([(200, {}, body)]) as (url, log):
        assert list(scripted_source(url).pages(None, None)) == []
    assert len(log) == 1


def test_every_record_normalizes_or_names_its_bad_field(legacy: SimulatorProcess) -> None:
    mapping = mappings.get_mapping("aspnet_xml")
    expected = {t["id"]: t for t in truth(legacy)}
    records: list[RawRecord] = [r for page in open_legacy(legacy).pages(None, None) for r in page]
    assert len(records) == COUNT
    repaired = {"nfc": 0, "tcvn3": 0, "vni": 0, "utf8": 0}
    for raw in records:
        outcome = mapping.normalize(raw.record, SOURCE)
        t = expected[outcome.record_id]
        if t["bad"] is not None:
            field, reason = EXPECTED_ERROR[t["bad"]]
            assert outcome.dossier is None
            assert [(e.field, e.reason.startswith(reason)) for e in outcome.errors] == [(field, True)], (
                outcome.errors
            )
            assert outcome.describe(SOURCE)[0].startswith(f"{SOURCE}: record {t['id']}: field {field} (")
            continue
        d = outcome.dossier
        assert d is not None, outcome.describe(SOURCE)
        assert (d.ma_ho_so, int(d.status), d.applicant.name) == (t["code"], t["status"], t["applicant_name"])
        assert d.source_updated_at == datetime.fromisoformat(t["updatedDate"])
        assert (d.received_at or d.submitted_at) == datetime.fromisoformat(t["receiptDate"]).replace(second=0)
        name_fixes = [f for f in d.text_fixes if f.field == "applicant.name"]
        shown = raw.record["ApplicantName"]
        if shown == t["applicant_name"]:  # undamaged (or a damage that leaves ASCII alone)
            assert name_fixes == []
        else:
            fix = "nfc" if t["text"] == "nfd" else t["text"]
            assert name_fixes == [TextFix(field="applicant.name", fix=fix)]
            repaired[fix] += 1
        if t["text"] is None:
            assert d.text_fixes == []
    assert all(n > 20 for n in repaired.values()), repaired


def test_the_dialect_reads_this_vendors_codes_and_formats(legacy: SimulatorProcess) -> None:
    mapping = mappings.get_mapping("aspnet_xml")
    page = next(iter(open_legacy(legacy, page_size=300).pages(None, None)))
    seen = {"channel": set(), "delivery": set(), "type": set()}
    for raw in page:
        d = mapping.normalize(raw.record, SOURCE).dossier
        if d is None:
            continue
        r = raw.record
        assert d.procedure_code == r["MATTHC"].split(".000.")[0] and d.procedure_local_code == r["MATTHC"]
        assert int(d.channel) == {"1": 2, "2": 1, "3": 3}[r["Channel"]]  # this vendor's 1 is online
        seen["channel"].add(int(d.channel))
        seen["delivery"].add(int(d.result_delivery))
        seen["type"].add(int(d.applicant.type))
        if d.due_at is not None:  # a day in Vietnam (dd/MM/yyyy), whatever the instant's zone
            assert d.due_at.astimezone(HCM).strftime("%d/%m/%Y") == r["DateAppointed"]
        assert int(d.history[-1].status) == int(d.status) and d.status_raw == r["STATUS"]
        assert sum(f.amount_vnd for f in d.fees) == sum(int(f["Amount"].replace(".", "")) for f in _fees(r))
        assert len(d.documents) == len(_as_list(r["Files"]["File"]))
    assert seen["channel"] == {1, 2, 3} and seen["delivery"] == {0, 1} and 1 in seen["type"]


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _fees(record: dict) -> list[dict]:
    return [] if not record.get("Fees") else _as_list(record["Fees"]["Fee"])
