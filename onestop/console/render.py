"""What the console's pages show, as plain values: labels from the catalog (onestop.console.i18n), Hanoi times, masked payloads, an SVG chart.

Kept apart from the routes so that the CLI and tests can use the same wording.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from lxml import etree

from onestop.console.i18n import N_, ngettext
from onestop.console.i18n import gettext as _
from onestop.operations.trace_timeline import local_time
from schemas.codes import DossierStatus
from schemas.dossier import HCM
from schemas.jsontext import loads
from schemas.personal_data import mask_data, mask_text

TZ = HCM

# Label tables: English msgids (marked for extraction), translated when shown (label()).
KIND_LABELS = {
    "quarantine": N_("Quarantined (bad data)"),
    "delivery": N_("Portal delivery failed"),
    "conflict": N_("Duplicate dossier code"),
    "task": N_("Airflow task failed"),
    "refused": N_("Refused data page"),
}
STATE_LABELS = {
    "open": N_("Open"),
    "resolved": N_("Resolved"),
    "redriven": N_("Re-driven"),
    "superseded": N_("Superseded"),
    "failed": N_("Failed, will retry"),
    "dead": N_("Failed, no retries left"),
    "delivered": N_("Delivered"),
    "pending": N_("Waiting to be sent"),
    "sent": N_("Sent, waiting for an answer"),
    "queued": N_("Waiting to be sent to the portal"),
    "loaded": N_("Loaded into the database"),
    "quarantined": N_("Quarantined"),
    "conflict": N_("Duplicate dossier code"),
    "deleted": N_("Deleted at the source"),
    "delivery_failed": N_("Portal delivery failed"),
    "skipped": N_("Skipped"),
    "cleared": N_("Read by a later run"),
}
ERROR_CLASS_LABELS = {
    "MissingField": N_("Required field missing"),
    "InvalidDate": N_("Invalid date or time"),
    "UnknownCode": N_("Code not in the code table"),
    "InvalidValue": N_("Invalid value"),
    "DetailUnread": N_("The dossier's detail could not be read"),
    "DuplicateMaHoSo": N_("Dossier code already held by another source"),
    "PortalError": N_("Refused by the portal"),
    "TransientError": N_("Source or portal not answering for now"),
    "AuthError": N_("Wrong credentials"),
    "CircuitOpen": N_("Circuit open: calls to the failing system paused"),
    "RefusedAnswer": N_("Unreadable answer (not JSON/XML, a DTD, a SOAP Fault…)"),
    "NotXml": N_("Unreadable answer (not JSON/XML, a DTD, a SOAP Fault…)"),  # safexml's RefusedAnswer
    "ProtocolError": N_("The source answered with the wrong protocol"),
    "ConfigError": N_("Wrong configuration (an Airflow connection or the source registry)"),
    "StagingLost": N_("The run's staged records were lost"),
    "AirflowTaskTimeout": N_("The task ran past its time limit"),
    "TaskLost": N_("The task was stopped from outside (killed, out of memory, machine lost)"),
}
BREAKER_LABELS = {
    "closed": N_("Normal"),
    "open": N_("Open (source failing)"),
    "half_open": N_("Trying again"),
}
LEVEL_LABELS = {"ok": N_("Good"), "warning": N_("Warning"), "critical": N_("Critical")}


def label(table: dict[str, str], key: str | None) -> str:
    """The translated label of `key` in a label table; an unknown key as it is."""
    if key is None:
        return "—"
    return _(table[key]) if key in table else key


def when(value: datetime | None) -> str:
    """dd/MM/yyyy HH:mm in Asia/Ho_Chi_Minh."""
    return local_time(value) if value else "—"


def run_shown(run_id: str | None) -> str:
    """An Airflow run id as an administrator reads it: `manual__2026-12-03T11:29:36+00:00` is the run of
    03/12/2026 18:29 (Hanoi time); any other id as it is."""
    kind, _sep, stamp = (run_id or "").partition("__")
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        return run_id or "—"
    return when(at) if kind and at.tzinfo else run_id or "—"


def day(value: date) -> str:
    return value.strftime("%d/%m")


def ago(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return ngettext("%(num)s minute", "%(num)s minutes", minutes)
    if minutes < 48 * 60:
        return _("%(hours)s h %(minutes)s min", hours=minutes // 60, minutes=f"{minutes % 60:02d}")
    return ngettext("%(num)s day", "%(num)s days", minutes // 1440)


def status_label(code: int | None) -> str:
    try:
        return DossierStatus(code).label if code is not None else "—"
    except ValueError:
        return str(code)


def error_class_label(name: str | None) -> str:
    """Our classes by their label; anything else (a portal's own refusal code, an exception's class) named as
    the code it is, in words the administrator reads."""
    if not name or name in ERROR_CLASS_LABELS:
        return label(ERROR_CLASS_LABELS, name)
    return _("Error code %(code)s", code=name)


def pretty_payload(payload: str, content_type: str) -> str:
    """A raw record indented for reading, personal data masked. Never fails: unreadable text is shown masked."""
    try:
        if "xml" in content_type:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
            root = etree.fromstring(payload.encode(), parser)
            return mask_text(etree.tostring(root, pretty_print=True, encoding="unicode"))
        return json.dumps(mask_data(loads(payload)), ensure_ascii=False, indent=2)
    except (ValueError, etree.XMLSyntaxError):
        return mask_text(payload)
