"""A Node.js-style GraphQL API (Apollo Server, Relay connections), served by graphql-core, the reference
implementation's Python port: the query is parsed, validated against the schema and executed for real.

Contract (the vendor's schema, below):
  POST /graphql   {"query": "...", "variables": {...}, "operationName": "..."}   Content-Type: application/json
  mutation dangNhap(input: {tenDangNhap, matKhau}) -> {maTruyCap, hieuLucGiay}: a bearer token, 15 minutes
  query hoSoThayDoi(tu, den, first ≤ 100, after) -> a Relay connection: edges {cursor, node}, pageInfo
      {endCursor, hasNextPage}, totalCount; the window is half-open on capNhatLuc; cursors are opaque
      (base64 of "arrayconnection:<offset>", as graphql-relay-js writes them) and belong to their window
  Every executed operation answers HTTP 200 with `data` and, when something failed, `errors` whose
  extensions.code says what (UNAUTHENTICATED, BAD_USER_INPUT); a document that does not parse or validate
  answers 400 (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED), as Apollo Server 4 does. Answers are
  application/graphql-response+json. With --field-errors N, the applicant of every Nth dossier cannot be read
  (the population database is down): its `chuHoSo` is null and an error names its path, GraphQL's partial
  result (dossiers whose number is a multiple of N), until POST /_vendor/heal. Times are JavaScript's Date.toISOString(): UTC, milliseconds, Z; enums are
  SCREAMING_SNAKE names; a record's `id` is a Relay global id and `maSo` its database number.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, build_schema, execute, parse, validate

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "graphql_relay"
USER, PASSWORD = "lgsp.haiduong", "GraphQL!2025"
REFUSAL = "Tên đăng nhập hoặc mật khẩu không đúng"
MAX_FIRST = 100
MEDIA = "application/graphql-response+json; charset=utf-8"

SCHEMA = build_schema("""
scalar DateTime
scalar Date

enum TrangThai { MOI_TIEP_NHAN DANG_XU_LY CHO_BO_SUNG DA_CO_KET_QUA DA_TRA_KET_QUA TU_CHOI DA_HUY }
enum KenhNop { TRUC_TIEP TRUC_TUYEN BUU_CHINH }
enum LoaiChuHoSo { CONG_DAN TO_CHUC }

type DanhMuc { ma: String! ten: String! }
type ChuHoSo {
  loai: LoaiChuHoSo! hoTen: String! loaiGiayTo: String soGiayTo: String
  dienThoai: String email: String ngaySinh: Date diaChi: String
}
type BuocXuLy { trangThai: TrangThai! luc: DateTime! canBo: String noiDung: String }
type LePhi { ma: String ten: String! soTien: Int! }
type GiayTo { ten: String! maMau: String }
type HoSo {
  id: ID! maSo: Int! maHoSo: String!
  thuTuc: DanhMuc! linhVuc: DanhMuc! coQuan: DanhMuc!
  kenhNop: KenhNop! trangThai: TrangThai! trichYeu: String
  chuHoSo: ChuHoSo
  nopLuc: DateTime tiepNhanLuc: DateTime! henTraLuc: DateTime coKetQuaLuc: DateTime traKetQuaLuc: DateTime
  capNhatLuc: DateTime!
  quaTrinh: [BuocXuLy!]! lePhi: [LePhi!]! giayTo: [GiayTo!]!
}
type HoSoEdge { cursor: String! node: HoSo }
type PageInfo { endCursor: String hasNextPage: Boolean! }
type HoSoConnection { edges: [HoSoEdge!]! pageInfo: PageInfo! totalCount: Int! }

input DangNhapInput { tenDangNhap: String! matKhau: String! }
type PhienDangNhap { maTruyCap: String! hieuLucGiay: Int! }

type Query { hoSoThayDoi(tu: DateTime!, den: DateTime!, first: Int!, after: String): HoSoConnection! }
type Mutation { dangNhap(input: DangNhapInput!): PhienDangNhap }
""")

TRANG_THAI = {1: "MOI_TIEP_NHAN", 2: "DANG_XU_LY", 4: "CHO_BO_SUNG", 5: "DA_CO_KET_QUA", 6: "DA_TRA_KET_QUA",
              9: "TU_CHOI", 10: "DA_HUY"}  # fmt: skip
KENH = {1: "TRUC_TIEP", 2: "TRUC_TUYEN", 3: "BUU_CHINH"}
LOAI = {1: "CONG_DAN", 2: "TO_CHUC"}

_tokens: set[str] = set()
_lock = threading.Lock()


def js_time(iso: str | None) -> str | None:
    """Date.toISOString(): UTC with milliseconds."""
    if iso is None:
        return None
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


APPLICANT_DOWN = "Không đọc được thông tin người nộp: hệ thống CSDL quốc gia về dân cư không phản hồi"


def unreadable(_info: Any) -> None:
    raise GraphQLError(APPLICANT_DOWN, extensions={"code": "UPSTREAM_UNAVAILABLE"})


def failing(item: dict[str, Any], every: int) -> bool:
    return every > 0 and int(item["source_record_id"]) % every == 0


def render(item: dict[str, Any], every: int = 0) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "id": base64.b64encode(f"HoSo:{item['source_record_id']}".encode()).decode(),
        "maSo": int(item["source_record_id"]),
        "maHoSo": item["ma_ho_so"],
        "thuTuc": {"ma": item["procedure_code"], "ten": item["procedure_name"]},
        "linhVuc": {"ma": item["field_code"], "ten": item["field_name"]},
        "coQuan": {"ma": item["agency_code"], "ten": item["agency_name"]},
        "kenhNop": KENH[item["channel"]],
        "trangThai": TRANG_THAI[item["status"]],
        "trichYeu": item["summary"],
        "chuHoSo": unreadable if failing(item, every) else
                   {"loai": LOAI[a["type"]], "hoTen": a["name"], "loaiGiayTo": "CCCD" if a.get("id_type") == 1 else None,
                    "soGiayTo": a["id_number"], "dienThoai": a["phone"], "email": a.get("email"),
                    "ngaySinh": a.get("birth_date"), "diaChi": a["address"]},
        "nopLuc": js_time(item.get("submitted_at")),
        "tiepNhanLuc": js_time(item["received_at"]),
        "henTraLuc": js_time(item["due_at"]),
        "coKetQuaLuc": js_time(item.get("finished_at")),
        "traKetQuaLuc": js_time(item.get("returned_at")),
        "capNhatLuc": js_time(item["source_updated_at"]),
        "quaTrinh": [{"trangThai": TRANG_THAI[h["status"]], "luc": js_time(h["at"]), "canBo": h["actor"],
                      "noiDung": h["content"]} for h in item["history"]],
        "lePhi": [{"ma": f["code"], "ten": f["name"], "soTien": f["amount_vnd"]} for f in item["fees"]],
        "giayTo": [{"ten": d["name"], "maMau": d["form_code"]} for d in item["documents"]],
    }  # fmt: skip


def cursor_at(offset: int) -> str:
    return base64.b64encode(f"arrayconnection:{offset}".encode()).decode()


def offset_of(cursor: str) -> int:
    try:
        kind, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind == "arrayconnection" and number.isdigit():
            return int(number)
    except ValueError:
        pass
    raise GraphQLError("Con trỏ phân trang không hợp lệ", extensions={"code": "BAD_USER_INPUT"})


def refused(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "UNAUTHENTICATED"})


class Handler(VendorHandler):
    def answer(self, status: int, body: dict[str, Any], reason: str | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        send = lambda: self.send_body(status, data, MEDIA)  # noqa: E731
        self.refuse(status, reason, send) if reason else send()

    def vendor(self, method: str) -> None:
        if self.route != "/graphql" or method != "POST":
            self.send_body(404, b"Cannot " + method.encode() + b" " + self.route.encode(), "text/html")
            return
        try:
            request = self.json_body()
            document = parse(request["query"])
        except (ValueError, KeyError, TypeError, GraphQLError) as exc:
            error = {"message": str(exc), "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}
            self.answer(400, {"errors": [error]}, "parse")
            return
        invalid = validate(SCHEMA, document)
        if invalid:
            errors = [{**e.formatted, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for e in invalid]
            self.answer(400, {"errors": errors}, "validation")
            return
        root = {"hoSoThayDoi": self.changed, "dangNhap": self.login}
        result = execute(SCHEMA, document, root, variable_values=request.get("variables"),
                         operation_name=request.get("operationName"))  # fmt: skip
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
            codes = {(e.extensions or {}).get("code") for e in result.errors}
            self.answer(200, body, ", ".join(sorted(str(c) for c in codes)))
            return
        self.answer(200, body)

    def vendor_control(self, method: str) -> bool:
        """POST /_vendor/heal: the population database is back, every applicant reads again."""
        if method == "POST" and self.route == "/_vendor/heal":
            self.options.field_errors = 0
            self.send_json({"healed": True})
            return True
        return False

    def login(self, _info: Any, input: dict[str, str]) -> dict[str, Any]:
        if (input["tenDangNhap"], input["matKhau"]) != (USER, PASSWORD):
            raise refused(REFUSAL)
        token = secrets.token_urlsafe(24)
        with _lock:
            _tokens.add(token)
        return {"maTruyCap": token, "hieuLucGiay": 900}

    def changed(self, _info: Any, tu: str, den: str, first: int, after: str | None = None) -> dict[str, Any]:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        with _lock:
            known = scheme == "Bearer" and token in _tokens
        if known and self.revoke_due():
            with _lock:
                _tokens.clear()
            known = False
        if not known:
            raise refused("Phiên đăng nhập không hợp lệ hoặc đã hết hạn")
        try:
            start, end = datetime.fromisoformat(tu), datetime.fromisoformat(den)
        except ValueError:
            raise GraphQLError(
                "tu/den phải là thời điểm ISO 8601", extensions={"code": "BAD_USER_INPUT"}
            ) from None
        if start.tzinfo is None or end.tzinfo is None or not 1 <= first <= MAX_FIRST:
            raise GraphQLError(
                f"tu/den cần múi giờ; first từ 1 đến {MAX_FIRST}", extensions={"code": "BAD_USER_INPUT"}
            )
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        offset = offset_of(after) + 1 if after is not None else 0
        chunk = found[offset : offset + first]
        every = self.options.field_errors
        edges = [{"cursor": cursor_at(offset + n), "node": render(i, every)} for n, i in enumerate(chunk)]
        return {
            "edges": edges,
            "pageInfo": {"endCursor": edges[-1]["cursor"] if edges else None,
                         "hasNextPage": offset + len(chunk) < len(found)},
            "totalCount": len(found),
        }  # fmt: skip


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--field-errors", type=int, default=0, help="every Nth dossier's applicant fails (0: none)"
    )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], options))
