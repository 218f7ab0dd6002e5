"""The administrators' console: a FastAPI app that Airflow's API server mounts at /onestop (plugins/).

This module makes the app: its templates (Jinja2, autoescaped, every shown value through the personal-data mask),
its assets (shipped in the package), its refusals (every one a page: `errors`) and its routers. Who may read and
who may act is `access`; the pages themselves are in `pages` (failures, trace, overview); the web defences (form
tokens, Origin checks, headers) are in `guard`, the checks of every input in `inputs`, the banners a form's
answer shows in `banners`. An anonymous visitor of a page is sent to Airflow's login and back.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from starlette.exceptions import HTTPException

from onestop.console import guard, i18n, render, words
from onestop.console.access import READ, REDRIVE, may_act, remember_user, user_name
from onestop.console.banners import banners
from onestop.console.errors import ConsoleError, field_label, status_text
from onestop.console.i18n import gettext as _
from onestop.console.pages import failures, overview, trace
from schemas.personal_data import mask_text

HERE = Path(__file__).parent
log = logging.getLogger("onestop.console")


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
        failure_reason=words.failure_reason,
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
    read = APIRouter(dependencies=[READ, Depends(remember_user)])
    write = APIRouter(dependencies=[REDRIVE, Depends(remember_user)])

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        message, error = banners(request) if status_code == 200 else (None, None)
        context.setdefault("message", message)
        context.setdefault("error", error)
        return templates.TemplateResponse(
            request,
            name,
            {
                "csrf": Markup(guard.csrf_token(request)),
                "user": user_name(request),
                "can_act": may_act(request),
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

    overview.register(read, page)
    failures.register(read, write, page)
    trace.register(read, page)
    app.include_router(read)
    app.include_router(write)
    return app
