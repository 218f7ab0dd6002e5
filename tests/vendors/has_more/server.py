"""An English-speaking cloud vendor's dossier API: a has-more flag, OAuth2 password grant, epoch milliseconds.

Contract:
  POST /oauth/token   application/x-www-form-urlencoded: grant_type=password, username, password, client_id,
                      client_secret (or the client as HTTP Basic) -> {"access_token", "token_type": "Bearer",
                      "expires_in": 1}; a wrong user or password -> 400 {"error": "invalid_grant", ...}
  GET /api/v2/dossiers?modifiedFrom=<ms>&modifiedTo=<ms>&page=0&pageSize=50   Authorization: Bearer <token>
      -> {"items": [...], "page": 0, "pageSize": 50, "hasMore": true}
  Tokens live one second and every page takes a while, so a whole read outlives its first token: an expired
  token is refused with 401 invalid_token. All times are epoch milliseconds; the window is half-open on
  lastModified. Pages count from 0, at most 100 items.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "has_more"
USERNAME, PASSWORD = "esb.haiduong", "Cl0ud-Reader!"
CLIENT_ID, CLIENT_SECRET = "onestop-esb", "s3cr3t-client-7f2a"
REFUSAL = "Invalid username or password"
EXPIRES_IN_S = 1
PAGE_DELAY_S = 0.35  # a slow search backend: five pages outlive a token
MAX_PAGE_SIZE = 100
PARAMS = {"modifiedFrom", "modifiedTo", "page", "pageSize"}

STATE = {1: "SUBMITTED", 2: "ACCEPTED", 4: "IN_PROGRESS", 5: "AWAITING_DOCUMENTS", 6: "AWAITING_PAYMENT",
         9: "COMPLETED", 10: "DELIVERED"}  # fmt: skip
CHANNEL = {1: "COUNTER", 2: "ONLINE", 3: "POST"}
KIND = {1: "PERSON", 2: "ORGANIZATION"}

_tokens: dict[str, float] = {}  # token -> monotonic expiry
_lock = threading.Lock()


def ms(iso: str | None) -> int | None:
    return None if iso is None else int(datetime.fromisoformat(iso).timestamp() * 1000)


def modified(item: dict[str, Any]) -> int:
    return int(updated(item).timestamp() * 1000)


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "id": int(item["source_record_id"]),
        "dossierCode": item["ma_ho_so"],
        "procedure": {"nationalCode": item["procedure_code"], "title": item["procedure_name"]},
        "sector": {"code": item["field_code"], "title": item["field_name"]},
        "office": {"code": item["agency_code"], "title": item["agency_name"]},
        "submissionChannel": CHANNEL[item["channel"]],
        "state": STATE[item["status"]],
        "subject": item["summary"],
        "applicant": {
            "kind": KIND[a["type"]],
            "fullName": a["name"],
            "document": {
                "type": "CITIZEN_ID" if a.get("id_type") == 1 else "TAX_CODE",
                "number": a["id_number"],
            },
            "mobile": a["phone"],
            "email": a.get("email"),
            "dateOfBirth": a.get("birth_date"),
            "address": a["address"],
        },
        "submittedAt": ms(item.get("submitted_at")),
        "acceptedAt": ms(item["received_at"]),
        "dueAt": ms(item["due_at"]),
        "completedAt": ms(item.get("finished_at")),
        "deliveredAt": ms(item.get("returned_at")),
        "lastModified": ms(item["source_updated_at"]),
        "timeline": [
            {
                "state": STATE[h["status"]],
                "timestamp": ms(h["at"]),
                "officer": h["actor"],
                "note": h["content"],
            }
            for h in item["history"]
        ],
        "charges": [
            {"label": f["name"], "code": f["code"], "amountVnd": f["amount_vnd"]} for f in item["fees"]
        ],
        "attachments": [{"title": d["name"], "templateCode": d["form_code"]} for d in item["documents"]],
    }


class Handler(VendorHandler):
    def oauth_error(self, status: int, error: str, description: str) -> None:
        body = {"error": error, "error_description": description}
        headers = {"WWW-Authenticate": f'Bearer error="{error}"'} if status == 401 else None
        self.refuse(status, error, lambda: self.send_json(body, status, headers))

    def vendor(self, method: str) -> None:
        if self.route == "/oauth/token":
            if method != "POST":
                self.oauth_error(405, "invalid_request", "The token endpoint accepts POST only")
            else:
                self.token()
        elif self.route == "/api/v2/dossiers":
            if method != "GET":
                self.oauth_error(405, "invalid_request", f"Method {method} is not allowed on this resource")
            else:
                self.dossiers()
        else:
            self.oauth_error(404, "not_found", f"No resource at {self.route}")

    def token(self) -> None:
        if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            self.oauth_error(400, "invalid_request", "The token request must be form-encoded")
            return
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode("utf-8"), keep_blank_values=True).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = self.headers.get("Authorization") or ""
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode("utf-8").partition(":")
        if form.get("grant_type") != "password":
            self.oauth_error(
                400, "unsupported_grant_type", "Only grant_type=password is enabled for this client"
            )
        elif (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            self.oauth_error(401, "invalid_client", "Client authentication failed")
        elif (form.get("username"), form.get("password")) != (USERNAME, PASSWORD):
            self.oauth_error(400, "invalid_grant", REFUSAL)
        else:
            token = secrets.token_urlsafe(24)
            with _lock:
                _tokens[token] = time.monotonic() + EXPIRES_IN_S
            self.send_json(
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": EXPIRES_IN_S,
                    "scope": "dossier.read",
                },
                headers={"Cache-Control": "no-store"},
            )

    def dossiers(self) -> None:
        auth = self.headers.get("Authorization") or ""
        with _lock:
            expiry = _tokens.get(auth.removeprefix("Bearer "))
        if not auth.startswith("Bearer ") or expiry is None:
            self.oauth_error(401, "invalid_token", "The access token is missing or unknown")
            return
        if expiry <= time.monotonic():
            self.oauth_error(401, "invalid_token", "The access token expired")
            return
        if self.revoke_due():  # refused before it expires
            with _lock:
                _tokens.clear()
            self.oauth_error(401, "invalid_token", "The access token was revoked")
            return
        unknown = set(self.query) - PARAMS
        if unknown:
            self.oauth_error(
                400, "invalid_request", f"Unknown query parameter(s): {', '.join(sorted(unknown))}"
            )
            return
        values: dict[str, int] = {}
        for name in PARAMS & set(self.query):
            text = self.param(name) or ""
            if not text.isdigit():
                self.oauth_error(
                    400, "invalid_request", f"{name} must be a non-negative integer, got {text!r}"
                )
                return
            values[name] = int(text)
        if "modifiedFrom" not in values:
            self.oauth_error(400, "invalid_request", "modifiedFrom (epoch milliseconds) is required")
            return
        size = values.get("pageSize", 20)
        if not 1 <= size <= MAX_PAGE_SIZE:
            self.oauth_error(400, "invalid_request", f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
            return
        page = values.get("page", 0)
        start, end = values["modifiedFrom"], values.get("modifiedTo")
        found = sorted(
            (i for i in self.truth if start <= modified(i) and (end is None or modified(i) < end)),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        time.sleep(PAGE_DELAY_S)
        chunk = found[page * size : (page + 1) * size]
        self.send_json(
            {
                "items": [render(i) for i in chunk],
                "page": page,
                "pageSize": size,
                "hasMore": (page + 1) * size < len(found),
            }
        )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
