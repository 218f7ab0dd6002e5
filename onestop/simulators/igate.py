"""An iGate-style district one-stop system: OAuth2 client credentials, page/size paging with no total.

    python -m onestop.simulators.igate --port 0 --seed 42 --count 2000 [options]

Records are computed on demand (see igate_data); only index lists per (window, clock) are cached.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from fastapi import FastAPI, Request
from starlette.responses import Response

from onestop.simulators import _common as common
from onestop.simulators._server import json_response
from onestop.simulators.igate_data import DossierGenerator, QueryCache, parse_iso

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class IgateSettings(common.SimulatorSettings):
    client_id: str = "igate"
    client_secret: str = "secret"
    token_ttl: float = 300.0
    # What the token answer claims; a server that revokes tokens early (or a skewed clock) claims more than it keeps.
    advertised_ttl: float | None = None


@dataclass
class _State:
    gen: DossierGenerator
    cache: QueryCache
    clock: int
    tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    stats: dict[str, int] = field(
        default_factory=lambda: {"tokens_issued": 0, "requests": 0, "unauthorized": 0, "records_served": 0}
    )


def _error(status: int, message: str, **headers: str) -> Response:
    response = json_response({"error": message}, status)
    response.headers.update(headers)
    return response


def _client_credentials(request: Request, body: bytes) -> tuple[dict[str, str], str | None, str | None]:
    """Form (or JSON) fields, and the client id/secret from the form or from HTTP Basic."""
    text = body.decode("utf-8", "replace")
    fields: dict[str, str] = {}
    if "json" in request.headers.get("content-type", ""):
        try:
            loaded = json.loads(text or "{}")
            fields = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        except json.JSONDecodeError:
            fields = {}
    else:
        fields = dict(parse_qsl(text, keep_blank_values=True))
    client_id, client_secret = fields.get("client_id"), fields.get("client_secret")
    auth = request.headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
            client_id, client_secret = unquote(user), unquote(password)  # RFC 6749 §2.3.1 form-encodes them
        except (binascii.Error, UnicodeDecodeError):
            pass
    return fields, client_id, client_secret


def _page_params(request: Request) -> tuple[int, int, float | None, float | None] | str:
    """(page, size, updatedFrom, updatedTo), or the message of a 400."""
    q = request.query_params
    try:
        page = int(q.get("page", "0"))
        size = int(q.get("size", "100"))
    except ValueError:
        return "page and size must be integers"
    if page < 0:
        return "page must be >= 0"
    if size < 1:
        return "size must be >= 1"
    bounds: list[float | None] = []
    for name in ("updatedFrom", "updatedTo"):
        raw = q.get(name)
        if raw is None or raw == "":
            bounds.append(None)
            continue
        try:
            bounds.append(parse_iso(raw))
        except ValueError:
            return f"{name} is not an ISO 8601 date-time: {raw!r}"
    lo, hi = bounds
    if lo is not None and hi is not None and lo > hi:
        return "updatedFrom is after updatedTo"
    return page, min(size, MAX_PAGE_SIZE), lo, hi


def create_app(settings: IgateSettings) -> FastAPI:
    gen = DossierGenerator(settings.generator)
    state = _State(gen=gen, cache=QueryCache(gen), clock=settings.initial_clock())
    app = FastAPI(title="iGate simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = state

    @app.post("/oauth/token")
    async def token(request: Request) -> Response:
        fields, client_id, client_secret = _client_credentials(request, await request.body())
        good = (
            client_id is not None
            and client_secret is not None
            and hmac.compare_digest(client_id.encode(), settings.client_id.encode())
            and hmac.compare_digest(client_secret.encode(), settings.client_secret.encode())
        )
        if not good:
            return json_response({"error": "invalid_client"}, 401)
        if fields.get("grant_type", "client_credentials") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        now = time.monotonic()
        for old in [t for t, expiry in state.tokens.items() if expiry <= now]:
            del state.tokens[old]
        access_token = secrets.token_urlsafe(32)
        state.tokens[access_token] = now + settings.token_ttl
        state.stats["tokens_issued"] += 1
        claimed = settings.token_ttl if settings.advertised_ttl is None else settings.advertised_ttl
        ttl = int(claimed) if float(claimed).is_integer() else claimed
        return json_response({"access_token": access_token, "token_type": "bearer", "expires_in": ttl})

    def authorized(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() != "bearer ":
            return False
        expiry = state.tokens.get(auth[7:].strip())
        return expiry is not None and expiry > time.monotonic()

    @app.get("/api/v1/dossiers")
    async def dossiers(request: Request) -> Response:
        state.stats["requests"] += 1
        await common.pause(settings.latency_ms)
        if not authorized(request):
            state.stats["unauthorized"] += 1
            return _error(401, "invalid_token", **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
        params = _page_params(request)
        if isinstance(params, str):
            return _error(400, params)
        page, size, lo, hi = params
        clock_now = state.clock
        indices = state.cache.get(lo, hi, clock_now)
        content = [gen.record(i, clock_now) for i in indices[page * size : (page + 1) * size]]
        state.stats["records_served"] += len(content)
        return json_response({"content": content, "page": page, "size": size})

    common.add_sim_routes(app, state, gen)
    return app


def build_parser() -> argparse.ArgumentParser:
    p = common.new_parser("onestop.simulators.igate", __doc__)
    common.add_dossier_options(p)
    p.add_argument("--client-id", default="igate")
    p.add_argument("--client-secret", default="secret")
    p.add_argument("--token-ttl", type=float, default=300, help="seconds")
    p.add_argument(
        "--advertised-ttl", type=float, default=None, help="expires_in claimed (default: --token-ttl)"
    )
    common.add_clock_options(p, latency_help="ms added to each data request")
    return p


def main(argv: list[str] | None = None) -> None:
    common.run(build_parser(), argv, IgateSettings, create_app)


if __name__ == "__main__":
    main()
