"""A Symfony one-stop system on API Platform (3.x), answering JSON-LD with Hydra collections; LexikJWT login.

Contract (API Platform's JSON-LD/Hydra format, as its docs show it):
  POST /api/login_check  {"username": ..., "password": ...}  (LexikJWTAuthenticationBundle's json_login)
    -> {"token": "<JWT, exp in 3600 s>"}; wrong -> 401 {"code": 401, "message": "Invalid credentials."}
  GET  /api/ho_sos?updatedAt[strictly_after]=<RFC 3339>&updatedAt[before]=<RFC 3339>
        &order[updatedAt]=asc&order[id]=asc&itemsPerPage=1..100        (DateFilter, OrderFilter)
       Authorization: Bearer <JWT>   Accept: application/ld+json
    -> {"@context": "/api/contexts/HoSo", "@id": "/api/ho_sos", "@type": "hydra:Collection",
        "hydra:totalItems": N, "hydra:member": [{"@id": "/api/ho_sos/123", "@type": "HoSo", "id": 123, ...}],
        "hydra:view": {"@id": "/api/ho_sos?…&page=2", "@type": "hydra:PartialCollectionView",
                       "hydra:first": …, "hydra:last": …, "hydra:previous": …, "hydra:next": "/api/ho_sos?…&page=3"},
        "hydra:search": {...}}
       The links are relative (an IRI, as API Platform writes them), their brackets percent-encoded; the last
       page's view has no `hydra:next`. With `--no-prefix` it answers as API Platform 4 does by default
       (`member`, `totalItems`, `view.next`, `@type: "Collection"`). Embedded relations (serialization groups)
       carry their own `@id` and `@type`; DateTime values are RFC 3339 with the server's offset (+07:00); a
       null property is left out (skip_null_values).
  A missing, invalid or expired token: 401 {"code": 401, "message": "JWT Token not found" | "Invalid JWT Token"
  | "Expired JWT Token"}. A filter value it cannot read: 400 hydra:Error.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import math
import secrets
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "api_platform_hydra"
USER, PASSWORD = "esb.tinh@motcua.vn", "Symf0ny-Hydr@"
REFUSAL = "Invalid credentials."
TTL = 3600
SECRET = b"lexik-jwt-test-secret"
RESOURCE = "/api/ho_sos"
MAX_PER_PAGE = 100
KNOWN = {"updatedAt[strictly_after]", "updatedAt[after]", "updatedAt[before]", "updatedAt[strictly_before]",
         "order[updatedAt]", "order[id]", "itemsPerPage", "page"}  # fmt: skip
KENH = {1: "truc_tiep", 2: "truc_tuyen", 3: "buu_chinh"}
TRANG_THAI = {1: "moi_nop", 2: "da_tiep_nhan", 4: "dang_xu_ly", 5: "yeu_cau_bo_sung", 6: "cho_nop_phi",
              9: "co_ket_qua", 10: "da_tra_ket_qua"}  # fmt: skip
DOI_TUONG = {1: "cong_dan", 2: "to_chuc"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(user: str) -> str:
    """An HS256 JWT as LexikJWT issues one: iat, exp, roles, username, and a jti (its blocklist_token option)."""
    now = int(time.time())
    head = b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    body = b64url(
        json.dumps(
            {
                "iat": now,
                "exp": now + TTL,
                "roles": ["ROLE_API"],
                "username": user,
                "jti": secrets.token_hex(8),
            }
        ).encode()
    )
    sig = b64url(hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def check_jwt(token: str) -> str | None:
    """Why the token is refused (Lexik's words), or None."""
    try:
        head, body, sig = token.split(".")
        good = b64url(hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest())
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return "Invalid JWT Token"
    if not hmac.compare_digest(sig, good) or token in _revoked:
        return "Invalid JWT Token"
    if claims.get("exp", 0) < time.time():
        return "Expired JWT Token"
    return None


_revoked: set[str] = set()  # tokens revoked by `--revoke-at` (an administrator's logout of every session)


def rfc3339(iso: str | None) -> str | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).isoformat()


def drop_nulls(value: Any) -> Any:
    """skip_null_values: a null property is not written."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    rid = int(item["source_record_id"])
    return drop_nulls({
        "@id": f"{RESOURCE}/{rid}",
        "@type": "HoSo",
        "id": rid,
        "maHoSo": item["ma_ho_so"],
        "thuTuc": {"@id": f"/api/thu_tucs/{item['procedure_code']}", "@type": "ThuTuc",
                   "ma": item["procedure_code"], "ten": item["procedure_name"],
                   "linhVuc": {"@id": f"/api/linh_vucs/{item['field_code']}", "@type": "LinhVuc",
                               "ma": item["field_code"], "ten": item["field_name"]}},
        "coQuan": {"@id": f"/api/co_quans/{item['agency_code']}", "@type": "CoQuan",
                   "ma": item["agency_code"], "ten": item["agency_name"]},
        "kenhNop": KENH[item["channel"]],
        "trangThai": TRANG_THAI[item["status"]],
        "trichYeu": item["summary"],
        "nguoiNop": {"@type": "NguoiNop", "loai": DOI_TUONG[a["type"]], "hoTen": a["name"],
                     "loaiGiayTo": "CCCD" if a.get("id_type") == 1 else None, "soGiayTo": a["id_number"],
                     "soDienThoai": a["phone"], "email": a.get("email"),
                     "ngaySinh": f"{a['birth_date']}T00:00:00+07:00" if a.get("birth_date") else None,
                     "diaChi": a["address"]},
        "submittedAt": rfc3339(item.get("submitted_at")),
        "receivedAt": rfc3339(item["received_at"]),
        "dueAt": rfc3339(item["due_at"]),
        "finishedAt": rfc3339(item.get("finished_at")),
        "returnedAt": rfc3339(item.get("returned_at")),
        "updatedAt": rfc3339(item["source_updated_at"]),
        "quaTrinhXuLys": [
            {"@id": f"/api/qua_trinh_xu_lys/{rid}-{n}", "@type": "QuaTrinhXuLy", "trangThai": TRANG_THAI[h["status"]],
             "thoiDiem": rfc3339(h["at"]), "canBo": h["actor"], "noiDung": h["content"]}
            for n, h in enumerate(item["history"], 1)
        ],
        "lePhis": [{"@id": f"/api/le_phis/{rid}-{f['code']}", "@type": "LePhi", "ma": f["code"], "ten": f["name"],
                    "soTien": f["amount_vnd"]} for f in item["fees"]],
        "giayTos": [{"@id": f"/api/giay_tos/{rid}-{d['form_code']}", "@type": "GiayTo", "ten": d["name"],
                     "maMau": d["form_code"]} for d in item["documents"]],
    })  # fmt: skip


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-prefix", action="store_true", help="API Platform 4: no `hydra:` prefix")
    # A proxy in front that writes absolute links naming its own (internal, or hostile) host.
    parser.add_argument("--link-host", default="", help="the next links name this scheme://host")


class Handler(VendorHandler):
    server_version = "nginx"

    def h(self, name: str) -> str:
        return name if self.options.no_prefix else f"hydra:{name}"

    def lexik(self, message: str) -> None:
        self.refuse(401, message, lambda: self.send_json({"code": 401, "message": message}, 401))

    def hydra_error(self, status: int, description: str) -> None:
        body = {"@context": "/api/contexts/Error", "@type": self.h("Error"), self.h("title"): "An error occurred",
                self.h("description"): description}  # fmt: skip
        self.refuse(status, description, lambda: self.send_body(
            status, json.dumps(body).encode(), "application/problem+json"))  # fmt: skip

    def vendor(self, method: str) -> None:
        if self.route == "/api/login_check" and method == "POST":
            self.login()
        elif self.route == RESOURCE and method == "GET":
            self.collection()
        else:
            self.hydra_error(404, f'No route found for "{method} {self.route}"')

    def login(self) -> None:
        try:
            body = self.json_body()
        except ValueError:
            self.hydra_error(400, "Invalid JSON.")
            return
        if not isinstance(body, dict) or (body.get("username"), body.get("password")) != (USER, PASSWORD):
            self.lexik(REFUSAL)
            return
        self.send_json({"token": make_jwt(USER)})

    def collection(self) -> None:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or not token:
            self.lexik("JWT Token not found")
            return
        if self.revoke_due():
            _revoked.add(token)
        if (why := check_jwt(token)) is not None:
            self.lexik(why)
            return
        q = {k: v[0] for k, v in self.query.items()}
        if unknown := sorted(set(q) - KNOWN):
            self.hydra_error(400, f'Unknown filter "{unknown[0]}".')
            return
        try:
            after = datetime.fromisoformat(q["updatedAt[strictly_after]"] if "updatedAt[strictly_after]" in q
                                           else q["updatedAt[after]"])  # fmt: skip
            before = datetime.fromisoformat(q["updatedAt[before]"] if "updatedAt[before]" in q
                                            else q["updatedAt[strictly_before]"])  # fmt: skip
            per_page, page = int(q.get("itemsPerPage", "30")), int(q.get("page", "1"))
            if after.tzinfo is None or before.tzinfo is None or not 1 <= per_page <= MAX_PER_PAGE or page < 1:
                raise ValueError
        except (KeyError, ValueError):
            self.hydra_error(400, "The filter updatedAt expects an RFC 3339 date, itemsPerPage 1..100.")
            return
        if q.get("order[updatedAt]") != "asc" or q.get("order[id]") != "asc":
            self.hydra_error(400, "order[updatedAt]=asc&order[id]=asc is required for a stable paging.")
            return
        strictly = "updatedAt[strictly_after]" in q
        until_strict = "updatedAt[strictly_before]" in q
        found = sorted(
            (i for i in self.truth
             if (updated(i) > after if strictly else updated(i) >= after)
             and (updated(i) < before if until_strict else updated(i) <= before)),
            key=lambda i: (updated(i), int(i["source_record_id"])),
        )  # fmt: skip
        pages = max(1, math.ceil(len(found) / per_page))
        chunk = found[(page - 1) * per_page : page * per_page]

        def iri(n: int) -> str:
            return f"{RESOURCE}?{urlencode({**{k: v for k, v in q.items() if k != 'page'}, 'page': n})}"

        body: dict[str, Any] = {
            "@context": "/api/contexts/HoSo",
            "@id": RESOURCE,
            "@type": self.h("Collection"),
            self.h("totalItems"): len(found),
            self.h("member"): [render(i) for i in chunk],
        }
        view: dict[str, Any] = {"@id": iri(page), "@type": self.h("PartialCollectionView"),
                                self.h("first"): iri(1), self.h("last"): iri(pages)}  # fmt: skip
        if page > 1:
            view[self.h("previous")] = iri(page - 1)
        if page < pages:
            view[self.h("next")] = self.options.link_host + iri(page + 1)
        body[self.h("view")] = view
        body[self.h("search")] = {"@type": self.h("IriTemplate"),
                                  self.h("template"): "/api/ho_sos{?updatedAt[before],updatedAt[after]}"}  # fmt: skip
        self.send_body(
            200, json.dumps(body, ensure_ascii=False).encode(), "application/ld+json; charset=utf-8"
        )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], options))
