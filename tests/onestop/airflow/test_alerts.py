"""Alerts: the rules per source, `onestop status --check` for Nagios/Zabbix, and notifications on raise and on
clear through a real SMTP server and a real webhook receiver on this machine."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from connectors.store import runs
from connectors.store.breaker import BreakerSettings, DatabaseBreaker
from onestop import registry
from onestop.airflow import alerts
from onestop.cli import app
from onestop.registry import AlertsConfig

STALE, NOISY, TRIPPED = "hd_gia_loc", "hd_kim_thanh", "hd_chi_linh"


def sync_run(db, source: str, *, fetched: int = 100, ended_ago: timedelta | None = None) -> int:
    """A successful run recorded by the store's own functions; `ended_ago` moves its end into the past."""
    now = datetime.now(UTC)
    run = runs.create_run(db, source, (now - timedelta(minutes=30), now), None)
    runs.record_counts(db, run, runs.RunCounts(fetched=fetched, loaded=fetched))
    if ended_ago is not None:
        db.execute("UPDATE onestop.sync_run SET finished_at = now() - %s WHERE run_id = %s", (ended_ago, run))
    return run


@pytest.fixture
def fresh(db) -> registry.Registry:
    """Every registered source synced successfully a few minutes ago."""
    reg = registry.load()
    for name in reg.names():
        sync_run(db, name, ended_ago=timedelta(minutes=5))
    return reg


def status_check() -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["status", "--check"])
    return result.exit_code, result.output.splitlines()


def test_fresh_sources_are_ok_and_status_check_exits_0(db, fresh) -> None:
    assert alerts.check(db, fresh) == []
    assert status_check() == (0, [f"OK: {len(fresh.sources)} sources fresh, error rates under threshold"])


def test_a_source_past_its_freshness_deadline_is_critical_and_status_check_exits_2(db, fresh) -> None:
    db.execute("DELETE FROM onestop.sync_run WHERE source = %s", (STALE,))
    sync_run(db, STALE, ended_ago=timedelta(hours=3, minutes=5))

    assert alerts.check(db, fresh) == [
        alerts.Problem("critical", STALE, "last successful sync 3h 05m ago, deadline 2h", "freshness")
    ]
    assert status_check() == (2, [f"CRITICAL {STALE}: last successful sync 3h 05m ago, deadline 2h"])


def test_an_error_rate_over_the_threshold_or_an_open_breaker_is_a_warning_and_exits_1(
    db, pg_url, fresh
) -> None:
    for _ in range(39):  # a day of runs every 15 minutes, most of them done
        sync_run(db, NOISY, ended_ago=timedelta(minutes=20))
    run = runs.create_run(db, NOISY, (datetime.now(UTC), datetime.now(UTC)), None)
    runs.set_state(db, run, "failed", error="TransientError: HTTP 503")  # 1 run failed of 41: 2.4%
    assert status_check()[0] == 0
    for _ in range(4):  # 5 runs failed of 45: 11.1% > 5%
        run = runs.create_run(db, NOISY, (datetime.now(UTC), datetime.now(UTC)), None)
        runs.set_state(db, run, "failed", error="TransientError: HTTP 503")
    breaker = DatabaseBreaker(pg_url, TRIPPED, BreakerSettings(threshold=1))
    breaker.failure(ConnectionError("refused"))
    breaker.close()

    assert status_check() == (
        1,
        [
            f"WARNING {TRIPPED}: circuit breaker open: calls fail fast after repeated failures",
            f"WARNING {NOISY}: error rate 11.1% in the last 24h (5 of 45 runs failed), threshold 5.0%",
        ],
    )


def test_status_check_says_unknown_when_it_cannot_tell(monkeypatch) -> None:
    monkeypatch.setenv("ONESTOP_DB_URL", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")
    code, lines = status_check()
    assert code == 3 and lines[0].startswith("UNKNOWN: OperationalError")


# --- notifications: a real SMTP server and a real HTTP receiver on 127.0.0.1 ---------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(monkeypatch) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": controller.port,
                "extra": {"from_email": "esb@onestop.test", "disable_tls": True, "disable_ssl": True},
            }
        ),
    )
    yield handler
    controller.stop()


class Chat:
    """A chat app's incoming webhook: records each JSON body; answers `status` (500 to fail it)."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200


@pytest.fixture
def chat(monkeypatch) -> Iterator[Chat]:
    chat = Chat()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if chat.status == 200:
                chat.posts.append({"path": self.path, **json.loads(body)})
            self.send_response(chat.status)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T0K3N"
    monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_ALERT_WEBHOOK", json.dumps({"conn_type": "http", "host": url}))
    yield chat
    server.shutdown()
    server.server_close()


def with_notifiers(reg: registry.Registry) -> registry.Registry:
    return reg.model_copy(
        update={
            "alerts": AlertsConfig(email_to=["ops@onestop.test"], webhook_conn_id="onestop_alert_webhook")
        }
    )


def test_an_alert_is_notified_once_when_raised_and_once_when_cleared(db, fresh, inbox, chat) -> None:
    reg = with_notifiers(fresh)
    db.execute("DELETE FROM onestop.sync_run WHERE source = %s", (STALE,))
    sync_run(db, STALE, ended_ago=timedelta(hours=3, minutes=5))

    raised = alerts.run(db, reg)

    assert [(c.action, c.source, c.rule, c.level) for c in raised] == [
        ("raised", STALE, "freshness", "critical")
    ]
    assert len(inbox.messages) == 1 and len(chat.posts) == 1
    mail = inbox.messages[0]
    assert mail.rcpt_tos == ["ops@onestop.test"] and mail.mail_from == "esb@onestop.test"
    body = mail.content.decode()
    assert f"Subject: [onestop] RAISED CRITICAL {STALE}: last successful sync 3h 05m ago" in body
    assert chat.posts[0]["path"] == "/hooks/T0K3N"
    assert chat.posts[0]["text"].startswith(
        f"RAISED CRITICAL {STALE}: last successful sync 3h 05m ago, deadline 2h (Huyện Gia Lộc) at "
    )

    assert alerts.run(db, reg) == []  # still stale: nobody is told again
    assert (len(inbox.messages), len(chat.posts)) == (1, 1)

    sync_run(db, STALE)  # the source is back
    cleared = alerts.run(db, reg)

    assert [(c.action, c.source, c.rule) for c in cleared] == [("cleared", STALE, "freshness")]
    assert (len(inbox.messages), len(chat.posts)) == (2, 2)
    assert chat.posts[1]["text"].startswith(f"CLEARED CRITICAL {STALE}: ")
    rows = db.execute(
        "SELECT source, rule, level, cleared_at IS NOT NULL, notified_at >= cleared_at FROM onestop.alert"
    ).fetchall()
    assert rows == [(STALE, "freshness", "critical", True, True)]
    assert alerts.run(db, reg) == [] and (len(inbox.messages), len(chat.posts)) == (2, 2)


def test_a_failed_notification_is_sent_again_by_the_next_run(db, fresh, inbox, chat) -> None:
    reg = with_notifiers(fresh)
    db.execute("DELETE FROM onestop.sync_run WHERE source = %s", (STALE,))
    chat.status = 500

    with pytest.raises(
        alerts.NotificationError, match="WebhookNotifier: webhook onestop_alert_webhook: HTTP 500"
    ):
        alerts.run(db, reg)
    assert db.execute("SELECT count(*) FROM onestop.alert WHERE notified_at IS NULL").fetchone()[0] == 1

    chat.status = 200
    assert alerts.run(db, reg) == []  # nothing new, but the pending raise goes out now
    assert len(chat.posts) == 1 and "no successful sync yet" in chat.posts[0]["text"]
    assert db.execute("SELECT count(*) FROM onestop.alert WHERE notified_at IS NULL").fetchone()[0] == 0


def test_the_alerts_dag_runs_every_ten_minutes_and_its_task_raises_the_alerts(db, fresh) -> None:
    from onestop.airflow.dags import alerts_dag

    dag = alerts_dag()
    assert dag.dag_id == "onestop_alerts" and not dag.catchup and dag.max_active_runs == 1
    assert dag.timetable.summary == "*/10 * * * *"
    assert [t.task_id for t in dag.tasks] == ["check_sources"]

    # The task's own code (the shipped registry: no e-mail, no webhook configured, so nothing is pending).
    db.execute("DELETE FROM onestop.sync_run WHERE source = %s", (STALE,))
    assert dag.get_task("check_sources").python_callable() == {"raised": 1, "cleared": 0}
    assert db.execute("SELECT source, rule, notified_at IS NOT NULL FROM onestop.alert").fetchall() == [
        (STALE, "freshness", True)
    ]
