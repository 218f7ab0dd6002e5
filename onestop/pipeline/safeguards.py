"""What every step that talks to the outside opens: the endpoint's circuit breaker (shared by every worker
through the database) and the tamper-evident message log with its key and its anchors outside the database.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from connectors.connection import get_connection
from connectors.errors import ConfigError
from connectors.store.breaker import BreakerSettings, DatabaseBreaker
from connectors.store.message_log import MessageLog
from onestop import registry, settings

log = logging.getLogger(__name__)


def breaker_for(url: str, endpoint: str) -> DatabaseBreaker:
    b = registry.load().breakers
    return DatabaseBreaker(url, endpoint, BreakerSettings(b.threshold, b.cooldown, b.max_cooldown))


def log_key() -> bytes | None:
    """The message log's HMAC key: the password of Airflow connection `onestop_message_log`, when defined."""
    try:
        secret = get_connection("onestop_message_log").password
    except ConfigError:
        return None
    return secret.encode() if secret else None


def anchor_file() -> Path:
    return Path(os.environ.get("ONESTOP_LOG_ANCHORS", settings.var_dir() / "message_log" / "anchors.jsonl"))


def archive_dir() -> Path:
    """Where `onestop purge` moves message-log entries past their retention (gzipped JSON lines)."""
    return Path(os.environ.get("ONESTOP_LOG_ARCHIVE", anchor_file().parent / "archive"))


def open_message_log(url: str) -> MessageLog:
    return MessageLog(url, log_key())


def log_page(
    message_log: MessageLog, source: str, kind: str, payloads: list[str], ids: list[str | None]
) -> None:
    """A page as received, in the message log: its records' texts hashed together, their ids ('?' for none)."""
    message_log.append(source, "in", kind, "\n".join(payloads).encode(), [i or "?" for i in ids])
