"""A FHIR R4 server (HAPI FHIR JPA) holding one-stop dossiers as Task resources: a searchset Bundle, records at
`entry[].resource`, the next page in `link[]` where `relation` is "next", the vendor's fields in extensions.

Contract (the server's CapabilityStatement and the province's implementation guide):
  GET /fhir/Task?_lastUpdated=ge<instant>&_lastUpdated=lt<instant>&_sort=_lastUpdated&_count=1..100
      Authorization: Basic <login:password>      Accept: application/fhir+json
    -> {"resourceType": "Bundle", "type": "searchset", "total": N,
        "link": [{"relation": "self", "url": ...}, {"relation": "next", "url": ...}, {"relation": "previous", ...}],
        "entry": [{"fullUrl": ".../fhir/Task/<id>", "resource": {"resourceType": "Task", ...},
                   "search": {"mode": "match"}}]}
       Links in HAPI's order: self, next (while a page follows), previous (after the first): the next link's
       position changes, its relation names it. Next pages are HAPI's paging URLs on the server base:
       /fhir?_getpages=<search id>&_getpagesoffset=50&_count=50&_bundletype=searchset.
       A Bundle with no matches has no `entry`.
  A Task: identifier[] by system (the national portal's code first, for online dossiers only; the office's
  MaHoSo), businessStatus the office's status code, code the procedure, owner the agency, the applicant a
  contained Person or Organization (`for`: #nguoi-nop), telecom[] by system; extensions by URL: channel, sector,
  summary, submission and return times (only when they happened), steps and fees (complex extensions).
  Instants carry +07:00; a '+' not percent-encoded in _lastUpdated is a space and refused (400 OperationOutcome).
  Wrong credentials: 401 OperationOutcome whose diagnostics is REFUSAL.
"""

from __future__ import annotations

import base64
import threading
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "fhir_bundle"
USER, PASSWORD = "esb-tinh", "FHIR-r4-Task!"
REFUSAL = "HAPI-0334: Thông tin xác thực không hợp lệ"
MEDIA = "application/fhir+json;charset=utf-8"
MAX_COUNT = 100
SD = "http://dvc.haiduong.gov.vn/fhir/StructureDefinition"
CS = "http://dvc.haiduong.gov.vn/fhir/CodeSystem"
MA_HO_SO = "http://dvc.haiduong.gov.vn/ma-ho-so"
DVCQG = "https://dichvucong.gov.vn/ma-ho-so"
TASK_STATUS = {1: "requested", 2: "received", 4: "in-progress", 5: "on-hold", 6: "on-hold", 9: "completed",
               10: "completed"}  # fmt: skip
KENH = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Bưu chính"}

_searches: dict[str, list[dict[str, Any]]] = {}
_lock = threading.Lock()


def ext(name: str, **value: Any) -> dict[str, Any]:
    return {"url": name, **value}


def applicant(a: dict[str, Any]) -> dict[str, Any]:
    telecom = [{"system": "phone", "value": a["phone"], "use": "mobile"}]
    if a.get("email"):
        telecom.append({"system": "email", "value": a["email"]})
    if a["type"] == 2:
        return {"resourceType": "Organization", "id": "nguoi-nop",
                "identifier": [{"system": "https://thuedientu.gdt.gov.vn/mst", "value": a["id_number"]}],
                "name": a["name"], "telecom": telecom, "address": [{"text": a["address"]}]}  # fmt: skip
    person: dict[str, Any] = {
        "resourceType": "Person",
        "id": "nguoi-nop",
        "identifier": [
            {
                "type": {"coding": [{"system": f"{CS}/loai-giay-to", "code": "CCCD"}]},
                "system": "https://dancuquocgia.gov.vn/cccd",
                "value": a["id_number"],
            }
        ],
        "name": [{"use": "official", "text": a["name"]}],
        "telecom": telecom,
        "address": [{"use": "home", "text": a["address"]}],
    }
    if a.get("birth_date"):
        person["birthDate"] = a["birth_date"]
    return person


def task(item: dict[str, Any]) -> dict[str, Any]:
    rid = item["source_record_id"]
    identifiers = []
    if item["channel"] == 2:  # submitted on the national portal: its code comes first
        identifiers.append({"system": DVCQG, "value": f"G22.{rid}-{item['received_at'][:10]}"})
    identifiers.append({"use": "official", "system": MA_HO_SO, "value": item["ma_ho_so"]})
    extensions = [
        ext(f"{SD}/kenh-nop", valueCoding={"system": f"{CS}/kenh-nop", "code": str(item["channel"]),
                                           "display": KENH[item["channel"]]}),
        ext(f"{SD}/linh-vuc", valueCoding={"system": f"{CS}/linh-vuc", "code": item["field_code"],
                                           "display": item["field_name"]}),
        ext(f"{SD}/trich-yeu", valueString=item["summary"]),
    ]  # fmt: skip
    if item.get("submitted_at"):
        extensions.append(ext(f"{SD}/ngay-nop", valueDateTime=item["submitted_at"]))
    if item.get("returned_at"):
        extensions.append(ext(f"{SD}/ngay-tra-ket-qua", valueDateTime=item["returned_at"]))
    for h in item["history"]:
        extensions.append(ext(f"{SD}/qua-trinh", extension=[
            ext("trang-thai", valueCode=str(h["status"])), ext("thoi-diem", valueDateTime=h["at"]),
            ext("can-bo", valueString=h["actor"]), ext("noi-dung", valueString=h["content"])]))  # fmt: skip
    for f in item["fees"]:
        extensions.append(ext(f"{SD}/le-phi", extension=[
            ext("ma", valueCode=f["code"]), ext("ten", valueString=f["name"]),
            ext("so-tien", valueMoney={"value": f["amount_vnd"], "currency": "VND"})]))  # fmt: skip
    period = {"start": item["received_at"]}
    if item.get("finished_at"):
        period["end"] = item["finished_at"]
    return {
        "resourceType": "Task",
        "id": rid,
        "meta": {"versionId": str(len(item["history"])), "lastUpdated": item["source_updated_at"]},
        "contained": [applicant(item["applicant"])],
        "extension": extensions,
        "identifier": identifiers,
        "status": TASK_STATUS[item["status"]],
        "businessStatus": {"coding": [{"system": f"{CS}/trang-thai-ho-so", "code": str(item["status"])}]},
        "intent": "order",
        "code": {
            "coding": [
                {
                    "system": "https://dichvucong.gov.vn/thu-tuc",
                    "code": item["procedure_code"],
                    "display": item["procedure_name"],
                }
            ]
        },
        "for": {"reference": "#nguoi-nop", "display": item["applicant"]["name"]},
        "authoredOn": item["received_at"],
        "executionPeriod": period,
        "restriction": {"period": {"end": item["due_at"]}},
        "owner": {
            "identifier": {"system": "https://dichvucong.gov.vn/co-quan", "value": item["agency_code"]},
            "display": item["agency_name"],
        },
        "input": [
            {
                "type": {
                    "coding": [{"system": f"{CS}/mau-giay-to", "code": d["form_code"]}],
                    "text": d["name"],
                },
                "valueString": d["name"],
            }
            for d in item["documents"]
        ],
    }


def outcome(code: str, diagnostics: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}]}  # fmt: skip


class Handler(VendorHandler):
    server_version = "HAPI FHIR 7.2.0 REST Server (FHIR Server; FHIR 4.0.1/R4)"

    def fail(self, status: int, code: str, diagnostics: str) -> None:
        body = outcome(code, diagnostics)
        self.refuse(status, diagnostics, lambda: self.send_fhir(body, status))

    def send_fhir(self, body: dict[str, Any], status: int = 200) -> None:
        import json

        self.send_body(status, json.dumps(body, ensure_ascii=False).encode(), MEDIA)

    def vendor(self, method: str) -> None:
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        try:
            given = base64.b64decode(encoded).decode() if scheme == "Basic" else ""
        except ValueError:
            given = ""
        if method != "GET":
            self.fail(405, "not-supported", f"HAPI-0432: Method {method} is not supported")
        elif given != f"{USER}:{PASSWORD}":
            self.fail(401, "login", REFUSAL)
        elif self.route == "/fhir/Task":
            self.search()
        elif self.route == "/fhir" and "_getpages" in self.query:
            self.page()
        else:
            self.fail(404, "not-found", f"HAPI-0302: Unknown resource type '{self.route}'")

    def search(self) -> None:
        bounds = self.query.get("_lastUpdated", [])
        try:
            low = [datetime.fromisoformat(b[2:]) for b in bounds if b.startswith("ge")]
            high = [datetime.fromisoformat(b[2:]) for b in bounds if b.startswith("lt")]
            count = int(self.param("_count") or "20")
            if len(low) != 1 or len(high) != 1 or len(bounds) != 2 or low[0].tzinfo is None:
                raise ValueError("_lastUpdated: ge<instant> and lt<instant>")
            if self.param("_sort") != "_lastUpdated" or not 1 <= count <= MAX_COUNT:
                raise ValueError("_sort=_lastUpdated, _count 1..100")
        except ValueError as exc:
            self.fail(400, "processing", f"HAPI-1880: Invalid search parameters: {exc}")
            return
        found = sorted((i for i in self.truth if low[0] <= updated(i) < high[0]),
                       key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
        search = str(uuid.uuid4())
        with _lock:
            _searches[search] = found
        self.bundle(search, found, 0, count)

    def page(self) -> None:
        with _lock:
            found = _searches.get(self.param("_getpages") or "")
        if found is None:
            self.fail(410, "processing", f'HAPI-0417: Search ID "{self.param("_getpages")}" does not exist')
            return
        self.bundle(self.param("_getpages") or "", found, int(self.param("_getpagesoffset") or 0),
                    int(self.param("_count") or 20))  # fmt: skip

    def bundle(self, search: str, found: list[dict[str, Any]], offset: int, count: int) -> None:
        base = f"http://{self.headers.get('Host')}/fhir"

        def at(n: int) -> str:
            query = {"_getpages": search, "_getpagesoffset": n, "_count": count, "_bundletype": "searchset"}
            return f"{base}?{urlencode(query)}"

        links = [
            {
                "relation": "self",
                "url": at(offset) if offset else f"{base}/Task?{urlencode(self.query, doseq=True)}",
            }
        ]
        if offset + count < len(found):
            links.append({"relation": "next", "url": at(offset + count)})
        if offset > 0:
            links.append({"relation": "previous", "url": at(max(0, offset - count))})
        body: dict[str, Any] = {"resourceType": "Bundle", "id": search, "meta": {"lastUpdated": datetime.now().astimezone().isoformat()},
                                "type": "searchset", "total": len(found), "link": links}  # fmt: skip
        chunk = found[offset : offset + count]
        if chunk:  # HAPI leaves `entry` out of an empty Bundle
            body["entry"] = [{"fullUrl": f"{base}/Task/{i['source_record_id']}", "resource": task(i),
                              "search": {"mode": "match"}} for i in chunk]  # fmt: skip
        self.send_fhir(body)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
