"""Alerts on sources: the rules are onestop.operations.health's (freshness deadline → critical; error rate over the
threshold, or breaker open → warning), read here, not recomputed.

`check()` is what `onestop status --check` prints (Nagios/Zabbix exit codes). `run()` is what the
`onestop_alerts` DAG calls every 10 minutes: it keeps the open alerts in onestop.alert and notifies only the
changes (a raise, a clear) through Airflow notifiers — e-mail (the smtp provider's SmtpNotifier) and a chat
webhook (onestop.airflow.notifiers.WebhookNotifier) — as the registry's `alerts:` section says. A notification that
fails is retried by the next run (at least once: a crash between sending and recording may send it twice).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg

from onestop.operations import health
from onestop.registry import AlertsConfig, Registry

log = logging.getLogger(__name__)
LOCK = 0x0A1E27  # pg advisory lock: one alerts run at a time


@dataclass(frozen=True)
class Problem:
    level: str  # warning | critical
    source: str
    message: str
    rule: str = ""  # freshness | error_rate | breaker: with the source, the key of an alert

    def line(self) -> str:
        return f"{self.level.upper()} {self.source}: {self.message}"


@dataclass(frozen=True)
class Change:
    action: Literal["raised", "cleared"]
    source: str
    rule: str
    level: str
    message: str
    at: datetime

    def line(self) -> str:
        return f"{self.action.upper()} {self.level.upper()} {self.source}: {self.message}"


class NotificationError(RuntimeError):
    """A notifier failed; the changes are recorded and the next run sends them again."""

    def __init__(self, message: str, changes: list[Change]) -> None:
        super().__init__(message)
        self.changes = changes


def check(conn: psycopg.Connection, config: Registry, now: datetime | None = None) -> list[Problem]:
    """Every broken rule of every registered source, the most severe first (then in registry order)."""
    problems = [
        Problem(f.level, h.source, f.message, f.rule)
        for h in health.source_health(conn, config, now)
        for f in h.findings
    ]
    return sorted(problems, key=lambda p: -health.LEVELS[p.level])


def exit_code(problems: list[Problem]) -> int:
    """0 ok, 1 warning, 2 critical (Nagios/Zabbix)."""
    return health.LEVELS[health.level_of(problems)]


def run(conn: psycopg.Connection, config: Registry, now: datetime | None = None) -> list[Change]:
    """Raise alerts for new problems, clear those whose problem is gone, notify each change once.

    `conn` is autocommitted or idle: each step commits on its own. Raises NotificationError (after recording
    everything) when a notifier failed."""
    now = now or datetime.now(UTC)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
        changes = _apply(conn, check(conn, config, now), now)
    with conn.transaction():
        pending = conn.execute(
            "SELECT id, source, rule, level, message, raised_at, cleared_at FROM onestop.alert"
            " WHERE notified_at IS NULL OR notified_at < cleared_at ORDER BY id"
        ).fetchall()
    if not pending:
        return changes
    due = [
        Change("cleared" if cleared else "raised", source, rule, level, message, cleared or raised)
        for _, source, rule, level, message, raised, cleared in pending
    ]
    errors = notify(config.alerts, due, titles={s.name: s.title for s in config.sources})
    if errors:
        raise NotificationError("; ".join(errors), changes)
    with conn.transaction():
        conn.execute(
            "UPDATE onestop.alert SET notified_at = %s WHERE id = ANY(%s)", (now, [row[0] for row in pending])
        )
    return changes


def _apply(conn: psycopg.Connection, problems: list[Problem], now: datetime) -> list[Change]:
    rows = conn.execute(
        "SELECT id, source, rule, level, message FROM onestop.alert WHERE cleared_at IS NULL FOR UPDATE"
    ).fetchall()
    open_alerts = {(source, rule): (id_, level, message) for id_, source, rule, level, message in rows}
    changes = []
    for p in problems:
        held = open_alerts.pop((p.source, p.rule), None)
        if held is None:
            conn.execute(
                "INSERT INTO onestop.alert (source, rule, level, message, raised_at) VALUES (%s, %s, %s, %s, %s)",
                (p.source, p.rule, p.level, p.message, now),
            )
            changes.append(Change("raised", p.source, p.rule, p.level, p.message, now))
        elif held[1:] != (p.level, p.message):  # still open: the figures move, nobody is told again
            conn.execute(
                "UPDATE onestop.alert SET level = %s, message = %s WHERE id = %s",
                (p.level, p.message, held[0]),
            )
    for (source, rule), (id_, level, message) in open_alerts.items():
        conn.execute("UPDATE onestop.alert SET cleared_at = %s WHERE id = %s", (now, id_))
        changes.append(Change("cleared", source, rule, level, message, now))
    return changes


def notifiers(cfg: AlertsConfig, subject: str, text: str) -> list[Any]:
    """The Airflow notifiers the registry's `alerts:` section configures, each carrying this message."""
    out: list[Any] = []
    if cfg.email_to:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        body = "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in text.splitlines()) + "</ul>"
        out.append(
            SmtpNotifier(to=cfg.email_to, subject=subject, html_content=body, smtp_conn_id=cfg.smtp_conn_id)
        )
    if cfg.webhook_conn_id:
        from onestop.airflow.notifiers import WebhookNotifier

        out.append(WebhookNotifier(text=text, webhook_conn_id=cfg.webhook_conn_id))
    return out


def message(changes: list[Change], titles: dict[str, str] | None = None) -> tuple[str, str]:
    """(subject, text) of one notification carrying every change."""
    titles = titles or {}
    if len(changes) == 1:
        subject = f"[onestop] {changes[0].line()}"
    else:
        raised = sum(c.action == "raised" for c in changes)
        subject = f"[onestop] {raised} alert(s) raised, {len(changes) - raised} cleared"
    lines = [
        f"{c.line()}" + (f" ({titles[c.source]})" if c.source in titles else "")
        + f" at {c.at.astimezone(health.HCM):%d/%m/%Y %H:%M}"
        for c in changes
    ]  # fmt: skip
    return subject, "\n".join(lines)


def notify(cfg: AlertsConfig, changes: list[Change], titles: dict[str, str] | None = None) -> list[str]:
    """Send one message with every change through each configured notifier; the errors, one per notifier."""
    subject, text = message(changes, titles)
    errors = []
    for notifier in notifiers(cfg, subject, text):
        try:
            # notify(), not notifier(context): the text is ours, not a Jinja template to render.
            notifier.notify({})
        except Exception as exc:  # one broken channel must not silence the others
            log.error("alert notification through %s failed: %s", type(notifier).__name__, exc)
            errors.append(f"{type(notifier).__name__}: {exc}")
    return errors
