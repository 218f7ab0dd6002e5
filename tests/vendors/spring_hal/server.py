"""A Spring Boot one-stop system answering HAL (Spring HATEOAS's PagedResourcesAssembler): records at
`_embedded.hoSoList`, zero-based `page.number`, `page.totalPages`, `_links.next.href`; a JWT login; searches capped.

Contract (the vendor's springdoc page):
  POST /api/auth/dang-nhap   {"tenDangNhap": ..., "matKhau": ...}
       -> {"accessToken": "<jwt>", "tokenType": "Bearer", "expiresIn": 900}
          wrong -> 401 {"timestamp": ..., "status": 401, "error": "Unauthorized", "message": REFUSAL, "path": ...}
  GET  /api/v1/ho-so?tuNgay=yyyy-MM-ddTHH:mm:ss&denNgay=yyyy-MM-ddTHH:mm:ss&page=0..&size=1..100
       &sort=ngayCapNhat,asc      Authorization: Bearer <jwt>
    -> application/hal+json
       {"_embedded": {"hoSoList": [{..., "_links": {"self": {"href": ...}}}]},
        "_links": {"first": ..., "prev": ..., "self": ..., "next": ..., "last": ...},
        "page": {"size": 50, "totalElements": N, "totalPages": P, "number": 0}}
       A page with no dossiers has no `_embedded` at all (PagedResourcesAssembler.toModel of an empty page):
       {"_links": {"self": {"href": ...}}, "page": {"size": 50, "totalElements": 0, "totalPages": 0, "number": 0}}
  tuNgay/denNgay are LocalDateTime (the office's wall clock, no zone), as are the dossiers' times; tuNgay
  inclusive, denNgay exclusive; at most 92 days: a longer search is 400 with Spring Boot's error body.
  An expired or missing token is 401 with that body.
"""

from __future__ import annotations

import json
import math
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from schemas.dossier import HCM
from tests.vendors.common import BearerTokens, VendorHandler, arguments, parse_local, serve, updated

VENDOR = "spring_hal"
USER, PASSWORD = "lienthong.tinh", "Spr1ng-H@L-2025"
REFUSAL = "Tên đăng nhập hoặc mật khẩu không chính xác"
MAX_WINDOW = timedelta(days=92)
MAX_SIZE = 100
TOKEN_TTL = 900
LOCAL = "%Y-%m-%dT%H:%M:%S"
MEDIA = "application/hal+json"
KENH = {1: "TRUC_TIEP", 2: "TRUC_TUYEN", 3: "BUU_CHINH"}
TRANG_THAI = {1: "MOI_NOP", 2: "DA_TIEP_NHAN", 4: "DANG_XU_LY", 5: "YEU_CAU_BO_SUNG", 6: "CHO_NOP_PHI",
              9: "CO_KET_QUA", 10: "DA_TRA_KET_QUA"}  # fmt: skip
DOI_TUONG = {1: "CA_NHAN", 2: "TO_CHUC"}

_tokens = BearerTokens()


def local(iso: str | None) -> str | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).strftime(LOCAL)


def render(item: dict[str, Any], host: str) -> dict[str, Any]:
    a = item["applicant"]
    rid = int(item["source_record_id"])
    return {
        "id": rid,
        "maHoSo": item["ma_ho_so"],
        "thuTuc": {
            "ma": item["procedure_code"],
            "ten": item["procedure_name"],
            "linhVuc": {"ma": item["field_code"], "ten": item["field_name"]},
        },
        "donVi": {"ma": item["agency_code"], "ten": item["agency_name"]},
        "kenhNop": KENH[item["channel"]],
        "trangThai": TRANG_THAI[item["status"]],
        "trichYeu": item["summary"],
        "chuHoSo": {
            "loaiDoiTuong": DOI_TUONG[a["type"]],
            "hoTen": a["name"],
            "loaiGiayTo": "CCCD" if a.get("id_type") == 1 else None,
            "soGiayTo": a["id_number"],
            "soDienThoai": a["phone"],
            "email": a.get("email"),
            "ngaySinh": a.get("birth_date"),
            "diaChi": a["address"],
        },
        "ngayNop": local(item.get("submitted_at")),
        "ngayTiepNhan": local(item["received_at"]),
        "ngayHenTra": local(item["due_at"]),
        "ngayCoKetQua": local(item.get("finished_at")),
        "ngayTraKetQua": local(item.get("returned_at")),
        "ngayCapNhat": local(item["source_updated_at"]),
        "quaTrinhXuLy": [
            {
                "trangThai": TRANG_THAI[h["status"]],
                "thoiGian": local(h["at"]),
                "canBoXuLy": h["actor"],
                "noiDung": h["content"],
            }
            for h in item["history"]
        ],
        "lePhi": [{"maPhi": f["code"], "tenPhi": f["name"], "soTien": f["amount_vnd"]} for f in item["fees"]],
        "thanhPhanHoSo": [{"tenGiayTo": d["name"], "maMau": d["form_code"]} for d in item["documents"]],
        "_links": {"self": {"href": f"http://{host}/api/v1/ho-so/{rid}"}},
    }


class Handler(VendorHandler):
    server_version = ""

    def spring_error(self, status: int, error: str, message: str) -> None:
        body = {"timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "status": status, "error": error, "message": message, "path": self.route}  # fmt: skip
        self.refuse(status, message, lambda: self.send_json(body, status))

    def vendor(self, method: str) -> None:
        if self.route == "/api/auth/dang-nhap" and method == "POST":
            self.login()
        elif self.route == "/api/v1/ho-so" and method == "GET":
            self.search()
        else:
            self.spring_error(404, "Not Found", "No static resource " + self.route.lstrip("/") + ".")

    def login(self) -> None:
        try:
            body = self.json_body()
        except ValueError:
            self.spring_error(400, "Bad Request", "Required request body is missing")
            return
        if (body.get("tenDangNhap"), body.get("matKhau")) != (USER, PASSWORD):
            self.spring_error(401, "Unauthorized", REFUSAL)
            return
        token = secrets.token_urlsafe(32)
        _tokens.issue(token, TOKEN_TTL)
        self.send_json({"accessToken": token, "tokenType": "Bearer", "expiresIn": TOKEN_TTL})

    def search(self) -> None:
        valid = _tokens.valid(self)
        if not valid:
            self.spring_error(401, "Unauthorized", "Full authentication is required to access this resource")
            return
        q = {k: v[0] for k, v in self.query.items()}
        try:
            start, end = parse_local(q["tuNgay"], LOCAL), parse_local(q["denNgay"], LOCAL)
            number, size = int(q.get("page", "0")), int(q.get("size", "20"))
            if number < 0 or not 1 <= size <= MAX_SIZE or q.get("sort") != "ngayCapNhat,asc":
                raise ValueError("page, size or sort")
        except (KeyError, ValueError) as exc:
            self.spring_error(400, "Bad Request", f"Failed to convert value: {exc}")
            return
        if end - start > MAX_WINDOW:
            self.spring_error(400, "Bad Request", "Khoảng thời gian tra cứu không được vượt quá 92 ngày")
            return
        host = self.headers.get("Host") or ""
        found = sorted((i for i in self.truth if start <= updated(i) < end),
                       key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
        pages = math.ceil(len(found) / size)
        chunk = found[number * size : (number + 1) * size]

        def link(n: int) -> dict[str, str]:
            return {"href": f"http://{host}{self.route}?{urlencode({**q, 'page': n, 'size': size})}"}

        links: dict[str, Any] = {}
        if pages:
            links["first"] = link(0)
        if number > 0 and pages:
            links["prev"] = link(number - 1)
        links["self"] = link(number)
        if number + 1 < pages:
            links["next"] = link(number + 1)
        if pages:
            links["last"] = link(pages - 1)
        body: dict[str, Any] = {}
        if chunk:  # PagedResourcesAssembler.toModel: an empty page has no _embedded
            body["_embedded"] = {"hoSoList": [render(i, host) for i in chunk]}
        body["_links"] = links
        body["page"] = {"size": size, "totalElements": len(found), "totalPages": pages, "number": number}
        self.send_body(200, json.dumps(body, ensure_ascii=False).encode(), MEDIA)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
