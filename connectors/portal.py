"""The National Public Service Portal (Cổng DVC quốc gia) adapter, DOMAIN.md §2.

Login gives a session that expires: it is cached and renewed when the portal says so. Every write is a POST
to /integration whose errors come back inside HTTP 200. Dossiers go in batches (DongBoHoSoMC); a create that
the portal already holds ("already exists") is sent again as an update; progress (CapNhatTienDoHoSoMC) follows
its dossier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from connectors.connection import Connection
from connectors.errors import AuthError, ProtocolError, TransientError
from connectors.http import HttpClient
from schemas.dossier import HCM

SESSION_EXPIRED = {"-2"}
ALREADY_EXISTS = {"3", "-3"}
NOT_FOUND = {"-4"}


def portal_time(value: str | None) -> str | None:
    """ISO (as stored in the canonical record) → yyyyMMddHHmmss in Asia/Ho_Chi_Minh."""
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(HCM).strftime("%Y%m%d%H%M%S")


def to_portal(record: dict[str, Any]) -> dict[str, Any]:
    """A canonical dossier (its JSON form) as the portal's DongBoHoSoMC record."""
    a = record.get("applicant") or {}
    dossier = {
        "MaHoSo": record["ma_ho_so"],
        "MaTTHC": record["procedure_code"],
        "TenTTHC": record["procedure_name"],
        "MaLinhVuc": record.get("field_code"),
        "TenLinhVuc": record.get("field_name"),
        "KenhThucHien": record["channel"],
        "ChuHoSo": a.get("name"),
        "LoaiDoiTuong": a.get("type"),
        "MaDoiTuong": None,
        "SoGiayToChuHoSo": a.get("id_number"),
        "SoDienThoai": a.get("phone"),
        "Email": a.get("email"),
        "TrichYeuHoSo": record.get("summary"),
        "NgayNopHoSo": portal_time(record.get("submitted_at")),
        "NgayTiepNhan": portal_time(record.get("received_at")),
        "NgayHenTra": portal_time(record.get("due_at")),
        "TrangThaiHoSo": record["status"],
        "NgayTra": portal_time(record.get("returned_at")),
        "HinhThuc": record.get("result_delivery"),
        "NgayKetThucXuLy": portal_time(record.get("finished_at")),
        "NgayTuChoi": portal_time(record.get("refused_at")),
        "DonViXuLy": record.get("agency_name"),
        "GhiChu": record.get("note"),
        "DinhDanhCHS": (
            [{"LoaiDinhDanh": a.get("id_type") or 1, "SoDinhDanh": a["id_number"]}]
            if a.get("id_number")
            else []
        ),
        "TaiLieuNop": [
            {
                "TenTepDinhKem": d["name"],
                "MaThanhPhanHoSo": d.get("form_code"),
                "DuongDanTaiTepTin": d.get("url"),
            }
            for d in record.get("documents") or []
        ],
        "DanhSachLePhi": [
            {
                "TenPhiLePhi": f["name"],
                "MaPhiLePhi": f.get("code"),
                "HinhThucThu": f.get("method"),
                "Gia": f["amount_vnd"],
                "LoaiPhiLePhi": f.get("type"),
            }
            for f in record.get("fees") or []
        ],
        "DanhSachHoSoBoSung": [
            {"NgayYeuCauBoSung": portal_time(s.get("requested_at")), "NoiDungBoSung": s.get("content")}
            for s in record.get("supplements") or []
        ],
        "DanhSachGiayToKetQua": [
            {"TenGiayTo": r["name"], "SoKyHieu": r.get("number"), "DuongDanTepTin": r.get("url")}
            for r in record.get("results") or []
        ],
    }
    return {k: v for k, v in dossier.items() if v is not None}


def to_progress(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The dossier's processing history as CapNhatTienDoHoSoMC rows."""
    rows = []
    for event in record.get("history") or []:
        row = {
            "MaHoSo": record["ma_ho_so"],
            "NguoiXuLy": event.get("actor"),
            "ChucDanh": event.get("position"),
            "ThoiDiemXuLy": portal_time(event["at"]),
            "PhongBanXuLy": event.get("department"),
            "NoiDungXuLy": event.get("content"),
            "TrangThai": event["status"],
            "NgayBatDau": portal_time(event["at"]),
            "NgayKetThucTheoQuyDinh": portal_time(event.get("due_at") or record.get("due_at")),
        }
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows


class AnswerRecorder(Protocol):
    def __call__(self, service: str, updating: bool | None, records: int, accepted: int) -> None: ...


@dataclass(frozen=True)
class RecordResult:
    ma_ho_so: str
    ok: bool
    code: str
    message: str


def _code(value: Any) -> str:
    return "0" if value in (0, "0", "00", None) else str(value)


def _paired(service: str, data: list[dict], results: list[Any]) -> list[tuple[dict, Any]]:
    """Each record sent with its result: by the MaHoSo a result names where every result names one (an answer
    in another order, failures first, pairs right), else by place."""
    by_name: dict[str, list[Any]] = {}
    for result in results:
        name = result.get("MaHoSo") if isinstance(result, dict) else None
        if not isinstance(name, str):
            return list(zip(data, results, strict=True))
        by_name.setdefault(name, []).append(result)
    wanted = [d["MaHoSo"] for d in data]
    if sorted(wanted) != sorted(n for n, found in by_name.items() for _ in found):
        strangers = sorted(set(by_name) - set(wanted))[:3]
        raise ProtocolError(
            "portal", f"{service}: the results name other dossiers than were sent ({', '.join(strangers)}…)"
        )
    return [(d, by_name[d["MaHoSo"]].pop(0)) for d in data]


def _result(ma_ho_so: str, result: Any) -> RecordResult:
    """A record's result: delivered only where the portal says so (error_code 0 or "00"); a result that is no
    object or gives no code is not taken for a success (the record is tried again)."""
    if not isinstance(result, dict):
        return RecordResult(ma_ho_so, False, "?", f"the portal's result is not an object: {result!r:.100}")
    if "error_code" not in result or result["error_code"] in (None, ""):
        return RecordResult(ma_ho_so, False, "?", f"the portal's result gives no error_code: {result!r:.200}")
    code = _code(result["error_code"])
    return RecordResult(ma_ho_so, code == "0", code, str(result.get("message") or ""))


class PortalClient:
    def __init__(self, conn: Connection, client: HttpClient, on_answer: AnswerRecorder | None = None) -> None:
        self.conn, self.client, self.on_answer = conn, client, on_answer
        self.dstcode = str(conn.extra.get("dstcode", ""))
        self.madonvi = str(conn.extra.get("madonvi", ""))
        self._session: str | None = None
        self.logins = 0
        self.resends = 0  # calls posted again after an answer was lost (the portal may have applied them)

    def _login(self) -> str:
        answer = self.client.json(
            "POST",
            "/login",
            operation="login",
            json={"username": self.conn.login, "password": self.conn.password},
            headers={"dstcode": self.dstcode},
        )
        if (
            not isinstance(answer, dict)
            or _code(answer.get("error_code")) != "0"
            or not answer.get("session")
        ):
            message = answer.get("message") if isinstance(answer, dict) else answer
            raise AuthError("portal", f"login refused: {message}")
        self.logins += 1
        return answer["session"]

    def _call(self, service: str, payload: dict[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            if self._session is None:
                self._session = self._login()
            body = {"session": self._session, "madonvi": self.madonvi, "service": service, **payload}
            answer = self.client.json(
                "POST", "/integration", operation=service, json=body, on_retry=self._count_resend
            )
            if not isinstance(answer, dict):
                raise ProtocolError("portal", f"{service}: answer is not an object")
            code = _code(answer.get("error_code"))
            if code in SESSION_EXPIRED and attempt == 1:
                self._session = None  # the session expired: log in again, once
                continue
            if code != "0":
                raise ProtocolError("portal", f"{service}: error {code}: {answer.get('message')}")
            return answer
        raise AuthError("portal", f"{service}: session refused right after login")

    def _count_resend(self, error: TransientError) -> None:
        if error.maybe_applied:
            self.resends += 1

    def _results(
        self, service: str, updating: bool | None, data: list[dict], answer: dict[str, Any]
    ) -> list[RecordResult]:
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != len(data):
            raise ProtocolError(
                "portal", f"{service}: expected {len(data)} results, got {answer.get('results')!r:.200}"
            )
        out = [_result(d["MaHoSo"], r) for d, r in _paired(service, data, results)]
        if self.on_answer is not None:
            self.on_answer(service, updating, len(data), sum(r.ok for r in out))
        return out

    def sync_dossiers(self, records: list[dict[str, Any]], *, updating: bool) -> list[RecordResult]:
        payload = {"isUpdating": "True" if updating else "False", "data": records}
        return self._results("DongBoHoSoMC", updating, records, self._call("DongBoHoSoMC", payload))

    def update_progress(self, rows: list[dict[str, Any]]) -> list[RecordResult]:
        return self._results(
            "CapNhatTienDoHoSoMC", None, rows, self._call("CapNhatTienDoHoSoMC", {"data": rows})
        )
