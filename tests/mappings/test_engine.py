"""normalize: rule semantics, and every failing field of a record reported once, with where it came from."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mapping_samples import minimal_record

from mappings import CompiledMapping
from schemas import ApplicantType, Channel


def errors_of(m: CompiledMapping, record: object) -> list[tuple[str, str | None, str]]:
    return [(e.field, e.source_path, e.reason) for e in m.normalize(record, "s").errors]


def test_identity_fields_are_injected(compile_yaml: Callable[..., CompiledMapping]) -> None:
    outcome = compile_yaml().normalize(minimal_record(id=4711), "hd-kinhmon")
    d = outcome.dossier
    assert d is not None
    assert (d.source, d.source_record_id, outcome.record_id) == ("hd-kinhmon", "4711", "4711")
    assert d.source_updated_at == outcome.source_updated_at
    assert d.source_updated_at.isoformat() == "2025-03-12T09:00:00+07:00"


def test_a_record_without_id_or_update_time(compile_yaml: Callable[..., CompiledMapping]) -> None:
    record = minimal_record()
    del record["id"], record["updated"]
    outcome = compile_yaml().normalize(record, "s")
    assert outcome.record_id is None and outcome.dossier is None
    assert errors_of(compile_yaml(), record) == [
        ("source_record_id", "id", "missing"),
        ("source_updated_at", "updated", "missing"),
    ]


def test_a_record_that_is_not_an_object(compile_yaml: Callable[..., CompiledMapping]) -> None:
    assert errors_of(compile_yaml(), ["not", "a", "record"]) == [
        ("(record)", None, "a record is an object, got a list")
    ]


def test_required_fields_name_every_path_tried(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml("agency_code: {path: [agency.code, agencyCode, donVi.ma], required: true}\n")
    record = minimal_record(procName=" ")  # blank text is no value
    assert errors_of(m, record) == [
        ("procedure_name", "procName", "missing"),  # required by the model: no need to say so
        ("agency_code", "agency.code | agencyCode | donVi.ma", "missing"),
    ]
    assert m.normalize(record, "s").errors[1].describe("s", "r1") == (
        "s: record r1: field agency_code (agency.code | agencyCode | donVi.ma): missing"
    )


def test_defaults_and_omitted_values(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(
        """
        applicant.type: loaiDoiTuong
        service_level: {path: mucDo, default: 2}
        """
    )
    d = m.normalize(minimal_record(), "s").dossier
    assert d is not None
    assert d.service_level == 2  # the rule's default
    assert d.applicant.type is ApplicantType.CITIZEN  # nothing mapped: the model's default applies
    d = m.normalize(minimal_record(loaiDoiTuong="2", mucDo=4), "s").dossier
    assert d is not None and d.applicant.type is ApplicantType.BUSINESS and d.service_level == 4


def test_join(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml('applicant.address: {path: [diaChi, xa.ten, huyen.ten, tinh.ten], join: ", "}\n')
    record = minimal_record(
        diaChi="Số 1 ", xa={"ten": "Xã Nam Đồng"}, huyen={"ten": ""}, tinh={"ten": "Hải Dương"}
    )
    d = m.normalize(record, "s").dossier
    assert d is not None and d.applicant.address == "Số 1, Xã Nam Đồng, Hải Dương"


def test_fields_read_through_the_same_list_item_each_get_their_value(
    compile_yaml: Callable[..., CompiledMapping],
) -> None:
    """A to-one relationship nested as a one-item list (JSON:API's included, joined by records.nest): several
    fields read `nguoi_nop[0].…`, and `nguoi_nop` is a list, not an object to look keys up in."""
    m = compile_yaml(
        """
        applicant.email: "nguoi_nop[0].attributes.thu"
        applicant.address: "nguoi_nop[0].attributes.dia_chi"
        applicant.phone: "nguoi_nop[-1].dien_thoai"
        """
    )
    person = {"attributes": {"thu": "hoa@example.vn", "dia_chi": "Thôn Đông"}, "dien_thoai": "0912000111"}
    d = m.normalize(minimal_record(nguoi_nop=[person]), "s").dossier
    assert d is not None
    assert (d.applicant.email, d.applicant.address, d.applicant.phone) == (
        "hoa@example.vn",
        "Thôn Đông",
        "0912000111",
    )


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        (50000, 50000),
        (50000.0, 50000),
        ("50000", 50000),
        ("50.000", 50000),
        ("1,250,000", 1250000),
        ("50.000,00", 50000),
        ("50000.00", 50000),
        ("50 000 đ", 50000),
        ("1.500.000 VNĐ", 1500000),
    ],
)
def test_decimal_amounts_are_whole_vnd(
    compile_yaml: Callable[..., CompiledMapping], raw: object, amount: int
) -> None:
    m = compile_yaml("fees: {path: fees, each: {name: ten, amount_vnd: {path: gia, type: decimal}}}\n")
    d = m.normalize(minimal_record(fees=[{"ten": "Lệ phí", "gia": raw}]), "s").dossier
    assert d is not None and d.fees[0].amount_vnd == amount


def test_conversion_errors(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(
        """
        processing_days: soNgay
        fees: {path: fees, each: {name: ten, amount_vnd: {path: gia, type: decimal}}}
        """
    )
    record = minimal_record(soNgay="ba", fees=[{"ten": "Phí", "gia": "12.5"}, {"gia": {"x": 1}}])
    assert errors_of(m, record) == [
        ("processing_days", "soNgay", "not an integer: 'ba'"),
        ("fees[0].amount_vnd", "fees[0].gia", "not a whole number of VND: '12.5'"),
        ("fees[1].name", "fees[1].ten", "missing"),
        ("fees[1].amount_vnd", "fees[1].gia", "not an amount: got an object"),
    ]


def test_each_field_is_reported_once(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml("history: {path: steps, each: {status: {const: 4}, at: when}}\n")
    record = minimal_record(
        steps=[{"when": "2025-03-12T08:20:00+07:00"}, {"when": "2025-13-01T00:00:00+07:00"}]
    )
    # The engine rejects history[1].at; the model would add "history.1.at: Field required": not repeated.
    assert errors_of(m, record) == [
        ("history[1].at", "steps[1].when", "impossible date '2025-13-01T00:00:00+07:00'")
    ]


def test_model_errors_are_mapped_back_to_fields_and_paths(
    compile_yaml: Callable[..., CompiledMapping],
) -> None:
    m = compile_yaml("summary: trichYeu\nsubmitted_at: nop\n")
    record = minimal_record(trichYeu="x" * 1001, received=None, proc="1.00065")
    outcome = m.normalize(record, "s")
    assert [(e.field, e.source_path, e.reason) for e in outcome.errors] == [
        ("procedure_code", "proc", "String should match pattern '^\\d\\.\\d{6}$'"),
        ("summary", "trichYeu", "longer than 1000 characters (1001)"),
    ]
    assert outcome.errors[1].value == "x" * 79 + "…"  # offending values are cut to 80 characters
    # a rule the model checks across fields names its field too
    assert errors_of(m, minimal_record(received=None)) == [
        ("received_at", "received", "neither a receipt nor a submission time")
    ]


def test_a_const(compile_yaml: Callable[..., CompiledMapping]) -> None:
    d = compile_yaml("dvhc_version: {const: '2025'}\n").normalize(minimal_record(), "s").dossier
    assert d is not None and d.dvhc_version == "2025" and d.channel is Channel.IN_PERSON


def test_the_generated_code_can_be_read(compile_yaml: Callable[..., CompiledMapping]) -> None:
    source = compile_yaml().source
    assert source.startswith("def normalize_t(src, ctx):")
    assert "# ma_ho_so <- fields.ma_ho_so" in source


def test_the_identity_of_a_raw_record_without_normalizing_it(
    compile_yaml: Callable[..., CompiledMapping],
) -> None:
    m = compile_yaml()
    record = minimal_record(id=17, code=None)  # not a valid dossier, but it has an identity
    assert m.record_id(record) == "17"
    assert m.updated_at(record) == m.normalize(minimal_record(), "s").source_updated_at
    assert m.record_id({"updated": "soon"}) is None and m.updated_at({"updated": "soon"}) is None
    assert m.record_id(["not a record"]) is None


def test_false_in_null_values_makes_a_json_false_no_value_as_odoo_writes_an_empty_field(
    compile_yaml: Callable[..., CompiledMapping],
) -> None:
    fields = "applicant.email: email\napplicant.phone: {path: [mobile, phone]}\nnote: ghi_chu\n"
    odoo = compile_yaml(fields, top="null_values: ['', false]\n")
    d = odoo.normalize(
        minimal_record(email=False, mobile=False, phone="0912000111", ghi_chu=False), "s"
    ).dossier
    assert d is not None and (d.applicant.email, d.applicant.phone, d.note) == (None, "0912000111", None)
    plain = compile_yaml(fields, name="t2")  # elsewhere false is a value: text "false", a wrong e-mail
    assert "applicant.email" in {e.field for e in plain.normalize(minimal_record(email=False), "s").errors}


NOTES_TABLE = """
    history:
      zip: {TrangThai: QT_TrangThai, ThoiDiem: QT_ThoiDiem, CanBo: QT_CanBo}
      each:
        status: {path: TrangThai, code: status}
        at: ThoiDiem
        actor: CanBo
        content: {path: $.code}
    fees:
      zip: {Ma: LP_Ma, SoTien: LP_SoTien}
      each: {name: Ma, code: Ma, amount_vnd: SoTien}
"""
NOTES_TABLES = """
code_tables:
  status: {target: status, values: {"1": 1, "2": 2, "4": 4}}
"""


def test_zip_makes_list_items_of_parallel_lists_as_lotus_notes_keeps_a_table(
    compile_yaml: Callable[..., CompiledMapping],
) -> None:
    """A Lotus Notes table is its columns' multi-value items (QT_TrangThai[i] beside QT_ThoiDiem[i]); Domino Access
    Services writes an item that holds one value bare, and an empty one as ""."""
    m = compile_yaml(NOTES_TABLE, NOTES_TABLES)
    record = minimal_record(
        QT_TrangThai=["1", "2", "4"],
        QT_ThoiDiem=["2025-03-12T01:00:00Z", "2025-03-12T01:15:00Z", "2025-03-13T02:00:00Z"],
        QT_CanBo=["Phạm Thị Huệ", "", "Đỗ Quang Vinh"],
        LP_Ma="LPXN",
        LP_SoTien=8000,
    )
    d = m.normalize(record, "s").dossier
    assert d is not None
    assert [(e.status, e.at.isoformat(), e.actor) for e in d.history] == [
        (1, "2025-03-12T08:00:00+07:00", "Phạm Thị Huệ"),
        (2, "2025-03-12T08:15:00+07:00", None),
        (4, "2025-03-13T09:00:00+07:00", "Đỗ Quang Vinh"),
    ]
    # `$.` reads the record
    assert {e.content for e in d.history} == {"000.00.14.H23-250312-0001"}
    assert [(f.code, f.amount_vnd) for f in d.fees] == [("LPXN", 8000)]

    # no value at all, or "" (Notes' empty item): no items
    d = m.normalize(minimal_record(QT_TrangThai="", QT_ThoiDiem="", LP_Ma=" "), "s").dossier
    assert d is not None and (d.history, d.fees) == ([], [])
    # a column without values beside the others: as many missing values (one step, its actor left empty)
    d = m.normalize(
        minimal_record(QT_TrangThai="2", QT_ThoiDiem="2025-03-12T01:15:00Z", QT_CanBo=""), "s"
    ).dossier
    assert d is not None and [(e.status, e.actor) for e in d.history] == [(2, None)]


def test_zip_refuses_lists_of_different_lengths_and_reports_item_errors_where_they_are(
    compile_yaml: Callable[..., CompiledMapping],
) -> None:
    m = compile_yaml(NOTES_TABLE, NOTES_TABLES)
    uneven = minimal_record(QT_TrangThai=["1", "2"], QT_ThoiDiem=["2025-03-12T01:00:00Z"] * 3, QT_CanBo="x")
    assert errors_of(m, uneven) == [
        (
            "history",
            "zip(TrangThai=QT_TrangThai, ThoiDiem=QT_ThoiDiem, CanBo=QT_CanBo)",
            "parallel lists of different lengths: QT_TrangThai has 2, QT_ThoiDiem has 3, QT_CanBo has 1",
        )
    ]
    bad_code = minimal_record(QT_TrangThai=["1", "9"], QT_ThoiDiem=["2025-03-12T01:00:00Z"] * 2)
    assert errors_of(m, bad_code) == [
        (
            "history[1].status",
            "zip(TrangThai=QT_TrangThai, ThoiDiem=QT_ThoiDiem, CanBo=QT_CanBo)[1].TrangThai",
            "unknown value '9' (not in code table status)",
        )
    ]
