"""A Drupal 10 site's one-stop module, read through Drupal core's JSON:API with Simple OAuth: dossiers are nodes,
their applicant, steps, fees and documents are paragraphs the record names in `relationships` and the answer
sends once each in `included`.

Contract (JSON:API 1.0 as Drupal writes it):
  POST /oauth/token   grant_type=password, client_id, client_secret, username, password
       -> {"token_type": "Bearer", "expires_in": 300, "access_token": "...", "refresh_token": "..."}
          a wrong password -> 400 {"error": "invalid_grant", "error_description": REFUSAL, "message": REFUSAL}
  GET  /jsonapi/node/ho_so_tthc?filter[tu][condition][path]=changed&filter[tu][condition][operator]=>=
         &filter[tu][condition][value]=<epoch s>&filter[den][condition][path]=changed
         &filter[den][condition][operator]=<&filter[den][condition][value]=<epoch s>&sort=changed,drupal_internal__nid
         &include=field_nguoi_nop,field_qua_trinh,field_le_phi,field_giay_to&page[limit]=≤ 50[&page[offset]=n]
       Authorization: Bearer <token>   Accept: application/vnd.api+json
    -> {"jsonapi": {...}, "data": [{"type": "node--ho_so_tthc", "id": "<uuid>", "attributes": {...},
        "relationships": {"field_nguoi_nop": {"data": {"type": ..., "id": ..., "meta": {...}}},
                          "field_qua_trinh": {"data": [...]}, ...}}],
        "included": [{"type": "paragraph--buoc_xu_ly", "id": "<uuid>", "attributes": {...}}, ...],
        "links": {"self": {"href": ...}, "next": {"href": "<absolute URL>"}}}   (no `next` on the last page)
  Filters on `changed` take Unix seconds, though attributes render times as RFC 3339 in the site's zone
  (+07:00); decimals are strings ("75000.00"); list values are machine names (truc_tuyen); a missing value is
  null. An included paragraph is sent once per page even when two dossiers name it. Errors are JSON:API error
  objects: 401 for a missing or expired token, 400 for a filter it cannot read, with `errors[0].detail`.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from schemas.dossier import HCM
from tests.vendors.common import BearerTokens, VendorHandler, arguments, serve, updated

VENDOR = "drupal_jsonapi"
USER, PASSWORD = "esb_tinh", "Drup@l-JsonApi-25"
CLIENT_ID, CLIENT_SECRET = "6b1f0a52-esb", "kT9!client"
REFUSAL = "The user credentials were incorrect."
WRONG_CONNECTION = {"password": "sai-mat-khau"}
MEDIA = "application/vnd.api+json"
MAX_LIMIT = 50
TOKEN_TTL = 300
KENH = {1: "truc_tiep", 2: "truc_tuyen", 3: "buu_chinh"}
DOI_TUONG = {1: "cong_dan", 2: "to_chuc"}
RELATIONS = ("field_nguoi_nop", "field_qua_trinh", "field_le_phi", "field_giay_to")

_tokens = BearerTokens()


def rfc3339(iso: str | None) -> str | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).isoformat()


def paragraph(kind: str, seed: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"type": f"paragraph--{kind}", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, seed)),
            "attributes": {"langcode": "vi", "status": True, **attributes}}  # fmt: skip


def ref(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": item["type"],
        "id": item["id"],
        "meta": {"target_revision_id": 1 + int(item["id"][:4], 16)},
    }


def node(item: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The dossier's node and the paragraphs it names (to go in `included`)."""
    rid, a = item["source_record_id"], item["applicant"]
    applicant = paragraph("nguoi_nop", f"nn/{rid}", {
        "field_doi_tuong": DOI_TUONG[a["type"]], "field_ho_ten": a["name"],
        "field_loai_giay_to": "cccd" if a.get("id_type") == 1 else None, "field_so_giay_to": a["id_number"],
        "field_dien_thoai": a["phone"], "field_email": a.get("email"), "field_ngay_sinh": a.get("birth_date"),
        "field_dia_chi": a["address"]})  # fmt: skip
    steps = [paragraph("buoc_xu_ly", f"qt/{rid}/{n}", {"field_trang_thai": str(h["status"]), "field_thoi_diem": rfc3339(h["at"]),
                                                        "field_can_bo": h["actor"], "field_noi_dung": h["content"]})
             for n, h in enumerate(item["history"])]  # fmt: skip
    fees = [paragraph("le_phi", f"lp/{rid}/{n}", {"field_ma": f["code"], "field_ten": f["name"], "field_so_tien": f"{f['amount_vnd']}.00"})
            for n, f in enumerate(item["fees"])]  # fmt: skip
    documents = [paragraph("giay_to", f"gt/{rid}/{n}", {"field_ten": d["name"], "field_ma_mau": d["form_code"]})
                 for n, d in enumerate(item["documents"])]  # fmt: skip
    data = {
        "type": "node--ho_so_tthc",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"node/{rid}")),
        "links": {"self": {"href": f"/jsonapi/node/ho_so_tthc/{uuid.uuid5(uuid.NAMESPACE_URL, f'node/{rid}')}"}},
        "attributes": {
            "drupal_internal__nid": int(rid), "langcode": "vi", "status": True, "title": item["summary"],
            "created": rfc3339(item["received_at"]), "changed": rfc3339(item["source_updated_at"]),
            "field_ma_ho_so": item["ma_ho_so"], "field_ma_thu_tuc": item["procedure_code"],
            "field_ten_thu_tuc": item["procedure_name"], "field_ma_linh_vuc": item["field_code"],
            "field_ten_linh_vuc": item["field_name"], "field_ma_co_quan": item["agency_code"],
            "field_ten_co_quan": item["agency_name"], "field_kenh_nop": KENH[item["channel"]],
            "field_trang_thai": str(item["status"]), "field_ngay_nop": rfc3339(item.get("submitted_at")),
            "field_ngay_tiep_nhan": rfc3339(item["received_at"]), "field_ngay_hen_tra": rfc3339(item["due_at"]),
            "field_ngay_co_ket_qua": rfc3339(item.get("finished_at")), "field_ngay_tra": rfc3339(item.get("returned_at")),
        },
        "relationships": {
            "field_nguoi_nop": {"data": ref(applicant)},
            "field_qua_trinh": {"data": [ref(s) for s in steps]},
            "field_le_phi": {"data": [ref(f) for f in fees]},
            "field_giay_to": {"data": [ref(d) for d in documents]},
        },
    }  # fmt: skip
    return data, [applicant, *steps, *fees, *documents]


def error(status: int, title: str, detail: str) -> dict[str, Any]:
    return {
        "jsonapi": {"version": "1.0"},
        "errors": [{"title": title, "status": str(status), "detail": detail}],
    }


class Handler(VendorHandler):
    def api_error(self, status: int, title: str, detail: str) -> None:
        body = error(status, title, detail)
        self.refuse(status, title, lambda: self.send_json(body, status))

    def vendor(self, method: str) -> None:
        if self.route == "/oauth/token" and method == "POST":
            self.token()
        elif self.route == "/jsonapi/node/ho_so_tthc" and method == "GET":
            self.collection()
        else:
            self.api_error(404, "Not Found", f'No route found for "{method} {self.route}"')

    def token(self) -> None:
        from urllib.parse import parse_qs

        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode()).items()}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            body = {"error": "invalid_client", "error_description": "Client authentication failed",
                    "message": "Client authentication failed"}  # fmt: skip
            self.refuse(401, "invalid_client", lambda: self.send_json(body, 401))
            return
        if form.get("grant_type") != "password" or (form.get("username"), form.get("password")) != (
            USER,
            PASSWORD,
        ):
            body = {"error": "invalid_grant", "error_description": REFUSAL, "message": REFUSAL}
            self.refuse(400, "invalid_grant", lambda: self.send_json(body, 400))
            return
        token = secrets.token_urlsafe(32)
        _tokens.issue(token, TOKEN_TTL)
        self.send_json({"token_type": "Bearer", "expires_in": TOKEN_TTL, "access_token": token,
                        "refresh_token": secrets.token_urlsafe(32)})  # fmt: skip

    def collection(self) -> None:
        valid = _tokens.valid(self)
        if not valid:
            self.api_error(
                401, "Unauthorized", "The used authentication method is not allowed on this route."
            )
            return
        q = {k: v[0] for k, v in self.query.items()}
        try:
            bounds = {}
            for name, operator in (("tu", ">="), ("den", "<")):
                prefix = f"filter[{name}][condition]"
                if q[f"{prefix}[path]"] != "changed" or q[f"{prefix}[operator]"] != operator:
                    raise ValueError(f"filter {name}: changed {operator}")
                bounds[name] = datetime.fromtimestamp(int(q[f"{prefix}[value]"]), UTC)
            if q.get("sort") != "changed,drupal_internal__nid" or q.get("include") != ",".join(RELATIONS):
                raise ValueError("sort=changed,drupal_internal__nid and every relationship included")
            limit, offset = int(q.get("page[limit]", MAX_LIMIT)), int(q.get("page[offset]", 0))
            if not 1 <= limit <= MAX_LIMIT or offset < 0:
                raise ValueError(f"page[limit] 1..{MAX_LIMIT}")
        except (KeyError, ValueError) as exc:
            self.api_error(400, "Bad Request", f"Invalid filter or paging: {exc}")
            return
        found = sorted((i for i in self.truth if bounds["tu"] <= updated(i) < bounds["den"]),
                       key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
        data, included = [], {}
        for item in found[offset : offset + limit]:
            record, paragraphs = node(item)
            data.append(record)
            included.update({p["id"]: p for p in paragraphs})
        base = f"http://{self.headers.get('Host')}{self.route}"
        links: dict[str, Any] = {"self": {"href": f"{base}?{urlencode({**q})}"}}
        if offset + limit < len(found):
            links["next"] = {"href": f"{base}?{urlencode({**q, 'page[offset]': offset + limit})}"}
        body = {"jsonapi": {"version": "1.0", "meta": {"links": {"self": {"href": "http://jsonapi.org/format/1.0/"}}}},
                "data": data, "included": list(included.values()), "links": links}  # fmt: skip
        self.send_body(200, json.dumps(body, ensure_ascii=False).encode(), MEDIA)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
