"""The canonical provincial dossier (hồ sơ TTHC): what every source is normalized to (DOMAIN.md §5).

Field names are English snake_case; the portal's Vietnamese names live in connectors.portal. Validation
rejects what cannot be right (a 10-digit CCCD, a phone with letters) and *flags* what is merely unusual
(a non-standard MaHoSo, a backward status move), because real systems produce both.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from schemas import jsontext
from schemas.codes import (
    ApplicantType,
    Channel,
    DossierStatus,
    IdType,
    OnTime,
    ResultDelivery,
    is_usual_move,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MA_HO_SO_STRICT = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[GH]\d{2}-\d{6}-\d{4,5}$")
NATIONAL_PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")
_DIGITS = re.compile(r"^\d+$")
_TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def nfc(value: str) -> str:
    value = value.strip()
    return value if unicodedata.is_normalized("NFC", value) else unicodedata.normalize("NFC", value)


def hcm_default(value: datetime) -> datetime:
    """A time without a zone is Asia/Ho_Chi_Minh (DOMAIN.md §4.2)."""
    return value.replace(tzinfo=HCM) if value.tzinfo is None else value


def vn_phone(value: str) -> str:
    digits = re.sub(r"[\s.\-()]", "", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not (_DIGITS.match(digits) and digits.startswith("0") and len(digits) in (10, 11)):
        raise ValueError("not a Vietnamese phone number (10 digits from 0, or 11 for a landline)")
    return digits


def email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value.lower()


Text = Annotated[str, AfterValidator(nfc)]
Timestamp = Annotated[datetime, AfterValidator(hcm_default)]
Phone = Annotated[str, AfterValidator(vn_phone)]
Email = Annotated[str, AfterValidator(email)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=False)


class Applicant(_Model):
    """Chủ hồ sơ. id_number, phone and email are personal data: masked in logs and UI."""

    type: ApplicantType = ApplicantType.CITIZEN
    name: Text = Field(min_length=1)
    id_type: IdType | None = None
    id_number: str | None = None
    birth_date: date | None = None
    birth_date_precision: Literal["day", "month", "year"] | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Text | None = None
    commune_code: str | None = None
    authorised_filer: Text | None = None

    @model_validator(mode="after")
    def _check_id(self) -> Applicant:
        n = self.id_number
        if n is None:
            return self
        if self.type == ApplicantType.BUSINESS and self.id_type is None:
            if not _TAX_CODE.match(n):
                raise ValueError("id_number: a tax code has 10 digits (+ '-NNN')")
        elif self.id_type == IdType.CMND:
            if not (_DIGITS.match(n) and len(n) == 9):
                raise ValueError("id_number: an old CMND has 9 digits")
        elif not (_DIGITS.match(n) and len(n) == 12):
            raise ValueError("id_number: a CCCD has 12 digits")
        return self


class StatusEvent(_Model):
    """One step of the processing history (append-only; the latest event wins)."""

    status: DossierStatus
    at: Timestamp
    status_raw: str | None = None
    actor: Text | None = None
    position: Text | None = None
    department: Text | None = None
    content: Text | None = None
    due_at: Timestamp | None = None


class Document(_Model):
    name: Text
    form_code: str | None = None
    url: str | None = None
    size: int | None = None
    sha256: str | None = None


class Fee(_Model):
    name: Text
    code: str | None = None
    amount_vnd: int = Field(ge=0)
    method: int | None = None
    type: int | None = None


class Supplement(_Model):
    requested_at: Timestamp | None = None
    received_at: Timestamp | None = None
    content: Text | None = None


class ResultDoc(_Model):
    name: Text
    number: str | None = None
    url: str | None = None
    issued_at: Timestamp | None = None


class TextFix(_Model):
    """A repair applied to a text field at ingest (NFC, TCVN3/VNI/cp1258 decoding)."""

    field: str
    fix: str


class Dossier(_Model):
    # identity
    source: str = Field(min_length=1)
    source_record_id: str = Field(min_length=1)
    ma_ho_so: str = Field(min_length=1, max_length=60)
    source_code: str | None = None
    inter_system_code: str | None = None
    # where
    agency_code: str | None = None
    agency_name: Text | None = None
    province_code: str | None = None
    district_code: str | None = None
    commune_code: str | None = None
    dvhc_version: Literal["legacy", "2025"] = "legacy"
    # what
    procedure_code: str = Field(pattern=NATIONAL_PROCEDURE_CODE.pattern)
    procedure_local_code: str | None = None
    procedure_name: Text = Field(min_length=1)
    field_code: str | None = None
    field_name: Text | None = None
    service_level: int | None = Field(default=None, ge=1, le=4)
    channel: Channel
    result_delivery: ResultDelivery | None = None
    summary: Text | None = Field(default=None, max_length=1000)
    # who
    applicant: Applicant
    # when
    submitted_at: Timestamp | None = None
    received_at: Timestamp | None = None
    due_at: Timestamp | None = None
    supplement_requested_at: Timestamp | None = None
    refused_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    returned_at: Timestamp | None = None
    processing_days: int | None = Field(default=None, ge=0)
    # state
    status: DossierStatus
    status_raw: str | None = None
    note: Text | None = None
    # lists
    history: list[StatusEvent] = Field(default_factory=list)
    documents: list[Document] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    supplements: list[Supplement] = Field(default_factory=list)
    results: list[ResultDoc] = Field(default_factory=list)
    # meta (part of the record; ingest metadata such as ingested_at lives in the database only)
    source_updated_at: Timestamp
    text_fixes: list[TextFix] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    on_time: OnTime = OnTime.NOT_YET_DUE  # derived from due vs finished/returned on validation

    @model_validator(mode="after")
    def _derive(self) -> Dossier:
        if self.received_at is None and self.submitted_at is None:
            raise ValueError("received_at: neither a receipt nor a submission time")
        flags = [f for f in self.flags if not f.startswith(_DERIVED_FLAGS)]
        if not MA_HO_SO_STRICT.match(self.ma_ho_so):
            flags.append("ma_ho_so_nonstandard")
        elif self.received_at is not None:
            day = self.received_at.astimezone(HCM).strftime("%y%m%d")
            if self.ma_ho_so.split("-")[-2] != day:
                flags.append("ma_ho_so_date_mismatch")
        previous = None
        for event in self.history:
            if previous is not None and not is_usual_move(previous, event.status):
                flags.append(f"status_move:{int(previous)}->{int(event.status)}")
            previous = event.status
        self.flags = flags
        self.on_time = self._on_time()
        return self

    def _on_time(self) -> OnTime:
        done = self.finished_at or self.returned_at
        if self.due_at is None or done is None:
            return OnTime.NOT_YET_DUE
        if done.date() < self.due_at.date():
            return OnTime.EARLY
        return OnTime.ON_TIME if done <= self.due_at else OnTime.LATE

    @property
    def reference_date(self) -> datetime:
        """The date that decides administrative units: receipt, else submission (Contracts)."""
        return self.received_at or self.submitted_at  # type: ignore[return-value]

    def canonical_json(self) -> str:
        """Sorted, compact JSON of the record: what the content hash is computed over."""
        return jsontext.canonical(self.model_dump(mode="json"))


_DERIVED_FLAGS = ("ma_ho_so_nonstandard", "ma_ho_so_date_mismatch", "status_move:")


def content_hash(canonical_json: str) -> str:
    return hashlib.sha256(canonical_json.encode()).hexdigest()


def dossier_uid(source: str, source_record_id: str) -> str:
    """Stable id of a dossier: a hash of (source system, source record id)."""
    return hashlib.sha1(f"{source}\x1f{source_record_id}".encode()).hexdigest()[:24]


def citizen_id_hash(id_number: str) -> str:
    """How a citizen ID is matched without being stored in a searchable clear form."""
    return hashlib.sha256(f"cccd:{id_number}".encode()).hexdigest()


def mask(value: str | None, keep: int = 3) -> str | None:
    """Mask personal data for logs and UI: keep the last `keep` characters."""
    if not value:
        return value
    if "@" in value:
        user, _, domain = value.partition("@")
        return f"{user[:1]}***@{domain}"
    return "*" * max(len(value) - keep, 0) + value[-keep:]
