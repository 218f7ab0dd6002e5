"""Personal data kept out of logs and out of reach.

- `install_log_masking()` puts schemas.personal_data's mask on the stdlib handlers of the root logger (the CLI's,
  Airflow's task log handler, the API server's access log) and on structlog's processor chains (Airflow 3's own
  task log lines, exception tracebacks included).
- `citizen_id_hash()` is how a citizen ID is found again (the trace) without being stored in a searchable clear
  form: an HMAC keyed with a secret kept outside the database, so a copy of the tables does not give the IDs back
  by trying every 12-digit number.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from schemas.personal_data import mask_data, mask_text

CITIZEN_ID_KEY_CONN = "onestop_citizen_id_key"
ACCESS_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error")  # they do not propagate to the root logger
log = logging.getLogger(__name__)


def citizen_id_key() -> bytes:
    """The key of the citizen-ID lookup hash: the password of Airflow connection `onestop_citizen_id_key` (a
    secrets backend, or AIRFLOW_CONN_ONESTOP_CITIZEN_ID_KEY). Without one (the embedded defaults on one machine)
    a random key made once in var/secrets/, readable by this user only. Every process that loads or traces must
    see the same key: define the connection in production. Read once per place it can come from."""
    from_env = os.environ.get(f"AIRFLOW_CONN_{CITIZEN_ID_KEY_CONN.upper()}")
    local = Path(os.environ.get("ONESTOP_SECRETS", _var() / "secrets")) / "citizen_id_key"
    return _key(from_env, local)


@cache
def _key(from_env: str | None, local: Path) -> bytes:
    from connectors.connection import get_connection
    from connectors.errors import ConfigError

    try:
        secret = get_connection(CITIZEN_ID_KEY_CONN).password
    except ConfigError:
        secret = None
    return secret.encode() if secret else _local_key(local)


def _var() -> Path:
    from onestop import settings

    return settings.var_dir()


def _local_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # the first process to get here makes the key; the others read it
            log.warning(
                "citizen-ID hash key made at %s: define connection %r in production",
                path,
                CITIZEN_ID_KEY_CONN,
            )
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip().encode()


def citizen_id_hash(id_number: str, key: bytes | None = None) -> str:
    """The lookup hash of a citizen ID (HMAC-SHA256 under `citizen_id_key()`)."""
    return hmac.new(key or citizen_id_key(), f"cccd:{id_number}".encode(), hashlib.sha256).hexdigest()


def rehash_citizen_ids(conn: Any, batch: int = 5000) -> int:
    """Every dossier's lookup hash again, from its canonical record, under today's key (after the key was set or
    changed: `onestop db rehash-citizen-ids`). Returns how many dossiers carry a citizen ID."""
    done, last = 0, ""
    key = citizen_id_key()
    while rows := conn.execute(
        "SELECT uid, record->'applicant'->>'id_number' FROM onestop.dossier"
        " WHERE uid > %s AND record->'applicant'->>'id_number' IS NOT NULL ORDER BY uid LIMIT %s",
        (last, batch),
    ).fetchall():
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE onestop.dossier SET applicant_id_hash = %s WHERE uid = %s",
                [(citizen_id_hash(id_number, key), uid) for uid, id_number in rows],
            )
        conn.commit()
        done, last = done + len(rows), rows[-1][0]
    return done


def _mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message (and a traceback, a stack) masked."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it, we do not make it worse
        return record
    masked = mask_text(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        # logging.Formatter uses exc_text when it is set: an exception quoting a response is masked too.
        record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = mask_text(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)
    return record


class MaskingFilter(logging.Filter):
    """Attach to a handler: rewrites the rendered message (and a traceback) so no personal data reaches the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


class _MaskingFactory:
    """The log record factory that masks each record as it is made, and puts the mask on handlers that came
    since: it outlives the handlers (Airflow, imported to read a connection, replaces the root logger's handlers
    with its own, and every line after that went out unmasked, a traceback too)."""

    def __init__(self, made: Callable[..., logging.LogRecord]) -> None:
        self.made, self.installing = made, False

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        if not self.installing and not all(
            any(isinstance(f, MaskingFilter) for f in h.filters) for h in logging.root.handlers
        ):  # new handlers: the filter, and mask_event in a structlog formatter's chain
            self.installing = True
            try:
                install_log_masking()
            finally:
                self.installing = False
        return _mask_record(self.made(*args, **kwargs))


def mask_event(logger: Any, method_name: str, event_dict: dict) -> dict:
    """A structlog processor (just before the renderer): every string, key and personal number of the event
    masked, the exception rendered first (as a string, or already as dicts by Airflow's JSON chain) and masked
    with it."""
    if event_dict.get("exc_info"):
        import structlog

        event_dict = structlog.processors.format_exc_info(logger, method_name, event_dict)
    return mask_data(event_dict)


def _before_renderer(processors: Any) -> Any:
    """The chain with mask_event just before its last step (the renderer); a list is changed in place."""
    if not isinstance(processors, list | tuple) or not processors or mask_event in processors:
        return processors
    if isinstance(processors, list):
        processors.insert(len(processors) - 1, mask_event)
        return processors
    return (*processors[:-1], mask_event, processors[-1])


def install_log_masking() -> None:
    """Mask every log line: a filter on every handler of the root logger (Airflow's task log handler included),
    and, where structlog is in use (Airflow 3 tasks), a processor in its chains. Idempotent; call it after
    logging is configured (the CLI after basicConfig, a task when it starts, the console when it is built: the
    API server's access log lines name each page asked for)."""
    if not isinstance(logging.getLogRecordFactory(), _MaskingFactory):
        logging.setLogRecordFactory(_MaskingFactory(logging.getLogRecordFactory()))
    handlers = [h for name in ("", *ACCESS_LOGGERS) for h in logging.getLogger(name).handlers]
    for handler in handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
        # structlog's ProcessorFormatter renders a record's exception from the exception object itself.
        if hasattr(handler.formatter, "processors"):
            handler.formatter.processors = _before_renderer(handler.formatter.processors)  # type: ignore[union-attr]
    if "structlog" in sys.modules:
        import structlog

        # The configured list is shared by loggers already cached: changed in place, they mask too.
        _before_renderer(structlog.get_config()["processors"])
