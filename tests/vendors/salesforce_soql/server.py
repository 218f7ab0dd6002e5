"""A Salesforce org holding one-stop dossiers as a custom object (Ho_So__c), read by the REST API's SOQL query:
`records`, `done`, `nextRecordsUrl` relative to the host root (not to the API's base path), child relationships as
nested query results, the OAuth 2.0 username-password flow.

Contract (Salesforce REST API v59.0, as the org answers):
  POST /services/oauth2/token  grant_type=password, client_id, client_secret, username, password
       -> {"access_token": "00D...!AQ...", "instance_url": "<this host>", "id": ..., "token_type": "Bearer",
           "issued_at": "<ms>", "signature": ...}        (no expires_in: the session lasts 2 hours)
          wrong -> 400 {"error": "invalid_grant", "error_description": REFUSAL}
  GET  /services/data/v59.0/query?q=<SOQL>    Authorization: Bearer <token>   Sforce-Query-Options: batchSize=200..2000
       SOQL: SELECT ... FROM Ho_So__c WHERE LastModifiedDate >= <datetime> AND LastModifiedDate < <datetime>
             ORDER BY LastModifiedDate, Id   (datetime literals unquoted, with Z or ±hh:mm)
    -> {"totalSize": N, "done": false, "nextRecordsUrl": "/services/data/v59.0/query/01gRO0000016c2tYAA-200",
        "records": [{"attributes": {"type": "Ho_So__c", "url": ...}, "Id": "a0B...", ...,
                     "Qua_Trinh__r": {"totalSize": 3, "done": true, "records": [...]} | null, ...}]}
  GET  /services/data/v59.0/query/<locator>-<offset>   the next batch; the last has "done": true, no nextRecordsUrl
  Datetimes are UTC as 2025-01-02T01:15:00.000+0000, dates yyyy-MM-dd, Currency fields JSON numbers (75000.0),
  picklists their API names; an empty child relationship is null. A malformed query is 400
  [{"message": ..., "errorCode": "MALFORMED_QUERY"}]; an unknown or expired session 401
  [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}].
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "salesforce_soql"
USER, PASSWORD = "tichhop@motcua-hd.my.salesforce.com", "Sf-M0tCua-2025tok3n"
CLIENT_ID, CLIENT_SECRET = "3MVG9esb.tinh.hd", "8F2C1A0E55D4"
REFUSAL = "authentication failure"
API = "/services/data/v59.0"
WHERE = re.compile(
    r"SELECT .+ FROM Ho_So__c WHERE LastModifiedDate >= (\S+) AND LastModifiedDate < (\S+) "
    r"ORDER BY LastModifiedDate, Id"
)
TRANG_THAI = {1: "Moi_Nop", 2: "Da_Tiep_Nhan", 4: "Dang_Xu_Ly", 5: "Yeu_Cau_Bo_Sung", 6: "Cho_Nop_Phi",
              9: "Co_Ket_Qua", 10: "Da_Tra_Ket_Qua"}  # fmt: skip
KENH = {1: "Truc_Tiep", 2: "Truc_Tuyen", 3: "Buu_Chinh"}
DOI_TUONG = {1: "Ca_Nhan", 2: "To_Chuc"}

_sessions: dict[str, float] = {}
_cursors: dict[str, list[dict[str, Any]]] = {}
_lock = threading.Lock()


def sf_id(prefix: str, seed: str) -> str:
    """An 18-character record id, the same for the same seed in every process."""
    return (prefix + "5g" + hashlib.sha1(seed.encode()).hexdigest().upper())[:18]


def utc(iso: str | None) -> str | None:
    if iso is None:
        return None
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def attributes(kind: str, rid: str) -> dict[str, str]:
    return {"type": kind, "url": f"{API}/sobjects/{kind}/{rid}"}


def children(kind: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None  # SOQL writes an empty child relationship as null
    return {"totalSize": len(rows), "done": True, "records": rows}


def render(item: dict[str, Any]) -> dict[str, Any]:
    rid, a = item["source_record_id"], item["applicant"]
    sid = sf_id("a0B", rid)
    return {
        "attributes": attributes("Ho_So__c", sid),
        "Id": sid,
        "Ma_Nguon__c": rid,
        "Name": item["ma_ho_so"],
        "Thu_Tuc__r": {"attributes": attributes("Thu_Tuc__c", sf_id("a0T", item["procedure_code"])),
                       "Ma_Quoc_Gia__c": item["procedure_code"], "Name": item["procedure_name"],
                       "Linh_Vuc__r": {"attributes": attributes("Linh_Vuc__c", sf_id("a0L", item["field_code"])),
                                       "Ma__c": item["field_code"], "Name": item["field_name"]}},
        "Co_Quan__r": {"attributes": attributes("Account", sf_id("001", item["agency_code"])),
                       "Ma_Dinh_Danh__c": item["agency_code"], "Name": item["agency_name"]},
        "Kenh_Nop__c": KENH[item["channel"]],
        "Trang_Thai__c": TRANG_THAI[item["status"]],
        "Trich_Yeu__c": item["summary"],
        "Loai_Doi_Tuong__c": DOI_TUONG[a["type"]],
        "Ho_Ten__c": a["name"],
        "Loai_Giay_To__c": "CCCD" if a.get("id_type") == 1 else None,
        "So_Giay_To__c": a["id_number"],
        "Dien_Thoai__c": a["phone"],
        "Email__c": a.get("email"),
        "Ngay_Sinh__c": a.get("birth_date"),
        "Dia_Chi__c": a["address"],
        "Ngay_Nop__c": utc(item.get("submitted_at")),
        "Ngay_Tiep_Nhan__c": utc(item["received_at"]),
        "Ngay_Hen_Tra__c": utc(item["due_at"]),
        "Ngay_Co_Ket_Qua__c": utc(item.get("finished_at")),
        "Ngay_Tra_Ket_Qua__c": utc(item.get("returned_at")),
        "LastModifiedDate": utc(item["source_updated_at"]),
        "Qua_Trinh__r": children("Qua_Trinh__c", [
            {"attributes": attributes("Qua_Trinh__c", sf_id("a0Q", f"{rid}/{n}")), "Trang_Thai__c": TRANG_THAI[h["status"]],
             "Thoi_Diem__c": utc(h["at"]), "Can_Bo__c": h["actor"], "Noi_Dung__c": h["content"]}
            for n, h in enumerate(item["history"])]),
        "Le_Phi__r": children("Le_Phi__c", [
            {"attributes": attributes("Le_Phi__c", sf_id("a0P", f"{rid}/{n}")), "Ma__c": f["code"], "Name": f["name"],
             "So_Tien__c": float(f["amount_vnd"])} for n, f in enumerate(item["fees"])]),
        "Giay_To__r": children("Giay_To__c", [
            {"attributes": attributes("Giay_To__c", sf_id("a0G", f"{rid}/{n}")), "Name": d["name"], "Ma_Mau__c": d["form_code"]}
            for n, d in enumerate(item["documents"])]),
    }  # fmt: skip


class Handler(VendorHandler):
    def sf_error(self, status: int, code: str, message: str) -> None:
        body = [{"message": message, "errorCode": code}]
        self.refuse(status, code, lambda: self.send_json(body, status))

    def vendor(self, method: str) -> None:
        if self.route == "/services/oauth2/token" and method == "POST":
            self.token()
        elif method == "GET" and (self.route == f"{API}/query" or self.route.startswith(f"{API}/query/")):
            self.query_()
        else:
            self.sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    def token(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode()).items()}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            body = {"error": "invalid_client_id", "error_description": "client identifier invalid"}
            self.refuse(400, "client", lambda: self.send_json(body, 400))
            return
        if form.get("grant_type") != "password" or (form.get("username"), form.get("password")) != (
            USER,
            PASSWORD,
        ):
            self.refuse(
                400,
                REFUSAL,
                lambda: self.send_json({"error": "invalid_grant", "error_description": REFUSAL}, 400),
            )
            return
        token = "00D5g000004XyZ1!" + secrets.token_urlsafe(40)
        with _lock:
            _sessions[token] = time.monotonic() + 7200
        host = f"http://{self.headers.get('Host')}"
        self.send_json({"access_token": token, "instance_url": host, "id": f"{host}/id/00D5g000004XyZ1EAI/0055g00000AbCdEAAV",
                        "token_type": "Bearer", "issued_at": str(int(time.time() * 1000)), "signature": "c2lnbmF0dXJl"})  # fmt: skip

    def query_(self) -> None:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        with _lock:
            valid = scheme == "Bearer" and _sessions.get(token, 0) > time.monotonic()
        if valid and self.revoke_due():
            with _lock:
                _sessions.clear()
            valid = False
        if not valid:
            self.sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            return
        options = dict(
            p.strip().split("=", 1)
            for p in (self.headers.get("Sforce-Query-Options") or "batchSize=2000").split(",")
            if "=" in p
        )
        batch = int(options.get("batchSize", "2000"))
        if not 200 <= batch <= 2000:
            self.sf_error(400, "INVALID_QUERY_OPTIONS", "batchSize must be between 200 and 2000")
            return
        if self.route == f"{API}/query":
            soql = self.param("q") or ""
            found = WHERE.fullmatch(soql)
            try:
                if found is None:
                    raise ValueError
                start, end = datetime.fromisoformat(found[1]), datetime.fromisoformat(found[2])
                if start.tzinfo is None or end.tzinfo is None:
                    raise ValueError
            except ValueError:
                self.sf_error(400, "MALFORMED_QUERY", f"unexpected token in: {soql[-80:]}")
                return
            rows = sorted((i for i in self.truth if start <= updated(i) < end),
                          key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
            locator, offset = "01gRO" + secrets.token_hex(7).upper(), 0
            with _lock:
                _cursors[locator] = rows
        else:
            locator, _, at = self.route.rsplit("/", 1)[1].rpartition("-")
            with _lock:
                rows = _cursors.get(locator)  # type: ignore[assignment]
            if rows is None or not at.isdigit():
                self.sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
                return
            offset = int(at)
        chunk = rows[offset : offset + batch]
        done = offset + batch >= len(rows)
        body: dict[str, Any] = {"totalSize": len(rows), "done": done}
        if not done:
            body["nextRecordsUrl"] = f"{API}/query/{locator}-{offset + batch}"
        body["records"] = [render(i) for i in chunk]
        self.send_json(body)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
