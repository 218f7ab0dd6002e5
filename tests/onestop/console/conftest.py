"""The console's tests share one Airflow API server (tests/conftest.py's `airflow_api`) and, per module, one
synced district with failures."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import psycopg
import pytest
import requests

from connectors.errors import ConnectorError
from onestop import pipeline
from onestop.airflow.cluster import AirflowCluster
from onestop.simulators.process import start_simulator
from tests.conftest import IGATE_FIELDS, SOURCES, TABLES, set_connection

SOURCE = SOURCES[0]


@pytest.fixture
def airflow(airflow_api: AirflowCluster) -> AirflowCluster:
    """The session's API server, with the console plugin."""
    return airflow_api


@pytest.fixture(scope="module")
def failures_loaded(pg_url: str, portal) -> Iterator[None]:
    """A district system whose citizens are often named with markup and whose records are often bad, synced;
    then a delivery round with the portal unreachable."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            f"TRUNCATE {', '.join('onestop.' + t.strip() for t in TABLES.split(','))} RESTART IDENTITY"
        )
    args = (
        "--seed",
        "5",
        "--count",
        "200",
        "--district",
        "288",
        "--bad-rate",
        "0.1",
        "--hostile-rate",
        "0.5",
    )
    with start_simulator("igate", *args) as sim:
        set_connection(f"onestop_src_{SOURCE}", sim.url, **IGATE_FIELDS)
        pipeline.sync(SOURCE)
    good = os.environ["AIRFLOW_CONN_ONESTOP_PORTAL"]
    os.environ["AIRFLOW_CONN_ONESTOP_PORTAL"] = json.dumps({**json.loads(good), "host": "http://127.0.0.1:9"})
    try:
        with pytest.raises(ConnectorError):
            pipeline.deliver(limit=20)
    finally:
        os.environ["AIRFLOW_CONN_ONESTOP_PORTAL"] = good
    yield


@pytest.fixture
def db(pg_url: str) -> Iterator[psycopg.Connection]:
    """The module's data stays between tests (conftest's `db` would empty the tables)."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        yield conn


def session(airflow: AirflowCluster, user: str | None) -> requests.Session:
    s = requests.Session()
    if user:
        s.headers["Authorization"] = f"Bearer {airflow.token(user)}"
    return s
