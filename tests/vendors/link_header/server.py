"""An ASP.NET Web API one-stop system: the next page in the Link header, an API key, a 31-day search cap.

Contract (the vendor's Swagger page):
  GET /api/v1/Documents?FromDate=dd-MM-yyyy HH:mm:ss&ToDate=dd-MM-yyyy HH:mm:ss&PageIndex=1..&PageSize=1..50
      X-DVC-ApiKey: <key>
      -> 200, the body is a JSON array of documents;
         headers  X-Total-Count: <documents in the window>
                  Link: <absolute URL>; rel="first", <…>; rel="prev", <…>; rel="next", <…>; rel="last"
                  (rel="next" only while a further page exists, rel="prev" only after the first)
  Times carry no zone: they are the office's wall-clock time (Asia/Ho_Chi_Minh), both in the query and in the
  documents. The window is inclusive on LastModified and may span at most 31 days: a longer one is refused with
  400 {"Message": "...", "ErrorCode": "DATE_RANGE_TOO_LARGE"}. Other errors are the framework's
  {"Message": "..."} with a 4xx status; a missing or wrong key is 401.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated

VENDOR = "link_header"
API_KEY = "9c1f7e0a-5b2d-4e8f-a3c6-d24b80e1f715"
REFUSAL = "Authorization has been denied for this request."  # ASP.NET Web API's own wording
ROUTE = "/api/v1/Documents"
MAX_WINDOW = timedelta(days=31)
MAX_PAGE_SIZE = 50
PARAMS = ("FromDate", "ToDate", "PageIndex", "PageSize")
LOCAL = "%d-%m-%Y %H:%M:%S"

STATUS = {1: "NEW", 2: "ACCEPTED", 4: "IN_PROCESS", 5: "ADDITIONAL_REQUIRED", 6: "FEE_PENDING",
          9: "RESOLVED", 10: "RESULT_DELIVERED"}  # fmt: skip
CHANNEL = {1: "DIRECT", 2: "PORTAL", 3: "VNPOST"}
OWNER = {1: "Individual", 2: "Enterprise"}


def local(iso: str | None) -> str | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).strftime(LOCAL)


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    # "Số 12, thôn Kim Đôi, xã Nam Hồng, huyện Nam Sách, tỉnh Hải Dương": the vendor stores it in parts
    house, village, ward, district, province = a["address"].split(", ")
    birth = a.get("birth_date")
    return {
        "DocId": int(item["source_record_id"]),
        "DocCode": item["ma_ho_so"],
        "ProcedureCode": f"{item['procedure_code']}.000.00.00.H23",
        "ProcedureName": item["procedure_name"],
        "SectorCode": item["field_code"],
        "SectorName": item["field_name"],
        "OfficeCode": item["agency_code"],
        "OfficeName": item["agency_name"],
        "Channel": CHANNEL[item["channel"]],
        "Status": STATUS[item["status"]],
        "Abstract": item["summary"],
        "Owner": {
            "OwnerType": OWNER[a["type"]],
            "FullName": a["name"],
            "IdentityKind": "CCCD" if a.get("id_type") == 1 else None,
            "IdentityNo": a["id_number"],
            "Mobile": a["phone"],
            "Email": a.get("email"),
            "DateOfBirth": None if birth is None else datetime.fromisoformat(birth).strftime("%d-%m-%Y"),
            "Address": {
                "Street": f"{house}, {village}",
                "Ward": ward,
                "District": district,
                "Province": province,
            },
        },
        "DateSubmitted": local(item.get("submitted_at")),
        "DateReceived": local(item["received_at"]),
        "DateAppointed": local(item["due_at"]),
        "DateResolved": local(item.get("finished_at")),
        "DateDelivered": local(item.get("returned_at")),
        "LastModified": local(item["source_updated_at"]),
        "ProcessLogs": [
            {
                "Status": STATUS[h["status"]],
                "ActionTime": local(h["at"]),
                "Officer": h["actor"],
                "Comment": h["content"],
            }
            for h in item["history"]
        ],
        "Fees": [
            {"FeeName": f["name"], "FeeCode": f["code"], "Amount": f["amount_vnd"]} for f in item["fees"]
        ],
        "Attachments": [{"FileName": d["name"], "TemplateCode": d["form_code"]} for d in item["documents"]],
    }


class Handler(VendorHandler):
    server_version = "Microsoft-IIS/10.0"

    def problem(self, status: int, message: str, code: str | None = None) -> None:
        body = {"Message": message, **({"ErrorCode": code} if code else {})}
        self.refuse(status, code or message, lambda: self.send_json(body, status))

    def vendor(self, method: str) -> None:
        if self.route.rstrip("/").lower() != ROUTE.lower():  # IIS routes ignore case
            self.problem(404, f"No HTTP resource was found that matches the request URI '{self.path}'.")
        elif method != "GET":
            self.problem(405, f"The requested resource does not support http method '{method}'.")
        elif self.headers.get("X-DVC-ApiKey") != API_KEY:
            self.problem(401, REFUSAL)
        else:
            self.documents()

    def documents(self) -> None:
        unknown = sorted(set(self.query) - set(PARAMS))
        if unknown:
            self.problem(
                400, f"The query parameter(s) {', '.join(unknown)} are not recognized.", "BAD_PARAMETER"
            )
            return
        missing = [p for p in PARAMS if not self.param(p)]
        if missing:
            self.problem(400, f"The parameter(s) {', '.join(missing)} are required.", "BAD_PARAMETER")
            return
        try:
            start = parse_local(self.param("FromDate") or "", LOCAL)
            end = parse_local(self.param("ToDate") or "", LOCAL)
        except ValueError:
            self.problem(400, "FromDate and ToDate must be written dd-MM-yyyy HH:mm:ss.", "BAD_DATE")
            return
        index_text, size_text = self.param("PageIndex") or "", self.param("PageSize") or ""
        if not (index_text.isdigit() and int(index_text) >= 1):
            self.problem(400, "PageIndex must be an integer from 1.", "BAD_PARAMETER")
            return
        if not (size_text.isdigit() and 1 <= int(size_text) <= MAX_PAGE_SIZE):
            self.problem(400, f"PageSize must be an integer from 1 to {MAX_PAGE_SIZE}.", "BAD_PARAMETER")
            return
        if end < start:
            self.problem(400, "FromDate must not be after ToDate.", "BAD_DATE_RANGE")
            return
        if end - start > MAX_WINDOW:
            self.problem(
                400,
                "The requested date range exceeds the maximum of 31 days. Narrow FromDate/ToDate.",
                "DATE_RANGE_TOO_LARGE",
            )
            return
        index, size = int(index_text), int(size_text)
        found = sorted(
            (i for i in self.truth if start <= updated(i) <= end),
            key=lambda i: (updated(i), int(i["source_record_id"])),
        )
        last = max(1, math.ceil(len(found) / size))
        chunk = found[(index - 1) * size : index * size]
        self.send_json(
            [render(i) for i in chunk],
            headers={"X-Total-Count": str(len(found)), "Link": self.links(index, last)},
        )

    def links(self, index: int, last: int) -> str:
        """Absolute URLs, as the framework writes them, with the query in the vendor's own order."""
        base = f"http://{self.headers.get('Host')}{ROUTE}"

        def url(page: int) -> str:
            query = {"FromDate": self.param("FromDate"), "ToDate": self.param("ToDate"), "PageIndex": page,
                     "PageSize": self.param("PageSize")}  # fmt: skip
            return f"<{base}?{urlencode(query)}>"

        rels = [f'{url(1)}; rel="first"']
        if index > 1:
            rels.append(f'{url(index - 1)}; rel="prev"')
        if index < last:
            rels.append(f'{url(index + 1)}; rel="next"')
        rels.append(f'{url(last)}; rel="last"')
        return ", ".join(rels)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
