"""The console asks Airflow itself to re-drive: a run of `onestop_redrive` created through Airflow's REST API with
the administrator's own token, so the API server never calls a district system or the portal, and Airflow's
permissions, audit log and retries apply to the re-drive like to any run."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from fastapi import Request

REDRIVE_DAG = "onestop_redrive"
TOKEN_COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN


class TriggerError(RuntimeError):
    pass


def user_token(request: Request) -> str | None:
    """The caller's own credential: a bearer token, else the Airflow UI's session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(TOKEN_COOKIE)


def configured_base_url() -> str:
    """Airflow's [api] base_url as configured ('' when unset)."""
    from airflow.configuration import conf

    return (conf.get("api", "base_url", fallback="") or "").strip()


def api_base() -> str:
    """Airflow's own address: [api] base_url when it is absolute (behind a proxy), else the API server's own
    listening address on this machine; never the Host header a request came with."""
    from airflow.configuration import conf

    configured = configured_base_url()
    if configured.startswith(("http://", "https://")):
        return configured.rstrip("/")
    host = conf.get("api", "host", fallback="") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    port = conf.get("api", "port", fallback="8080") or "8080"
    return f"http://{host}:{port}{configured.rstrip('/')}"


def trigger_redrive(
    request: Request, conf: dict[str, Any], *, dag_id: str = REDRIVE_DAG, timeout: float = 30
) -> dict[str, Any]:
    """Create a run of onestop_redrive (or of `dag_id`); returns Airflow's answer (dag_run_id, state, …)."""
    token = user_token(request)
    if not token:
        raise TriggerError("no Airflow credential on the request")
    try:
        resp = requests.post(
            f"{api_base()}/api/v2/dags/{dag_id}/dagRuns",
            json={"logical_date": None, "conf": conf, "note": "onestop console"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise TriggerError(f"Airflow API unreachable: {exc}") from exc
    if not resp.ok:
        raise TriggerError(f"Airflow API answered {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def _read(request: Request, path: str) -> dict[str, Any] | None:
    """GET one of Airflow's REST resources with the caller's own token; None when Airflow cannot say."""
    token = user_token(request)
    if not token:
        return None
    try:
        resp = requests.get(
            f"{api_base()}/api/v2{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    except requests.RequestException:
        return None
    return resp.json() if resp.ok else None


def dag_paused(request: Request, dag_id: str = REDRIVE_DAG) -> bool | None:
    found = _read(request, f"/dags/{dag_id}")
    return found.get("is_paused") if found else None


def dag_run_state(request: Request, dag_run_id: str, dag_id: str = REDRIVE_DAG) -> str | None:
    """A run's state as Airflow knows it (queued, running, success, failed); None when Airflow cannot say."""
    found = _read(request, f"/dags/{dag_id}/dagRuns/{quote(dag_run_id, safe='')}") if dag_run_id else None
    return found.get("state") if found else None
