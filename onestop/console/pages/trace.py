"""The trace page (Tra cứu hồ sơ): a dossier's way found by MaHoSo or record id, or by citizen ID.

A search by citizen ID is a POST (the ID never enters a URL, a browser history or an access log), recorded in
`admin_action` with the ID masked, and limited per user (TRACE_LIMIT).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from connectors.store import failures
from onestop.console import guard, inputs
from onestop.console.access import user_name
from onestop.console.banners import ID_BY_POST, PROBLEMS
from onestop.console.errors import ConsoleError
from onestop.console.i18n import gettext as _
from onestop.console.pages import Page, source_titles
from onestop.db import connect
from schemas.personal_data import mask_text

TRACE_LIMIT = (30, timedelta(minutes=10))  # searches by citizen ID per user in a sliding window
log = logging.getLogger("onestop.console")


def register(read: APIRouter, page: Page) -> None:
    def trace_answer(request: Request, q: str, *, by_post: bool) -> HTMLResponse:
        from onestop.operations import trace

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
            titles=source_titles() if found else {},
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


def _searched_by_citizen_id(request: Request, citizen_id: str) -> None:
    """Recorded (who, when, the ID masked) and limited per user: the console is not a directory of citizens."""
    user, (limit, window) = user_name(request), TRACE_LIMIT
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
