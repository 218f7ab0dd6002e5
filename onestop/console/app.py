"""The administrators' console: a FastAPI app that Airflow's API server mounts at /onestop (plugins/).

Every route needs an Airflow login (Airflow does not protect plugin apps by itself): reading needs the right to
read DAG runs; re-driving and resolving need the right to trigger `onestop_redrive` (role User and above with
the simple auth manager; "can create on DAG Runs" for that DAG with FAB). Pages are server-rendered Jinja2 with
autoescaping, assets are shipped in the package, and forms carry a token derived from the session, so a page
of another site cannot post them.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from connectors.store import failures, refusals
from onestop.console import airflow_api, render
from onestop.db import connect
from schemas.personal_data import mask_text

HERE = Path(__file__).parent
PAGE_SIZE = 50


READ = Depends(requires_access_dag("GET", DagAccessEntity.RUN))
REDRIVE = Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=airflow_api.REDRIVE_DAG))


def _remember_user(request: Request, user: GetUserDep) -> None:
    """Who is acting, for the action log (the same user Airflow's check resolved: FastAPI caches it)."""
    request.state.onestop_user = user


def _user_name(request: Request) -> str:
    user = getattr(request.state, "onestop_user", None)
    return user.get_name() if user else "?"


def csrf_token(request: Request) -> str:
    """Bound to the caller's session token: a form from another site cannot know it."""
    secret = airflow_api.user_token(request) or ""
    return hmac.new(secret.encode(), b"onestop-console", hashlib.sha256).hexdigest()[:32]


def _check_csrf(request: Request, token: str) -> None:
    if not hmac.compare_digest(token, csrf_token(request)):
        raise HTTPException(403, "form token does not match this session")


def _parse_day(value: str | None, end: bool = False) -> datetime | None:
    """A dd/mm/yyyy or yyyy-mm-dd day in Asia/Ho_Chi_Minh: its start (or, for `end`, the next day's)."""
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            d = datetime.strptime(value.strip(), fmt).date()
            break
        except ValueError:
            continue
    else:
        raise HTTPException(400, f"not a date: {value!r} (dd/mm/yyyy)")
    if end:
        d += timedelta(days=1)
    return datetime.combine(d, time(), render.TZ)


def failure_filters(
    source: str | None = None,
    kind: str | None = None,
    error_class: str | None = None,
    since: str | None = None,
    until: str | None = None,
    state: str = "open",
) -> failures.Filters:
    """The list's filters, from the query string (the page and the JSON API take the same)."""
    if kind and kind not in failures.KINDS:
        raise HTTPException(400, f"unknown stage {kind!r}")
    if state not in ("open", "resolved", "all"):
        raise HTTPException(400, f"unknown state {state!r}")
    return failures.Filters(
        source=source or None,
        kind=kind or None,
        error_class=error_class or None,
        since=_parse_day(since),
        until=_parse_day(until, end=True),
        state=state,
    )


FiltersDep = Annotated[failures.Filters, Depends(failure_filters)]


def _load_page(filters: failures.Filters, after: str | None, size: int) -> failures.Page:
    try:
        with connect() as conn:
            return failures.page(conn, filters, after=after, size=size)
    except ValueError as exc:  # a cursor this console did not make
        raise HTTPException(400, str(exc)) from exc


def create_app() -> FastAPI:
    app = FastAPI(title="onestop-esb console", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=HERE / "templates")  # autoescape on for .html
    templates.env.globals.update(
        when=render.when,
        ago=render.ago,
        day=render.day,
        status_label=render.status_label,
        error_class_label=render.error_class_label,
        KIND_LABELS=render.KIND_LABELS,
        STATE_LABELS=render.STATE_LABELS,
        BREAKER_LABELS=render.BREAKER_LABELS,
        LEVEL_LABELS=render.LEVEL_LABELS,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    read = APIRouter(dependencies=[READ, Depends(_remember_user)])
    write = APIRouter(dependencies=[REDRIVE, Depends(_remember_user)])

    def page(request: Request, name: str, **context: Any) -> HTMLResponse:
        context.setdefault("message", request.query_params.get("msg"))
        context.setdefault("error", request.query_params.get("err"))
        return templates.TemplateResponse(
            request, name, {"csrf": csrf_token(request), "user": _user_name(request), **context}
        )

    @read.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        from onestop import health, registry

        with connect() as conn:
            counts = dict(
                conn.execute("SELECT kind, count(*) FROM onestop.failure WHERE open GROUP BY 1").fetchall()
            )
            sources = health.source_health(conn, registry.load())
        return page(request, "home.html", counts=counts, sources=sources)

    @read.get("/failures", response_class=HTMLResponse)
    def failure_list(request: Request, filters: FiltersDep, after: str | None = None) -> HTMLResponse:
        from onestop import registry

        result = _load_page(filters, after, PAGE_SIZE)
        query = {k: v for k, v in request.query_params.items() if k != "after" and v}
        return page(
            request,
            "failures.html",
            page=result,
            filters=filters,
            query=query,
            since=request.query_params.get("since", ""),
            until=request.query_params.get("until", ""),
            next_url=f"?{urlencode({**query, 'after': result.next_cursor})}" if result.next_cursor else None,
            first_url=f"?{urlencode(query)}",
            class_urls={
                cls: "?"
                + urlencode({**{k: v for k, v in query.items() if k != "error_class"}, "error_class": cls})
                for cls in result.counts
            },
            sources=registry.load().sources,
            kinds=failures.KINDS,
        )

    @read.get("/api/failures")
    def failure_list_json(
        filters: FiltersDep, after: str | None = None, size: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE
    ) -> JSONResponse:
        result = _load_page(filters, after, size)
        rows = [
            {**r.__dict__, "at": r.at.isoformat(), "resolved_at": r.resolved_at and r.resolved_at.isoformat()}
            for r in result.rows
        ]
        for row in rows:
            row["message"] = row["message"] and mask_text(row["message"])
        return JSONResponse({"rows": rows, "next": result.next_cursor, "counts": result.counts})

    @read.get("/failures/{key}", response_class=HTMLResponse)
    def failure_detail(request: Request, key: str) -> HTMLResponse:
        try:
            with connect() as conn:
                found = failures.detail(conn, key)
                actions = failures.actions_for(conn, key)
        except ValueError as exc:
            raise HTTPException(404, str(exc)) from exc
        if found is None:
            raise HTTPException(404, f"no failure {key}")
        payload = render.pretty_payload(found.payload, found.content_type) if found.payload else None
        return page(request, "failure.html", d=found, f=found.failure, payload=payload, actions=actions)

    @write.post("/failures/redrive")
    def redrive(
        request: Request,
        csrf: Annotated[str, Form()],
        keys: Annotated[list[str] | None, Form()] = None,
        scope: Annotated[str, Form()] = "selected",
        source: Annotated[str | None, Form()] = None,
        kind: Annotated[str | None, Form()] = None,
        error_class: Annotated[str | None, Form()] = None,
        back: Annotated[str, Form()] = "",
    ) -> Response:
        _check_csrf(request, csrf)
        user = _user_name(request)
        conf: dict[str, Any]
        if scope == "class":
            if not error_class:
                raise HTTPException(400, "a whole-class re-drive needs an error class")
            filters = failures.Filters(source=source or None, kind=kind or None, error_class=error_class)
            with connect() as conn:
                action = failures.record_action(conn, user, "redrive", filters=filters, state="requested")
            conf = {"source": filters.source, "error_class": error_class, "action_id": action}
        else:
            chosen = [k for k in keys or [] if not k.startswith("c")]  # conflicts are resolved, not re-run
            if not chosen:
                return _back(
                    request,
                    back,
                    err="Chưa chọn hồ sơ nào để chạy lại (xung đột mã chỉ có thể đánh dấu đã xử lý)",
                )
            try:
                failures.KeySet.parse(chosen)
            except ValueError as exc:
                raise HTTPException(400, str(exc)) from exc
            with connect() as conn:
                action = failures.record_action(conn, user, "redrive", keys=chosen, state="requested")
            conf = {"keys": chosen, "action_id": action}
        try:
            run = airflow_api.trigger_redrive(request, conf)
        except airflow_api.TriggerError as exc:
            with connect() as conn:
                failures.update_action(conn, action, state="failed", result={"error": str(exc)})
            return _back(request, back, err=f"Không gửi được yêu cầu chạy lại tới Airflow: {exc}")
        with connect() as conn:
            failures.update_action(conn, action, state="triggered", dag_run_id=run.get("dag_run_id"))
        note = (
            " (DAG onestop_redrive đang tạm dừng: bật nó để chạy)" if airflow_api.dag_paused(request) else ""
        )
        return _back(request, back, msg=f"Đã yêu cầu chạy lại: lượt {run.get('dag_run_id')}{note}")

    @write.post("/failures/resolve")
    def resolve(
        request: Request,
        csrf: Annotated[str, Form()],
        comment: Annotated[str, Form()],
        keys: Annotated[list[str] | None, Form()] = None,
        back: Annotated[str, Form()] = "",
    ) -> Response:
        _check_csrf(request, csrf)
        if not comment.strip():
            return _back(request, back, err="Cần ghi chú lý do khi đánh dấu đã xử lý")
        chosen = list(keys or [])
        try:
            with connect() as conn:
                n = failures.resolve(conn, chosen, _user_name(request), comment.strip())
                failures.record_action(
                    conn, _user_name(request), "resolve", keys=chosen, comment=comment.strip()
                )
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return _back(request, back, msg=f"Đã đánh dấu {n} mục là đã xử lý")

    @write.post("/failures/skip")
    def skip(
        request: Request,
        csrf: Annotated[str, Form()],
        keys: Annotated[list[str] | None, Form()] = None,
        comment: Annotated[str, Form()] = "",
        back: Annotated[str, Form()] = "",
    ) -> Response:
        """Skip refused pages: the next run of their source reads past them (connectors.store.refusals), and
        one is started now."""
        _check_csrf(request, csrf)
        chosen = [k for k in keys or [] if k.startswith("r")]
        try:
            with connect() as conn:
                found = [failures.get(conn, k) for k in chosen]
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        sources = sorted({f.source for f in found if f is not None and f.open and f.source})
        if not sources:
            return _back(request, back, err="Chưa chọn trang bị từ chối nào còn mở để bỏ qua")
        user, started = _user_name(request), []
        for source in sources:
            with connect() as conn:
                action = refusals.request_skip(conn, source, user, comment.strip() or None, chosen)
            try:
                run = airflow_api.trigger_redrive(request, {}, dag_id=f"onestop_sync_{source}")
            except airflow_api.TriggerError as exc:
                with connect() as conn:
                    failures.update_action(conn, action, result={"trigger_error": str(exc)})
                started.append(f"{source}: lần chạy tới sẽ bỏ qua (chưa khởi động được: {exc})")
                continue
            started.append(f"{source}: lượt {run.get('dag_run_id')}")
        return _back(request, back, msg="Đã yêu cầu bỏ qua trang bị từ chối — " + "; ".join(started))

    @read.get("/trace", response_class=HTMLResponse)
    def trace_page(request: Request, q: str = "") -> HTMLResponse:
        from onestop import trace

        found = []
        if q.strip():
            with connect() as conn:
                found = trace.find(conn, q)
        return page(
            request,
            "trace.html",
            q=q,
            query_shown=mask_text(q),
            found=found,
            labels=trace.STEP_LABELS,
        )

    @read.get("/health", response_class=HTMLResponse)
    def health_page(request: Request) -> HTMLResponse:
        from onestop import health, registry

        config = registry.load()
        today = datetime.now(render.TZ).date()
        with connect() as conn:
            sources = health.source_health(conn, config)
            charts = {
                s.source: render.bar_chart(
                    [
                        (render.day(p.day), p.loaded, p.failed)
                        for p in health.daily_counts(conn, s.source, 14, today)
                    ],
                    width=280,
                    height=70,
                )
                for s in sources
            }
            overall = render.bar_chart(
                [(render.day(p.day), p.loaded, p.failed) for p in health.daily_counts(conn, None, 14, today)]
            )
            districts = health.due_by_district(conn, config)
        return page(
            request,
            "health.html",
            sources=sources,
            charts=charts,
            overall=overall,
            districts=districts,
            today=today,
        )

    app.include_router(read)
    app.include_router(write)
    return app


def _back(request: Request, back: str, **message: str) -> RedirectResponse:
    """Back to the page the form was on (only a page of this console), with a one-line message."""
    base = request.url_for("failure_list").path
    root = str(request.scope.get("root_path", ""))
    target = back if back.startswith(f"{root}/") and "//" not in back and "\\" not in back else base
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}{urlencode(message)}", status_code=303)
