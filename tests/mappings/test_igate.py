"""mappings/igate.yaml: iGate-style district records become canonical dossiers; bad ones say why."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta

from mapping_samples import igate_batch, igate_record

from mappings import CompiledMapping
from schemas import Channel, DossierStatus, IdType, ResultDelivery, TextFix

SOURCE = "hd-thanhpho"


def test_a_good_record_becomes_a_dossier(igate: CompiledMapping) -> None:
    outcome = igate.normalize(igate_record(), SOURCE)

    assert outcome.errors == []
    d = outcome.dossier
    assert d is not None
    assert outcome.record_id == d.source_record_id == "65f0a1b2c3d4e5f601234567"
    assert d.source == SOURCE
    assert d.ma_ho_so == d.source_code == "000.00.14.H23-250312-0118"
    assert (d.procedure_code, d.procedure_local_code) == ("1.000656", "1.000656.000.00.14.H23")
    assert d.procedure_name == "Đăng ký khai sinh"
    assert (d.field_code, d.field_name) == ("G14-TP01", "Hộ tịch")
    assert (d.agency_code, d.agency_name) == ("000.00.14.H23", "UBND thành phố Hải Dương")
    assert (d.province_code, d.district_code, d.commune_code, d.dvhc_version) == (
        "30",
        "288",
        "10507",
        "legacy",
    )
    assert d.service_level == 3
    assert d.channel is Channel.IN_PERSON  # vendor applyMethod 0
    assert d.result_delivery is ResultDelivery.BY_POST  # receivingKind 1
    assert d.status is DossierStatus.RETURNED and d.status_raw == "5"  # vendor 5 -> canonical 10
    assert d.summary == "Đăng ký khai sinh cho con thứ hai"
    assert d.note == "Trả kết quả qua bưu điện"


def test_times_keep_the_vietnam_offset(igate: CompiledMapping) -> None:
    d = igate.normalize(igate_record(), SOURCE).dossier
    assert d is not None
    assert d.received_at == datetime.fromisoformat("2025-03-12T08:15:00+07:00")
    assert d.received_at.utcoffset() == timedelta(hours=7)
    assert d.submitted_at == datetime.fromisoformat("2025-03-12T07:50:00+07:00")
    assert d.due_at == datetime.fromisoformat("2025-03-17T17:00:00+07:00")
    assert d.finished_at == datetime.fromisoformat("2025-03-14T10:30:00+07:00")
    assert d.returned_at == datetime.fromisoformat("2025-03-14T15:00:00+07:00")
    assert d.refused_at is None  # no cancelledDate
    assert outcome_updated(igate) == datetime.fromisoformat("2025-03-14T15:00:05+07:00")


def outcome_updated(igate: CompiledMapping) -> datetime | None:
    return igate.normalize(igate_record(), SOURCE).source_updated_at


def test_the_applicant(igate: CompiledMapping) -> None:
    d = igate.normalize(igate_record(), SOURCE).dossier
    assert d is not None
    a = d.applicant
    assert a.name == "Nguyễn Văn An"
    assert a.id_type is IdType.CCCD and a.id_number == "030085001234"
    assert (a.birth_date, a.birth_date_precision) == (date(1985, 3, 2), "day")
    assert (a.phone, a.email) == ("0912345678", "an.nguyen@example.vn")
    assert a.address == "Số 12 Trần Hưng Đạo, Phường Trần Hưng Đạo, Thành phố Hải Dương, Tỉnh Hải Dương"
    assert a.commune_code == "10507"


def test_history_statuses_go_through_the_status_table(igate: CompiledMapping) -> None:
    d = igate.normalize(igate_record(), SOURCE).dossier
    assert d is not None
    assert [int(e.status) for e in d.history] == [1, 2, 4, 6, 4, 4, 9, 10]
    assert [e.status_raw for e in d.history] == ["0", "1", "2", "14", "2", "2", "4", "5"]
    first = d.history[0]
    assert first.at == datetime.fromisoformat("2025-03-12T08:15:00+07:00")
    assert (first.actor, first.position) == ("Trần Thị Bình", "Công chức tư pháp - hộ tịch")
    assert (first.department, first.content) == ("Bộ phận tiếp nhận và trả kết quả", "Bước 1")


def test_documents_and_fees(igate: CompiledMapping) -> None:
    d = igate.normalize(igate_record(), SOURCE).dossier
    assert d is not None
    assert [(x.name, x.form_code, x.size) for x in d.documents] == [
        ("to-khai-khai-sinh.pdf", "TP01", 182044),
        ("giay-chung-sinh.pdf", "TP02", 90112),
    ]
    assert d.documents[0].url == "http://10.10.1.5/f/1"
    [fee] = d.fees
    assert (fee.code, fee.name, fee.amount_vnd, fee.method, fee.type) == (
        "LP01",
        "Lệ phí đăng ký khai sinh",
        50000,
        1,
        1,
    )


def test_channels_are_translated(igate: CompiledMapping) -> None:
    for vendor, canonical in ((0, Channel.IN_PERSON), (1, Channel.ONLINE), (2, Channel.POSTAL)):
        d = igate.normalize(igate_record(applyMethod={"id": vendor}), SOURCE).dossier
        assert d is not None and d.channel is canonical


def test_three_faults_at_once_are_three_field_errors(igate: CompiledMapping) -> None:
    record = igate_record(code=None, acceptedDate="2025-02-30T08:00:00+07:00")
    record["dossierStatus"]["id"] = 99

    outcome = igate.normalize(record, SOURCE)

    assert outcome.dossier is None
    assert outcome.record_id == "65f0a1b2c3d4e5f601234567"
    assert [(e.field, e.source_path, e.reason, e.value) for e in outcome.errors] == [
        ("ma_ho_so", "code", "missing", None),
        (
            "received_at",
            "acceptedDate",
            "impossible date '2025-02-30T08:00:00+07:00'",
            "2025-02-30T08:00:00+07:00",
        ),
        ("status", "dossierStatus.id", "unknown value '99' (not in code table status)", "99"),
    ]
    assert outcome.errors[1].describe(SOURCE, outcome.record_id) == (
        "hd-thanhpho: record 65f0a1b2c3d4e5f601234567: field received_at (acceptedDate): "
        "impossible date '2025-02-30T08:00:00+07:00'"
    )


def test_a_missing_national_code_is_not_guessed(igate: CompiledMapping) -> None:
    record = igate_record()
    del record["procedure"]["nationCode"]
    outcome = igate.normalize(record, SOURCE)
    assert [(e.field, e.source_path, e.reason) for e in outcome.errors] == [
        ("procedure_code", "procedure.nationCode", "missing")
    ]


def test_a_fault_inside_the_history_names_the_item(igate: CompiledMapping) -> None:
    record = igate_record()
    record["history"][3]["createdDate"] = "31/02/2025"
    record["history"][5]["status"] = 99
    outcome = igate.normalize(record, SOURCE)
    assert [(e.field, e.source_path, e.reason) for e in outcome.errors] == [
        ("history[3].at", "history[3].createdDate", "unrecognized date '31/02/2025' (expected iso)"),
        ("history[5].status", "history[5].status", "unknown value '99' (not in code table status)"),
    ]


def test_model_validation_errors_come_back_as_field_errors(igate: CompiledMapping) -> None:
    record = igate_record()
    record["applicant"]["identityNumber"] = "0300850012"  # 10 digits: not a CCCD
    record["applicant"]["phone"] = "09123"
    outcome = igate.normalize(record, SOURCE)
    assert [(e.field, e.source_path, e.reason, e.value) for e in outcome.errors] == [
        (
            "applicant.phone",
            "applicant.phone",
            "not a Vietnamese phone number (10 digits from 0, or 11 for a landline)",
            "**123",  # personal data is masked
        ),
    ]
    record["applicant"]["phone"] = "0912345678"
    [error] = igate.normalize(record, SOURCE).errors
    assert (error.field, error.source_path, error.reason) == (
        "applicant.id_number",
        "applicant.identityNumber",
        "a CCCD has 12 digits",
    )
    assert error.value == "*******012"


def test_an_nfd_name_is_stored_nfc_and_the_fix_recorded(igate: CompiledMapping) -> None:
    record = igate_record()
    record["applicant"]["fullname"] = unicodedata.normalize("NFD", "Nguyễn Văn An")
    record["history"][2]["user"]["fullname"] = unicodedata.normalize("NFD", "Trần Thị Bình")

    d = igate.normalize(record, SOURCE).dossier

    assert d is not None
    assert d.applicant.name == "Nguyễn Văn An" and unicodedata.is_normalized("NFC", d.applicant.name)
    assert d.text_fixes == [
        TextFix(field="applicant.name", fix="nfc"),
        TextFix(field="history[2].actor", fix="nfc"),
    ]
    assert igate.normalize(igate_record(), SOURCE).dossier.text_fixes == []  # type: ignore[union-attr]


def test_bad_records_do_not_stop_the_good_ones(igate: CompiledMapping) -> None:
    batch = igate_batch(6)
    del batch[1]["code"]
    del batch[2]["procedure"]["nationCode"]
    batch[3]["acceptedDate"] = "2025-02-30T08:00:00+07:00"
    batch[4]["dossierStatus"]["id"] = 99

    outcomes = [igate.normalize(r, SOURCE) for r in batch]

    assert [o.dossier is not None for o in outcomes] == [True, False, False, False, False, True]
    assert [[e.field for e in o.errors] for o in outcomes] == [
        [],
        ["ma_ho_so"],
        ["procedure_code"],
        ["received_at"],
        ["status"],
        [],
    ]


def test_absent_optional_dates_and_empty_lists(igate: CompiledMapping) -> None:
    record = igate_record(completedDate=None, returnedDate="", history=None, fees=[], attachments=None)
    record["dossierStatus"]["id"] = 2
    d = igate.normalize(record, SOURCE).dossier
    assert d is not None
    assert (d.finished_at, d.returned_at) == (None, None)
    assert (d.history, d.fees, d.documents) == ([], [], [])
    assert d.status is DossierStatus.PROCESSING


def test_every_vendor_status(igate: CompiledMapping) -> None:
    vendor_to_canonical = {0: 1, 1: 2, 12: 3, 2: 4, 3: 5, 14: 6, 6: 7, 7: 8, 4: 9, 5: 10}
    for vendor, canonical in vendor_to_canonical.items():
        record = igate_record()
        record["dossierStatus"]["id"] = vendor
        d = igate.normalize(record, SOURCE).dossier
        assert d is not None and int(d.status) == canonical and d.status_raw == str(vendor)


def test_a_business_keeps_its_tax_code(igate: CompiledMapping) -> None:
    record = igate_record()
    record["applicant"].update(
        type=2, fullname="Công ty TNHH Minh An", identityType=None, identityNumber="0801234567-001"
    )
    d = igate.normalize(record, SOURCE).dossier
    assert d is not None
    assert (int(d.applicant.type), d.applicant.id_type, d.applicant.id_number) == (2, None, "0801234567-001")
