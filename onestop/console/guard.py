"""The console's web defences, in one place.

- Forms carry a token derived from the caller's Airflow session token (`csrf_for`), and every state-changing
  POST must also come from this site (`Origin`, else `Referer`): a page of another site can neither read the
  token nor post in the administrator's name.
- Every answer carries a Content-Security-Policy without inline script (`frame-ancestors 'self'`: Airflow's UI may
  frame the pages, no other site), `nosniff`, `same-origin` referrers and, pages and API answers showing
  personal data, `no-store`.
- Links are paths from the ASGI root (never built from the request's Host header); the one absolute address,
  Airflow's own API for triggering runs, comes from `[api] base_url`.
- An anonymous visitor of a page is sent to Airflow's login with a `next` that is a path of this console.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onestop.console import airflow_api
from onestop.console.errors import ConsoleError
from onestop.console.i18n import gettext as _

PREFIX = (
    "/onestop"  # where the plugin mounts the console in Airflow's API server (plugins/onestop_console.py)
)

HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self';"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


class SecurityHeaders:
    """ASGI middleware: HEADERS on every answer, NO_STORE on all but the shipped assets (no personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith(f"{scope.get('root_path', '')}/static/")
        extra = HEADERS if static else {**HEADERS, **NO_STORE}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in names),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_for(session_token: str) -> str:
    """The form token of one Airflow session (its JWT): an HMAC only this session's holder can know."""
    return hmac.new(session_token.encode(), b"onestop-console", hashlib.sha256).hexdigest()[:32]


def csrf_token(request: Request) -> str:
    return csrf_for(airflow_api.user_token(request) or "")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


def own_origins(request: Request) -> set[str]:
    """This site as a browser names it: [api] base_url's origin, and the origin the request was sent to (a
    browser sets Host itself, so another site's page cannot make them differ from its own Origin)."""
    origins = {f"{request.url.scheme}://{request.headers.get('host', '')}".lower()}
    if configured := _origin(airflow_api.configured_base_url()):
        origins.add(configured)
    return origins


def check_form(request: Request, token: str) -> None:
    """A state-changing POST: from a page of this site (Origin, else Referer) and with this session's token."""
    sent = request.headers.get("origin") or _origin(request.headers.get("referer", "")) or ""
    if sent.lower() not in own_origins(request):
        raise ConsoleError(
            403, "cross_site", _("The request did not come from a page of this console, so it is refused.")
        )
    if not hmac.compare_digest(token.encode(), csrf_token(request).encode()):
        raise ConsoleError(403, "bad_token", _("The session has changed: reload the page, then try again."))


def console_root(request: Request) -> str:
    """The console's path from the ASGI root (Airflow's mount point, behind any proxy prefix)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def airflow_root(request: Request) -> str:
    """Airflow's own path: the console's without the plugin's prefix."""
    root = console_root(request)
    return root[: -len(PREFIX)] if root.endswith(PREFIX) else root


def path_for(request: Request, name: str, **params: Any) -> str:
    """A link to one of the console's routes, as a path (no scheme, no host)."""
    return request.url_for(name, **params).path


def login_redirect(request: Request) -> str:
    """Airflow's login (its own route checks `next` again), returning to the page asked for."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not here.startswith(f"{console_root(request)}/") or here.startswith("//") or "\\" in here:
        here = f"{console_root(request)}/"
    return f"{airflow_root(request)}/api/v2/auth/login?{urlencode({'next': here})}"


def back_path(request: Request, back: str) -> str:
    """Where a form returns to: a page of this console, else the failure list (never another site)."""
    root = console_root(request)
    ok = back.startswith(f"{root}/") and "//" not in back and "\\" not in back and back.isprintable()
    return back if ok else path_for(request, "failure_list")
