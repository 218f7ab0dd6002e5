"""An iGate-style district one-stop system: OAuth2 client credentials, page/size paging with no total.

    python -m onestop.simulators.igate --port 0 --seed 42 --count 2000 [options]

Records are computed on demand (see igate_data); only index lists per (window, clock) are cached.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hmac
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import FastAPI, Request
from starlette.responses import Response, StreamingResponse

from onestop.simulators._server import json_response, serve
from onestop.simulators.igate_data import TZ, DossierGenerator, GeneratorConfig, QueryCache, parse_iso

MAX_PAGE_SIZE = 1000
DEFAULT_CLOCK_OFFSET_DAYS = 170


@dataclass
class IgateSettings:
    generator: GeneratorConfig
    client_id: str = "igate"
    client_secret: str = "secret"
    token_ttl: float = 300.0
    # What the token answer claims; a server that revokes tokens early (or a skewed clock) claims more than it keeps.
    advertised_ttl: float | None = None
    latency_ms: float = 0.0
    clock: float | None = None  # epoch seconds; None = start + 170 days at 17:00 +07:00


@dataclass
class _State:
    gen: DossierGenerator
    cache: QueryCache
    clock: int
    tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    stats: dict[str, int] = field(
        default_factory=lambda: {"tokens_issued": 0, "requests": 0, "unauthorized": 0, "records_served": 0}
    )


def default_clock(start: date) -> int:
    moment = datetime.combine(start + timedelta(days=DEFAULT_CLOCK_OFFSET_DAYS), dtime(17, 0), TZ)
    return int(moment.timestamp())


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
    clock = settings.clock if settings.clock is not None else default_clock(settings.generator.start)
    state = _State(gen=gen, cache=QueryCache(gen), clock=int(clock))
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
        if settings.latency_ms > 0:
            await asyncio.sleep(settings.latency_ms / 1000)
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

    @app.get("/_sim/truth")
    def truth() -> StreamingResponse:
        clock_now = state.clock
        end = gen.first_index_after(clock_now)

        def lines() -> Iterator[str]:
            batch: list[str] = []
            for i in range(end):
                batch.append(json.dumps(gen.truth(i, clock_now), ensure_ascii=False))
                if len(batch) == 1000:
                    yield "\n".join(batch) + "\n"
                    batch = []
            if batch:
                yield "\n".join(batch) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/_sim/clock")
    async def get_clock() -> Response:
        return json_response({"clock": gen.iso(state.clock)})

    @app.post("/_sim/clock")
    async def set_clock(request: Request) -> Response:
        try:
            body: Any = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            return _error(400, "body must be JSON")
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object")
        try:
            if "advance_hours" in body:
                state.clock += round(float(body["advance_hours"]) * 3600)
            elif "set" in body:
                state.clock = int(parse_iso(str(body["set"])))
            else:
                return _error(400, 'expected {"advance_hours": float} or {"set": ISO}')
        except (TypeError, ValueError) as exc:
            return _error(400, f"bad clock value: {exc}")
        return json_response({"clock": gen.iso(state.clock)})

    @app.get("/_sim/stats")
    async def stats() -> Response:
        return json_response(state.stats)

    @app.get("/health")
    async def health() -> Response:
        return json_response({"ok": True})

    return app


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="onestop.simulators.igate", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--count", type=int, default=2000, help="number of dossiers")
    p.add_argument("--district", default="288", help="GSO district code in Hải Dương (288-300)")
    p.add_argument("--agency-code", default="", help="default 000.00.NN.H23 with NN = district - 274")
    p.add_argument("--client-id", default="igate")
    p.add_argument("--client-secret", default="secret")
    p.add_argument("--token-ttl", type=float, default=300, help="seconds")
    p.add_argument(
        "--advertised-ttl", type=float, default=None, help="expires_in claimed (default: --token-ttl)"
    )
    p.add_argument("--latency", type=float, default=0, help="ms added to each data request")
    p.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 2), help="first receipt date")
    p.add_argument("--span-days", type=int, default=168, help="receipts fall in [start, start + span)")
    p.add_argument("--clock", default=None, help="simulated now (ISO); default start + 170 days 17:00 +07:00")
    p.add_argument("--bad-rate", type=float, default=0.01, help="share of deliberately bad dossiers")
    return p


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.bad_rate <= 1:
        parser.error("--bad-rate must be within [0, 1]")
    try:
        clock = parse_iso(args.clock) if args.clock else None
        settings = IgateSettings(
            generator=GeneratorConfig(
                seed=args.seed,
                count=args.count,
                district=args.district,
                agency_code=args.agency_code,
                start=args.start,
                span_days=args.span_days,
                bad_rate=args.bad_rate,
            ),
            client_id=args.client_id,
            client_secret=args.client_secret,
            token_ttl=args.token_ttl,
            advertised_ttl=args.advertised_ttl,
            latency_ms=args.latency,
            clock=clock,
        )
        app = create_app(settings)
    except ValueError as exc:
        parser.error(str(exc))
    serve(app, args.port)


if __name__ == "__main__":
    main()
