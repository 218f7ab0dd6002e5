"""A legacy ASP.NET district system: XML over HTTP, HTTP Basic auth, errors inside HTTP 200, receipt dates only.

    python -m onestop.simulators.legacy_xml --port 0 --seed 42 --count 2000 --district 288 [options]

    GET /DichVu/DanhSachHoSo.aspx?currPage=1&pageSize=200&tuNgay=dd/MM/yyyy&denNgay=dd/MM/yyyy
    <?xml version="1.0" encoding="utf-8"?>
    <KetQua><ErrorCode>0</ErrorCode><ErrorMessage/><TotalCount>n</TotalCount><currPage>1</currPage>
      <lastPage>k</lastPage><DanhSach><HoSo>…</HoSo>…</DanhSach></KetQua>

The only filter is a window of receipt days (tuNgay..denNgay, inclusive, Asia/Ho_Chi_Minh; either may be
left out): a dossier's receipt is its DateReceived, or its DateSubmitted while an online dossier waits for
intake. There is no filter on the last update. Pages count from 1 in (receipt, ID) order; lastPage is
ceil(TotalCount / pageSize) (0 for an empty window) and a page past it is empty. pageSize is capped at 1000.

Every answer is HTTP 200; a non-zero ErrorCode says what went wrong (ErrorMessage in Vietnamese):
    401  no or wrong HTTP Basic credentials
    100  currPage or pageSize is not a positive integer
    101  tuNgay or denNgay is not a dd/MM/yyyy date
    102  tuNgay is after denNgay

Content is onestop.simulators.igate_data's, re-shaped: UPPERCASE and English PascalCase elements, dates as
dd/MM/yyyy HH:mm (DateAppointed dd/MM/yyyy, LastModified with seconds), STATUS strings, this vendor's
channel numbers (1 online, 2 in person, 3 postal). Like a migrated database, a deterministic share of rows
carries its free text (ApplicantName, Summary, Address, Note) in NFD (--nfd-rate), as TCVN3 or VNI bytes
read as Windows-1252 (--tcvn3-rate, --vni-rate), or as UTF-8 read as Windows-1252 (--utf8-rate: rows a PHP
front end once wrote through a latin1 MySQL connection). A row gets legacy bytes only where they are visibly broken
(some word is no Vietnamese syllable) and decode back exactly: mojibake that reads as valid Vietnamese
(VNI `Hoà Thò Lan` for `Hồ Thị Lan`) cannot be repaired by anyone, so its ground truth would be unknowable.
/_sim/truth is JSON Lines like the iGate simulator's, plus applicant_name (NFC), receiptDate and text (the
damage: null, nfd, tcvn3, vni or utf8).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import math
import random
import re
import unicodedata
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request
from starlette.responses import Response

from mappings.legacy_text import (
    decode_tcvn3,
    decode_vni,
    encode_tcvn3,
    encode_vni,
    looks_vietnamese,
    read_as_cp1252,
)
from onestop.simulators import _common as common
from onestop.simulators.igate_calendar import TZ
from onestop.simulators.igate_data import EVENT_WINDOW, DossierGenerator, index_in_background
from onestop.simulators.igate_records import VENDOR_STATUS_TO_CANONICAL

RESOURCE = "/DichVu/DanhSachHoSo.aspx"
MAX_PAGE_SIZE = 1000
OK, AUTH_FAILED, BAD_PAGING, BAD_DATE, BAD_RANGE = 0, 401, 100, 101, 102
STATUS = {
    1: "MOI_DANG_KY",
    2: "MOI_TIEP_NHAN",
    3: "TU_CHOI",
    4: "DANG_XL",
    5: "CHO_BS",
    6: "CHO_NVTC",
    7: "RUT_HS",
    8: "DUNG_XL",
    9: "DA_XL",
    10: "DA_TRAKQ",
}
UNKNOWN_STATUS = "KHONG_XAC_DINH"
CHANNEL = {0: "2", 1: "1", 2: "3"}  # iGate applyMethod (0 in person, 1 online, 2 postal) -> this vendor's
RETURN_METHOD = {0: "TAI_QUAY", 1: "BUU_DIEN"}
APPLICANT_TYPE = {1: "Công dân", 2: "Doanh nghiệp", 3: "Cơ quan nhà nước", 4: "Tổ chức khác"}
NOT_RECEIVED = frozenset({1, 3, 7})  # submitted online, refused at intake, withdrawn before intake
_DAY = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_LEGACY = {"tcvn3": (encode_tcvn3, decode_tcvn3), "vni": (encode_vni, decode_vni)}


@dataclass(frozen=True)
class LegacySettings(common.SimulatorSettings):
    username: str = "aspnet"
    password: str = "secret"
    nfd_rate: float = 0.10
    tcvn3_rate: float = 0.05
    vni_rate: float = 0.05
    utf8_rate: float = 0.03


# --- the vendor's formats ----------------------------------------------------------------------------------
def dmy(iso: str) -> str:
    """`2025-03-12T08:15:00+07:00` -> `12/03/2025` (the generator writes +07:00 times: slicing is enough)."""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"


def dmy_hm(iso: str) -> str:
    return f"{dmy(iso)} {iso[11:16]}"


def dmy_hms(iso: str) -> str:
    return f"{dmy(iso)} {iso[11:19]}"


def _el(name: str, value: Any) -> str:
    """An element; None is an empty element (the way this vendor writes a null)."""
    if value is None or value == "":
        return f"<{name} />"
    return f"<{name}>{escape(str(value))}</{name}>"


def damage(value: str, kind: str | None) -> str:
    """Text as a migrated row holds it: NFD, or TCVN3/VNI/UTF-8 bytes shown by a Windows-1252 reader."""
    if kind is None:
        return value
    if kind == "nfd":
        return unicodedata.normalize("NFD", value)
    if kind == "utf8":
        return read_as_cp1252(value.encode())
    return read_as_cp1252(_LEGACY[kind][0](value))


def _legacy_is_fair(value: str, kind: str) -> bool:
    """Legacy bytes that decode back exactly and look broken to a reader (see the module docstring)."""
    encode, decode = _LEGACY[kind]
    try:
        data = encode(value)
    except ValueError:
        return False
    shown = read_as_cp1252(data)
    return decode(data) == unicodedata.normalize("NFC", value) and (
        value.isascii() or not looks_vietnamese(shown)
    )


class LegacyShop:
    """The system's data: iGate-generated dossiers, re-shaped and queried by receipt day."""

    def __init__(self, settings: LegacySettings) -> None:
        self.settings = settings
        self.gen = DossierGenerator(settings.generator)
        index_in_background(self.gen)
        self.district = settings.generator.district
        self._phase = random.Random(f"{settings.generator.seed}:text").random()
        self._cache: OrderedDict[tuple, array] = OrderedDict()

    # -- receipt window ----------------------------------------------------------------------------------------
    def record_id(self, i: int) -> str:
        """A numeric identity column, fixed width so text order is index order."""
        return f"{int(self.district)}{i + 1:08d}"

    def receipt(self, i: int, clock: int) -> int:
        """DateReceived (the first intake event visible at clock), else DateSubmitted."""
        t0, times, statuses, *_ = self.gen._timeline(i)  # the cheap part of a record: no content drawn
        for t, s in zip(times, statuses, strict=True):
            if t > clock:
                break
            if s not in NOT_RECEIVED:
                return t
        return t0

    def matching(self, lo: float | None, hi: float | None, clock: int) -> array:
        """Indices whose receipt at clock lies in [lo, hi], in (receipt, ID) order; a small LRU keeps them."""
        key = (lo, hi, clock)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        top = clock if hi is None else min(hi, clock)
        gen = self.gen
        # Intake follows submission within the event window: earlier submissions cannot be received in range.
        i0 = 0 if lo is None else gen.first_index_at_or_after(lo - EVENT_WINDOW)
        i1 = gen.first_index_after(top)
        keys = []
        for i in range(i0, i1):
            t = self.receipt(i, clock)
            if (lo is None or t >= lo) and t <= top:
                keys.append((t << 24) | i)
        keys.sort()
        result = array("l", [k & 0xFFFFFF for k in keys])
        self._cache[key] = result
        if len(self._cache) > 8:
            self._cache.popitem(last=False)
        return result

    # -- records -----------------------------------------------------------------------------------------------
    def text_kind(self, i: int) -> str | None:
        """The damage planned for row i: a Weyl sequence, so every stretch of rows holds close to each share."""
        s = self.settings
        u = ((i + 1) * 0.41421356237309503 + self._phase) % 1.0
        for kind, rate in (
            ("nfd", s.nfd_rate),
            ("tcvn3", s.tcvn3_rate),
            ("vni", s.vni_rate),
            ("utf8", s.utf8_rate),
        ):
            if u < rate:
                return kind
            u -= rate
        return None

    def record(self, i: int, clock: int) -> tuple[str, dict[str, Any]] | None:
        """(the <HoSo> element, what the truth adds) for row i as visible at clock; None if not yet received."""
        rec = self.gen.record(i, clock)
        if rec is None:
            return None
        app = rec["applicant"]
        address = app["address"]
        texts = {
            "ApplicantName": app["fullname"],
            "Summary": rec["summary"],
            "Address": ", ".join(
                (
                    address["address"],
                    address["ward"]["name"],
                    address["district"]["name"],
                    address["province"]["name"],
                )
            ),
            "Note": rec.get("note"),
        }
        kind = self.text_kind(i)
        if kind in _LEGACY and not all(v is None or _legacy_is_fair(v, kind) for v in texts.values()):
            kind = None
        shown = {k: None if v is None else damage(v, kind) for k, v in texts.items()}
        status = rec["dossierStatus"]["id"]
        canonical = VENDOR_STATUS_TO_CANONICAL.get(status)
        parts = [
            _el("ID", self.record_id(i)),
            _el("DocCode", rec["code"]) if "code" in rec else "",
            _el("MATTHC", rec["procedure"]["code"]) if "nationCode" in rec["procedure"] else "",
            _el("TENTTHC", rec["procedure"]["name"]),
            _el("FieldCode", rec["sector"]["code"]),
            _el("FieldName", rec["sector"]["name"]),
            _el("AgencyCode", rec["agency"]["code"]),
            _el("AgencyName", rec["agency"]["name"]),
            _el("ServiceLevel", rec["serviceLevel"]),
            _el("Channel", CHANNEL[rec["applyMethod"]["id"]]),
            _el("ReturnMethod", RETURN_METHOD[rec["receivingKind"]]),
            _el("ApplicantType", APPLICANT_TYPE[app["type"]]),
            _el("ApplicantName", shown["ApplicantName"]),
            _el("IdType", app["identityType"]),
            _el("IdNumber", app["identityNumber"]),
            _el("BirthDate", dmy(app["birthday"])),
            _el("Phone", app["phone"]),
            _el("Email", app.get("email")),
            _el("Address", shown["Address"]),
            _el("CommuneCode", address["ward"]["code"]),
            _el("DistrictCode", address["district"]["code"]),
            _el("ProvinceCode", address["province"]["code"]),
            _el("Summary", shown["Summary"]),
            _el("DateSubmitted", dmy_hm(rec["appliedDate"])),
            _el("DateReceived", dmy_hm(rec["acceptedDate"]) if "acceptedDate" in rec else None),
            _el("DateAppointed", dmy(rec["appointmentDate"]) if "appointmentDate" in rec else None),
            _el("DateFinished", dmy_hm(rec["completedDate"]) if "completedDate" in rec else None),
            _el("DateReturned", dmy_hm(rec["returnedDate"]) if "returnedDate" in rec else None),
            _el("DateCancelled", dmy_hm(rec["cancelledDate"]) if "cancelledDate" in rec else None),
            _el("STATUS", STATUS[canonical] if canonical is not None else UNKNOWN_STATUS),
            _el("Note", shown["Note"]),
            _el("LastModified", dmy_hms(rec["updatedDate"])),
            "<History>",
            *(self._step(step) for step in rec["history"]),
            "</History><Files>",
            *(self._file(f) for f in rec["attachments"]),
            "</Files><Fees>",
            *(self._fee(f) for f in rec["fees"]),
            "</Fees>",
        ]
        extra = {
            "applicant_name": unicodedata.normalize("NFC", texts["ApplicantName"]),
            "receiptDate": self.gen.iso(self.receipt(i, clock)),
            "text": kind,
        }
        return "<HoSo>" + "".join(parts) + "</HoSo>", extra

    @staticmethod
    def _step(step: dict[str, Any]) -> str:
        return (
            "<Step>"
            + _el("STATUS", STATUS[VENDOR_STATUS_TO_CANONICAL[step["status"]]])
            + _el("Time", dmy_hm(step["createdDate"]))
            + _el("Actor", step["user"]["fullname"])
            + _el("Position", step["position"])
            + _el("Department", step["department"])
            + _el("Content", step["content"])
            + "</Step>"
        )

    def _file(self, f: dict[str, Any]) -> str:
        url = f["url"].replace("http://igate.local/files/", f"http://motcua{self.district}.local/Upload/")
        return (
            "<File>"
            + _el("FileName", f["filename"])
            + _el("FormCode", f["formCode"])
            + _el("Url", url)
            + _el("Size", f["size"])
            + "</File>"
        )

    @staticmethod
    def _fee(f: dict[str, Any]) -> str:
        amount = f"{f['amount']:,}".replace(",", ".")  # 50.000: the Vietnamese thousands separator
        return (
            "<Fee>"
            + _el("FeeCode", f["code"])
            + _el("FeeName", f["name"])
            + _el("Amount", amount)
            + _el("PayMethod", f["method"])
            + _el("FeeType", f["type"])
            + "</Fee>"
        )

    def truth(self, i: int, clock: int) -> dict[str, Any] | None:
        base = self.gen.truth(i, clock)
        built = self.record(i, clock)
        if base is None or built is None:
            return None
        return {**base, "id": self.record_id(i), **built[1]}


# --- HTTP -------------------------------------------------------------------------------------------------------
@dataclass
class _State:
    shop: LegacyShop
    clock: int
    stats: dict[str, int] = field(
        default_factory=lambda: {"requests": 0, "unauthorized": 0, "errors": 0, "records_served": 0}
    )


def answer(
    code: int, message: str = "", total: int = 0, page: int = 0, last: int = 0, rows: str = ""
) -> Response:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><KetQua>'
        f"{_el('ErrorCode', str(code))}{_el('ErrorMessage', message)}<TotalCount>{total}</TotalCount>"
        f"<currPage>{page}</currPage><lastPage>{last}</lastPage><DanhSach>{rows}</DanhSach></KetQua>"
    )
    return Response(body.encode("utf-8"), media_type="text/xml; charset=utf-8")


class QueryError(Exception):
    """A request the system answers with a non-zero ErrorCode (still HTTP 200)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def page_params(q: Any) -> tuple[int, int, float | None, float | None]:
    """(currPage, pageSize, start of tuNgay, end of denNgay as epoch seconds); QueryError when wrong."""
    try:
        current, size = int(q.get("currPage", "1")), int(q.get("pageSize", "20"))
    except ValueError:
        current = size = 0
    if current < 1 or size < 1:
        raise QueryError(BAD_PAGING, "Tham số currPage/pageSize phải là số nguyên dương")
    bounds: list[float | None] = []
    for name, at in (("tuNgay", time(0, 0)), ("denNgay", time(23, 59, 59))):
        raw = (q.get(name) or "").strip()
        if not raw:
            bounds.append(None)
            continue
        try:
            if not _DAY.match(raw):
                raise ValueError(raw)
            day = date(int(raw[6:]), int(raw[3:5]), int(raw[:2]))
        except ValueError:
            raise QueryError(
                BAD_DATE, f"Tham số {name} không đúng định dạng ngày dd/MM/yyyy: '{raw}'"
            ) from None
        bounds.append(datetime.combine(day, at, TZ).timestamp())
    lo, hi = bounds
    if lo is not None and hi is not None and lo > hi:
        raise QueryError(BAD_RANGE, "Tham số tuNgay lớn hơn denNgay")
    return current, min(size, MAX_PAGE_SIZE), lo, hi


def create_app(settings: LegacySettings) -> FastAPI:
    shop = LegacyShop(settings)
    state = _State(shop=shop, clock=settings.initial_clock())
    expected = f"{settings.username}:{settings.password}".encode()
    app = FastAPI(title="Legacy ASP.NET simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = state

    def authorized(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        if auth[:6].lower() != "basic ":
            return False
        try:
            given = base64.b64decode(auth[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, expected)

    def failed(code: int, message: str) -> Response:
        state.stats["errors"] += 1
        return answer(code, message)

    @app.get(RESOURCE)
    async def page(request: Request) -> Response:
        state.stats["requests"] += 1
        await common.pause(settings.latency_ms)
        if not authorized(request):
            state.stats["unauthorized"] += 1
            return failed(AUTH_FAILED, "Chưa xác thực: sai tên đăng nhập hoặc mật khẩu (Unauthorized)")
        try:
            current, size, lo, hi = page_params(request.query_params)
        except QueryError as exc:
            return failed(exc.code, exc.message)
        clock_now = state.clock
        indices = shop.matching(lo, hi, clock_now)
        rows = []
        for i in indices[(current - 1) * size : current * size]:
            built = shop.record(i, clock_now)
            if built is not None:
                rows.append(built[0])
        state.stats["records_served"] += len(rows)
        return answer(OK, "", len(indices), current, math.ceil(len(indices) / size), "".join(rows))

    common.add_sim_routes(app, state, shop.gen, truth_row=shop.truth, truth_batch=500)
    return app


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not within [0, 1]")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = common.new_parser("onestop.simulators.legacy_xml", __doc__)
    common.add_dossier_options(p)
    p.add_argument("--username", default="aspnet", help="HTTP Basic user")
    p.add_argument("--password", default="secret", help="HTTP Basic password")
    common.add_clock_options(p, latency_help="ms added to each data request", share=_rate)
    p.add_argument("--nfd-rate", type=_rate, default=0.10, help="share of rows with NFD text")
    p.add_argument("--tcvn3-rate", type=_rate, default=0.05, help="share of rows with TCVN3 mojibake")
    p.add_argument("--vni-rate", type=_rate, default=0.05, help="share of rows with VNI mojibake")
    p.add_argument("--utf8-rate", type=_rate, default=0.03, help="share of rows with UTF-8 mojibake")
    return p


def _complaint(args: argparse.Namespace) -> str | None:
    if args.nfd_rate + args.tcvn3_rate + args.vni_rate + args.utf8_rate > 1:
        return "--nfd-rate + --tcvn3-rate + --vni-rate + --utf8-rate must not exceed 1"
    return None


def main(argv: list[str] | None = None) -> None:
    # Every rate is checked as it is parsed (_rate).
    common.run(build_parser(), argv, LegacySettings, create_app, shares=(), complaint=_complaint)


if __name__ == "__main__":
    main()
