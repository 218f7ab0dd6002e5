"""The iGate simulator's pre-rendered mode (`python -m onestop.simulators.igate --prerendered ...`).

The normal mode computes and serialises every record of every page it serves (about one core for ~5,000
records/s), so a benchmark that reads through it measures the simulator. This mode renders each dossier's JSON
once, as the normal mode would serialise it (the same bytes), and answers a page by joining the rendered slices:

- the build renders every dossier received by the clock, in worker processes (fork; one per core unless
  --render-workers), into one blob file that is mapped read-only; per dossier it keeps the blob offset, the
  updatedDate shown now (`shown`) and the time of its next event (`upcoming`: the receipt of one not yet received);
- the window's order, (updatedDate, id) like the normal mode's, is one sorted array of keys (updatedDate << 24 |
  index) of the received dossiers: a window is two binary searches, a page a slice of it, its body
  `{"content":[` + the records' bytes joined by commas + `],"page":p,"size":s}`;
- a clock move re-renders only the dossiers whose visible state changes (forward: those whose next event falls by
  the new clock; backward: those whose shown event lies after it), kept in an overlay over the blob, and re-sorts
  the keys (nearly sorted already).

The same token endpoint, paging and window parameters, answer shapes, single-dossier route, /_sim routes and
HTTP Date as the normal mode (the routes are shared); no fault modes. --cache-dir keeps a build (blob + index,
named by everything the bytes depend on) and a later start with the same settings maps it instead of rendering.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import mmap
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from starlette.responses import Response

from onestop.simulators import _common as common
from onestop.simulators._server import json_response
from onestop.simulators.igate_data import DossierGenerator, GeneratorConfig

try:  # the same bytes as _server.json_response's json.dumps(ensure_ascii=False, separators=(",", ":")), faster
    import orjson

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value)

except ImportError:  # pragma: no cover - orjson is a project dependency

    def dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


NOT_RECEIVED = -1  # `shown` of a dossier the clock has not reached
NEVER = (1 << 62) - 1  # `upcoming` of a dossier whose history is over
MASK = 0xFFFFFF  # a key's low 24 bits: the index
PARALLEL_FROM = 20_000  # dossiers: below this the build renders in-process
CACHE_FORMAT = 1

_GEN: DossierGenerator | None = None  # the forked build workers' generator (set before the pool forks)


def _log(message: str) -> None:
    print(f"igate --prerendered: {message}", file=sys.stderr, flush=True)


def _state_at(gen: DossierGenerator, i: int, clock: int) -> tuple[int, int]:
    """(updatedDate shown at clock or NOT_RECEIVED, the next event's time or NEVER)."""
    times = gen._timeline(i)[1]
    vis = bisect.bisect_right(times, clock)
    shown = times[vis - 1] if vis else NOT_RECEIVED
    return shown, times[vis] if vis < len(times) else NEVER


def _render_range(task: tuple[int, int, int, str]) -> tuple[int, bytes, bytes, bytes]:
    """Dossiers [a, b) at clock into the file `path`: (a, lengths, shown, upcoming) as array bytes."""
    a, b, clock, path = task
    gen = _GEN
    assert gen is not None
    lengths, shown, upcoming = array("q"), array("q"), array("q")
    with open(path, "wb", buffering=1 << 20) as out:
        for i in range(a, b):
            seen, nxt = _state_at(gen, i, clock)
            shown.append(seen)
            upcoming.append(nxt)
            if seen == NOT_RECEIVED:
                lengths.append(0)
                continue
            body = dumps(gen.record(i, clock))
            out.write(body)
            lengths.append(len(body))
    return a, lengths.tobytes(), shown.tobytes(), upcoming.tobytes()


def _cache_name(config: GeneratorConfig, clock: int) -> str:
    """Everything the rendered bytes depend on: the generator's settings, the clock and the generator's code."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"{CACHE_FORMAT}:{config!r}:{clock}".encode())
    # What renders; CACHE_FORMAT: how it is stored.
    for module in ("igate_data.py", "igate_records.py", "igate_calendar.py", "igate_catalog.py"):
        digest.update((here / module).read_bytes())
    return f"igate-{config.seed}-{config.count}-{digest.hexdigest()[:16]}"


@dataclass
class Build:
    """A rendering at one clock: the blob (records in index order) and, per dossier, offset/shown/upcoming."""

    blob: Any  # memoryview of the mapped blob (or of b"")
    offsets: array  # count + 1 offsets into the blob
    shown: array
    upcoming: array
    seconds: float = 0.0
    cached: bool = False


def _map(path: Path) -> Any:
    size = path.stat().st_size
    if size == 0:
        return memoryview(b"")
    with open(path, "rb") as f:
        return memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))


def build(gen: DossierGenerator, clock: int, *, workers: int = 0, cache_dir: str | None = None) -> Build:
    """Render every dossier received by `clock` once (see the module docstring); logs the time it took."""
    global _GEN
    started = time.perf_counter()
    count = gen.count
    cache = Path(cache_dir) if cache_dir else None
    if cache is not None:
        name = _cache_name(gen.config, clock)
        blob_path, index_path = cache / f"{name}.blob", cache / f"{name}.index"
        if blob_path.exists() and index_path.exists():
            raw = index_path.read_bytes()
            arrays = [array("q") for _ in range(3)]
            n = count + 1
            arrays[0].frombytes(raw[: 8 * n])
            arrays[1].frombytes(raw[8 * n : 8 * (n + count)])
            arrays[2].frombytes(raw[8 * (n + count) :])
            seconds = time.perf_counter() - started
            _log(f"{count:,} dossiers mapped from {blob_path} in {seconds:.1f} s")
            return Build(_map(blob_path), *arrays, seconds=seconds, cached=True)
        cache.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="igate-prerender-", dir=cache))
    try:
        procs = workers or os.cpu_count() or 1
        # Fork only from a single-threaded process (the simulator's own): a child forked while another thread
        # holds a lock (logging's, an HTTP client's) waits for it forever.
        if count < PARALLEL_FROM or threading.active_count() > 1:
            procs = 1
        chunk = max(1, min(50_000, math.ceil(count / (procs * 8)))) if count else 1
        tasks = [
            (a, min(a + chunk, count), clock, str(workdir / f"part-{a:08d}")) for a in range(0, count, chunk)
        ]
        _GEN = gen
        if procs > 1:
            with multiprocessing.get_context("fork").Pool(procs) as pool:
                parts = pool.map(_render_range, tasks, chunksize=1)
        else:
            parts = [_render_range(task) for task in tasks]
        _GEN = None
        offsets, shown, upcoming = array("q", [0]), array("q"), array("q")
        blob_path = workdir / "blob"
        with open(blob_path, "wb") as blob:
            for (_, lengths, seen, nxt), task in zip(parts, tasks, strict=True):
                lens = array("q")
                lens.frombytes(lengths)
                at = offsets[-1]
                for n in lens:
                    at += n
                    offsets.append(at)
                shown.frombytes(seen)
                upcoming.frombytes(nxt)
                with open(task[3], "rb") as part:
                    while piece := part.read(1 << 24):
                        blob.write(piece)
                os.unlink(task[3])
        if cache is not None:
            index_tmp = workdir / "index"
            index_tmp.write_bytes(offsets.tobytes() + shown.tobytes() + upcoming.tobytes())
            os.replace(blob_path, cache / f"{name}.blob")
            os.replace(index_tmp, cache / f"{name}.index")
            blob_path = cache / f"{name}.blob"
        view = _map(blob_path)
        seconds = time.perf_counter() - started
        _log(
            f"{count:,} dossiers rendered ({offsets[-1] / 1e6:,.0f} MB) by {procs} process(es) in {seconds:.1f} s"
        )
        return Build(view, offsets, shown, upcoming, seconds=seconds)
    finally:
        for leftover in workdir.glob("*"):
            leftover.unlink()  # the mapped blob stays readable until the process ends
        workdir.rmdir()


def _sorted_keys(shown: array) -> array:
    """(updatedDate << 24 | index) of every received dossier, sorted: the window order."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy comes with the project's dependencies
        return array("q", sorted((u << 24) | i for i, u in enumerate(shown) if u != NOT_RECEIVED))
    u = np.frombuffer(shown, dtype=np.int64)
    index = np.flatnonzero(u != NOT_RECEIVED)
    keys = np.sort((u[index] << 24) | index)
    out = array("q")
    out.frombytes(keys.astype(np.int64).tobytes())
    return out


class Prerendered:
    """The system's records as served at `clock`: the build's blob, an overlay of re-rendered ones, the order."""

    def __init__(self, gen: DossierGenerator, clock: int, built: Build) -> None:
        self.gen, self.clock, self.built = gen, clock, built
        self.blob, self.offsets = built.blob, built.offsets
        self.shown, self.upcoming = built.shown, built.upcoming
        self.overlay: dict[int, bytes] = {}
        self.keys = _sorted_keys(self.shown)

    def record_bytes(self, i: int) -> Any:
        """Dossier i as the normal mode would serialise it now (None if not received)."""
        if self.shown[i] == NOT_RECEIVED:
            return None
        body = self.overlay.get(i)
        return body if body is not None else self.blob[self.offsets[i] : self.offsets[i + 1]]

    def window(self, lo: float | None, hi: float | None) -> tuple[int, int]:
        """Positions [a, b) in the order of the dossiers whose updatedDate lies in [lo, min(hi, clock)]."""
        top = self.clock if hi is None else min(hi, self.clock)
        bottom = -math.inf if lo is None else lo
        if bottom > top:
            return 0, 0
        a = 0 if lo is None else bisect.bisect_left(self.keys, math.ceil(bottom) << 24)
        b = bisect.bisect_left(self.keys, (math.floor(top) + 1) << 24)
        return a, max(a, b)

    def page(self, lo: float | None, hi: float | None, page: int, size: int) -> tuple[bytes, int]:
        """The answer's body and how many records it holds."""
        a, b = self.window(lo, hi)
        start = a + page * size
        end = min(start + size, b)
        blob, offsets, overlay = self.blob, self.offsets, self.overlay
        parts = []
        for key in self.keys[start:end] if start < end else ():
            i = key & MASK
            body = overlay.get(i)
            parts.append(body if body is not None else blob[offsets[i] : offsets[i + 1]])
        return b'{"content":[%s],"page":%d,"size":%d}' % (b",".join(parts), page, size), len(parts)

    def move(self, target: int) -> int:
        """The clock moves to `target`: the dossiers whose visible state changes are rendered again."""
        if target == self.clock:
            return 0
        if target > self.clock:  # their next event (or receipt) has come
            changed = [i for i, t in enumerate(self.upcoming) if t <= target]
        else:  # what they show happened after the new clock
            first = bisect.bisect_left(self.keys, (target + 1) << 24)
            changed = [key & MASK for key in self.keys[first:]]
        gone = set(changed)
        fresh = []
        for i in changed:
            seen, nxt = _state_at(self.gen, i, target)
            self.shown[i], self.upcoming[i] = seen, nxt
            if seen == NOT_RECEIVED:
                self.overlay.pop(i, None)
                continue
            self.overlay[i] = dumps(self.gen.record(i, target))
            fresh.append((seen << 24) | i)
        if gone:
            kept = [key for key in self.keys if key & MASK not in gone]
            self.keys = array("q", sorted(kept + fresh) if target < self.clock else kept + sorted(fresh))
        self.clock = target
        return len(changed)


@dataclass
class _Faults:
    """No fault modes here; the shape add_auth reads (token_expiry never fires)."""

    active: set[str] = field(default_factory=set)
    every: int = 1
    token_uses: dict[str, int] = field(default_factory=dict)


class _State:
    def __init__(self, served: Prerendered) -> None:
        self.served = served
        self.tokens: dict[str, float] = {}
        self.stats = {"tokens_issued": 0, "requests": 0, "unauthorized": 0, "records_served": 0}
        self.faults = _Faults()

    @property
    def clock(self) -> int:
        return self.served.clock

    @clock.setter
    def clock(self, value: int) -> None:
        self.served.move(value)


def create_prerendered_app(settings: Any, *, on_build: Callable[[Build], None] | None = None) -> Any:
    """The iGate ASGI app of `settings` (igate.IgateSettings), serving pre-rendered records: the FastAPI app,
    behind a fast path for good data requests (without --latency)."""
    from onestop.simulators.igate import (
        FAULTS,
        _error,
        _page_params,
        add_auth,
        authorized,
        dossier_index,
        page_asked,
    )

    gen = DossierGenerator(settings.generator)
    clock = settings.initial_clock()
    built = build(gen, clock, workers=settings.render_workers, cache_dir=settings.cache_dir)
    if on_build is not None:
        on_build(built)
    served = Prerendered(gen, clock, built)
    state = _State(served)
    app = FastAPI(title="iGate simulator (pre-rendered)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = state
    bearer, used, unauthorized = add_auth(app, settings, state)

    @app.get("/api/v1/dossiers")
    async def dossiers(request: Request) -> Response:
        params = await page_asked(request, state, settings, (bearer, used, unauthorized))
        if isinstance(params, Response):
            return params
        page, size, lo, hi = params
        body, n = served.page(lo, hi, page, size)
        state.stats["records_served"] += n
        return Response(body, media_type="application/json")

    @app.get("/api/v1/dossiers/{dossier_id}")
    async def dossier(dossier_id: str, request: Request) -> Response:
        refused = await authorized(request, state, settings, (bearer, used, unauthorized))
        if refused is not None:
            return refused
        i = dossier_index(dossier_id)
        body = served.record_bytes(i) if 0 <= i < gen.count else None
        if body is None or gen.dossier_id(i) != dossier_id:
            return _error(404, "dossier not found")
        state.stats["records_served"] += 1
        return Response(bytes(body), media_type="application/json")

    @app.get("/_sim/faults")
    async def get_faults() -> Response:
        return json_response({"faults": [], "every": 1, "available": list(FAULTS), "changed": []})

    @app.post("/_sim/faults")
    async def set_faults(request: Request) -> Response:
        return json_response({"error": "the pre-rendered mode serves no fault modes"}, 400)

    def move_clock(target: int) -> dict[str, Any]:
        started = time.perf_counter()
        changed = served.move(target)
        _log(
            f"clock {gen.iso(target)}: {changed:,} dossiers rendered again in {time.perf_counter() - started:.2f} s"
        )
        return {}

    @app.get("/_sim/prerendered")
    async def info() -> Response:
        return json_response({"count": gen.count, "build_s": round(built.seconds, 3), "cached": built.cached,
                              "blob_bytes": len(served.blob), "overlay": len(served.overlay),
                              "received": len(served.keys)})  # fmt: skip

    common.add_sim_routes(app, state, gen, move_clock=move_clock)
    if settings.latency_ms > 0:
        return app

    class _Asked:
        """What _page_params and bearer read of a request (starlette's parsing: last value wins, latin-1)."""

        def __init__(self, scope: dict[str, Any]) -> None:
            self.query_params = dict(
                parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            )
            self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}

    async def fast_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """GET /api/v1/dossiers with a good token and good parameters, without FastAPI's layers (the same
        status, headers, Date and body as the route above); anything else goes to the app."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/api/v1/dossiers":
            await app(scope, receive, send)
            return
        asked = _Asked(scope)
        params = _page_params(asked)  # type: ignore[arg-type]
        tok = bearer(asked)  # type: ignore[arg-type]
        if tok is None or isinstance(params, str):
            await app(scope, receive, send)  # the route answers 401/400 (and counts the request)
            return
        state.stats["requests"] += 1
        used(tok)
        page, size, lo, hi = params
        body, n = served.page(lo, hi, page, size)
        state.stats["records_served"] += n
        headers = [(b"content-length", b"%d" % len(body)), (b"content-type", b"application/json"),
                   (b"date", formatdate(served.clock, usegmt=True).encode())]  # fmt: skip
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return fast_path  # type: ignore[return-value]
