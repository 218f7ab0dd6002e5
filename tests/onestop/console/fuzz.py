"""`make test-console-fuzz`: property-based requests (schemathesis) to every operation of the administrators'
console, through Airflow's own API app with the plugin mounted and Airflow's real authentication.

    python -m tests.onestop.console.fuzz [--long] [--seed N]

The world: its own data folder; the embedded PostgreSQL, migrated, with one simulated district synced (a tenth
of its records bad, half of its citizens named with markup) and one delivery round that met the portal down, so
the handlers have failures to list, show, re-drive and resolve; Airflow's metadata on SQLite; the simple auth
manager with users admin and viewer. The app is `airflow.api_fastapi.app.create_app()`, called in this process
through schemathesis's ASGI transport: no listening server, no dependency override. Each request carries a
bearer token that Airflow's own `/auth/token` issued, the form token of that session in every form (field
`csrf`) and, on a POST, the app's own Origin. `[api] base_url` names a loopback port that this process holds
bound and never listens on, so a re-drive's call to Airflow's REST API is refused at once; a socket guard
refuses every address but loopback (and the database's Unix socket).

The schema is the console's own (`onestop.console.app.create_app().openapi()`, paths under /onestop), with what
a browser's forms send where the console declares only `string` (`hints`). Generation is mostly positive, so
that most requests pass Airflow's checks and the filters and reach a handler, with values at the edges of what
the console reads mixed in (`Edges`); some requests are negative.
A request "reaches the handler" when the route's endpoint function is called: each console route's
`dependant.call` (what FastAPI calls per request) is wrapped in a counter of the same kind, which observes and
changes nothing.

Output: a line per operation, each 5xx answer with its request and exception, then the last line
`console fuzz: N requests, O operations, handled H, 5xx X`. Exit 0 only when there is no 5xx, every operation got
at least MIN_PER_OPERATION requests and at least 80% of all requests reached a handler.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import hashlib
import inspect
import json
import logging
import os
import random
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.streams import quiet

ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / "var" / "cache" / "console-fuzz"  # Airflow's migrated metadata database, between runs
SOURCE = "hd_thanh_pho_hai_duong"
USERS = {"admin": ("admin", "admin-pw"), "viewer": ("viewer", "viewer-pw")}  # name: (role, password)
MIN_PER_OPERATION = 50
MIN_HANDLED = 0.8
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")  # every form carries the form token


@dataclass(frozen=True)
class Budget:
    """Examples per operation and user: positive (fits the schema) and negative (does not)."""

    admin_positive: int
    admin_negative: int
    viewer_positive: int
    viewer_negative: int


QUICK = Budget(admin_positive=70, admin_negative=8, viewer_positive=10, viewer_negative=1)
LONG = Budget(admin_positive=500, admin_negative=60, viewer_positive=120, viewer_negative=15)

# Days every month has, and the last of the year; of this century (a filter of the one-stop era).
DAY_MONTH_YEAR = r"^((0[1-9]|1[0-9]|2[0-8])/(0[1-9]|1[0-2])|31/12)/20[0-9]{2}$"
YEAR_MONTH_DAY = r"^20[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|12-31)$"
# A day in a form the console reads, any year: where EDGES may put the first and last days.
DAY_FORMS = {"type": "string", "pattern": r"^([0-9]{2}/[0-9]{2}/[0-9]{4}|[0-9]{4}-[0-9]{2}-[0-9]{2})$"}
KEY_SHAPES = r"^([qtr][0-9]{1,12}|c[0-9A-Za-z-]{1,40}|d[0-9A-Za-z-]{1,40}@[0-9]{1,12})$"
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"  # what a form field of a browser sends: no control characters


def hints(kinds: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """What is generated where the console's schema says only `string`, by parameter or form field name: the
    values a browser's forms send.

    Without them most generated filters would be refused (400) before any handler runs: an unknown stage or
    state or re-drive scope, a text that is no day, control characters in a filter's text. A key is free text half of the time
    (the handlers must refuse what is not a key), else shaped like a key of one of the five kinds. An empty
    form field is a missing one to FastAPI (422): a comment is not empty. EDGES go further (`edge_room`)."""
    day = {
        "anyOf": [
            {"type": "string", "pattern": DAY_MONTH_YEAR},
            {"type": "string", "pattern": YEAR_MONTH_DAY},
        ]
    }
    text = {"type": "string", "pattern": PRINTABLE, "maxLength": 100}
    free = {"type": "string", "not": {"pattern": KEY_SHAPES}}  # a plain string would absorb the shaped one
    key = {"anyOf": [free, {"type": "string", "pattern": KEY_SHAPES}]}
    return {
        "kind": {"enum": ["", *kinds]},
        "state": {"enum": ["open", "resolved", "all"]},
        "scope": {"enum": ["selected", "class"]},  # a re-drive of the chosen failures or of a whole class
        "since": day,
        "until": day,
        "source": text,
        "error_class": text,
        "key": key,
        "keys": {"type": "array", "items": key},
        "comment": {"type": "string", "minLength": 1},
    }


def edge_room() -> dict[str, dict[str, Any]]:
    """Where an edge may stand when that is wider than what `hints` generates: any day in the console's forms
    (the first and the last it reads), any text in a filter (NUL and all)."""
    return {
        "since": DAY_FORMS,
        "until": DAY_FORMS,
        "source": {"type": "string"},
        "error_class": {"type": "string"},
    }


def _cursor(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# Values at the edges of what the console reads, by family.
EDGES = {
    "nul": ("\x00", "x\x00", "\x00q1", "r1\x00"),  # PostgreSQL text cannot hold NUL
    "days": ("31/12/9999", "9999-12-31", "01/01/1000", "31/12/2100"),  # the last and first days it reads
    "numbers": ("q99999999999", "r99999999999", "t2147483648", "dabc@99999999999", "d@1", "c"),  # int4, int8
    "markup": ("' OR '1'='1", "<script>alert(1)</script>", "%_\\"),
    "redirects": ("//example.invalid/", "/onestop/\\example.invalid", "\r\nX-Injected: 1"),  # a form's `back`
    "unicode": ("\u202e\ufeff", "\U0001f600", "x" * 5000),
    "cursors": (_cursor("9999-12-31T23:59:59.999999-23:59|q1"), _cursor("2025-01-01T00:00:00|\x00")),
}
EDGE_SHARE = 0.5  # of the positive requests: one field's generated value replaced by an edge
KEY_FIELDS = ("key", "keys")  # failure keys: the database's own in place of the generated ones,
KEY_SHARE = 0.3  # in this share of the requests that carry one, so that the handlers find what they look for


class Edges:
    """An edge (EDGES, only where the field's schema admits it, or `edge_room` where that is wider than the
    hints: the request stays within the console's own schema) in place of one generated value of half the
    positive requests, and the database's own failure keys in place of generated ones.

    Chosen with a random generator of their own, seeded per run: when Hypothesis draws such choices (as
    schemathesis's dictionaries do) it goes back to the inputs that held an edge and varies them, and edges
    crowd out the generated values (two requests in three in a trial, whatever the probability set), and with
    them the requests that pass the console's filters."""

    def __init__(self, raw: dict[str, Any], keys: list[str]) -> None:
        from jsonschema import Draft202012Validator

        self.keys = keys
        # (operation label, location, field name) -> the families of EDGES with the values it admits
        self.families: dict[tuple[str, str, str], list[tuple[str, ...]]] = {}
        room = edge_room()
        components = raw.get("components", {}).get("schemas", {})
        for path, item in raw["paths"].items():
            for method, operation in item.items():
                label = f"{method.upper()} {path}"
                fields = [(p["in"], p["name"], p.get("schema", {})) for p in operation.get("parameters", [])]
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    body = media.get("schema", {})
                    body = components.get(body.get("$ref", "").rsplit("/", 1)[-1], body)
                    fields += [("body", name, prop) for name, prop in body.get("properties", {}).items()]
                for location, name, schema in fields:
                    if name == "csrf":
                        continue
                    validator = Draft202012Validator(_items(room.get(name, schema)))
                    admitted = [
                        family
                        for values in EDGES.values()
                        if (family := tuple(v for v in values if validator.is_valid(v)))
                    ]
                    if admitted:
                        self.families[(label, location, name)] = admitted

    def candidates(self, label: str, location: str, name: str) -> list[str]:
        return [v for family in self.families.get((label, location, name), []) for v in family]

    def apply(self, label: str, case: Any, rng: random.Random) -> None:
        slots = [
            (location, container, name)
            for location, container in (
                ("query", case.query),
                ("path", case.path_parameters),
                ("body", case.body),
            )
            if isinstance(container, dict)
            for name in container
            if (label, location, name) in self.families
        ]
        for location, container, name in slots:
            if name in KEY_FIELDS and self.keys and rng.random() < KEY_SHARE:
                real = rng.sample(self.keys, min(len(self.keys), rng.randint(1, 3)))
                _put(location, container, name, real if isinstance(container[name], list) else real[0])
        if slots and rng.random() < EDGE_SHARE:
            location, container, name = rng.choice(slots)
            value = rng.choice(rng.choice(self.families[(label, location, name)]))
            current = container[name]
            if isinstance(current, list):
                value = [*current[: rng.randint(0, len(current))], value]
            _put(location, container, name, value)


def _items(schema: dict[str, Any]) -> dict[str, Any]:
    """A field's schema, or its items' when it is a list (`keys`)."""
    if schema.get("type") == "array":
        return schema.get("items", {})
    for alternative in schema.get("anyOf", []):
        if alternative.get("type") == "array":
            return alternative.get("items", {})
    return schema


def _put(location: str, container: dict[str, Any], name: str, value: Any) -> None:
    from urllib.parse import quote

    container[name] = (
        quote(value, safe="") if location == "path" else value
    )  # schemathesis quotes path values


# --- the world -------------------------------------------------------------------------------------------------


def quiet_logging() -> None:
    """Airflow logs every request (its access log) and each 5xx with its traceback; the report says what matters."""
    logging.getLogger().setLevel(logging.ERROR)
    for name in ("airflow", "uvicorn", "httpx", "alembic", "sqlalchemy", "onestop", "connectors"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@dataclass
class World:
    """`start()`: database, failures, Airflow's app and the users' tokens; `stop()` undoes it."""

    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="onestop-console-fuzz-")))
    base_url: str = ""
    app: Any = None
    console: Any = None  # the console's FastAPI app, as mounted in Airflow's
    tokens: dict[str, str] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    _holder: socket.socket | None = None
    _saved_env: dict[str, str] = field(default_factory=dict)
    _db_started: bool = False

    def start(self) -> World:
        self._saved_env = dict(os.environ)
        self._hold_port()
        self._configure()
        guard_network()
        url = self._start_database()
        from airflow.api_fastapi.app import create_app  # ~3 s: while the seed thread syncs a district

        seeding = Seeder(self.base_url)
        seeding.start()
        self._migrate_airflow()
        self.app = create_app()
        seeding.join()
        if seeding.error is not None:
            raise seeding.error
        with psycopg_connect(url) as conn:
            self.keys = [
                k
                for (k,) in conn.execute(
                    "SELECT key FROM (SELECT key, row_number() OVER (PARTITION BY kind ORDER BY key) AS n"
                    " FROM onestop.failure) f WHERE n <= 8 ORDER BY key"
                )
            ]
        self.console = mounted_console(self.app)
        if self.app.dependency_overrides or self.console.dependency_overrides:
            raise RuntimeError("a dependency override: the run would not go through Airflow's own checks")
        self.tokens = {user: self._token(user) for user in USERS}
        return self

    def _hold_port(self) -> None:
        """A loopback port bound and never listened on: calls to it are refused at once, and no other
        process can take it while the run lasts."""
        self._holder = socket.socket()
        self._holder.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._holder.getsockname()[1]}"

    def _configure(self) -> None:
        home = self.work / "airflow"
        os.environ.update(
            {
                "ONESTOP_VAR": str(self.work),
                "ONESTOP_HOME": str(ROOT),
                "ONESTOP_TASK_RETRIES": "0",
                # the message log's key: without it the pipeline asks Airflow's secrets backends for it
                "AIRFLOW_CONN_ONESTOP_MESSAGE_LOG": json.dumps({"conn_type": "generic", "password": "fuzz"}),
                "AIRFLOW_CONN_ONESTOP_CITIZEN_ID_KEY": json.dumps(
                    {"conn_type": "generic", "password": "fuzz-id"}
                ),
            }
        )
        for name in ("ONESTOP_DB_URL", "ONESTOP_SOURCES", "ONESTOP_MAPPINGS_DIR"):
            os.environ.pop(name, None)
        from onestop.airflow import env as airflow_env

        airflow_env.configure(home=home)
        passwords = home / "passwords.json"
        passwords.write_text(json.dumps({user: pw for user, (_, pw) in USERS.items()}))
        os.environ.update(
            {
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                    f"{u}:{r}" for u, (r, _) in USERS.items()
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                "AIRFLOW__API_AUTH__JWT_SECRET": hashlib.sha256(os.urandom(32)).hexdigest() * 2,
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__API__ENABLE_SWAGGER_UI": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
            }
        )

    def _start_database(self) -> str:
        from onestop import db, embedded_db

        url = embedded_db.start()
        self._db_started = True
        db.upgrade(url)
        os.environ["ONESTOP_DB_URL"] = url
        return url

    def _migrate_airflow(self) -> None:
        """Airflow's metadata on SQLite, migrated (copied from var/cache when an earlier run left one)."""
        import airflow
        from airflow.utils.db import upgradedb

        target = self.work / "airflow" / "airflow.db"
        cached = CACHE / f"airflow-{airflow.__version__}.db"
        if cached.is_file():
            shutil.copyfile(cached, target)
        upgradedb()
        if not cached.is_file():
            with contextlib.suppress(OSError):  # a cache that cannot be written costs time, nothing else
                CACHE.mkdir(parents=True, exist_ok=True)
                partial = cached.with_suffix(f".{os.getpid()}")
                shutil.copyfile(target, partial)
                partial.rename(cached)

    def _token(self, user: str) -> str:
        """A JWT from Airflow's own login endpoint (the simple auth manager's `POST /auth/token`)."""
        from schemathesis.python import asgi

        with asgi.get_client(self.app) as client:
            resp = client.post(
                f"{self.base_url}/auth/token", json={"username": user, "password": USERS[user][1]}, timeout=30
            )
        if resp.status_code != 201:
            raise RuntimeError(f"/auth/token for {user}: {resp.status_code} {resp.text[:300]}")
        return resp.json()["access_token"]

    def stop(self) -> None:
        from onestop import embedded_db

        with contextlib.suppress(Exception):
            from schemathesis.python import asgi

            asgi.shutdown_lifespans()
        if self._db_started:
            with contextlib.suppress(Exception):
                embedded_db.stop()
        if self._holder is not None:
            self._holder.close()
        os.environ.clear()
        os.environ.update(self._saved_env)
        shutil.rmtree(self.work, ignore_errors=True)


def psycopg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def guard_network() -> None:
    """Nothing this process does may reach beyond loopback (the database listens on a Unix socket)."""
    from pytest_socket import socket_allow_hosts

    socket_allow_hosts(["127.0.0.1", "::1", "localhost"], allow_unix_socket=True)


class Seeder(threading.Thread):
    """Failures for the handlers to work on: one district synced from a simulator whose records are often bad
    and whose citizens are often named with markup, then a delivery round with the portal unreachable (the
    held port). Runs beside Airflow's migration: the delivery round mostly waits out its retries."""

    def __init__(self, unreachable: str) -> None:
        super().__init__(name="seed-failures", daemon=True)
        self.unreachable = unreachable
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            from connectors.errors import ConnectorError
            from onestop import pipeline
            from onestop.simulators.process import start_simulator
            from tests.conftest import IGATE_FIELDS, PORTAL_FIELDS, set_connection

            args = ("--seed", "5", "--count", "200", "--district", "288", "--bad-rate", "0.1")
            with start_simulator("igate", *args, "--hostile-rate", "0.5") as sim:
                set_connection(f"onestop_src_{SOURCE}", sim.url, **IGATE_FIELDS)
                pipeline.sync(SOURCE)
            set_connection("onestop_portal", self.unreachable, **PORTAL_FIELDS)
            with contextlib.suppress(ConnectorError):
                pipeline.deliver(limit=20)
        except BaseException as exc:
            self.error = exc


def mounted_console(app: Any) -> Any:
    """The console's FastAPI app as Airflow mounted it (plugins/onestop_console.py builds it on first use)."""
    from starlette.routing import Mount

    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/onestop":
            inner = route.app
            return inner.app() if hasattr(inner, "app") and callable(inner.app) else inner
    raise RuntimeError("the onestop console plugin is not mounted at /onestop")


# --- what the console is asked ---------------------------------------------------------------------------------


def console_routes(console: Any) -> list[tuple[str, str, Any]]:
    """(method, path, route) for every console route but the static files."""
    from fastapi.routing import APIRoute

    return [
        (method, route.path, route)
        for route in console.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]


class HandlerCounter:
    """Counts calls of each console endpoint: each route's `dependant.call` (FastAPI calls it per request)
    wrapped in a function of the same kind (sync or async), which counts and calls the original."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def install(self, console: Any) -> None:
        for _method, path, route in console_routes(console):
            call = route.dependant.call
            if getattr(call, "_fuzz_counted", False):
                continue
            route.dependant.call = self._wrap(call, f"{' '.join(sorted(route.methods))} {path}")

    def _wrap(self, call: Callable, route: str) -> Callable:
        counter = self

        if inspect.iscoroutinefunction(call):

            @functools.wraps(call)
            async def counted_async(*args: Any, **kwargs: Any) -> Any:
                counter._count(route)
                return await call(*args, **kwargs)

            counted_async._fuzz_counted = True  # type: ignore[attr-defined]
            return counted_async

        @functools.wraps(call)
        def counted(*args: Any, **kwargs: Any) -> Any:
            counter._count(route)
            return call(*args, **kwargs)

        counted._fuzz_counted = True  # type: ignore[attr-defined]
        return counted

    def _count(self, route: str) -> None:
        with self._lock:
            self.calls[route] += 1

    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())


def console_schema(console: Any, kinds: tuple[str, ...]) -> dict[str, Any]:
    """The console's OpenAPI document (FastAPI builds it although the app does not serve it), its paths under
    /onestop, the security schemes left out (the harness sends the credentials), and `hints` laid over the
    parameters and form fields they name."""
    raw = copy.deepcopy(console.openapi())
    given = hints(kinds)
    raw["paths"] = {f"/onestop{path}": item for path, item in raw["paths"].items()}
    components = raw.setdefault("components", {})
    components.pop("securitySchemes", None)
    for item in raw["paths"].values():
        for operation in item.values():
            operation.pop("security", None)
            for param in operation.get("parameters", []):
                if param["name"] in given:
                    param["schema"] = given[param["name"]]
    for body in components.get("schemas", {}).values():
        for name, prop in body.get("properties", {}).items():
            if name in given:
                body["properties"][name] = {"title": prop.get("title", name), **given[name]}
    return raw


# --- the run ---------------------------------------------------------------------------------------------------


@dataclass
class ServerError:
    user: str
    operation: str
    status: int
    request: str
    error: str


@dataclass
class Tally:
    """Per operation label: requests sent, requests that reached the handler, answers by status; the
    (user, status) of the requests that did not reach a handler; every 5xx."""

    requests: Counter[str] = field(default_factory=Counter)
    handled: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    unhandled: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[ServerError] = field(default_factory=list)
    harness_errors: list[str] = field(default_factory=list)


def describe(case: Any) -> str:
    """The request as sent, for the report: method, path with its query, and form fields (repr, so that NUL and
    other invisible characters show)."""
    from urllib.parse import urlencode

    path = case.formatted_path
    query = {k: v for k, v in (case.query or {}).items() if v is not None}
    text = f"{case.method} {path}" + (f"?{urlencode(query, doseq=True)}" if query else "")
    if isinstance(case.body, (dict, list, str, bytes)):
        body = case.body
        with contextlib.suppress(Exception):
            body = {k: v for k, v in body.items() if k != "csrf"} if isinstance(body, dict) else body
        text += f" form={body!r}"
    return text


class Fuzzer:
    def __init__(self, world: World, *, seed: int | None) -> None:
        import schemathesis
        from schemathesis.config import SchemathesisConfig
        from schemathesis.python import asgi

        from connectors.store import failures

        self.world = world
        self.seed = seed
        self.counter = HandlerCounter()
        self.counter.install(world.console)
        raw = console_schema(world.console, failures.KINDS)
        self.edges = Edges(raw, world.keys)
        # schemathesis's defaults (NUL allowed in strings), not a schemathesis.toml found on the way
        self.schema = schemathesis.openapi.from_dict(raw, config=SchemathesisConfig())
        self.operations = [op.ok() for op in self.schema.get_all_operations()]
        self.client = asgi.get_client(world.app)
        self.client.__enter__()
        self.tally = Tally()
        self.rng = random.Random(seed)

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def run(self, user: str, positive: int, negative: int) -> None:
        from schemathesis import GenerationMode

        for operation in self.operations:
            for mode, count in ((GenerationMode.POSITIVE, positive), (GenerationMode.NEGATIVE, negative)):
                if count:
                    self._examples(user, operation, mode, count)

    def _examples(self, user: str, operation: Any, mode: Any, count: int) -> None:
        """`count` requests of one kind to one operation. Hypothesis ends a run early when it has tried every
        input it can make (the home page has none to vary): the test also draws a number, which keeps the
        inputs apart, and a new run (another seed) follows until `count` are sent."""
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import seed as fixed_seed
        from hypothesis import strategies as st
        from hypothesis.errors import Unsatisfiable

        try:
            strategy = operation.as_strategy(generation_mode=mode)
        except Exception:  # nothing to make negative (no parameters, no body)
            return
        sent = 0
        token = self.world.tokens[user]
        headers = {"Authorization": f"Bearer {token}"}
        if operation.method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
            headers["Origin"] = self.world.base_url
        from onestop.console.guard import csrf_for

        form_token = csrf_for(token)

        for attempt in range(5):
            budget = count - sent
            if budget <= 0:
                return
            run = f"{self.seed} {user} {operation.label} {mode} {attempt}"
            self.rng = random.Random(run)  # the edges' choices: not Hypothesis's (Edges says why)

            @settings(
                max_examples=budget,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
                derandomize=False,
                report_multiple_bugs=False,
            )
            @fixed_seed(zlib.crc32(run.encode()))
            @given(case=strategy, _round=st.integers(0, 2**32))
            def send(case: Any, _round: int) -> None:
                nonlocal sent
                if sent >= count:
                    return
                sent += 1
                if mode.is_positive:
                    self.edges.apply(operation.label, case, self.rng)
                self._send(user, operation, case, headers, form_token)

            try:
                send()
            except Unsatisfiable:  # negative mode with nothing to make invalid (no parameters, no body)
                return

    def _send(self, user: str, operation: Any, case: Any, headers: dict[str, str], form_token: str) -> None:
        if isinstance(case.body, dict) and case.media_type in FORMS:
            case.body["csrf"] = form_token
        label = operation.label
        before = self.counter.total()
        status, error = 0, ""
        try:
            resp = case.call(
                base_url=self.world.base_url,
                session=self.client,
                headers=headers,
                app=self.world.app,
                allow_redirects=False,
                timeout=60,
            )
            status = resp.status_code
            if status >= 500:
                error = resp.text[:300]
        except Exception as exc:
            if not through_app(exc):  # the request was never sent: the harness's own fault
                self.tally.harness_errors.append(f"{label}: {raised(exc)}")
                return
            status, error = 500, raised(exc)  # the app raised: Starlette answered 500 and re-raised it
        handled = self.counter.total() - before
        tally = self.tally
        tally.requests[label] += 1
        tally.handled[label] += min(handled, 1)
        tally.statuses.setdefault(label, Counter())[status] += 1
        if not handled:
            tally.unhandled[(user, status)] += 1
        if status >= 500:
            tally.errors.append(ServerError(user, label, status, describe(case), error))


def through_app(exc: BaseException) -> bool:
    """Whether an exception came out of the app (through Starlette's outermost middleware)."""
    return any(
        f.filename.endswith("starlette/middleware/errors.py") for f in traceback.extract_tb(exc.__traceback__)
    )


def raised(exc: BaseException) -> str:
    """An exception in one line, with the innermost frame of this project's code it passed through."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[0][:300]
    ours = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.startswith(str(ROOT)) and "/.venv" not in f.filename and "/tests/" not in f.filename
    ]
    if ours:
        where = ours[-1]
        text += f" (at {Path(where.filename).relative_to(ROOT)}:{where.lineno} in {where.name})"
    return text


def summary(tally: Tally, operations: int) -> str:
    n = sum(tally.requests.values())
    handled = sum(tally.handled.values())
    return f"console fuzz: {n} requests, {operations} operations, handled {handled}, 5xx {len(tally.errors)}"


def error_key(e: ServerError) -> tuple[str, str]:
    """5xx answers grouped by operation and exception (its text without the values that vary)."""
    return e.operation, re.sub(r"'[^']*'|\"[^\"]*\"|\d+", "…", e.error)[:160]


@dataclass
class Outcome:
    tally: Tally
    labels: set[str]
    routes: set[str]
    seconds_ready: float
    seconds: float


def fuzz(budget: Budget, seed: int) -> Outcome:
    started = time.monotonic()
    world = World()
    try:
        quiet_logging()
        world.start()
        quiet_logging()  # Airflow configures logging as it starts
        ready = time.monotonic() - started
        fuzzer = Fuzzer(world, seed=seed)
        try:
            fuzzer.run("admin", budget.admin_positive, budget.admin_negative)
            fuzzer.run("viewer", budget.viewer_positive, budget.viewer_negative)
        finally:
            fuzzer.close()
        routes = {f"{m} /onestop{p}" for m, p, _ in console_routes(world.console)}
        labels = {op.label for op in fuzzer.operations}
    finally:
        world.stop()
    return Outcome(fuzzer.tally, labels, routes, ready, time.monotonic() - started)


def report(outcome: Outcome, seed: int) -> tuple[list[str], bool]:
    """The report's lines (the summary last) and whether the run passed."""
    tally, labels = outcome.tally, outcome.labels
    lines, problems = [], []
    if labels != outcome.routes:
        problems.append(f"schema operations {sorted(labels)} != console routes {sorted(outcome.routes)}")
    for label in sorted(labels):
        statuses = ", ".join(f"{s}×{c}" for s, c in sorted(tally.statuses.get(label, Counter()).items()))
        lines.append(
            f"  {label}: {tally.requests[label]} requests, handled {tally.handled[label]} ({statuses})"
        )
        if tally.requests[label] < MIN_PER_OPERATION:
            problems.append(f"{label}: {tally.requests[label]} requests < {MIN_PER_OPERATION}")
    unhandled = ", ".join(f"{u} {s}×{c}" for (u, s), c in sorted(tally.unhandled.items()))
    lines.append(f"  not handled (user status×count): {unhandled or 'none'}")
    groups: dict[tuple[str, str], list[ServerError]] = {}
    for e in tally.errors:
        groups.setdefault(error_key(e), []).append(e)
    for (label, _), found in sorted(groups.items()):
        lines.append(f"5xx {label} ×{len(found)}: {found[0].status} {found[0].error}")
        for request in list(dict.fromkeys(f"as {e.user}: {e.request[:300]}" for e in found))[:3]:
            lines.append(f"    {request}")
    problems += [f"not sent: {e}" for e in dict.fromkeys(tally.harness_errors)]
    n, handled = sum(tally.requests.values()), sum(tally.handled.values())
    if n and handled < MIN_HANDLED * n:
        problems.append(f"handled {handled} of {n} requests < {MIN_HANDLED:.0%}")
    lines += [f"PROBLEM {p}" for p in problems]
    lines.append(f"(seed {seed}; start-up {outcome.seconds_ready:.0f} s, in all {outcome.seconds:.0f} s)")
    lines.append(summary(tally, len(labels)))
    return lines, not problems and not tally.errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.onestop.console.fuzz")
    parser.add_argument("--long", action="store_true", help="about ten times the examples, a random seed")
    parser.add_argument(
        "--seed", type=int, default=None, help="the generation seed (default: fixed, or random)"
    )
    args = parser.parse_args(argv)
    budget = LONG if args.long else QUICK
    seed = args.seed if args.seed is not None else (int.from_bytes(os.urandom(4)) if args.long else 16)
    warnings.filterwarnings("ignore")
    try:
        with quiet() as output:
            outcome = fuzz(budget, seed)
    except BaseException:
        sys.stderr.write(output.text[-6000:])
        raise
    logging.getLogger().handlers.clear()
    logging.disable(logging.CRITICAL)
    lines, ok = report(outcome, seed)
    print("\n".join(lines), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
