"""An Oracle Database one-stop system published through Oracle REST Data Services (ORDS): a Collection Query
handler (its query's CURSOR expressions nesting the steps, fees and documents) behind ORDS' own OAuth2.

Contract (ORDS' collection format and filter object, and its OAuth2 client-credentials flow):
  POST /ords/motcua/oauth/token   HTTP Basic client_id:client_secret, grant_type=client_credentials
       -> {"access_token": "...", "token_type": "bearer", "expires_in": 3600}
       a wrong client -> 401 {"code": "Unauthorized", "message": "Unauthorized",
                              "type": "tag:oracle.com,2020:error/Unauthorized", "instance": "tag:oracle.com,…"}
  GET  /ords/motcua/hoso/danh-sach/?q=<filter object>&offset=<n>&limit=<n ≤ 500>   Authorization: Bearer
       q = {"ngay_cap_nhat":{"$gte":{"$date":"<UTC Z>"},"$lt":{"$date":"<UTC Z>"}},
            "$orderby":{"ngay_cap_nhat":"ASC","id":"ASC"}}      ($date values are ISO 8601 in UTC, `Z`)
    -> {"items": [...], "hasMore": bool, "limit": n, "offset": n, "count": n,
        "links": [{"rel": "self", …}, {"rel": "describedby", …}, {"rel": "first", …}, {"rel": "prev", …},
                  {"rel": "next", "href": "<absolute: the same q, offset + limit>"}]}  (next while hasMore)
  Column names come lower case (Oracle's upper-case identifiers, as ORDS writes them); DATE and TIMESTAMP
  columns as ISO 8601 in UTC with `Z` ("2025-01-02T01:15:00Z"), a NULL as null, NUMBER as a JSON number;
  nguoi_nop_ngay_sinh is a VARCHAR2 the old application filled with TO_CHAR(date) under the default
  NLS_DATE_FORMAT, DD-MON-RR ("12-MAR-85"). A missing or ended token is 401 with the same error document;
  a q ORDS cannot read is 400 {"code": "BadRequest", "message": "...", ...}.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, quote

from tests.vendors.common import BearerTokens, VendorHandler, arguments, serve, updated

VENDOR = "oracle_ords"
CLIENT_ID, CLIENT_SECRET = "esb_motcua..", "0rds-Cl1ent-S3cret"
REFUSAL = "tag:oracle.com,2020:error/Unauthorized"
COLLECTION = "/ords/motcua/hoso/danh-sach/"
TOKEN_TTL = 3600
MAX_LIMIT = 500

_tokens = BearerTokens()


def utc(iso: str | None) -> str | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dd_mon_rr(iso: str | None) -> str | None:
    return date.fromisoformat(iso).strftime("%d-%b-%y").upper() if iso else None


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "id": int(item["source_record_id"]),
        "ma_ho_so": item["ma_ho_so"],
        "ma_thu_tuc": item["procedure_code"],
        "ten_thu_tuc": item["procedure_name"],
        "ma_linh_vuc": item["field_code"],
        "ten_linh_vuc": item["field_name"],
        "ma_don_vi": item["agency_code"],
        "ten_don_vi": item["agency_name"],
        "kenh_nop": item["channel"],
        "trang_thai": item["status"],
        "trich_yeu": item["summary"],
        "ngay_nop": utc(item.get("submitted_at")),
        "ngay_tiep_nhan": utc(item["received_at"]),
        "ngay_hen_tra": utc(item["due_at"]),
        "ngay_co_ket_qua": utc(item.get("finished_at")),
        "ngay_tra_ket_qua": utc(item.get("returned_at")),
        "ngay_cap_nhat": utc(item["source_updated_at"]),
        "nguoi_nop_loai": a["type"],
        "nguoi_nop_ho_ten": a["name"],
        "nguoi_nop_loai_giay_to": a.get("id_type"),
        "nguoi_nop_so_giay_to": a["id_number"],
        "nguoi_nop_dien_thoai": a["phone"],
        "nguoi_nop_email": a.get("email"),
        "nguoi_nop_ngay_sinh": dd_mon_rr(a.get("birth_date")),
        "nguoi_nop_dia_chi": a["address"],
        "qua_trinh": [
            {
                "trang_thai": h["status"],
                "thoi_diem": utc(h["at"]),
                "can_bo": h["actor"],
                "noi_dung": h["content"],
            }
            for h in item["history"]
        ],
        "le_phi": [{"ma": f["code"], "ten": f["name"], "so_tien": f["amount_vnd"]} for f in item["fees"]],
        "giay_to": [{"ten": d["name"], "ma_mau": d["form_code"]} for d in item["documents"]],
    }


def instant(value: Any) -> datetime:
    """A filter object's {"$date": "<ISO 8601, UTC Z>"}."""
    if not isinstance(value, dict) or set(value) != {"$date"} or not str(value["$date"]).endswith("Z"):
        raise ValueError(f'expected {{"$date": "...Z"}}, got {json.dumps(value)}')
    return datetime.fromisoformat(value["$date"])


class Handler(VendorHandler):
    server_version = "Oracle-REST-Data-Services"

    def error(self, status: int, code: str, message: str) -> None:
        body = {
            "code": code,
            "message": message,
            "type": f"tag:oracle.com,2020:error/{code}",
            "instance": f"tag:oracle.com,2020:ecid/{secrets.token_hex(12)}",
        }
        self.refuse(status, message, lambda: self.send_json(body, status))

    def vendor(self, method: str) -> None:
        if self.route == "/ords/motcua/oauth/token" and method == "POST":
            self.token()
        elif self.route == COLLECTION and method == "GET":
            self.collection()
        else:
            self.error(404, "NotFound", "Not Found")

    def token(self) -> None:
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        try:
            client = base64.b64decode(encoded).decode() if scheme == "Basic" else ""
        except ValueError:
            client = ""
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode()).items()}
        if client != f"{CLIENT_ID}:{CLIENT_SECRET}":
            self.error(401, "Unauthorized", "Unauthorized")
            return
        if form.get("grant_type") != "client_credentials":
            self.error(400, "BadRequest", "unsupported_grant_type")
            return
        token = _tokens.issue(secrets.token_urlsafe(16), TOKEN_TTL)
        self.send_json({"access_token": token, "token_type": "bearer", "expires_in": TOKEN_TTL})

    def collection(self) -> None:
        if not _tokens.valid(self):
            self.error(401, "Unauthorized", "Unauthorized")
            return
        unknown = sorted(set(self.query) - {"q", "offset", "limit"})
        if unknown:
            self.error(400, "BadRequest", f"The query parameter {unknown[0]} is not supported")
            return
        try:
            q = json.loads(self.param("q") or "")
            bounds = q["ngay_cap_nhat"]
            if set(bounds) != {"$gte", "$lt"}:
                raise ValueError("ngay_cap_nhat: $gte and $lt")
            start, end = instant(bounds["$gte"]), instant(bounds["$lt"])
            if q.get("$orderby") != {"ngay_cap_nhat": "ASC", "id": "ASC"} or set(q) != {
                "ngay_cap_nhat",
                "$orderby",
            }:
                raise ValueError("$orderby ngay_cap_nhat, id")
            offset, limit = int(self.param("offset") or 0), int(self.param("limit") or 25)
            if offset < 0 or not 0 < limit <= MAX_LIMIT:
                raise ValueError("offset, limit")
        except (ValueError, KeyError, TypeError) as exc:
            self.error(400, "BadRequest", f"The filter object could not be parsed: {exc}")
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), int(i["source_record_id"])),
        )
        page = found[offset : offset + limit]
        more = len(found) > offset + limit
        here = f"http://{self.headers.get('Host')}{COLLECTION}"
        qtext = quote(self.param("q") or "", safe="")

        def at(o: int) -> str:
            return f"{here}?q={qtext}&offset={o}&limit={limit}"

        links = [
            {"rel": "self", "href": at(offset)},
            {
                "rel": "describedby",
                "href": f"http://{self.headers.get('Host')}/ords/motcua/metadata-catalog/hoso/danh-sach/",
            },
            {"rel": "first", "href": at(0)},
        ]
        if offset > 0:
            links.append({"rel": "prev", "href": at(max(0, offset - limit))})
        if more:
            links.append({"rel": "next", "href": at(offset + limit)})
        self.send_json(
            {"items": [render(i) for i in page], "hasMore": more, "limit": limit, "offset": offset,
             "count": len(page), "links": links}
        )  # fmt: skip


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
