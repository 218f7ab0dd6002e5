"""Airflow for one machine: the settings the demo, the CLI and the tests run DAGs with (`dag.test()`).

SQLite holds Airflow's own metadata while DAGs run in-process; a scheduler or API server needs PostgreSQL
(SQLite locks under concurrent writers), which `configure(metadata_url=...)` sets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from onestop import settings


def configure(metadata_url: str | None = None, home: Path | None = None) -> dict[str, str]:
    """Set Airflow's environment (before Airflow is imported). Returns what was set."""
    airflow_home = home or settings.var_dir() / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.home() / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.home() / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url or f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "ONESTOP_HOME": str(settings.home()),
    }
    os.environ.update(env)
    return env


def migrate() -> None:
    """Create or upgrade Airflow's metadata database (quick when it is current)."""
    from airflow.utils.db import upgradedb

    upgradedb()


def dags() -> dict[str, Any]:
    """Every DAG of the dags folder, parsed the way the dag-processor does; import errors are fatal."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags


def run_dag(dag: Any, conf: dict[str, Any] | None = None) -> str:
    """Run one DAG in this process with dag.test() (params from `conf`); returns the run's final state."""
    run = dag.test(run_conf=conf)
    return str(run.state)
