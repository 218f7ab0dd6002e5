"""An iGate-style district one-stop system: OAuth2 client credentials, page/size paging with no total.

    python -m onestop.simulators.igate --port 0 --seed 42 --count 2000 [--fault NAME ...] [options]

Records are computed on demand (see igate_data); only index lists per (window, clock) are cached.

Fault modes real district systems show, off by default (then every answer is as without them), switched on at
start (`--fault NAME`, repeatable; `--fault-every N`) or at runtime (`POST /_sim/faults` {"faults": [...],
"every": N}; `GET /_sim/faults`). Each fires on every N-th opportunity (a data page from page 1 on; a token's
N-th data request) and counts its firings in /_sim/stats as `fault_<name>` (a key present once the fault has
been switched on):

- dup_across_pages: page p starts one record earlier than page p-1 ended (unstable offset paging: a record was
  inserted before the pages still to come), so the last record of page p-1 is served again first on page p.
  Later pages stay shifted; nothing is skipped.
- change_while_paging: before page p is computed, one good dossier of a page not read yet (p + 1, else p) moves
  on to its next status "now": the simulated clock advances one second and that event happens then. A client
  whose updatedTo is the old clock never sees it in this read (the later records shift one place left, nothing
  else is lost); a window reaching the new clock serves it last. The change is an overlay on the generator,
  honoured by truth, paging and single-record reads; GET /_sim/faults lists the changes.
- out_of_order: page p also carries, first, an older version (the previous visible event: earlier updatedDate,
  earlier status, shorter history) of a dossier whose newer version page p-1 served (a lagging replica).
- token_expiry: a token is revoked after N data requests, well before its expires_in: the next request gets
  401 invalid_token and the client must fetch a new token. (--token-ttl/--advertised-ttl do the same by time.)

GET /api/v1/dossiers/{id} reads one dossier as the system shows it now (404 for an id it does not hold).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import FastAPI, Request
from starlette.responses import Response

from onestop.simulators import _common as common
from onestop.simulators._server import json_response
from onestop.simulators.igate_calendar import parse_iso
from onestop.simulators.igate_data import (
    DossierGenerator,
    GeneratorConfig,
    QueryCache,
    index_in_background,
)

MAX_PAGE_SIZE = 1000
FAULTS = ("dup_across_pages", "change_while_paging", "out_of_order", "token_expiry")


@dataclass(frozen=True)
class IgateSettings(common.SimulatorSettings):
    client_id: str = "igate"
    client_secret: str = "secret"
    token_ttl: float = 300.0
    # What the token answer claims; a server that revokes tokens early (or a skewed clock) claims more than it keeps.
    advertised_ttl: float | None = None
    faults: Sequence[str] | None = None  # fault modes on from the start (see the module docstring)
    fault_every: int = 1
    # --prerendered: every record's JSON rendered once, pages joined from the rendered bytes (igate_prerendered)
    prerendered: bool = False
    cache_dir: str | None = None  # where a prerendered build is kept and found again (default: not kept)
    render_workers: int = 0  # processes rendering the build (0: one per core)


class OverlaidGenerator(DossierGenerator):
    """The generator with an overlay of changed dossiers: index -> (event number, the time it now happened).

    A change pulls a dossier's next event earlier, to "now"; the event stays where the timeline has it (same
    status, same later events), so whatever asks the timeline (truth, window queries, records) sees it.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__(config)
        self.overlay: dict[int, tuple[int, int]] = {}

    def _timeline(self, i: int) -> tuple[int, list[int], list[int], str | None, int, int]:
        line = super()._timeline(i)
        moved = self.overlay.get(i)
        if moved is None:
            return line
        k, at = moved
        t0, times, statuses, bad, p, method = line
        return t0, [*times[:k], at, *times[k + 1 :]], statuses, bad, p, method

    def _moved(self) -> list[int]:
        return list(self.overlay)

    def visible(self, i: int, clock: int) -> tuple[list[int], list[int], str | None, int]:
        """(event times, statuses, bad reason, how many events are visible at clock)."""
        _, times, statuses, bad, *_ = self._timeline(i)
        return times, statuses, bad, bisect.bisect_right(times, clock)


@dataclass
class _Faults:
    active: set[str] = field(default_factory=set)
    every: int = 1
    token_uses: dict[str, int] = field(default_factory=dict)  # token -> data requests served (token_expiry)
    changed: list[dict[str, Any]] = field(default_factory=list)  # change_while_paging's changes, in order

    def fires(self, name: str, page: int) -> bool:
        """A paging fault's opportunity: every N-th page, from page 1 on."""
        return name in self.active and page >= 1 and page % self.every == 0

    def shift(self, page: int, size: int) -> int:
        """How many records dup_across_pages has moved page `page` back by (pages of one record: none)."""
        return page // self.every if "dup_across_pages" in self.active and size > 1 else 0

    def answer(self) -> dict[str, Any]:
        return {
            "faults": [f for f in FAULTS if f in self.active],
            "every": self.every,
            "available": list(FAULTS),
            "changed": self.changed,
        }


@dataclass
class _State:
    gen: OverlaidGenerator
    cache: QueryCache
    clock: int
    tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    stats: dict[str, int] = field(
        default_factory=lambda: {"tokens_issued": 0, "requests": 0, "unauthorized": 0, "records_served": 0}
    )
    faults: _Faults = field(default_factory=_Faults)

    def switch_faults(self, names: Sequence[str], every: int) -> None:
        self.faults.active, self.faults.every = set(names), every
        for name in names:
            self.stats.setdefault(f"fault_{name}", 0)  # a key only once switched on: default stats unchanged


class FaultRequestError(ValueError):
    """A POST /_sim/faults that answers 400."""


def requested_faults(body: bytes, every: int) -> tuple[list[str], int]:
    """The faults and `every` a POST /_sim/faults asks for; `every` keeps its value when not given."""
    try:
        request: Any = json.loads(body or b"{}")
    except ValueError as exc:
        raise FaultRequestError("body must be JSON") from exc
    if not isinstance(request, dict) or not isinstance(request.get("faults", []), list):
        raise FaultRequestError('expected {"faults": [name, ...], "every": N}')
    names = [str(name) for name in request.get("faults", [])]
    unknown = [name for name in names if name not in FAULTS]
    if unknown:
        raise FaultRequestError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    raw = request.get("every", every)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise FaultRequestError("every must be an integer >= 1")
    return names, raw


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


async def page_asked(
    request: Request, state: Any, settings: Any, auth: tuple[Any, Any, Any]
) -> Response | tuple[int, int, float | None, float | None]:
    """The front of the dossier list in either mode: counted, delayed as configured, its token checked and its
    paging and window read (add_auth's bearer, used, unauthorized in `auth`); a Response is the refusal."""
    params = _page_params(request)
    refused = await authorized(request, state, settings, auth)
    if refused is not None:
        return refused
    return _error(400, params) if isinstance(params, str) else params


def dossier_index(dossier_id: str) -> int:
    """The generator's index a dossier id ends with (its last 6 hex digits), -1 when it cannot be one."""
    try:
        return int(dossier_id[-6:], 16) if len(dossier_id) == 24 else -1
    except ValueError:
        return -1


async def authorized(
    request: Request, state: Any, settings: Any, auth: tuple[Any, Any, Any]
) -> Response | None:
    """Every data route's front: the request counted, delayed as configured and its token checked (and counted
    as used); the refusal to send, or None."""
    bearer, used, unauthorized = auth
    state.stats["requests"] += 1
    await common.pause(settings.latency_ms)
    tok = bearer(request)
    if tok is None:
        return unauthorized()
    used(tok)
    return None


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


def add_auth(app: FastAPI, settings: IgateSettings, state: Any) -> tuple[Any, Any, Any]:
    """POST /oauth/token, and (bearer, used, unauthorized) for the data routes. `state` has tokens, stats and
    faults (_State, or the prerendered mode's state, whose faults stay off)."""
    faults = state.faults

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
            faults.token_uses.pop(old, None)
        access_token = secrets.token_urlsafe(32)
        state.tokens[access_token] = now + settings.token_ttl
        state.stats["tokens_issued"] += 1
        claimed = settings.token_ttl if settings.advertised_ttl is None else settings.advertised_ttl
        ttl = int(claimed) if float(claimed).is_integer() else claimed
        return json_response({"access_token": access_token, "token_type": "bearer", "expires_in": ttl})

    def bearer(request: Request) -> str | None:
        """The request's token, if it is one we issued and still keep."""
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() != "bearer ":
            return None
        tok = auth[7:].strip()
        expiry = state.tokens.get(tok)
        return tok if expiry is not None and expiry > time.monotonic() else None

    def used(tok: str) -> None:
        """token_expiry: the token's N-th data request is its last."""
        if "token_expiry" not in faults.active:
            return
        uses = faults.token_uses.get(tok, 0) + 1
        if uses < faults.every:
            faults.token_uses[tok] = uses
            return
        faults.token_uses.pop(tok, None)
        state.tokens.pop(tok, None)
        state.stats["fault_token_expiry"] += 1

    def unauthorized() -> Response:
        state.stats["unauthorized"] += 1
        return _error(401, "invalid_token", **{"WWW-Authenticate": 'Bearer error="invalid_token"'})

    return bearer, used, unauthorized


def create_app(settings: IgateSettings) -> FastAPI:
    if settings.prerendered:
        from onestop.simulators.igate_prerendered import create_prerendered_app

        return create_prerendered_app(settings)
    gen = OverlaidGenerator(settings.generator)
    index_in_background(gen)
    state = _State(gen=gen, cache=QueryCache(gen), clock=settings.initial_clock())
    if settings.faults:
        state.switch_faults(settings.faults, settings.fault_every)
    faults = state.faults
    app = FastAPI(title="iGate simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = state

    bearer, used, unauthorized = add_auth(app, settings, state)

    def page_start(page: int, size: int) -> int:
        return page * size - faults.shift(page, size)

    def change_a_later_dossier(lo: float | None, hi: float | None, page: int, size: int) -> None:
        """change_while_paging: a good dossier not read yet (page + 1, else this page) moves on, now."""
        clock = state.clock
        indices = state.cache.get(lo, hi, clock)
        start = page_start(page, size)

        def can_move_on(position: int) -> bool:
            times, _, bad, vis = gen.visible(indices[position], clock)
            return bad is None and vis < len(times) and indices[position] not in gen.overlay

        later = (p for first in (page_start(page + 1, size), start) for p in range(first, len(indices)))
        position = next((p for p in later if can_move_on(p)), None)
        if position is None:
            return  # nothing left to change in this window
        i = indices[position]
        times, statuses, _, vis = gen.visible(i, clock)
        at = clock + 1  # the change happens "now": the simulated world moves on by a second
        gen.overlay[i] = (vis, at)
        state.clock = at
        state.cache = QueryCache(gen)  # every cached window may hold the changed dossier
        state.stats["fault_change_while_paging"] += 1
        faults.changed.append(
            {
                "id": gen.dossier_id(i),
                "page": page,
                "position": position,  # where it stood in the window's order; the page began at "start"
                "start": start,
                "before": {"updatedDate": gen.iso(times[vis - 1]), "status": statuses[vis - 1]},
                "after": {"updatedDate": gen.iso(at), "status": statuses[vis]},
            }
        )

    def older_version(previous: Sequence[int], clock: int) -> dict[str, Any] | None:
        """out_of_order: a good dossier of the previous page as it was one event ago (the last such)."""
        for i in reversed(previous):
            times, _, bad, vis = gen.visible(i, clock)
            if bad is None and vis >= 2:
                return gen.record(i, times[vis - 2])
        return None

    @app.get("/api/v1/dossiers")
    async def dossiers(request: Request) -> Response:
        params = await page_asked(request, state, settings, (bearer, used, unauthorized))
        if isinstance(params, Response):
            return params
        page, size, lo, hi = params
        if faults.fires("change_while_paging", page):
            change_a_later_dossier(lo, hi, page, size)
        clock_now = state.clock
        indices = state.cache.get(lo, hi, clock_now)
        start = page_start(page, size)
        content = [gen.record(i, clock_now) for i in indices[start : start + size]]
        if content and size > 1 and faults.fires("dup_across_pages", page):
            state.stats["fault_dup_across_pages"] += 1
        if content and faults.fires("out_of_order", page):
            before = page_start(page - 1, size)
            older = older_version(indices[before : before + size], clock_now)
            if older is not None:
                content.insert(0, older)
                state.stats["fault_out_of_order"] += 1
        state.stats["records_served"] += len(content)
        return json_response({"content": content, "page": page, "size": size})

    @app.get("/api/v1/dossiers/{dossier_id}")
    async def dossier(dossier_id: str, request: Request) -> Response:
        """One dossier as the system shows it now (404 if it does not know the id)."""
        refused = await authorized(request, state, settings, (bearer, used, unauthorized))
        if refused is not None:
            return refused
        i = dossier_index(dossier_id)
        record = gen.record(i, state.clock) if 0 <= i < gen.count else None
        if record is None or record["id"] != dossier_id:
            return _error(404, "dossier not found")
        state.stats["records_served"] += 1
        return json_response(record)

    @app.get("/_sim/faults")
    async def get_faults() -> Response:
        return json_response(faults.answer())

    @app.post("/_sim/faults")
    async def set_faults(request: Request) -> Response:
        try:
            names, every = requested_faults(await request.body(), faults.every)
        except FaultRequestError as exc:
            return json_response({"error": str(exc)}, 400)
        state.switch_faults(names, every)
        return json_response(faults.answer())

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
    p.add_argument(
        "--fault",
        dest="faults",
        action="append",
        choices=FAULTS,
        metavar="NAME",
        help=f"a fault mode on from the start, repeatable: {', '.join(FAULTS)}",
    )
    p.add_argument(
        "--fault-every",
        type=int,
        default=1,
        metavar="N",
        help="a fault fires on every N-th opportunity (default 1)",
    )
    p.add_argument(
        "--prerendered",
        action="store_true",
        help="render every record once (at start and after a clock move, the changed ones) and serve pages "
        "joined from the rendered bytes: same answers, no per-request rendering (no --fault)",
    )
    p.add_argument("--cache-dir", default=None, help="--prerendered: keep the build here and reuse it")
    p.add_argument(
        "--render-workers",
        type=int,
        default=0,
        metavar="N",
        help="--prerendered: build processes (0: one per core)",
    )
    return p


def _complaint(args: argparse.Namespace) -> str | None:
    if args.fault_every < 1:
        return "--fault-every must be >= 1"
    if args.prerendered and args.faults:
        return "--prerendered serves the faultless system: no --fault"
    if args.render_workers < 0:
        return "--render-workers must be >= 0"
    return None


def main(argv: list[str] | None = None) -> None:
    common.run(build_parser(), argv, IgateSettings, create_app, complaint=_complaint)


if __name__ == "__main__":
    main()
