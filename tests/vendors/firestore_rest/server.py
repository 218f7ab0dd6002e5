"""A district's dossiers in a Cloud Firestore collection (a Firebase app), read with the Firestore REST API's
`documents.list`, as Firestore answers it.

Contract (https://firebase.google.com/docs/firestore/reference/rest/v1/projects.databases.documents/list):
  GET /v1/projects/motcua-hd/databases/(default)/documents/hoso?pageSize=N&pageToken=T&orderBy=__name__
      Authorization: Bearer <access token>
    -> {"documents": [{"name": "projects/motcua-hd/databases/(default)/documents/hoso/<id>",
                       "fields": {<field>: Value}, "createTime": "…Z", "updateTime": "…Z"}],
        "nextPageToken": "<opaque>"}
  A Value is one of nullValue, booleanValue, integerValue (an int64 as text), doubleValue, timestampValue (RFC
  3339, UTC), stringValue, bytesValue, referenceValue, geoPointValue, arrayValue ({"values": [...]}, no
  `values` when empty) or mapValue ({"fields": {...}}, no `fields` when empty). The last page has no
  nextPageToken; a pageToken is only good with the pageSize and orderBy it was issued for (else 400
  INVALID_ARGUMENT). pageSize at most 300. A list has no filter: every document comes, every run (the app keeps
  its update time in `updateTime`, each document's own). Errors are Google's: {"error": {"code", "message",
  "status"}}; a token it does not know is 401 UNAUTHENTICATED.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from tests.vendors.common import VendorHandler, arguments, serve

VENDOR = "firestore_rest"
TOKEN = "ya29.c.b0Aaekm1K-hd-motcua-2025"
PARENT = "projects/motcua-hd/databases/(default)/documents"
COLLECTION = f"/v1/{PARENT}/hoso"
REFUSAL = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential."
)
WRONG_CONNECTION = {"password": "ya29.sai-token"}
MAX_PAGE = 300
PARAMS = {"pageSize", "pageToken", "orderBy", "mask.fieldPaths", "showMissing"}
STATUS = {1: "NOP_TRUC_TUYEN", 2: "DA_TIEP_NHAN", 4: "DANG_XU_LY", 5: "CHO_BO_SUNG", 6: "TAM_DUNG",
          9: "CO_KET_QUA", 10: "DA_TRA_KET_QUA"}  # fmt: skip


def stamp(value: str | None, fraction: bool = False) -> str | None:
    """RFC 3339 in UTC as Firestore writes it: a timestampValue without a zero fraction, updateTime with its
    microseconds."""
    if value is None:
        return None
    utc = datetime.fromisoformat(value).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if fraction else "%Y-%m-%dT%H:%M:%SZ")


def text(value: str | None) -> dict[str, Any]:
    return {"nullValue": None} if value is None else {"stringValue": value}


def when(value: str | None) -> dict[str, Any]:
    return {"nullValue": None} if value is None else {"timestampValue": stamp(value)}


def integer(value: int) -> dict[str, Any]:
    return {"integerValue": str(value)}


def mapped(fields: dict[str, Any]) -> dict[str, Any]:
    return {"mapValue": {"fields": fields} if fields else {}}


def array(values: list[Any]) -> dict[str, Any]:
    return {"arrayValue": {"values": values} if values else {}}


def document_of(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    applicant = {
        "kind": integer(a["type"]), "fullName": text(a["name"]),
        "idKind": text("CCCD" if a.get("id_type") == 1 else None), "idNumber": text(a["id_number"]),
        "phone": text(a["phone"]), "email": text(a.get("email")), "address": text(a["address"]),
    }  # fmt: skip
    if "birth_date" in a:
        applicant["birthDate"] = text(a["birth_date"])
    fields = {
        "dossierNo": text(item["ma_ho_so"]),
        "procedure": mapped({"code": text(item["procedure_code"]), "name": text(item["procedure_name"])}),
        "sector": mapped({"code": text(item["field_code"]), "name": text(item["field_name"])}),
        "agency": mapped({"code": text(item["agency_code"]), "name": text(item["agency_name"]),
                          "ref": {"referenceValue": f"{PARENT}/donvi/{item['agency_code']}"}}),
        "channel": integer(item["channel"]),
        "status": text(STATUS[item["status"]]),
        "summary": text(item["summary"]),
        "applicant": mapped(applicant),
        "submittedAt": when(item.get("submitted_at")),
        "receivedAt": when(item["received_at"]),
        "dueAt": when(item["due_at"]),
        "resultAt": when(item.get("finished_at")),
        "returnedAt": when(item.get("returned_at")),
        "history": array([mapped({"state": text(STATUS[h["status"]]), "at": when(h["at"]),
                                  "officer": text(h["actor"]), "note": text(h["content"])})
                          for h in item["history"]]),
        "fees": array([mapped({"code": text(f["code"]), "title": text(f["name"]), "amount": integer(f["amount_vnd"])})
                       for f in item["fees"]]),
        "attachments": array([mapped({"title": text(d["name"]), "template": text(d["form_code"])})
                              for d in item["documents"]]),
        "archived": {"booleanValue": False},
        "progress": {"doubleValue": 1.0 if item["status"] in (9, 10) else 0.5},
        "counter": {"geoPointValue": {"latitude": 20.9373, "longitude": 106.3146}},
    }  # fmt: skip
    updated = stamp(item["source_updated_at"], fraction=True)
    return {
        "name": f"{PARENT}/hoso/{item['source_record_id']}",
        "fields": fields,
        "createTime": stamp(item["received_at"], fraction=True),
        "updateTime": updated,
    }


def page_token(offset: int, size: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, size, "__name__"]).encode()).decode().rstrip("=")


class Handler(VendorHandler):
    def fail(self, status: int, kind: str, message: str) -> None:
        body = {"error": {"code": status, "message": message, "status": kind}}
        headers = (
            {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'}
            if status == 401
            else None
        )
        self.refuse(status, kind, lambda: self.send_json(body, status, headers))

    def vendor(self, method: str) -> None:
        if unquote(self.route) != COLLECTION or method != "GET":
            self.fail(404, "NOT_FOUND", f"The path {self.route} was not found.")
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.fail(401, "UNAUTHENTICATED", REFUSAL)
            return
        unknown = set(self.query) - PARAMS
        if unknown:
            self.fail(
                400, "INVALID_ARGUMENT", f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}"'
            )
            return
        try:
            size = int(self.param("pageSize") or 20)
        except ValueError:
            self.fail(400, "INVALID_ARGUMENT", "Invalid value at 'page_size' (TYPE_INT32)")
            return
        if not 0 < size <= MAX_PAGE:
            self.fail(400, "INVALID_ARGUMENT", f"Page size {size} exceeds maximum of {MAX_PAGE}.")
            return
        if (self.param("orderBy") or "__name__") != "__name__":
            self.fail(400, "INVALID_ARGUMENT", "This contract lists by __name__ only.")
            return
        offset = 0
        token = self.param("pageToken")
        if token:
            try:
                offset, issued, order = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            except ValueError:
                self.fail(400, "INVALID_ARGUMENT", "Invalid page token.")
                return
            if issued != size or order != "__name__":
                self.fail(400, "INVALID_ARGUMENT", "The page token does not match the request's page size.")
                return
        ordered = sorted(self.truth, key=lambda i: i["source_record_id"])
        chunk = ordered[offset : offset + size]
        answer: dict[str, Any] = {"documents": [document_of(i) for i in chunk]}
        if offset + size < len(ordered):
            answer["nextPageToken"] = page_token(offset + size, size)
        if not chunk:
            answer = {}  # Firestore answers an empty page with an empty object
        self.send_json(answer)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
