"""A PHP one-stop admin screen read as its own jQuery DataTables grid reads it: server-side processing.

Contract (no API: the screen's grid asks its script, as DataTables' ssp.class.php answers):
  POST /ajax/dang-nhap.php   application/x-www-form-urlencoded tai_khoan, mat_khau
      -> 200 {"success": true, "msg": "Đăng nhập thành công"} and Set-Cookie: PHPSESSID=<id>; path=/; HttpOnly
         wrong credentials -> 200 {"success": false, "msg": REFUSAL}, no session (the login page's script alerts it)
  GET /ajax/ho-so-ssp.php?draw=N&start=S&length=L&order[0][column]=C&order[0][dir]=asc|desc&search[value]=T
                          &tu_ngay=dd/MM/yyyy HH:mm&den_ngay=dd/MM/yyyy HH:mm              Cookie: PHPSESSID=<id>
      -> {"draw": N, "recordsTotal": T, "recordsFiltered": F, "data": [[cell, …], …]}
     Every row is an array of the screen's COLUMNS in order (a row number, the id, …, an action link): positional,
     as DataTables' array data is; times "dd/MM/yyyy HH:mm" local, nothing as "", amounts "75.000" as text,
     statuses and channels in Vietnamese words, a dossier's steps, fees and papers as arrays of objects.
     The window (half-open on the update time) is the script's WHERE for every count (ssp::complex's
     $whereAll): recordsTotal is the window's; search[value] (a code or a name) filters recordsFiltered only.
     length 10..100 (-1, "All", refused); the order column one the screen sorts by; draw echoed as a number.
  An error is DataTables' own: HTTP 200 {"draw": N, …, "error": "…"} (the grid alerts it); a request without a
  live session is answered {"error": EXPIRED}.
  Test option: --revoke-at N ends every session at the Nth data request.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated

VENDOR = "datatables_php"
LOGIN, PASSWORD = "motcua.binhgiang", "BinhGiang@2025"
REFUSAL = "Tài khoản hoặc mật khẩu không đúng"
EXPIRED = "Phiên làm việc đã hết hạn, vui lòng đăng nhập lại"
LOCAL = "%d/%m/%Y %H:%M"
PARAMS = {
    "draw",
    "start",
    "length",
    "order[0][column]",
    "order[0][dir]",
    "search[value]",
    "tu_ngay",
    "den_ngay",
}

# The screen's columns, in their order: what a row's cells are (the grid shows some, hides others).
COLUMNS = ["stt", "id", "ma_ho_so", "ma_thu_tuc", "ten_thu_tuc", "ma_linh_vuc", "ten_linh_vuc", "ma_co_quan",
           "ten_co_quan", "kenh_nop", "trang_thai", "trich_yeu", "loai_chu_ho_so", "chu_ho_so", "loai_giay_to",
           "so_giay_to", "dien_thoai", "email", "ngay_sinh", "dia_chi", "ngay_nop", "ngay_tiep_nhan",
           "ngay_hen_tra", "ngay_co_ket_qua", "ngay_tra_ket_qua", "ngay_cap_nhat", "qua_trinh", "le_phi",
           "giay_to", "thao_tac"]  # fmt: skip
SORTABLE = {COLUMNS.index(c) for c in ("id", "ma_ho_so", "ngay_tiep_nhan", "ngay_cap_nhat")}

TRANG_THAI = {1: "Mới nộp", 2: "Đã tiếp nhận", 4: "Đang xử lý", 5: "Chờ bổ sung", 6: "Chờ nộp phí",
              9: "Đã có kết quả", 10: "Đã trả kết quả"}  # fmt: skip
KENH = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Bưu chính"}
LOAI = {1: "Công dân", 2: "Tổ chức"}

_sessions: set[str] = set()
_lock = threading.Lock()


def local(iso: str | None) -> str:
    return "" if iso is None else datetime.fromisoformat(iso).astimezone(HCM).strftime(LOCAL)


def amount(vnd: int) -> str:
    return f"{vnd:,}".replace(",", ".")


def step(h: dict[str, Any]) -> dict[str, str]:
    """One event of a dossier's history, as its cell lists it."""
    return {"trang_thai": TRANG_THAI[h["status"]], "thoi_gian": local(h["at"]), "can_bo": h["actor"],
            "noi_dung": h["content"]}  # fmt: skip


def row(item: dict[str, Any], number: int) -> list[Any]:
    """One dossier as the script's row: its cells in COLUMNS' order."""
    a = item["applicant"]
    birth = a.get("birth_date")
    return [
        number,
        item["source_record_id"],
        item["ma_ho_so"],
        item["procedure_code"],
        item["procedure_name"],
        item["field_code"],
        item["field_name"],
        item["agency_code"],
        item["agency_name"],
        KENH[item["channel"]],
        TRANG_THAI[item["status"]],
        item["summary"],
        LOAI[a["type"]],
        a["name"],
        "CCCD" if a.get("id_type") == 1 else "",
        a["id_number"],
        a["phone"],
        a.get("email") or "",
        "" if birth is None else datetime.fromisoformat(birth).strftime("%d/%m/%Y"),
        a["address"],
        local(item.get("submitted_at")),
        local(item["received_at"]),
        local(item["due_at"]),
        local(item.get("finished_at")),
        local(item.get("returned_at")),
        local(item["source_updated_at"]),
        [step(h) for h in item["history"]],
        [{"ten": f["name"], "ma": f["code"], "so_tien": amount(f["amount_vnd"])} for f in item["fees"]],
        [{"ten": d["name"], "ma_mau": d["form_code"]} for d in item["documents"]],
        f'<a href="/ho-so/xem.php?id={item["source_record_id"]}" class="btn btn-xs btn-info">Xem</a>',
    ]


def sort_key(column: int) -> Any:
    """ORDER BY the column's database value (a time as a time, not as its dd/MM/yyyy text), then the id."""
    name = COLUMNS[column]
    if name in ("ngay_tiep_nhan", "ngay_cap_nhat"):
        key = "received_at" if name == "ngay_tiep_nhan" else "source_updated_at"
        return lambda i: (datetime.fromisoformat(i[key]), i["source_record_id"])
    key = "ma_ho_so" if name == "ma_ho_so" else "source_record_id"
    return lambda i: (i[key], i["source_record_id"])


class Handler(VendorHandler):
    server_version = "Apache/2.4.41 (Ubuntu)"

    def vendor(self, method: str) -> None:
        if self.route == "/ajax/dang-nhap.php" and method == "POST":
            self.login()
        elif self.route == "/ajax/ho-so-ssp.php" and method == "GET":
            self.rows()
        else:
            self.refuse(404, "route", lambda: self.send_body(404, b"<h1>Not Found</h1>", "text/html"))

    def login(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode("utf-8"), keep_blank_values=True).items()}
        if form.get("tai_khoan") != LOGIN or form.get("mat_khau") != PASSWORD:
            self.refuse(200, "credentials", lambda: self.send_json({"success": False, "msg": REFUSAL}))
            return
        sid = secrets.token_hex(13)
        with _lock:
            _sessions.add(sid)
        cookie = f"PHPSESSID={sid}; path=/; HttpOnly"
        self.send_json({"success": True, "msg": "Đăng nhập thành công"}, headers={"Set-Cookie": cookie})

    def live(self) -> bool:
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        sid = cookie["PHPSESSID"].value if "PHPSESSID" in cookie else ""
        with _lock:
            alive = sid in _sessions
        if alive and self.revoke_due():
            with _lock:
                _sessions.clear()
            return False
        return alive

    def error(self, draw: int, message: str, reason: str) -> None:
        answer = {"draw": draw, "recordsTotal": 0, "recordsFiltered": 0, "data": [], "error": message}
        self.refuse(200, reason, lambda: self.send_json(answer))

    def rows(self) -> None:
        draw_text = self.param("draw") or ""
        draw = int(draw_text) if draw_text.isdigit() else 0
        if not self.live():
            self.error(draw, EXPIRED, "no session")
            return
        if unknown := set(self.query) - PARAMS:
            self.error(draw, f"Tham số không hợp lệ: {', '.join(sorted(unknown))}", "parameters")
            return
        try:
            start, length = int(self.param("start") or ""), int(self.param("length") or "")
            column, direction = int(self.param("order[0][column]") or ""), self.param("order[0][dir]")
            since, until = (parse_local(self.param(k) or "", LOCAL) for k in ("tu_ngay", "den_ngay"))
            if not draw or start < 0 or not 10 <= length <= 100 or column not in SORTABLE:
                raise ValueError
            if direction not in ("asc", "desc") or until < since:
                raise ValueError
        except ValueError:
            self.error(draw, "Yêu cầu không hợp lệ", "invalid")
            return
        window = sorted((i for i in self.truth if since <= updated(i) < until), key=sort_key(column))
        if direction == "desc":
            window.reverse()
        search = (self.param("search[value]") or "").strip().lower()
        found = [
            i for i in window if search in i["ma_ho_so"].lower() or search in i["applicant"]["name"].lower()
        ]
        page = found[start : start + length]
        self.send_json(
            {
                "draw": draw,
                "recordsTotal": len(window),
                "recordsFiltered": len(found),
                "data": [row(i, start + n) for n, i in enumerate(page, 1)],
            },
            headers={"X-Powered-By": "PHP/7.4.3"},
        )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
