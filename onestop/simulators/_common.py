"""What the simulators share besides serving (_server.py): options, settings, simulated clock, test routes.

The district and sector simulators (igate, soap_district, legacy_xml, feed) all serve igate_data's dossiers
under a simulated clock and differ in protocol and credentials; each builds its parser, settings and control
routes (/_sim/truth, /_sim/clock, /_sim/stats, /health) from these pieces. portal uses new_parser, from_args,
pause and add_health.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from datetime import time as dtime
from email.utils import formatdate
from typing import Any, Protocol, TypeVar

from fastapi import FastAPI, Request
from starlette.responses import Response, StreamingResponse

from onestop.simulators._server import json_response, serve
from onestop.simulators.igate_calendar import TZ, parse_iso
from onestop.simulators.igate_data import DossierGenerator, GeneratorConfig

DEFAULT_CLOCK_OFFSET_DAYS = 170
DISTRICT_HELP = "GSO district code in Hải Dương (288-300)"
AGENCY_CODE_HELP = "default 000.00.NN.H23 with NN = district - 274"


def default_clock(start: date) -> int:
    """The simulated now when --clock is not given: start + 170 days at 17:00 +07:00."""
    moment = datetime.combine(start + timedelta(days=DEFAULT_CLOCK_OFFSET_DAYS), dtime(17, 0), TZ)
    return int(moment.timestamp())


@dataclass(frozen=True)
class SimulatorSettings:
    """What every district simulator is set up with; each adds its own protocol's fields."""

    generator: GeneratorConfig
    latency_ms: float = 0.0
    clock: float | None = None  # epoch seconds; None = start + 170 days at 17:00 +07:00

    def initial_clock(self) -> int:
        return int(self.clock if self.clock is not None else default_clock(self.generator.start))


# --- the command line --------------------------------------------------------------------------------------
def new_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """A simulator's parser (description: the module docstring's first line) with --port."""
    p = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0] if doc else None)
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    return p


# The common options come in two groups so that --help keeps listing a simulator's credentials in between.
def add_dossier_options(
    p: argparse.ArgumentParser,
    *,
    district_help: str = DISTRICT_HELP,
    agency_code: str = "",
    agency_code_help: str = AGENCY_CODE_HELP,
) -> None:
    """--seed, --count, --district, --agency-code: which dossiers the generator makes."""
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--count", type=int, default=2000, help="number of dossiers")
    p.add_argument("--district", default="288", help=district_help)
    p.add_argument("--agency-code", default=agency_code, help=agency_code_help)


def add_clock_options(
    p: argparse.ArgumentParser, *, latency_help: str, share: Callable[[str], float] = float
) -> None:
    """--latency, --start, --span-days, --clock, --bad-rate; `share` parses the rate (run checks a float)."""
    p.add_argument("--latency", type=float, default=0, help=latency_help)
    p.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 2), help="first receipt date")
    p.add_argument("--span-days", type=int, default=168, help="receipts fall in [start, start + span)")
    p.add_argument("--clock", default=None, help="simulated now (ISO); default start + 170 days 17:00 +07:00")
    p.add_argument("--bad-rate", type=share, default=0.01, help="share of deliberately bad dossiers")
    p.add_argument("--hostile-rate", type=share, default=0.0, help="share of citizens named with markup")


T = TypeVar("T")
S = TypeVar("S", bound=SimulatorSettings)


def from_args(cls: type[T], args: argparse.Namespace, **given: Any) -> T:
    """A settings dataclass whose every field is the option of the same name, unless `given`."""
    return cls(**{f.name: given[f.name] if f.name in given else getattr(args, f.name) for f in fields(cls)})


def run(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    settings: type[S],
    create_app: Callable[[S], Any],
    *,
    shares: Sequence[str] = ("bad_rate", "hostile_rate"),
    complaint: Callable[[argparse.Namespace], str | None] = lambda args: None,
) -> None:
    """A district simulator's main(): its options, checked, become its settings, and its app is served.

    The options in `shares` must lie within [0, 1]; `complaint` says what else is wrong, if anything. The
    settings get the generator's config, --latency and --clock, and each other field from its option; a
    ValueError while building the app (a bad --clock, --district, --count …) is a usage error as well.
    """
    args = parser.parse_args(argv)
    for name in shares:
        if not 0 <= getattr(args, name) <= 1:
            parser.error(f"--{name.replace('_', '-')} must be within [0, 1]")
    if (problem := complaint(args)) is not None:
        parser.error(problem)
    try:
        clock = parse_iso(args.clock) if args.clock else None
        generator = from_args(GeneratorConfig, args)
        app = create_app(from_args(settings, args, generator=generator, latency_ms=args.latency, clock=clock))
    except ValueError as exc:
        parser.error(str(exc))
    serve(app, args.port)


# --- HTTP --------------------------------------------------------------------------------------------------
async def pause(latency_ms: float) -> None:
    """The configured --latency of a request."""
    if latency_ms > 0:
        await asyncio.sleep(latency_ms / 1000)


class _DateHeader:
    """Every answer's HTTP `Date` (RFC 7231 §7.1.1.2) from `clock` (epoch seconds): a district system's is its
    simulated clock, as a real system's is its own, possibly wrong, clock. uvicorn's own Date is turned off
    (serve): it would be a second one."""

    def __init__(self, app: Any, clock: Callable[[], float]) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", formatdate(self.clock(), usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dated)


def add_date(app: FastAPI, clock: Callable[[], float]) -> None:
    """Answers dated by `clock` (see _DateHeader)."""
    app.add_middleware(_DateHeader, clock=clock)


def add_health(app: FastAPI) -> None:
    @app.get("/health")
    async def health() -> Response:
        return json_response({"ok": True})


class ClockError(ValueError):
    """A POST /_sim/clock answered with 400; __cause__ is the underlying error, if any."""


def requested_clock(body: bytes, now: int) -> int:
    """The clock a POST /_sim/clock asks for: {"advance_hours": float} from now, or {"set": ISO}."""
    try:
        request: Any = json.loads(body or b"{}")
    except ValueError as exc:  # not JSON, or not UTF-8
        raise ClockError("body must be JSON") from exc
    if not isinstance(request, dict):
        raise ClockError("body must be a JSON object")
    try:
        if "advance_hours" in request:
            return now + round(float(request["advance_hours"]) * 3600)
        if "set" in request:
            return int(parse_iso(str(request["set"])))
    except (TypeError, ValueError) as exc:
        raise ClockError(f"bad clock value: {exc}") from exc
    raise ClockError('expected {"advance_hours": float} or {"set": ISO}')


def json_lines(rows: Iterable[Any], batch: int = 1000) -> Iterator[str]:
    """JSON Lines, `batch` rows a chunk; None rows are left out."""
    chunk: list[str] = []
    for row in rows:
        if row is None:
            continue
        chunk.append(json.dumps(row, ensure_ascii=False))
        if len(chunk) == batch:
            yield "\n".join(chunk) + "\n"
            chunk = []
    if chunk:
        yield "\n".join(chunk) + "\n"


class SimState(Protocol):
    clock: int  # epoch seconds
    stats: dict[str, int]


def add_sim_routes(
    app: FastAPI,
    state: SimState,
    gen: DossierGenerator,
    *,
    truth_row: Callable[[int, int], dict[str, Any] | None] | None = None,
    truth_batch: int = 1000,
    move_clock: Callable[[int], dict[str, Any]] | None = None,
    clock_extra: Callable[[], dict[str, Any]] = dict,
    stats_answer: Callable[[], dict[str, Any]] | None = None,
    clock_error: Callable[[ClockError], str] = str,
) -> None:
    """The test-control routes, with a simulator's own parts where it has them.

    GET /_sim/truth: JSON Lines of `truth_row(i, clock)` (default gen.truth) for each dossier received by the
    clock. GET|POST /_sim/clock: {"clock": ISO, **clock_extra()}; a POST hands the requested clock to
    `move_clock` (default: set it), which returns what the answer adds or refuses with ClockError: 400
    {"error": clock_error(exc)}. GET /_sim/stats: `stats_answer()` (default state.stats). GET /health.
    """
    row = truth_row or gen.truth

    def set_only(target: int) -> dict[str, Any]:
        state.clock = target
        return {}

    move = move_clock or set_only

    @app.get("/_sim/truth")
    def truth() -> StreamingResponse:
        clock = state.clock
        rows = (row(i, clock) for i in range(gen.first_index_after(clock)))
        return StreamingResponse(json_lines(rows, truth_batch), media_type="application/x-ndjson")

    @app.get("/_sim/clock")
    async def get_clock() -> Response:
        return json_response({"clock": gen.iso(state.clock), **clock_extra()})

    @app.post("/_sim/clock")
    async def set_clock(request: Request) -> Response:
        try:
            added = move(requested_clock(await request.body(), state.clock))
        except ClockError as exc:
            return json_response({"error": clock_error(exc)}, 400)
        return json_response({"clock": gen.iso(state.clock), **clock_extra(), **added})

    @app.get("/_sim/stats")
    async def stats() -> Response:
        return json_response(stats_answer() if stats_answer else state.stats)

    add_health(app)
    add_date(app, lambda: state.clock)
