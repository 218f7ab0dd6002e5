"""The canonical dossier: what it rejects, what it only flags, and how it normalizes."""

from __future__ import annotations

import json
import unicodedata

import pytest
from pydantic import ValidationError

from schemas import Dossier, DossierStatus, OnTime, content_hash, mask
from schemas.codes import is_usual_move


def dossier(**overrides) -> Dossier:
    data = {
        "source": "hd_thanh_pho_hai_duong",
        "source_record_id": "64f1c0a1b2c3d4e5f6a7b8c9",
        "ma_ho_so": "000.00.14.H23-250312-0118",
        "procedure_code": "1.000656",
        "procedure_name": "Đăng ký khai sinh",
        "channel": 2,
        "status": 4,
        "applicant": {
            "name": "Nguyễn Văn An",
            "id_type": 1,
            "id_number": "030085001234",
            "phone": "+84 912 345 678",
        },
        "received_at": "2025-03-12T08:15:00",
        "due_at": "2025-03-20T17:00:00+07:00",
        "source_updated_at": "2025-03-13T09:00:00+07:00",
        "history": [{"status": 2, "at": "2025-03-12T08:15:00"}, {"status": 4, "at": "2025-03-12T09:00:00"}],
    }
    data.update(overrides)
    return Dossier.model_validate(data)


def test_a_time_without_a_zone_is_ho_chi_minh_time() -> None:
    d = dossier()
    assert d.received_at.isoformat() == "2025-03-12T08:15:00+07:00"


def test_phones_are_normalized_and_ids_checked() -> None:
    assert dossier().applicant.phone == "0912345678"
    with pytest.raises(ValidationError, match="CCCD has 12 digits"):
        dossier(applicant={"name": "A", "id_type": 1, "id_number": "0300850012"})
    with pytest.raises(ValidationError, match="phone"):
        dossier(applicant={"name": "A", "phone": "09-ABC"})


@pytest.mark.parametrize(
    ("id_number", "phone"),
    [("030085001234", "0912345678"), ("030 085 001 234", "0912 345 678"), ("030-085-001-234", "(+84) 912-345-678"),
     ("０３００８５００１２３４", "０９１２３４５６７８"), ("٠٣٠٠٨٥٠٠١٢٣٤", "+٨٤ ٩١٢ ٣٤٥ ٦٧٨")],
    ids=["plain", "grouped", "dashed", "full-width", "arabic-indic"],
)  # fmt: skip
def test_a_citizen_id_and_a_phone_are_the_same_number_however_they_are_written(
    id_number: str, phone: str
) -> None:
    """Digits of any script are stored, hashed and sent to the portal as ASCII (a full-width keyboard's were
    stored as typed, and a phone's refused); a CCCD written in groups is its digits."""
    applicant = dossier(
        applicant={"name": "A", "id_type": 1, "id_number": id_number, "phone": phone}
    ).applicant
    assert (applicant.id_number, applicant.phone) == ("030085001234", "0912345678")


@pytest.mark.parametrize(
    ("applicant", "says"),
    [({"id_type": 1, "id_number": "O30085001234"}, "CCCD has 12 digits"),  # a letter O
     ({"id_type": 1, "id_number": "030 085 001 23"}, "CCCD has 12 digits"),
     ({"id_type": 2, "id_number": "201 857 369 1"}, "CMND has 9 digits"),
     ({"type": 2, "id_number": "0101234567 - 001"}, "tax code has 10 digits")],
    ids=["a-letter", "eleven-digits", "ten-digit-cmnd", "a-spaced-tax-code"],
)  # fmt: skip
def test_a_number_that_is_not_its_kind_s_is_refused_however_it_is_grouped(applicant: dict, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        dossier(applicant={"name": "A", **applicant})


def test_text_becomes_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    assert dossier(applicant={"name": nfd}).applicant.name == "Nguyễn Thị Ánh"


def test_unusual_status_moves_are_flagged_never_rejected() -> None:
    d = dossier(history=[{"status": 9, "at": "2025-03-12T08:00:00"}, {"status": 10, "at": "2025-03-13T08:00:00"},
                         {"status": 4, "at": "2025-03-14T08:00:00"}])  # fmt: skip
    assert d.flags == ["status_move:10->4"]
    assert is_usual_move(1, 2) and not is_usual_move(10, 4)
    assert DossierStatus.RETURNED.final and DossierStatus(4).label == "Đang xử lý"


def test_a_nonstandard_or_misdated_ma_ho_so_is_flagged() -> None:
    assert "ma_ho_so_nonstandard" in dossier(ma_ho_so="HS-2025-000118").flags
    assert "ma_ho_so_date_mismatch" in dossier(ma_ho_so="000.00.14.H23-250313-0118").flags
    assert dossier().flags == []


def test_every_failing_field_is_reported() -> None:
    with pytest.raises(ValidationError) as info:
        Dossier.model_validate({"source": "x", "source_record_id": "1", "procedure_code": "1.0006"})
    failing = {".".join(map(str, e["loc"])) for e in info.value.errors()}
    assert {
        "ma_ho_so",
        "procedure_code",
        "procedure_name",
        "channel",
        "status",
        "applicant",
        "source_updated_at",
    } <= failing


def test_on_time_is_derived_from_due_and_finished() -> None:
    assert dossier(finished_at="2025-03-18T10:00:00").on_time == OnTime.EARLY
    assert dossier(finished_at="2025-03-20T16:00:00").on_time == OnTime.ON_TIME
    assert dossier(finished_at="2025-03-21T08:00:00").on_time == OnTime.LATE
    assert dossier().on_time == OnTime.NOT_YET_DUE


def test_the_content_hash_ignores_nothing_but_changes_with_content() -> None:
    a, b = dossier(), dossier()
    assert content_hash(a.canonical_json()) == content_hash(b.canonical_json())
    assert content_hash(dossier(status=9).canonical_json()) != content_hash(a.canonical_json())
    assert json.loads(a.canonical_json())["received_at"] == "2025-03-12T08:15:00+07:00"
    assert Dossier.model_validate_json(a.canonical_json()) == a  # round-trips


def test_personal_data_masks() -> None:
    assert mask("030085001234") == "*********234"
    assert mask("an.nguyen@example.vn") == "a***@example.vn"


def test_json_schema_export_names_every_field() -> None:
    schema = Dossier.model_json_schema()
    assert {"ma_ho_so", "applicant", "history", "source_updated_at"} <= set(schema["properties"])


def test_an_email_typed_on_a_full_width_keyboard_is_the_same_address() -> None:
    assert dossier(applicant={"name": "A", "email": "ａｎ＠ｇｍａｉｌ.com"}).applicant.email == "an@gmail.com"
    assert dossier(applicant={"name": "A", "email": "an@bộcôngan.vn"}).applicant.email == "an@bộcôngan.vn"
