"""The canonical provincial dossier (hồ sơ TTHC): what every source is normalized to (DOMAIN.md §5).

Field names are English snake_case; the portal's Vietnamese names live in connectors.portal. Validation
rejects what cannot be right (a 10-digit CCCD, a phone with letters) and *flags* what is merely unusual
(a non-standard MaHoSo, a backward status move), because real systems produce both.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from itertools import pairwise
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from schemas import jsontext
from schemas.codes import (
    USUAL_PAIRS,
    ApplicantType,
    Channel,
    DossierStatus,
    IdType,
    OnTime,
    ResultDelivery,
    is_usual_move,
)
from schemas.text_safety import CODE, FREE_TEXT, ascii_digits

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MA_HO_SO_STRICT = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[GH]\d{2}-\d{6}-\d{4,5}$")
NATIONAL_PROCEDURE_CODE = re.compile(r"^\d\.\d{6}$")
_DIGITS = re.compile(r"^[0-9]+$")
_TAX_CODE = re.compile(r"^[0-9]{10}(-[0-9]{3})?$")
_GROUPING = re.compile(r"[\s.\-]")  # how a number is written in groups: 030 187 004 219, 030-187-004-219
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def nfc(value: str) -> str:
    value = value.strip()
    return value if unicodedata.is_normalized("NFC", value) else unicodedata.normalize("NFC", value)


def hcm_default(value: datetime) -> datetime:
    """A time without a zone is Asia/Ho_Chi_Minh (DOMAIN.md §4.2)."""
    return value.replace(tzinfo=HCM) if value.tzinfo is None else value


def vn_phone(value: str) -> str:
    if value.isascii() and value.isdigit() and value[:1] == "0" and len(value) in (10, 11):
        return value  # already the normal form (the common case): what the steps below would return
    digits = re.sub(r"[\s.\-()]", "", ascii_digits(value))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not (_DIGITS.match(digits) and digits.startswith("0") and len(digits) in (10, 11)):
        raise ValueError("not a Vietnamese phone number (10 digits from 0, or 11 for a landline)")
    return digits


def email(value: str) -> str:
    if not value.isascii():  # full-width letters or ＠ typed on another keyboard: the same address
        value = unicodedata.normalize("NFKC", value)
    if not _EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value.lower()


_MA_HO_SO_CHARS = re.compile(r"[^\w.\-/ ]")
_SQL_LIKE = re.compile(
    r"--|/\*|\*/|\b(?:select|union|insert|update|delete|drop|alter|create|truncate|exec|execute|declare|grant"
    r"|revoke|merge|sleep|waitfor|pg_sleep|benchmark|shutdown)\s",
    re.IGNORECASE,
)


def dossier_code(value: str) -> str:
    """MaHoSo is a key at the portal and in our database: letters, digits, `.`, `-`, `_`, `/` and spaces only.
    Markup, quotes, SQL-looking text and the like are refused (the record is quarantined); a clean code of
    another shape than the standard one is only flagged (see Dossier._derive), as real systems produce those."""
    if MA_HO_SO_STRICT.match(value):
        return value
    bad = _MA_HO_SO_CHARS.search(value)
    if bad is not None:
        ch = bad[0]
        raise ValueError(
            f"character {ch!r} (U+{ord(ch):04X}) at position {bad.start() + 1} is not allowed in a dossier code"
            " (letters, digits, . - _ / and spaces)"
        )
    sql = _SQL_LIKE.search(value)
    if sql is not None:
        raise ValueError(f"SQL-looking text {sql[0].strip()!r} in a dossier code")
    return value


# -- text limits ------------------------------------------------------------------------------------------------
# Every text field has a maximum length in characters; a longer value quarantines its record (never truncated).
# The portal's contract (DOMAIN.md §2) gives TrichYeuHoSo ≤ 1000; MaHoSo's standard form has 25-26 characters
# and 60 leaves room for the variants real systems produce. The other bounds are ours, generous for real data
# and far below what would hurt (a row, a portal batch, an administrator's page): the source of each is beside it.
MA_HO_SO_MAX = 60  # standard code 25-26 characters; variants (DOMAIN.md §3) fit in 60
SUMMARY_MAX = 1000  # portal contract: TrichYeuHoSo ≤ 1000 characters (DOMAIN.md §2)
SOURCE_MAX = 100  # a source's registry name (config/sources.yaml)
RECORD_ID_MAX = 200  # a source system's own key: ObjectIds 24, GUIDs 36, composite keys more
CODE_MAX = 100  # codes: agency 13 (000.00.14.H56), localized procedure 22, inter-system and vendor codes more
UNIT_CODE_MAX = 20  # GSO unit codes: province 2, district 3, commune 5 digits
PROCEDURE_CODE_MAX = 20  # national procedure code d.dddddd (8; the pattern decides)
STATUS_RAW_MAX = 50  # a vendor's status as sent (12, DANG_XL, need_documents)
PROCEDURE_NAME_MAX = 1000  # national catalogue names run to a few hundred characters
UNIT_NAME_MAX = 500  # agency and field (lĩnh vực) names
NAME_MAX = 300  # people and organisations (a business's full name), positions, departments
ADDRESS_MAX = 500  # house, street, commune, district, province written out
LONG_TEXT_MAX = 4000  # notes, processing comments, supplement requests
DOCUMENT_NAME_MAX = 500  # a file name or a document's title
URL_MAX = 2048  # the de facto URL limit of browsers and HTTP servers
HASH_MAX = 128  # a SHA-256 in hex is 64; base64 and prefixed forms fit
ID_NUMBER_MAX = 20  # CCCD 12 digits, CMND 9, tax code 10 (+ "-NNN")
PHONE_MAX = 30  # as sent, before normalization: "(+84) 0912 345 678"
EMAIL_MAX = 254  # RFC 5321: the longest address a mail path carries
FLAG_MAX = 100  # derived flags (ma_ho_so_nonstandard, status_move:10->4)
FIX_FIELD_MAX = 200  # a canonical field path such as history[12].content
FIX_NAME_MAX = 50  # a text repair's name (nfc, tcvn3, vni, cp1258, utf8, eth, invisible; two joined by +)
# Integers: bounded so that canonical JSON, PostgreSQL and the portal's clients read them exactly.
MAX_SAFE_INT = 2**53 - 1  # the largest integer a JSON reader using doubles (JavaScript) keeps exact
SMALLINT = 2**15 - 1  # PostgreSQL smallint: vendor code numbers (fee method, fee type)
PROCESSING_DAYS_MAX = 3650  # a processing time limit of ten years is a typo, not a procedure

# Free text: stripped and NFC; the mapping engine removes invisible characters (recorded as a TextFix) and refuses
# control characters. Codes and identifiers: a control, invisible or line-break character is refused. Which is
# which is the FREE_TEXT / CODE metadata (schemas.text_safety), read by the engine when it compiles a mapping.
# Each free-text type carries its bound before the NFC validator, so that pydantic checks it in its own string
# validator (a bound given beside `| None` would cost a second Python call per field and record).
Name = Annotated[str, FREE_TEXT, Field(max_length=NAME_MAX), AfterValidator(nfc)]
UnitName = Annotated[str, FREE_TEXT, Field(max_length=UNIT_NAME_MAX), AfterValidator(nfc)]
ProcedureName = Annotated[str, FREE_TEXT, Field(max_length=PROCEDURE_NAME_MAX), AfterValidator(nfc)]
Summary = Annotated[str, FREE_TEXT, Field(max_length=SUMMARY_MAX), AfterValidator(nfc)]
Address = Annotated[str, FREE_TEXT, Field(max_length=ADDRESS_MAX), AfterValidator(nfc)]
LongText = Annotated[str, FREE_TEXT, Field(max_length=LONG_TEXT_MAX), AfterValidator(nfc)]
DocumentName = Annotated[str, FREE_TEXT, Field(max_length=DOCUMENT_NAME_MAX), AfterValidator(nfc)]
Code = Annotated[str, CODE]
Timestamp = Annotated[datetime, AfterValidator(hcm_default)]
Phone = Annotated[str, CODE, Field(max_length=PHONE_MAX), AfterValidator(vn_phone)]
Email = Annotated[str, CODE, Field(max_length=EMAIL_MAX), AfterValidator(email)]
DossierCode = Annotated[str, CODE, Field(max_length=MA_HO_SO_MAX), AfterValidator(dossier_code)]
Flag = Annotated[str, Field(max_length=FLAG_MAX)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=False)


class Applicant(_Model):
    """Chủ hồ sơ. id_number, phone and email are personal data: masked in logs and UI."""

    type: ApplicantType = ApplicantType.CITIZEN
    name: Name = Field(min_length=1)
    id_type: IdType | None = None
    id_number: Code | None = Field(default=None, max_length=ID_NUMBER_MAX)
    birth_date: date | None = None
    birth_date_precision: Literal["day", "month", "year"] | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    commune_code: Code | None = Field(default=None, max_length=UNIT_CODE_MAX)
    authorised_filer: Name | None = None

    @model_validator(mode="after")
    def _check_id(self) -> Applicant:
        self.id_number = check_id_number(self.type, self.id_type, self.id_number)
        return self


def check_id_number(applicant_type: int, id_type: int | None, n: str | None) -> str | None:
    """An applicant's id number in its normal form, which has the shape of its kind (a model rule;
    mappings.modelcheck calls it too): digits as ASCII, and a CCCD or CMND written in groups (030 187 004 219)
    as its digits alone."""
    if n is None:
        return None
    if not (n.isascii() and n.isdigit()):  # the common case is already the normal form
        n = ascii_digits(n)
    if applicant_type == ApplicantType.BUSINESS and id_type is None:
        if not _TAX_CODE.match(n):
            raise ValueError("id_number: a tax code has 10 digits (+ '-NNN')")
        return n
    if not _DIGITS.match(n) and _DIGITS.match(grouped := _GROUPING.sub("", n)):
        n = grouped
    if id_type == IdType.CMND:
        if not (_DIGITS.match(n) and len(n) == 9):
            raise ValueError("id_number: an old CMND has 9 digits")
    elif not (_DIGITS.match(n) and len(n) == 12):
        raise ValueError("id_number: a CCCD has 12 digits")
    return n


class StatusEvent(_Model):
    """One step of the processing history (append-only; the latest event wins)."""

    status: DossierStatus
    at: Timestamp
    status_raw: Code | None = Field(default=None, max_length=STATUS_RAW_MAX)
    actor: Name | None = None
    position: Name | None = None
    department: Name | None = None
    content: LongText | None = None
    due_at: Timestamp | None = None


class Document(_Model):
    name: DocumentName
    form_code: Code | None = Field(default=None, max_length=CODE_MAX)
    url: Code | None = Field(default=None, max_length=URL_MAX)
    size: int | None = Field(default=None, ge=0, le=MAX_SAFE_INT)
    sha256: Code | None = Field(default=None, max_length=HASH_MAX)


class Fee(_Model):
    name: Name
    code: Code | None = Field(default=None, max_length=CODE_MAX)
    amount_vnd: int = Field(ge=0, le=MAX_SAFE_INT)
    method: int | None = Field(default=None, ge=-SMALLINT - 1, le=SMALLINT)
    type: int | None = Field(default=None, ge=-SMALLINT - 1, le=SMALLINT)


class Supplement(_Model):
    requested_at: Timestamp | None = None
    received_at: Timestamp | None = None
    content: LongText | None = None


class ResultDoc(_Model):
    name: DocumentName
    number: Code | None = Field(default=None, max_length=CODE_MAX)
    url: Code | None = Field(default=None, max_length=URL_MAX)
    issued_at: Timestamp | None = None


class TextFix(_Model):
    """A repair applied to a text field at ingest (NFC, TCVN3/VNI/cp1258 decoding)."""

    field: Code = Field(max_length=FIX_FIELD_MAX)
    fix: Code = Field(max_length=FIX_NAME_MAX)


class Dossier(_Model):
    # identity
    source: Code = Field(min_length=1, max_length=SOURCE_MAX)
    source_record_id: Code = Field(min_length=1, max_length=RECORD_ID_MAX)
    ma_ho_so: DossierCode = Field(min_length=1)
    source_code: Code | None = Field(default=None, max_length=CODE_MAX)
    inter_system_code: Code | None = Field(default=None, max_length=CODE_MAX)
    # where
    agency_code: Code | None = Field(default=None, max_length=CODE_MAX)
    agency_name: UnitName | None = None
    province_code: Code | None = Field(default=None, max_length=UNIT_CODE_MAX)
    district_code: Code | None = Field(default=None, max_length=UNIT_CODE_MAX)
    commune_code: Code | None = Field(default=None, max_length=UNIT_CODE_MAX)
    dvhc_version: Literal["legacy", "2025"] = "legacy"
    # what
    procedure_code: Code = Field(pattern=NATIONAL_PROCEDURE_CODE.pattern, max_length=PROCEDURE_CODE_MAX)
    procedure_local_code: Code | None = Field(default=None, max_length=CODE_MAX)
    procedure_name: ProcedureName = Field(min_length=1)
    field_code: Code | None = Field(default=None, max_length=CODE_MAX)
    field_name: UnitName | None = None
    service_level: int | None = Field(default=None, ge=1, le=4)
    channel: Channel
    result_delivery: ResultDelivery | None = None
    summary: Summary | None = None
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
    processing_days: int | None = Field(default=None, ge=0, le=PROCESSING_DAYS_MAX)
    # state
    status: DossierStatus
    status_raw: Code | None = Field(default=None, max_length=STATUS_RAW_MAX)
    note: LongText | None = None
    # lists
    history: list[StatusEvent] = Field(default_factory=list)
    documents: list[Document] = Field(default_factory=list)
    fees: list[Fee] = Field(default_factory=list)
    supplements: list[Supplement] = Field(default_factory=list)
    results: list[ResultDoc] = Field(default_factory=list)
    # meta (part of the record; ingest metadata such as ingested_at lives in the database only)
    source_updated_at: Timestamp
    text_fixes: list[TextFix] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    on_time: OnTime = OnTime.NOT_YET_DUE  # derived from due vs finished/returned on validation

    @model_validator(mode="after")
    def _derive(self) -> Dossier:
        self.flags = derived_flags(
            self.ma_ho_so, self.received_at, self.submitted_at, [e.status for e in self.history], self.flags
        )
        self.on_time = on_time_of(self.due_at, self.finished_at, self.returned_at)
        return self

    @property
    def reference_date(self) -> datetime:
        """The date that decides administrative units: receipt, else submission (Contracts)."""
        return self.received_at or self.submitted_at  # type: ignore[return-value]

    def canonical_json(self) -> str:
        """Sorted, compact JSON of the record: what the content hash is computed over."""
        return jsontext.canonical(self.model_dump(mode="json"))


_DERIVED_FLAGS = ("ma_ho_so_nonstandard", "ma_ho_so_date_mismatch", "status_move:")


# The model's derivations as functions of plain values: Dossier._derive calls them, and so does the compiled
# check of mappings.modelcheck, which builds the canonical record without building the model.
def derived_flags(
    ma_ho_so: str,
    received_at: datetime | None,
    submitted_at: datetime | None,
    statuses: Iterable[int],
    flags: list[str],
) -> list[str]:
    if received_at is None and submitted_at is None:
        raise ValueError("received_at: neither a receipt nor a submission time")
    flags = [f for f in flags if not f.startswith(_DERIVED_FLAGS)]
    if not MA_HO_SO_STRICT.match(ma_ho_so):
        flags.append("ma_ho_so_nonstandard")
    elif received_at is not None:
        local = received_at.astimezone(HCM)
        # the code's yymmdd against the receipt day, as numbers (formatting the day cost more than the rest);
        # ASCII digits only: the pattern's \d also takes other scripts' digits, which int() would read
        day = ma_ho_so.split("-")[-2]
        if not day.isascii() or int(day) != (local.year % 100) * 10000 + local.month * 100 + local.day:
            flags.append("ma_ho_so_date_mismatch")
    for before, after in pairwise(statuses):
        # is_usual_move's own set, looked up inline (a call per event cost more); the call decides the rest
        if before != after and (before, after) not in USUAL_PAIRS and not is_usual_move(before, after):
            flags.append(f"status_move:{int(before)}->{int(after)}")
    return flags


def on_time_of(due_at: datetime | None, finished_at: datetime | None, returned_at: datetime | None) -> OnTime:
    done = finished_at or returned_at
    if due_at is None or done is None:
        return OnTime.NOT_YET_DUE
    if done.date() < due_at.date():
        return OnTime.EARLY
    return OnTime.ON_TIME if done <= due_at else OnTime.LATE


def content_hash(canonical_json: str) -> str:
    return hashlib.sha256(canonical_json.encode()).hexdigest()


def dossier_uid(source: str, source_record_id: str) -> str:
    """Stable id of a dossier: a hash of (source system, source record id)."""
    return hashlib.sha1(f"{source}\x1f{source_record_id}".encode()).hexdigest()[:24]


def mask(value: str | None, keep: int = 3) -> str | None:
    """Mask personal data for logs and UI: keep the last `keep` characters."""
    if not value:
        return value
    if "@" in value:
        user, _, domain = value.partition("@")
        return f"{user[:1]}***@{domain}"
    return "*" * max(len(value) - keep, 0) + value[-keep:]
