"""What the console answers when a request cannot be served: a page in its layout (an API path: JSON), never
a 5xx for anything a person or a script can send. Every text from the catalog (onestop.console.i18n)."""

from __future__ import annotations

from fastapi import HTTPException

from onestop.console.i18n import N_
from onestop.console.i18n import gettext as _

# Airflow's and the framework's refusals, said in the administrators' language (msgids).
STATUS_TEXT = {
    400: N_("The request is not valid."),
    401: N_("An Airflow login is needed."),
    403: N_("This account may not do this."),
    404: N_("The page or item asked for was not found."),
    405: N_("This action cannot be used that way."),
    413: N_("The data sent is too large."),
    429: N_("Too many requests: try again in a few minutes."),
}


# The parameters and form fields a refusal may name, as a person reads them.
FIELD_LABELS = {
    "source": N_("Source"),
    "kind": N_("Stage"),
    "error_class": N_("Error class"),
    "since": N_("From"),
    "until": N_("Until"),
    "state": N_("State"),
    "comment": N_("Note"),
    "keys": N_("Chosen items"),
    "key": N_("Item"),
    "q": N_("Dossier code or citizen ID"),
    "after": N_("Page position"),
    "back": N_("Return address"),
    "scope": N_("Scope"),
    "size": N_("Page size"),
    "csrf": N_("Form token"),
}


def status_text(status: int) -> str:
    return _(STATUS_TEXT.get(status, STATUS_TEXT[400]))


class ConsoleError(HTTPException):
    """A refusal of the console's own, with a code (tests, the JSON API) and the translated text shown."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.code = code


def field_label(field: str) -> str:
    return _(FIELD_LABELS[field]) if field in FIELD_LABELS else field


def bad_input(field: str, why: str) -> ConsoleError:
    return ConsoleError(
        400,
        "bad_input",
        _("The value of “%(field)s” is not valid: %(why)s.", field=field_label(field), why=why),
    )
