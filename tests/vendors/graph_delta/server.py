"""Huyện Thanh Hà keeps its one-stop dossiers in a SharePoint Online list, read through Microsoft Graph's delta
query, as Microsoft Graph and the Microsoft identity platform answer it.

Contract (https://learn.microsoft.com/graph/api/listitem-delta, .../graph/delta-query-overview,
.../entra/identity-platform/v2-oauth2-client-creds-grant-flow):
  POST /{tenant}/oauth2/v2.0/token   form grant_type=client_credentials, scope=https://graph.microsoft.com/.default,
        the client's id and secret in the form (client_secret_post) or as HTTP Basic (client_secret_basic)
    -> {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": "…"}
       a wrong secret: 401 {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret
       provided. …", "error_codes": [7000215], …}; an unknown client: 400 unauthorized_client (AADSTS700016); a
       scope other than Graph's .default: 400 invalid_scope (AADSTS1002012).
  GET /v1.0/sites/{site-id}/lists/{list-id}/items/delta?$expand=fields      Authorization: Bearer <access token>
    -> {"@odata.context": …, "value": [listItem…], "@odata.nextLink": "https://graph.microsoft.com/v1.0/…/delta?
       $expand=fields&token=…"} until the last page, which carries "@odata.deltaLink" instead; calling that link
       later answers only the items changed since (the latest state of each), a deleted one as
       {"id": "…", "@removed": {"reason": "deleted"}}. A listItem: id, lastModifiedDateTime (UTC, Z), and the
       list's columns under `fields` by their internal names (`MaHoSo`, `Ngay_x0020_tiep_x0020_nhan`: a space is
       _x0020_), an empty column left out; a multi-value lookup (the dossier's steps, fees and documents, kept in
       lists of their own) and each projected column of it (`QuaTrinh_x003a_ThoiDiem`: `:` is _x003a_) a list
       of {"LookupId": n, "LookupValue": "…"} in the linked items' order. The service pages by itself (100 here).
  A delta token the service no longer knows (expired, its state cleaned up) is 410 Gone with the error code
  `resyncRequired` and a Location to start a new enumeration: the client must read everything again. A missing
  or unknown access token is 401 InvalidAuthenticationToken; throttling is 429 TooManyRequests with Retry-After
  (this server throttles its `--throttle-at`th data request once).

Control (tests): POST /_vendor/change?update=N&delete=M edits N items and deletes M (the truth follows);
POST /_vendor/expire forgets every delta token; GET /_vendor/deleted lists the deleted items' ids.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote

from tests.vendors.common import BearerTokens, VendorHandler, arguments, serve

VENDOR = "graph_delta"
TENANT = "3f6b2c1e-8d4a-4f0e-9b7a-2c5d1e8f4a61"
CLIENT_ID = "b7e2d9a4-61c3-4f58-a0d2-9e4c7b1f3a85"
CLIENT_SECRET = "Qm8Q~hD7.tHaNhHa-2025~xVb4Lr0pKzW1sY3nJc"
SCOPE = "https://graph.microsoft.com/.default"
SITE = "thanhha.sharepoint.com,2c712604-1370-44e7-a1f5-426573fda80a,2d2244c3-251a-49ea-93a8-39e1c3a060fe"
LIST = "d7a4c1f0-3b9e-4e62-8f15-6a0c2e9b7d34"
ITEMS = f"/v1.0/sites/{SITE}/lists/{LIST}/items/delta"
GRAPH = "https://graph.microsoft.com"
REFUSAL = "Invalid client secret provided"
WRONG_CONNECTION = {"password": "Qm8Q~sai-mat-khau-0000"}
PAGE = 100
STATUS = {1: "Mới nộp", 2: "Đã tiếp nhận", 4: "Đang xử lý", 5: "Yêu cầu bổ sung", 6: "Chờ nộp phí",
          9: "Có kết quả", 10: "Đã trả kết quả"}  # fmt: skip
CHANNEL = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Qua bưu chính"}
APPLICANT = {1: "Công dân", 2: "Doanh nghiệp"}
RESYNC = (
    "Resync required. Replace any local items with the server's version (including deletes) if you're sure that "
    "the service was up to date with your local changes when you last sync'd. Upload any local changes that the "
    "server doesn't know about."
)

_lock = threading.Lock()


def utc(value: str | None) -> str | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lookups(values: list[Any]) -> list[dict[str, Any]]:
    return [{"LookupId": n + 1, "LookupValue": str(v)} for n, v in enumerate(values)]


def list_item(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    etag = hashlib.sha1(json.dumps(item, sort_keys=True).encode()).hexdigest()[:8]
    columns: dict[str, Any] = {
        "@odata.etag": f'"{etag},1"',
        "id": item["source_record_id"],
        "Title": item["ma_ho_so"],
        "MaHoSo": item["ma_ho_so"],
        "MaThuTuc": item["procedure_code"],
        "TenThuTuc": item["procedure_name"],
        "MaLinhVuc": item["field_code"],
        "LinhVuc": item["field_name"],
        "MaCoQuan": item["agency_code"],
        "CoQuan": item["agency_name"],
        "KenhNop": CHANNEL[item["channel"]],
        "TrangThai": STATUS[item["status"]],
        "TrichYeu": item["summary"],
        "LoaiNguoiNop": APPLICANT[a["type"]],
        "Ho_x0020_ten": a["name"],
        "LoaiGiayTo": "CCCD" if a.get("id_type") == 1 else None,
        "SoGiayTo": a["id_number"],
        "DienThoai": a["phone"],
        "Email": a.get("email"),
        "NgaySinh": a.get("birth_date"),
        "DiaChi": a["address"],
        "Ngay_x0020_nop": utc(item.get("submitted_at")),
        "Ngay_x0020_tiep_x0020_nhan": utc(item["received_at"]),
        "Han_x0020_tra": utc(item["due_at"]),
        "Ngay_x0020_co_x0020_ket_x0020_qua": utc(item.get("finished_at")),
        "Ngay_x0020_tra_x0020_ket_x0020_qua": utc(item.get("returned_at")),
        "Modified": utc(item["source_updated_at"]),
        "QuaTrinh": lookups([STATUS[h["status"]] for h in item["history"]]),
        "QuaTrinh_x003a_ThoiDiem": lookups([utc(h["at"]) for h in item["history"]]),
        "QuaTrinh_x003a_CanBo": lookups([h["actor"] for h in item["history"]]),
        "QuaTrinh_x003a_NoiDung": lookups([h["content"] for h in item["history"]]),
        "LePhi": lookups([f["name"] for f in item["fees"]]),
        "LePhi_x003a_MaPhi": lookups([f["code"] for f in item["fees"]]),
        "LePhi_x003a_SoTien": lookups([f["amount_vnd"] for f in item["fees"]]),
        "ThanhPhan": lookups([d["name"] for d in item["documents"]]),
        "ThanhPhan_x003a_MaMau": lookups([d["form_code"] for d in item["documents"]]),
    }
    kept = {k: v for k, v in columns.items() if v not in (None, [], "")}  # an empty column is left out
    return {
        "@odata.etag": f'"{etag},1"',
        "createdDateTime": utc(item.get("submitted_at") or item["received_at"]),
        "id": item["source_record_id"],
        "lastModifiedDateTime": utc(item["source_updated_at"]),
        "webUrl": f"https://thanhha.sharepoint.com/sites/motcua/Lists/HoSo/DispForm.aspx?ID={item['source_record_id']}",
        "fields@odata.context": f"{GRAPH}/v1.0/$metadata#sites('{SITE}')/lists('{LIST}')/items('{item['source_record_id']}')/fields/$entity",
        "fields": kept,
    }  # fmt: skip


def graph_error(code: str, message: str) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    inner = {"date": now, "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}
    return {"error": {"code": code, "message": message, "innerError": inner}}


def _encode(state: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, int] | None:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        return None
    ok = isinstance(state, dict) and all(isinstance(state.get(k), int) for k in ("since", "upto", "at"))
    return state if ok else None


class Handler(VendorHandler):
    server_version = "Microsoft-IIS/10.0"
    tokens: ClassVar[BearerTokens]
    generation: ClassVar[int] = 1
    changed: ClassVar[dict[str, int]] = {}  # item id -> the generation of its last change
    removed: ClassVar[dict[str, int]] = {}  # deleted item id -> the generation of its deletion
    delta_tokens: ClassVar[dict[str, int]] = {}  # delta token -> the generation it was issued at

    @classmethod
    def load_truth(cls, vendor: str, options: argparse.Namespace) -> list[dict[str, Any]]:
        items = super().load_truth(vendor, options)
        cls.tokens = BearerTokens()
        cls.changed = {i["source_record_id"]: 1 for i in items}
        return items

    # --- control ----------------------------------------------------------------------------------------------
    def vendor_control(self, method: str) -> bool:
        if method == "POST" and self.route == "/_vendor/change":
            self.change(int(self.param("update") or 0), int(self.param("delete") or 0))
            return True
        if method == "POST" and self.route == "/_vendor/expire":
            with _lock:
                self.delta_tokens.clear()
            self.send_json({"expired": True})
            return True
        if method == "GET" and self.route == "/_vendor/deleted":
            self.send_json(sorted(self.removed))
            return True
        return False

    def change(self, update: int, delete: int) -> None:
        """Edit the first `update` items (a note added to the summary, a day later) and delete the last `delete`."""
        with _lock:
            cls = type(self)
            cls.generation += 1
            for item in self.truth[:update]:
                item["summary"] += " (đã bổ sung giấy tờ)"
                later = datetime.fromisoformat(item["source_updated_at"]) + timedelta(days=1)
                item["source_updated_at"] = later.isoformat()
                self.changed[item["source_record_id"]] = cls.generation
            for item in self.truth[len(self.truth) - delete :] if delete else []:
                self.removed[item["source_record_id"]] = cls.generation
                del self.changed[item["source_record_id"]]
            self.truth[:] = [i for i in self.truth if i["source_record_id"] not in self.removed]
        self.send_json({"generation": self.generation, "updated": update, "deleted": delete})

    # --- the contract -----------------------------------------------------------------------------------------
    def vendor(self, method: str) -> None:
        if self.route == f"/{TENANT}/oauth2/v2.0/token":
            if method != "POST":
                self.send_json(
                    graph_error("invalid_request", "AADSTS900561: The endpoint only accepts POST"), 405
                )
                return
            self.token()
            return
        if unquote(self.route) != ITEMS:
            self.fail(404, "itemNotFound", "The resource could not be found.")
            return
        if method != "GET":
            self.fail(405, "BadRequest", f"The HTTP method '{method}' is not supported for this resource.")
            return
        if not self.tokens.valid(self):
            said = "Access token is empty." if not self.headers.get("Authorization") else "Access token validation failure. Invalid audience."  # fmt: skip
            self.fail(401, "InvalidAuthenticationToken", said)
            return
        if self.stats.data_requests == self.options.throttle_at:
            body = graph_error(
                "TooManyRequests", "Too many requests"
            )  # throttled: not a refusal of the request
            self.send_json(body, 429, {"Retry-After": "1"})
            return
        self.delta()

    def fail(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.refuse(status, code, lambda: self.send_json(graph_error(code, message), status, headers))

    def token(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode("utf-8", "replace")).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, basic = (self.headers.get("Authorization") or "").partition(" ")
        if scheme == "Basic":
            client_id, _, secret = base64.b64decode(basic).decode("utf-8", "replace").partition(":")
        trace = f"\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}\r\nTimestamp: {datetime.now(UTC):%Y-%m-%d %H:%M:%SZ}"  # fmt: skip

        def aad(status: int, error: str, code: int, description: str) -> None:
            body = {"error": error, "error_description": f"AADSTS{code}: {description}{trace}", "error_codes": [code],
                    "timestamp": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%SZ}", "trace_id": str(uuid.uuid4()),
                    "correlation_id": str(uuid.uuid4()), "error_uri": f"https://login.microsoftonline.com/error?code={code}"}  # fmt: skip
            self.refuse(status, error, lambda: self.send_json(body, status))

        if form.get("grant_type") != "client_credentials":
            aad(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        elif client_id != CLIENT_ID:
            aad(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not found in "
                f"the directory '{TENANT}'.")  # fmt: skip
        elif not secret:
            aad(401, "invalid_client", 7000216, "'client_assertion', 'client_secret' or 'request' is required for "
                "the 'client_credentials' grant type.")  # fmt: skip
        elif secret != CLIENT_SECRET:
            aad(401, "invalid_client", 7000215, f"{REFUSAL}. Ensure the secret being sent in the request is the "
                f"client secret value, not the client secret ID, for a secret added to app '{CLIENT_ID}'.")  # fmt: skip
        elif form.get("scope") != SCOPE:
            aad(400, "invalid_scope", 1002012, f"The provided value for scope {form.get('scope')} is not valid. "
                "Client credential flows must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).")  # fmt: skip
        else:
            access = self.tokens.issue(
                "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(48), 3599
            )
            self.send_json(
                {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access}
            )

    def link(self, state: dict[str, int]) -> str:
        return f"{GRAPH}{ITEMS}?$expand=fields&token={_encode(state)}"

    def delta(self) -> None:
        unknown = set(self.query) - {"$expand", "$select", "$top", "token"}
        if unknown:
            self.fail(
                400, "BadRequest", f"Query option '{sorted(unknown)[0]}' is not allowed for this resource."
            )
            return
        if self.param("$expand") != "fields":
            self.fail(
                400, "BadRequest", "This sample vendor serves a list's columns only with $expand=fields."
            )
            return
        token = self.param("token")
        with _lock:
            if token is None:  # a new enumeration: everything there is now
                state = {"since": 0, "upto": self.generation, "at": 0}
            elif token in self.delta_tokens:  # a delta link: the changes since it was issued
                state = {"since": self.delta_tokens[token], "upto": self.generation, "at": 0}
            elif (paged := _decode(token)) is not None and paged["upto"] <= self.generation:
                state = paged
            else:
                fresh = f"{GRAPH}{ITEMS}?$expand=fields"
                self.fail(410, "resyncRequired", RESYNC, {"Location": fresh})
                return
            since, upto = state["since"], state["upto"]
            items: list[dict[str, Any]] = [
                list_item(i) for i in sorted(self.truth, key=lambda i: int(i["source_record_id"]))
                if since < self.changed.get(i["source_record_id"], 0) <= upto
            ]  # fmt: skip
            if since:  # a full enumeration lists what is there; a delta also what went away
                items += [
                    {"id": gone, "@removed": {"reason": "deleted"}}
                    for gone, at in sorted(self.removed.items())
                    if since < at <= upto
                ]
            page = items[state["at"] : state["at"] + PAGE]
            answer: dict[str, Any] = {
                "@odata.context": f"{GRAPH}/v1.0/$metadata#Collection(listItem)",
                "value": page,
            }
            if state["at"] + PAGE < len(items):
                answer["@odata.nextLink"] = self.link({**state, "at": state["at"] + PAGE})
            else:
                delta_token = secrets.token_urlsafe(24)
                self.delta_tokens[delta_token] = upto
                answer["@odata.deltaLink"] = f"{GRAPH}{ITEMS}?$expand=fields&token={delta_token}"
        self.send_json(answer)


def extra(parser: Any) -> None:
    parser.add_argument("--throttle-at", type=int, default=2, help="the Nth data request answers 429 once")


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments((__doc__ or VENDOR).splitlines()[0], extra))
