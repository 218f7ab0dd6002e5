"""The one-line banners a page shows after a form's answer: the redirect back carries a banner's code and numbers
(never text), and the page turns them into a translated notice or problem."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse

from onestop.console import guard, render
from onestop.console.i18n import N_, ngettext
from onestop.console.i18n import gettext as _
from onestop.db import connect

ID_BY_POST = "id_by_post"  # a citizen ID typed into a URL: the trace page shows this problem itself
# The banners by code: msgids with %(name)s parameters, translated when shown.
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


def banners(request: Request) -> tuple[str | None, str | None]:
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


def redirect_back(request: Request, back: str, **codes: Any) -> RedirectResponse:
    """Back to the page the form was on (only a page of this console), with a banner's code."""
    target = guard.back_path(request, back)
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}{urlencode(codes)}", status_code=303)
