"""The failure pages: the list (and its JSON API), one failure's detail, and the actions on them (re-drive,
resolve, skip a refused page), each recorded in `admin_action`."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from connectors.store import failures, refusals
from onestop.console import airflow_api, guard, inputs, render
from onestop.console.access import user_name
from onestop.console.banners import redirect_back
from onestop.console.errors import ConsoleError
from onestop.console.i18n import gettext as _
from onestop.console.pages import Page, source_titles
from onestop.db import connect
from schemas.personal_data import mask_data, mask_text

PAGE_SIZE = 50
FILTER_PARAMS = ("source", "kind", "error_class", "since", "until", "state")
log = logging.getLogger("onestop.console")


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
    titles = source_titles()
    with connect() as conn:
        return failures.page(conn, filters, after=inputs.cursor(after), size=size, titles=titles)


def register(read: APIRouter, write: APIRouter, page: Page) -> None:
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
            source_title=source_titles().get(found.failure.source or ""),
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
        user = user_name(request)
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
                return redirect_back(request, back, err="class_needed")
            with connect() as conn:
                action = failures.record_action(conn, user, "redrive", filters=filters, state="requested")
            conf = {"source": filters.source, "error_class": filters.error_class, "action_id": action}
        else:
            chosen = [
                k for k in inputs.keys(keys) if not k.startswith("c")
            ]  # conflicts are resolved, not re-run
            if not chosen:
                return redirect_back(request, back, err="none_chosen")
            with connect() as conn:
                action = failures.record_action(conn, user, "redrive", keys=chosen, state="requested")
            conf = {"keys": chosen, "action_id": action}
        log.info("re-drive asked by %s: action %s", user, action)
        try:
            run = airflow_api.trigger_redrive(request, conf)
        except airflow_api.TriggerError as exc:
            with connect() as conn:
                failures.update_action(conn, action, state="failed", result={"error": mask_text(str(exc))})
            return redirect_back(request, back, err="trigger_failed", action=action)
        paused = airflow_api.dag_paused(request)
        with connect() as conn:
            failures.update_action(
                conn,
                action,
                state="triggered",
                dag_run_id=run.get("dag_run_id"),
                result={"paused": bool(paused)},
            )
        return redirect_back(request, back, msg="redrive", action=action)

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
            return redirect_back(request, back, err="comment_needed")
        user = user_name(request)
        with connect() as conn:
            n = failures.resolve(conn, chosen, user, comment)
            failures.record_action(conn, user, "resolve", keys=chosen, comment=comment)
        log.info("%s resolved %d failures", user, n)
        return redirect_back(request, back, msg="resolved", n=n)

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
            return redirect_back(request, back, err="no_refused")
        user, actions = user_name(request), []
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
        return redirect_back(request, back, msg="skip", action=",".join(map(str, actions)))
