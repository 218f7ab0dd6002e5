"""An ASP.NET Core Web API (System.Text.Json, camelCase): the page is a bare JSON list, its paging in a header.

Contract (the vendor's Swagger page):
  GET /api/v1/Dossiers?PageNumber=<n ≥ 1>&PageSize=<n ≤ 50>&UpdatedFrom=<local time>&UpdatedTo=<local time>
      X-Api-Key: <key>
      -> 200 [ {dossier}, ... ]   with   X-Pagination: {"TotalCount": 250, "PageSize": 50, "CurrentPage": 1,
                                                         "TotalPages": 5, "HasNext": true, "HasPrevious": false}
  Times are DateTime without a zone (the server's local time, Asia/Ho_Chi_Minh), with 7 fraction digits as .NET
  writes them ("2025-01-04T16:25:00.0000000"); enums are numbers; a missing value is null. The window is
  half-open on lastModified. Errors are RFC 7807 ProblemDetails (application/problem+json): a wrong key -> 401
  {"type": ..., "title": "Unauthorized", "status": 401, "detail": "...", "traceId": "00-…"}; a bad parameter
  -> 400 with "errors" by parameter, as ASP.NET Core's model validation writes them.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "aspnet_core"
API_KEY = "7c1e5a90-4b2d-4f3e-9a61-d08c2b7e54f1"
REFUSAL = "API key không hợp lệ hoặc đã hết hạn"
WRONG_CONNECTION = {"password": "00000000-0000-0000-0000-000000000000"}
MAX_PAGE_SIZE = 50
STATUS = {1: 0, 2: 1, 4: 2, 5: 3, 6: 4, 9: 5, 10: 6}  # the DossierStatus enum's values


def dotnet(value: str | None) -> str | None:
    """A truth time as .NET writes a DateTime of Kind Unspecified: local wall clock, 7 fraction digits."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(HCM).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "id": int(item["source_record_id"]),
        "dossierCode": item["ma_ho_so"],
        "procedure": {"nationalCode": item["procedure_code"], "name": item["procedure_name"]},
        "sector": {"code": item["field_code"], "name": item["field_name"]},
        "agency": {"code": item["agency_code"], "name": item["agency_name"]},
        "channel": item["channel"],
        "status": STATUS[item["status"]],
        "summary": item["summary"],
        "applicant": {
            "kind": a["type"], "fullName": a["name"], "documentType": "CCCD" if a.get("id_type") == 1 else None,
            "documentNumber": a["id_number"], "phoneNumber": a["phone"], "email": a.get("email"),
            "dateOfBirth": f"{a['birth_date']}T00:00:00" if a.get("birth_date") else None, "address": a["address"],
        },
        "submittedAt": dotnet(item.get("submitted_at")),
        "receivedAt": dotnet(item["received_at"]),
        "dueAt": dotnet(item["due_at"]),
        "completedAt": dotnet(item.get("finished_at")),
        "returnedAt": dotnet(item.get("returned_at")),
        "lastModified": dotnet(item["source_updated_at"]),
        "steps": [{"status": STATUS[h["status"]], "at": dotnet(h["at"]), "officer": h["actor"], "note": h["content"]}
                  for h in item["history"]],
        "fees": [{"code": f["code"], "name": f["name"], "amount": f["amount_vnd"]} for f in item["fees"]],
        "documents": [{"name": d["name"], "templateCode": d["form_code"]} for d in item["documents"]],
    }  # fmt: skip


def problem(status: int, title: str, detail: str, **more: Any) -> dict[str, Any]:
    return {"type": f"https://tools.ietf.org/html/rfc9110#section-15.{status // 100}.{status % 100 + 1}",
            "title": title, "status": status, "detail": detail, **more,
            "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"}  # fmt: skip


class Handler(VendorHandler):
    def problem(self, status: int, reason: str, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.refuse(
            status, reason, lambda: self.send_body(status, data, "application/problem+json; charset=utf-8")
        )

    def vendor(self, method: str) -> None:
        if self.route != "/api/v1/Dossiers" or method != "GET":
            self.problem(404, "route", problem(404, "Not Found", "No such endpoint"))
            return
        if self.headers.get("X-Api-Key") != API_KEY:
            self.problem(401, "key", problem(401, "Unauthorized", REFUSAL))
            return
        try:
            start, end = (datetime.fromisoformat(self.param(k) or "") for k in ("UpdatedFrom", "UpdatedTo"))
            number, size = int(self.param("PageNumber") or ""), int(self.param("PageSize") or "")
            if number < 1 or not 1 <= size <= MAX_PAGE_SIZE or start.tzinfo or end.tzinfo:
                raise ValueError
        except ValueError:
            errors = {"PageSize": [f"The field PageSize must be between 1 and {MAX_PAGE_SIZE}."]}
            self.problem(
                400, "parameters", problem(400, "One or more validation errors occurred.", "", errors=errors)
            )
            return
        start, end = start.replace(tzinfo=HCM), end.replace(tzinfo=HCM)
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        pages = max((len(found) + size - 1) // size, 1)
        meta = {"TotalCount": len(found), "PageSize": size, "CurrentPage": number, "TotalPages": pages,
                "HasNext": number < pages, "HasPrevious": number > 1}  # fmt: skip
        rows = [render(i) for i in found[(number - 1) * size : number * size]]
        self.send_json(rows, headers={"X-Pagination": json.dumps(meta)})


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
