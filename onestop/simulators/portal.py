"""The National Public Service Portal's sync adapter (DOMAIN.md §2): session login, errors inside HTTP 200.

    python -m onestop.simulators.portal --port 0 --state PATH [options]

State (dossiers, progress, counters) persists in the SQLite file, as a real portal's would; sessions do not.
"""

from __future__ import annotations

import argparse
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from onestop.simulators import _common as common
from onestop.simulators import portal_rules as rules
from onestop.simulators._server import json_response, serve
from onestop.simulators.portal_store import PortalStore, dumps

DOSSIER_SERVICE = "DongBoHoSoMC"
PROGRESS_SERVICE = "CapNhatTienDoHoSoMC"


@dataclass
class PortalSettings:
    state: Path
    username: str = "portal"
    password: str = "secret"
    dstcode: str = "H23"
    session_ttl: float = 600.0
    latency_ms: float = 0.0


def _answer(code: int | str, message: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"error_code": code, "message": message or rules.MESSAGES.get(code, ""), **extra}


def _result(record: Any, code: int | str, message: str) -> dict[str, Any]:
    ma_ho_so = record.get("MaHoSo") if isinstance(record, dict) else None
    return {"MaHoSo": ma_ho_so, "error_code": code, "message": message}


class Portal:
    """The request logic, apart from HTTP, so each call is one locked transaction on the store."""

    def __init__(self, settings: PortalSettings) -> None:
        self.settings = settings
        self.store = PortalStore(settings.state)
        self._sessions: dict[str, float] = {}  # session -> monotonic expiry
        self._sessions_lock = threading.Lock()

    def login(self, body: Any, dstcode: str | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            return _answer(rules.ERR_JSON)
        s = self.settings
        good = (
            isinstance(body.get("username"), str)
            and isinstance(body.get("password"), str)
            and hmac.compare_digest(body["username"].encode(), s.username.encode())
            and hmac.compare_digest(body["password"].encode(), s.password.encode())
        )
        if not good:
            return _answer(rules.ERR_LOGIN)
        if dstcode != s.dstcode:
            return _answer(rules.ERR_LOGIN, f"Sai mã đơn vị (dstcode), cần {s.dstcode}")
        session = secrets.token_hex(24)
        now = time.monotonic()
        with self._sessions_lock:
            for old in [k for k, expiry in self._sessions.items() if expiry <= now]:
                del self._sessions[old]
            self._sessions[session] = now + s.session_ttl
        with self.store.transaction() as conn:
            self.store.bump(conn, {"logins": 1})
        return {"session": session, "error_code": rules.OK}

    def _session_ok(self, session: Any) -> bool:
        if not isinstance(session, str):
            return False
        with self._sessions_lock:
            expiry = self._sessions.get(session)
        return expiry is not None and expiry > time.monotonic()

    def integration(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            return _answer(rules.ERR_JSON)
        if not self._session_ok(body.get("session")):
            return _answer(rules.ERR_SESSION)
        service = body.get("service")
        if service not in (DOSSIER_SERVICE, PROGRESS_SERVICE):
            return _answer(rules.ERR_SERVICE, f"Dịch vụ không được hỗ trợ: {service!r}")
        call = {f"calls:{service}": 1}
        refusal = self._refusal(body, service)
        if refusal is not None:
            with self.store.transaction() as conn:
                self.store.bump(conn, call)
            return refusal
        if service == DOSSIER_SERVICE:
            updating = str(body.get("isUpdating", "False")).strip().lower() == "true"
            return self._sync_dossiers(body["data"], updating, call)
        return self._sync_progress(body["data"], call)

    @staticmethod
    def _refusal(body: dict[str, Any], service: str) -> dict[str, Any] | None:
        """A whole-call error (bad madonvi, data or isUpdating), or None if the records can be processed."""
        if not isinstance(body.get("madonvi"), str) or not body["madonvi"].strip():
            return _answer(rules.ERR_UNIT)
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return _answer(rules.ERR_BATCH, "Thiếu danh sách bản ghi (data)")
        if len(data) > rules.MAX_BATCH:
            return _answer(rules.ERR_BATCH, f"Vượt quá số bản ghi cho phép mỗi lần gửi ({rules.MAX_BATCH})")
        updating = str(body.get("isUpdating", "False")).strip().lower()
        if service == DOSSIER_SERVICE and updating not in ("true", "false"):
            return _answer(rules.ERR_BATCH, 'isUpdating phải là "True" hoặc "False"')
        return None

    def _sync_dossiers(self, data: list[Any], updating: bool, call: dict[str, int]) -> dict[str, Any]:
        problems = [rules.dossier_problems(record) for record in data]
        codes = [record["MaHoSo"] for record, bad in zip(data, problems, strict=True) if not bad]
        results, writes, created, rejected = [], [], 0, 0
        with self.store.transaction() as conn:
            held = self.store.held(conn, codes)
            for record, bad in zip(data, problems, strict=True):
                if bad:
                    results.append(_result(record, rules.ERR_INVALID, rules.invalid_message(bad)))
                    rejected += 1
                    continue
                code = record["MaHoSo"]
                if updating != (code in held):
                    err = rules.ERR_NOT_FOUND if updating else rules.ERR_EXISTS
                    results.append(_result(record, err, rules.MESSAGES[err]))
                    rejected += 1
                    continue
                if not updating:
                    held.add(code)  # a repeat later in the same batch "already exists"
                    created += 1
                writes.append((code, rules.code_value(record["TrangThaiHoSo"]), dumps(record)))
                results.append(_result(record, rules.OK, rules.MESSAGES[rules.OK]))
            self.store.write_dossiers(conn, writes)
            self.store.bump(conn, {**call, "received": len(data), "rejected": rejected, "accepted": created})
        return _answer(rules.OK, f"Đã xử lý {len(data)} hồ sơ, lỗi {rejected}", results=results)

    def _sync_progress(self, data: list[Any], call: dict[str, int]) -> dict[str, Any]:
        problems = [rules.progress_problems(record) for record in data]
        codes = [record["MaHoSo"] for record, bad in zip(data, problems, strict=True) if not bad]
        results, rows, rejected = [], [], 0
        with self.store.transaction() as conn:
            held = self.store.held(conn, codes)
            for record, bad in zip(data, problems, strict=True):
                if bad:
                    results.append(_result(record, rules.ERR_INVALID, rules.invalid_message(bad)))
                elif record["MaHoSo"] not in held:
                    results.append(_result(record, rules.ERR_NOT_FOUND, rules.MESSAGES[rules.ERR_NOT_FOUND]))
                else:
                    status = str(rules.code_value(record["TrangThai"]))
                    rows.append((record["MaHoSo"], str(record["ThoiDiemXuLy"]), status, dumps(record)))
                    results.append(_result(record, rules.OK, rules.MESSAGES[rules.OK]))
                    continue
                rejected += 1
            new_rows = self.store.add_progress(conn, rows)
            self.store.bump(
                conn,
                {
                    **call,
                    "progress_received": len(data),
                    "progress_rejected": rejected,
                    "progress_rows": new_rows,
                },
            )
        return _answer(rules.OK, f"Đã xử lý {len(data)} bản ghi tiến độ, lỗi {rejected}", results=results)

    def summary(self) -> dict[str, Any]:
        counters = self.store.counters()
        calls = {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith("calls:")}
        return {
            "accepted": counters.get("accepted", 0),
            "received": counters.get("received", 0),
            "rejected": counters.get("rejected", 0),
            "progress_rows": counters.get("progress_rows", 0),
            "calls": {DOSSIER_SERVICE: 0, PROGRESS_SERVICE: 0, **calls},
            "logins": counters.get("logins", 0),
            "progress_received": counters.get("progress_received", 0),
            "progress_rejected": counters.get("progress_rejected", 0),
        }


def _line(row: tuple) -> str:
    """One inspection line; the stored record is already JSON text, so it is spliced in, not re-parsed."""
    code, status, writes, progress, record = row
    return (
        f'{{"MaHoSo":{json.dumps(code, ensure_ascii=False)},"TrangThaiHoSo":{json.dumps(status)},'
        f'"writes":{writes},"progress":{progress},"record":{record}}}'
    )


def create_app(settings: PortalSettings) -> FastAPI:
    portal = Portal(settings)
    app = FastAPI(title="National portal simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = portal

    async def parsed(request: Request) -> Any:
        await common.pause(settings.latency_ms)
        try:
            return json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None

    @app.post("/login")
    async def login(request: Request) -> Response:
        body = await parsed(request)
        return json_response(await run_in_threadpool(portal.login, body, request.headers.get("dstcode")))

    @app.post("/integration")
    async def integration(request: Request) -> Response:
        body = await parsed(request)
        return json_response(await run_in_threadpool(portal.integration, body))

    @app.get("/_inspect/summary")
    def summary() -> Response:
        return json_response(portal.summary())

    @app.get("/_inspect/dossiers")
    def dossiers() -> StreamingResponse:
        def lines() -> Iterator[str]:
            for rows in portal.store.dossier_chunks():
                yield "".join(_line(row) + "\n" for row in rows)

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/_inspect/dossiers/{ma_ho_so:path}")
    def dossier(ma_ho_so: str) -> Response:
        found = portal.store.dossier(ma_ho_so)
        if found is None:
            return json_response({"error": "not found", "MaHoSo": ma_ho_so}, 404)
        row, progress = found
        line = _line(row)
        return Response(
            (line[:-1] + ',"progress_rows":[' + ",".join(progress) + "]}").encode(),
            media_type="application/json",
        )

    @app.post("/_inspect/reset")
    def reset() -> Response:
        portal.store.reset()
        return json_response({"ok": True})

    common.add_health(app)
    common.add_date(app, time.time)
    return app


def build_parser() -> argparse.ArgumentParser:
    p = common.new_parser("onestop.simulators.portal", __doc__)
    p.add_argument("--state", type=Path, required=True, help="SQLite file; kept between runs")
    p.add_argument("--username", default="portal")
    p.add_argument("--password", default="secret")
    p.add_argument("--dstcode", default="H23", help="expected in the dstcode header of /login")
    p.add_argument("--session-ttl", type=float, default=600, help="seconds")
    p.add_argument("--latency", type=float, default=0, help="ms added to /login and /integration")
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    serve(create_app(common.from_args(PortalSettings, args, latency_ms=args.latency)), args.port)


if __name__ == "__main__":
    main()
