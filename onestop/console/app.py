"""The administrators' console: a FastAPI app that Airflow's API server mounts at /onestop (plugins/).

Every route needs an Airflow login (Airflow does not protect plugin apps by itself): reading needs the right to
read DAG runs; re-driving and resolving need the right to trigger `onestop_redrive` (role User and above with
the simple auth manager; "can create on DAG Runs" for that DAG with FAB). An anonymous visitor of a page is sent
to Airflow's login and back. Pages are server-rendered Jinja2 with autoescaping and every shown value passes the
personal-data mask; assets are shipped in the package; the web defences (form tokens, Origin checks, headers)
are in `guard`, the checks of every input in `inputs`, and every refusal is a page (`errors`).

A search by citizen ID is a POST (the ID never enters a URL, a browser history or an access log), recorded in
`admin_action` with the ID masked, and limited per user (TRACE_LIMIT).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import psycopg
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from starlette.exceptions import HTTPException

from connectors.store import failures, refusals
from onestop.console import airflow_api, chart, guard, i18n, inputs, render, words
from onestop.console.errors import ConsoleError, field_label, status_text
from onestop.console.i18n import N_, ngettext
from onestop.console.i18n import gettext as _
from onestop.db import connect
from schemas.personal_data import mask_data, mask_text

HERE = Path(__file__).parent
PAGE_SIZE = 50
TRACE_LIMIT = (30, timedelta(minutes=10))  # searches by citizen ID per user in a sliding window
log = logging.getLogger("onestop.console")

READ = Depends(requires_access_dag("GET", DagAccessEntity.RUN))
REDRIVE = Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=airflow_api.REDRIVE_DAG))

# The one-line banners a form's answer shows, by code (the URL carries the code and numbers, never text).
ID_BY_POST = "id_by_post"
# msgids with %(name)s parameters, translated when shown.
NOTICES = {
    "redrive": N_("Re-drive requested: run %(run)s%(paused)s"),
    "skip": N_("Skipping the refused page requested — %(runs)s"),
}
PROBLEMS = {
    "none_chosen": N_("No dossier chosen to re-drive (a code conflict can only be marked as resolved)"),
    "comment_needed": N_("A note giving the reason is needed to mark as resolved"),
    "no_refused": N_("No open refused page chosen to skip"),
    "class_needed": N_("Re-driving a whole class needs an error class"),
    "trigger_failed": N_("The re-drive request could not be sent to Airflow: %(error)s"),
    "id_by_post": N_(
        "A search by citizen ID only uses the search box (an ID number must not be in the page's address)"
    ),
}


def _remember_user(request: Request, user: GetUserDep) -> None:
    """Who is acting, for the action log (the same user Airflow's check resolved: FastAPI caches it)."""
    request.state.onestop_user = user


def _may_act(request: Request) -> bool:
    """Whether the current user may re-drive and resolve: the check REDRIVE makes (Airflow's auth manager,
    POST on the runs of onestop_redrive); a viewer sees no button, box or form of those actions."""
    user = getattr(request.state, "onestop_user", None)
    if user is None:
        return False
    try:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
        from airflow.models.dag import DagModel

        return bool(
            get_auth_manager().is_authorized_dag(
                method="POST",
                access_entity=DagAccessEntity.RUN,
                details=DagDetails(
                    id=airflow_api.REDRIVE_DAG, team_name=DagModel.get_team_name(airflow_api.REDRIVE_DAG)
                ),
                user=user,
            )
        )
    except Exception:  # the auth manager could not answer: show nothing a refusal would follow
        log.warning("could not tell whether %s may act", _user_name(request), exc_info=True)
        return False


def _user_name(request: Request) -> str:
    user = getattr(request.state, "onestop_user", None)
    return user.get_name() if user else "?"


def failure_filters(
    source: str | None = None,
    kind: str | None = None,
    error_class: str | None = None,
    since: str | None = None,
    until: str | None = None,
    state: str | None = None,
) -> failures.Filters:
    """The list's filters, from the query string (the page and the JSON API take the same)."""
    return failures.Filters(
        source=inputs.text(source, "source", limit=100) or None,
        kind=inputs.choice(kind, "kind", failures.KINDS) or None,
        error_class=inputs.text(error_class, "error_class", limit=100) or None,
        since=inputs.day(since, "since"),
        until=inputs.day(until, "until", end=True),
        state=inputs.choice(state, "state", ("open", "resolved", "all"), default="open"),
    )


FiltersDep = Annotated[failures.Filters, Depends(failure_filters)]


def _load_page(filters: failures.Filters, after: str | None, size: int) -> failures.Page:
    from onestop import registry

    titles = {s.name: s.title for s in registry.load().sources}  # the list names sources as the filter does
    with connect() as conn:
        return failures.page(conn, filters, after=inputs.cursor(after), size=size, titles=titles)


def _shown(value: Any) -> Any:
    """Jinja's finalize: every value a page prints passes the personal-data mask (markup we made does not)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**8:
        return mask_text(str(value))
    return value


@pass_context
def _url_for(context: dict, name: str, /, **params: Any) -> str:
    return guard.path_for(context["request"], name, **params)


def _banners(request: Request) -> tuple[str | None, str | None]:
    """The notice and the problem a page shows, from the codes in its URL and the action log."""
    q = request.query_params
    values: dict[str, Any] = {}
    try:
        ids = [int(a) for a in q.get("action", "").split(",") if a.isascii() and a.isdigit() and len(a) < 19]
        values["n"] = int(q["n"]) if q.get("n", "").isascii() and q.get("n", "").isdigit() else 0
    except ValueError:
        ids = []
    if ids:
        with connect() as conn:
            rows = conn.execute(
                "SELECT source, dag_run_id, result FROM onestop.admin_action WHERE id = ANY(%s) ORDER BY id",
                (ids[:20],),
            ).fetchall()
        results = [r[2] or {} for r in rows]
        values["run"] = render.run_shown(rows[0][1]) if rows else "?"
        values["paused"] = (
            _(" (the DAG onestop_redrive is paused: turn it on to run)")
            if any(r.get("paused") for r in results)
            else ""
        )
        values["error"] = next((r.get("error") or r.get("trigger_error") for r in results if r), "") or ""
        values["runs"] = "; ".join(
            _("%(source)s: run %(run)s", source=source, run=render.run_shown(run))
            if run
            else _("%(source)s: the next run will skip it", source=source)
            for source, run, _result in rows
        )
    code, err = q.get("msg", ""), q.get("err", "")
    if code == "resolved":
        n = values.get("n", 0)
        notice = ngettext("Marked %(num)s item as resolved", "Marked %(num)s items as resolved", n)
    else:
        notice = NOTICES.get(code) and _(NOTICES[code], **_Missing(values).filled(NOTICES[code]))
    problem = PROBLEMS.get(err) and _(PROBLEMS[err], **_Missing(values).filled(PROBLEMS[err]))
    return notice, problem


class _Missing(dict):
    def filled(self, msgid: str) -> dict[str, Any]:
        """The parameters a msgid names, '?' for those not known."""
        return {k: self.get(k, "?") for k in re.findall(r"%\((\w+)\)s", msgid)}


def create_app() -> FastAPI:
    app = FastAPI(title="onestop-esb console", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=HERE / "templates")  # autoescape on for .html
    templates.env.finalize = _shown
    templates.env.filters["mask"] = lambda value: mask_text(str(value)) if value is not None else ""
    i18n.install(templates.env)
    templates.env.globals.update(
        url_for=_url_for,
        lang=i18n.babel_locale(),
        when=render.when,
        run_shown=render.run_shown,
        ago=render.ago,
        day=render.day,
        number=i18n.number,
        percent=i18n.percent,
        label=render.label,
        status_label=render.status_label,
        error_class_label=render.error_class_label,
        KIND_LABELS=render.KIND_LABELS,
        STATE_LABELS=render.STATE_LABELS,
        BREAKER_LABELS=render.BREAKER_LABELS,
        LEVEL_LABELS=render.LEVEL_LABELS,
        STEP_LABELS=words.STEP_LABELS,
        reason=words.reason,
        failure_message=words.failure_message,
        trace_detail=words.trace_detail,
        problems=words.problems,
        event_label=words.event_label,
        history_detail=words.history_detail,
        fact_label=words.fact_label,
        ref=words.ref,
        field_name=words.field_name,
        fact_value=words.fact_value,
        action_label=words.action_label,
        action_state=words.action_state,
        action_result=words.action_result,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(guard.SecurityHeaders)
    read = APIRouter(dependencies=[READ, Depends(_remember_user)])
    write = APIRouter(dependencies=[REDRIVE, Depends(_remember_user)])

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        message, error = _banners(request) if status_code == 200 else (None, None)
        context.setdefault("message", message)
        context.setdefault("error", error)
        return templates.TemplateResponse(
            request,
            name,
            {
                "csrf": Markup(guard.csrf_token(request)),
                "user": _user_name(request),
                "can_act": _may_act(request),
                "airflow_root": guard.airflow_root(request),
                **context,
            },
            status_code=status_code,
        )

    def refusal(request: Request, status: int, text: str, code: str) -> Response:
        """A refusal as the caller reads it: JSON under /api, a redirect to the login for a page asked for
        without one, else a page in the console's layout."""
        api = request.url.path.startswith(f"{guard.console_root(request)}/api/")
        if status == 401 and request.method in ("GET", "HEAD") and not api:
            return RedirectResponse(guard.login_redirect(request), status_code=302)
        if api or request.method not in ("GET", "HEAD", "POST"):
            return JSONResponse({"detail": text, "code": code}, status_code=status)
        return page(request, "error.html", status_code=status, status=status, detail=text)

    @app.exception_handler(HTTPException)
    async def http_refusal(request: Request, exc: HTTPException) -> Response:
        if isinstance(exc, ConsoleError):
            return refusal(request, exc.status_code, str(exc.detail), exc.code)
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        return refusal(request, status, status_text(status), f"http_{status}")

    @app.exception_handler(RequestValidationError)
    async def validation_refusal(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()})
        return refusal(
            request,
            400,
            _(
                "%(status)s Invalid fields: %(fields)s.",
                status=status_text(400),
                fields=", ".join(field_label(f) for f in fields),
            ),
            "bad_input",
        )

    @app.exception_handler(psycopg.DataError)
    async def data_refusal(request: Request, exc: psycopg.DataError) -> Response:
        """What the database refuses as data (a value out of its type's range) is the caller's input."""
        log.warning("refused as data by the database: %s", type(exc).__name__)
        return refusal(request, 400, status_text(400), "bad_input")

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
        query = {
            k: v for k, v in request.query_params.items() if k in FILTER_PARAMS and v and v.isprintable()
        }
        return page(
            request,
            "failures.html",
            page=result,
            filters=filters,
            query=query,
            since=query.get("since", ""),
            until=query.get("until", ""),
            next_url=f"?{urlencode({**query, 'after': result.next_cursor})}" if result.next_cursor else None,
            first_url=f"?{urlencode(query)}",
            back=f"{request.url.path}?{urlencode(query)}",
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
        return JSONResponse(
            mask_data(
                {
                    "rows": rows,
                    "next": result.next_cursor,
                    "counts": result.counts,
                    "total": result.total,
                    "total_is_estimate": result.total_is_estimate,
                }
            )
        )

    @read.get("/api/actions/{action_id}")
    def action_json(request: Request, action_id: str) -> JSONResponse:
        """What became of an administrator's action: the detail page polls it after a re-drive."""
        number = inputs.number(action_id, "id")
        with connect() as conn:
            found = failures.action(conn, number)
        if found is None:
            raise ConsoleError(404, "no_such_action", _("No action has this number."))
        run = found["dag_run_id"]
        state = airflow_api.dag_run_state(request, run) if run and found["action"] == "redrive" else None
        finished = found["finished_at"]
        return JSONResponse({
            "id": found["id"],
            "state": found["state"],
            "dag_run_id": run,
            "dag_run_state": state,
            "result": mask_data(found["result"]),  # outcomes may quote a source's message
            "finished_at": finished and finished.isoformat(),
        })  # fmt: skip

    @read.get("/failures/{key}", response_class=HTMLResponse)
    def failure_detail(request: Request, key: str) -> HTMLResponse:
        key = inputs.keys([key], "key")[0]
        with connect() as conn:
            found = failures.detail(conn, key)
            actions = failures.actions_for(conn, key)
        if found is None:
            raise ConsoleError(404, "no_such_failure", _("No failure has this key."))
        payload = render.pretty_payload(found.payload, found.content_type) if found.payload else None
        asked = request.query_params.get("action", "")
        followed = (
            asked
            if request.query_params.get("msg") == "redrive" and asked.isascii() and asked.isdigit()
            else None
        )
        return page(
            request,
            "failure.html",
            d=found,
            f=found.failure,
            payload=payload,
            actions=actions,
            redrive_action=followed and int(followed[:18]),
            class_labels_json=json.dumps(
                {name: render.error_class_label(name) for name in render.ERROR_CLASS_LABELS},
                ensure_ascii=False,
            ),
        )

    @write.post("/failures/redrive")
    def redrive(
        request: Request,
        csrf: Annotated[str, Form()] = "",
        keys: Annotated[list[str] | None, Form()] = None,
        scope: Annotated[str, Form()] = "selected",
        source: Annotated[str, Form()] = "",
        kind: Annotated[str, Form()] = "",
        error_class: Annotated[str, Form()] = "",
        back: Annotated[str, Form()] = "",
    ) -> Response:
        guard.check_form(request, csrf)
        user = _user_name(request)
        scope = inputs.choice(scope, "scope", ("selected", "class"), default="selected")
        back = inputs.text(back, "back", limit=2000)
        conf: dict[str, Any]
        if scope == "class":
            filters = failures.Filters(
                source=inputs.text(source, "source", limit=100) or None,
                kind=inputs.choice(kind, "kind", failures.KINDS) or None,
                error_class=inputs.text(error_class, "error_class", limit=100) or None,
            )
            if not filters.error_class:
                return _back(request, back, err="class_needed")
            with connect() as conn:
                action = failures.record_action(conn, user, "redrive", filters=filters, state="requested")
            conf = {"source": filters.source, "error_class": filters.error_class, "action_id": action}
        else:
            chosen = [
                k for k in inputs.keys(keys) if not k.startswith("c")
            ]  # conflicts are resolved, not re-run
            if not chosen:
                return _back(request, back, err="none_chosen")
            with connect() as conn:
                action = failures.record_action(conn, user, "redrive", keys=chosen, state="requested")
            conf = {"keys": chosen, "action_id": action}
        log.info("re-drive asked by %s: action %s", user, action)
        try:
            run = airflow_api.trigger_redrive(request, conf)
        except airflow_api.TriggerError as exc:
            with connect() as conn:
                failures.update_action(conn, action, state="failed", result={"error": mask_text(str(exc))})
            return _back(request, back, err="trigger_failed", action=action)
        paused = airflow_api.dag_paused(request)
        with connect() as conn:
            failures.update_action(
                conn,
                action,
                state="triggered",
                dag_run_id=run.get("dag_run_id"),
                result={"paused": bool(paused)},
            )
        return _back(request, back, msg="redrive", action=action)

    @write.post("/failures/resolve")
    def resolve(
        request: Request,
        csrf: Annotated[str, Form()] = "",
        comment: Annotated[str, Form()] = "",
        keys: Annotated[list[str] | None, Form()] = None,
        back: Annotated[str, Form()] = "",
    ) -> Response:
        guard.check_form(request, csrf)
        back = inputs.text(back, "back", limit=2000)
        # Free text an administrator typed: personal data in it is masked before it is stored or shown.
        comment = mask_text(inputs.text(comment, "comment", limit=2000, lines=True))
        chosen = inputs.keys(keys)
        if not comment:
            return _back(request, back, err="comment_needed")
        user = _user_name(request)
        with connect() as conn:
            n = failures.resolve(conn, chosen, user, comment)
            failures.record_action(conn, user, "resolve", keys=chosen, comment=comment)
        log.info("%s resolved %d failures", user, n)
        return _back(request, back, msg="resolved", n=n)

    @write.post("/failures/skip")
    def skip(
        request: Request,
        csrf: Annotated[str, Form()] = "",
        keys: Annotated[list[str] | None, Form()] = None,
        comment: Annotated[str, Form()] = "",
        back: Annotated[str, Form()] = "",
    ) -> Response:
        """Skip refused pages: the next run of their source reads past them (connectors.store.refusals), and
        one is started now."""
        guard.check_form(request, csrf)
        back = inputs.text(back, "back", limit=2000)
        comment = mask_text(inputs.text(comment, "comment", limit=2000, lines=True))
        chosen = [k for k in inputs.keys(keys) if k.startswith("r")]
        with connect() as conn:
            found = [failures.get(conn, k) for k in chosen]
        sources = sorted({f.source for f in found if f is not None and f.open and f.source})
        if not sources:
            return _back(request, back, err="no_refused")
        user, actions = _user_name(request), []
        for source in sources:
            with connect() as conn:
                action = refusals.request_skip(conn, source, user, comment or None, chosen)
            actions.append(action)
            try:
                run = airflow_api.trigger_redrive(request, {}, dag_id=f"onestop_sync_{source}")
            except airflow_api.TriggerError as exc:
                with connect() as conn:
                    failures.update_action(conn, action, result={"trigger_error": mask_text(str(exc))})
                continue
            with connect() as conn:
                failures.update_action(conn, action, dag_run_id=run.get("dag_run_id"))
        log.info("%s skipped refused pages of %s", user, ", ".join(sources))
        return _back(request, back, msg="skip", action=",".join(map(str, actions)))

    def trace_answer(request: Request, q: str, *, by_post: bool) -> HTMLResponse:
        from onestop import trace

        found, error = [], None
        cid = trace.citizen_id(q) if q else None
        if cid and not by_post:
            q, error = "", _(PROBLEMS[ID_BY_POST])  # typed into a URL: not searched, not shown back
        elif cid:
            _searched_by_citizen_id(request, cid)
        if q:
            with connect() as conn:
                found = trace.find(conn, q)
        return page(
            request,
            "trace.html",
            q=q,
            query_shown=mask_text(q),
            field_value="" if cid else q,
            found=found,
            **({"error": error} if error else {}),
        )

    @read.get("/trace", response_class=HTMLResponse)
    def trace_page(request: Request, q: str = "") -> HTMLResponse:
        """By MaHoSo or record id (the failure pages link here); a citizen ID only by the form's POST."""
        return trace_answer(request, inputs.text(q, "q", limit=200), by_post=False)

    @read.post("/trace", response_class=HTMLResponse)
    def trace_search(
        request: Request, csrf: Annotated[str, Form()] = "", q: Annotated[str, Form()] = ""
    ) -> HTMLResponse:
        guard.check_form(request, csrf)
        return trace_answer(request, inputs.text(q, "q", limit=200), by_post=True)

    @read.get("/health", response_class=HTMLResponse)
    def health_page(request: Request) -> HTMLResponse:
        from onestop import health, registry

        config = registry.load()
        today = datetime.now(render.TZ).date()
        with connect() as conn:
            sources = health.source_health(conn, config)
            charts = {
                s.source: chart.bar_chart(
                    [
                        (render.day(p.day), p.loaded, p.failed)
                        for p in health.daily_counts(conn, s.source, 14, today)
                    ],
                    width=280,
                    height=70,
                )
                for s in sources
            }
            overall = chart.bar_chart(
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


FILTER_PARAMS = ("source", "kind", "error_class", "since", "until", "state")


def _searched_by_citizen_id(request: Request, citizen_id: str) -> None:
    """Recorded (who, when, the ID masked) and limited per user: the console is not a directory of citizens."""
    user, (limit, window) = _user_name(request), TRACE_LIMIT
    shown = mask_text(citizen_id)
    with connect() as conn:
        recent = conn.execute(
            "SELECT count(*) FROM onestop.admin_action WHERE actor = %s AND action = 'trace' AND at > now() - %s",
            (user, window),
        ).fetchone()[0]
        if recent >= limit:
            log.warning("%s reached the limit of searches by citizen ID", user)
            raise ConsoleError(
                429,
                "trace_limit",
                _(
                    "Searched %(limit)s times by citizen ID in %(minutes)s minutes: wait, then try again.",
                    limit=limit,
                    minutes=int(window.total_seconds() // 60),
                ),
            )
        failures.record_action(conn, user, "trace", comment=f"CCCD/CMND {shown}")
    log.info("%s searched by citizen ID %s", user, shown)


def _back(request: Request, back: str, **codes: Any) -> RedirectResponse:
    """Back to the page the form was on (only a page of this console), with a banner's code."""
    target = guard.back_path(request, back)
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}{urlencode(codes)}", status_code=303)
