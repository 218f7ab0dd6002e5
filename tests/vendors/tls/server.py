"""A provincial data-sharing gateway reached only over mutual TLS, with OAuth2 client credentials and
zero-based page numbers (a Spring-style service with kebab-case JSON).

Contract (the gateway's integration guide):
  Transport: HTTPS with the province's own CA; the client must present a certificate issued by that CA for
  onestop-esb.haiduong.gov.vn (a handshake without one fails; another name is 403).
  POST /oauth2/token  application/x-www-form-urlencoded: grant_type=client_credentials, scope=hoso.read;
                      the client as HTTP Basic or client_id/client_secret in the form
      -> {"access_token": "...", "token_type": "Bearer", "expires_in": 900, "scope": "hoso.read"}
      a wrong client: 401 {"error": "invalid_client", "error_description": "..."}
  GET /gateway/v1/ho-so?updated-since=<ISO 8601 with offset>&updated-until=<…>&page=0..&size=1..100
      Authorization: Bearer <token>
      -> {"items": [...], "page-info": {"page": 0, "size": 50, "total-count": 250}}
  Every time in the answers is ISO 8601 in UTC ("2025-03-04T01:15:00Z"). The window is half-open
  [updated-since, updated-until) on last-modified. Errors are {"error": "...", "error_description": "..."}.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import ssl
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from tests.vendors.common import VendorHandler, arguments, serve, updated
from tests.vendors.tls.certs import CLIENT_NAME

VENDOR = "tls"
CLIENT_ID, CLIENT_SECRET = "esb-haiduong", "q7Rk2-Zm9Xw-L4pT8"
REFUSAL = "Client authentication failed: unknown client or wrong secret"
SCOPE = "hoso.read"
EXPIRES_IN_S = 900
MAX_PAGE_SIZE = 100
PARAMS = {"updated-since", "updated-until", "page", "size"}

STATE = {1: 100, 2: 110, 4: 200, 5: 210, 6: 220, 9: 300, 10: 400}
CHANNEL = {1: "walk-in", 2: "online", 3: "postal"}
KIND = {1: "person", 2: "company"}

_tokens: dict[str, float] = {}  # token -> monotonic expiry
_lock = threading.Lock()


def utc(iso: str | None) -> str | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    applicant = {
        "kind": KIND[a["type"]],
        "full-name": a["name"],
        "id-number": a["id_number"],
        "id-kind": "cccd" if a.get("id_type") == 1 else None,
        "mobile": a["phone"],
        "email": a.get("email"),
        "date-of-birth": a.get("birth_date"),
        "address": a["address"],
    }
    return {
        "record-id": item["source_record_id"],
        "dossier-no": item["ma_ho_so"],
        "procedure": {"national-code": item["procedure_code"], "name": item["procedure_name"]},
        "sector": {"code": item["field_code"], "name": item["field_name"]},
        "agency": {"code": item["agency_code"], "name": item["agency_name"]},
        "channel": CHANNEL[item["channel"]],
        "state": STATE[item["status"]],
        "subject": item["summary"],
        "applicant": applicant,
        "submitted-at": utc(item.get("submitted_at")),
        "received-at": utc(item["received_at"]),
        "due-at": utc(item["due_at"]),
        "resolved-at": utc(item.get("finished_at")),
        "delivered-at": utc(item.get("returned_at")),
        "last-modified": utc(item["source_updated_at"]),
        "events": [
            {"state": STATE[h["status"]], "at": utc(h["at"]), "officer": h["actor"], "remark": h["content"]}
            for h in item["history"]
        ],
        "fees": [{"label": f["name"], "code": f["code"], "amount": f["amount_vnd"]} for f in item["fees"]],
        "documents": [{"title": d["name"], "template": d["form_code"]} for d in item["documents"]],
    }


class Handler(VendorHandler):
    server_version = "gateway/2.7"

    def oauth_error(self, status: int, error: str, description: str) -> None:
        body = {"error": error, "error_description": description}
        headers = {"WWW-Authenticate": f'Bearer error="{error}"'} if status == 401 else None
        self.refuse(status, error, lambda: self.send_json(body, status, headers))

    def client_name(self) -> str | None:
        cert = self.connection.getpeercert()  # type: ignore[attr-defined]
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return None

    def vendor(self, method: str) -> None:
        routes = {"/oauth2/token": ("POST", self.token), "/gateway/v1/ho-so": ("GET", self.dossiers)}
        if self.client_name() != CLIENT_NAME:
            self.oauth_error(403, "access_denied", "This client certificate is not allowed")
        elif self.route not in routes:
            self.oauth_error(404, "not_found", f"No resource at {self.route}")
        elif method != routes[self.route][0]:
            self.oauth_error(405, "invalid_request", f"{method} is not allowed on {self.route}")
        else:
            routes[self.route][1]()

    def token(self) -> None:
        if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            self.oauth_error(400, "invalid_request", "The token request must be form-encoded")
            return
        form = parse_qs(self.raw_body.decode("utf-8"), keep_blank_values=True)
        if any(len(v) > 1 for v in form.values()):
            self.oauth_error(400, "invalid_request", "A parameter is repeated")
            return
        fields = {k: v[0] for k, v in form.items()}
        client = (fields.get("client_id"), fields.get("client_secret"))
        header = self.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            try:
                user, _, secret = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, secret = "", ""
            client = (user, secret)
        if fields.get("grant_type") != "client_credentials":
            self.oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported")
        elif client != (CLIENT_ID, CLIENT_SECRET):
            self.oauth_error(401, "invalid_client", REFUSAL)
        elif fields.get("scope") != SCOPE:
            self.oauth_error(400, "invalid_scope", f"The scope must be {SCOPE}")
        else:
            token = secrets.token_urlsafe(32)
            with _lock:
                _tokens[token] = time.monotonic() + EXPIRES_IN_S
            answer = {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": EXPIRES_IN_S,
                "scope": SCOPE,
            }
            self.send_json(answer, headers={"Cache-Control": "no-store"})

    def dossiers(self) -> None:
        header = self.headers.get("Authorization") or ""
        with _lock:
            expiry = _tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if expiry is None or expiry <= time.monotonic():
            self.oauth_error(401, "invalid_token", "The access token is missing, unknown or expired")
            return
        unknown = sorted(set(self.query) - PARAMS)
        if unknown:
            self.oauth_error(400, "invalid_request", f"Unknown parameter(s): {', '.join(unknown)}")
            return
        bounds: dict[str, datetime] = {}
        for name in ("updated-since", "updated-until"):
            text = self.param(name)
            if text is None:
                continue
            try:
                bounds[name] = datetime.fromisoformat(text)
            except ValueError:
                bounds[name] = datetime.min  # no zone: refused below
            if bounds[name].tzinfo is None:
                self.oauth_error(
                    400, "invalid_request", f"{name} must be ISO 8601 with an offset, got {text!r}"
                )
                return
        if "updated-since" not in bounds:
            self.oauth_error(400, "invalid_request", "updated-since is required")
            return
        page_text, size_text = self.param("page") or "0", self.param("size") or "20"
        if not page_text.isdigit():
            self.oauth_error(400, "invalid_request", "page is a number from 0")
            return
        if not (size_text.isdigit() and 1 <= int(size_text) <= MAX_PAGE_SIZE):
            self.oauth_error(400, "invalid_request", f"size is a number from 1 to {MAX_PAGE_SIZE}")
            return
        page, size = int(page_text), int(size_text)
        start, end = bounds["updated-since"], bounds.get("updated-until")
        found = sorted(
            (i for i in self.truth if start <= updated(i) and (end is None or updated(i) < end)),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        chunk = found[page * size : (page + 1) * size]
        self.send_json(
            {
                "items": [render(i) for i in chunk],
                "page-info": {"page": page, "size": size, "total-count": len(found)},
            }
        )


def tls_context(certfile: str, keyfile: str, cafile: str) -> ssl.SSLContext:
    """Server side of mutual TLS: our chain, and a client certificate from the province's CA required."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    context.load_verify_locations(cafile)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


if __name__ == "__main__":
    options = arguments(
        __doc__.splitlines()[0],
        lambda p: [p.add_argument(f"--{n}", required=True) for n in ("certfile", "keyfile", "cafile")],
    )
    serve(VENDOR, Handler, options, tls_context(options.certfile, options.keyfile, options.cafile))
