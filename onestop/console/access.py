"""Who is acting in the console and what they may do.

Every route needs an Airflow login (Airflow does not protect plugin apps by itself): reading needs the right to
read DAG runs (READ); re-driving and resolving need the right to trigger `onestop_redrive` (REDRIVE: role User
and above with the simple auth manager; "can create on DAG Runs" for that DAG with FAB).
"""

from __future__ import annotations

import logging

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, Request

from onestop.console import airflow_api

log = logging.getLogger("onestop.console")

READ = Depends(requires_access_dag("GET", DagAccessEntity.RUN))
REDRIVE = Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=airflow_api.REDRIVE_DAG))


def remember_user(request: Request, user: GetUserDep) -> None:
    """Who is acting, for the action log (the same user Airflow's check resolved: FastAPI caches it)."""
    request.state.onestop_user = user


def may_act(request: Request) -> bool:
    """Whether the current user may re-drive and resolve: the check REDRIVE makes (Airflow's auth manager,
    POST on the runs of onestop_redrive); a viewer sees no button, box or form of those actions."""
    user = getattr(request.state, "onestop_user", None)
    if user is None:
        return False
    try:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
        from airflow.models.dag import DagModel

        return bool(
            get_auth_manager().is_authorized_dag(
                method="POST",
                access_entity=DagAccessEntity.RUN,
                details=DagDetails(
                    id=airflow_api.REDRIVE_DAG, team_name=DagModel.get_team_name(airflow_api.REDRIVE_DAG)
                ),
                user=user,
            )
        )
    except Exception:  # the auth manager could not answer: show nothing a refusal would follow
        log.warning("could not tell whether %s may act", user_name(request), exc_info=True)
        return False


def user_name(request: Request) -> str:
    user = getattr(request.state, "onestop_user", None)
    return user.get_name() if user else "?"
