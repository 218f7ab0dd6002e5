"""Airflow notifiers of our own: a chat app's incoming webhook (Slack, Mattermost, Rocket.Chat, Google Chat and
Zalo/Teams bridges all take a JSON `{"text": ...}`). E-mail goes through the smtp provider's SmtpNotifier."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests
from airflow.sdk import BaseNotifier

from connectors.connection import get_connection


class WebhookNotifier(BaseNotifier):
    """POST `{"text": text}` to the URL of an Airflow connection: its host as a whole URL
    (`{"conn_type": "http", "host": "https://chat.example/hooks/…"}`), or scheme/host/port with the path in
    extra `endpoint`. The URL is a secret (it carries the chat's token): it is never logged."""

    template_fields: Sequence[str] = ("text", "webhook_conn_id")

    def __init__(
        self,
        text: str = "",
        webhook_conn_id: str = "onestop_alert_webhook",
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.text, self.webhook_conn_id, self.timeout = text, webhook_conn_id, timeout

    def url(self) -> str:
        conn = get_connection(self.webhook_conn_id)
        endpoint = str(conn.extra.get("endpoint") or "")
        if endpoint and not endpoint.startswith("/"):
            endpoint = "/" + endpoint
        return conn.base_url + endpoint

    def notify(self, context: Any) -> None:
        try:
            resp = requests.post(self.url(), json={"text": self.text}, timeout=self.timeout)
        except requests.RequestException as exc:  # the message would quote the URL (and its token)
            raise RuntimeError(f"webhook {self.webhook_conn_id}: {type(exc).__name__}") from None
        if resp.status_code >= 300:
            raise RuntimeError(f"webhook {self.webhook_conn_id}: HTTP {resp.status_code}")
