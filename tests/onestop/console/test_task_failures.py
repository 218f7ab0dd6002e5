"""A task that fails for a reason no call gave is shown in Vietnamese too: a connection that is not defined or
lacks what its source needs, a WSDL without the operation or header the registry names, a run whose staged rows
are gone, a task past its time limit, a task whose process Airflow lost.

The failures are the product's own, raised by its code against a real WSDL served over HTTP, a real database and
Airflow's own timeout; each is stored as onestop.airflow.dags.record_failure stores it (its class, str() of it)
and rendered by the console's functions (error_class_label, failure_message, failure_reason). The DAG runs that
record such failures end to end are in tests/dags/test_dag_runs.py."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from psycopg import sql

from connectors.connection import Connection
from connectors.errors import ConfigError
from connectors.factory import open_source
from connectors.store import staging
from onestop import pipeline, registry
from onestop.console import render, words
from onestop.simulators.soap_district import ADDRESS_SLOT
from schemas.personal_data import MESSAGE_CAP, quote_answer
from tests.conftest import SOURCES, empty
from tests.connectors.scripted_server import routed_server
from tests.onestop.console.test_failure_messages import WSDL, XML, leftovers, pseudo_locale  # noqa: F401 (a fixture)
from tests.onestop.console.test_reasons import OTHER

SOAP = {"wsdl": "/soap?wsdl", "operation": "LayDanhSachHoSo", "records": "DanhSachHoSo.HoSo",
        "request": {"Trang": "{page}"}, "paginator": {"type": "page_number", "page_size": 2}}  # fmt: skip
REST = {"request": {"path": "/ds"}, "records": "items", "paginator": {"type": "single"}}


def read(kind: str, spec: dict[str, Any], conn: Callable[[str], Connection | None]) -> BaseException:
    """What reading a source (its registry entry's protocol section) against a served district WSDL raises."""
    entry = {"name": "hd_thu", "title": "Huyện Thử", "kind": kind, "dialect": "igate",
             "conn_id": "onestop_src_hd_thu_chua_co", "max_attempts": 1, kind: spec}  # fmt: skip
    source = registry.parse({"sources": [entry]}).sources[0]
    here: list[str] = []

    def answer(path: str, _sent: bytes) -> tuple[int, dict[str, str], bytes]:
        return 200, XML, WSDL.replace(ADDRESS_SLOT, f"{here[0]}/soap").encode()

    with routed_server(answer) as (url, _):
        here.append(url)
        with pytest.raises(Exception) as caught:
            for _page in open_source(source, conn=conn(url)).pages(None, None):
                pass
    return caught.value


def with_login(url: str) -> Connection:
    return Connection("c", host=url, login="u", password="p")


def without_password(url: str) -> Connection:
    return Connection("c", host=url, login="u")


def configuration_failures() -> dict[str, BaseException]:
    return {
        "no connection": read("rest", REST, lambda url: None),
        "basic without a password": read("rest", {**REST, "auth": {"type": "basic"}}, without_password),
        "a bearer token not set": read(
            "rest", {**REST, "auth": {"type": "bearer"}}, lambda url: Connection("c", url, login="u")
        ),
        "WS-Security without a password": read("soap", {**SOAP, "ws_security": True}, without_password),
        "an API key header without its password": read(
            "soap",
            {**SOAP, "headers": {"AuthHeader": {"ApiKey": "{password}"}}},
            lambda url: Connection("c", url),
        ),
        "a SOCKS proxy": read(
            "rest", REST, lambda url: Connection("c", url, extra={"proxy": "socks5://h:1"})
        ),
        "a proxy that is no URL": read(
            "rest", REST, lambda url: Connection("c", url, extra={"proxy": "\u00e9://h"})
        ),
        "a proxy without a host": read(
            "rest", REST, lambda url: Connection("c", url, extra={"proxy": "http://"})
        ),
        "an operation no port has": read("soap", {**SOAP, "operation": "LayHoSoDaXoa"}, with_login),
        "a port the WSDL does not have": read("soap", {**SOAP, "port": "CongKhac"}, with_login),
        "a header the WSDL does not declare": read(
            "soap", {**SOAP, "headers": {"XacThuc": {"Ma": "1"}}}, with_login
        ),
        "a parameter the operation does not take": read(
            "soap", {**SOAP, "request": {"Trang": "{page}", "MaDonVi": "H23"}}, with_login
        ),
    }


def lost_tasks() -> dict[str, BaseException]:
    """What Airflow hands the failure callback of a task whose process it lost (airflow.jobs.scheduler_job_runner:
    the heartbeat's details, built by its own function; the executor's report, in its words), or of one that
    ended without an exception."""
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    from onestop.airflow.dags import failure_of

    ti = SimpleNamespace(dag_id="onestop_sync_hd_thu", task_id="extract", run_id="scheduled__2026-12-05T05:00:00+00:00",
                         map_index=-1, hostname="worker-2", external_executor_id=None)  # fmt: skip
    heartbeat = str(SchedulerJobRunner._generate_task_instance_heartbeat_timeout_message_details(ti))
    executor = (
        "Executor LocalExecutor(parallelism=4) reported that the task instance <TaskInstance:"
        " onestop_sync_hd_thu.extract scheduled__2026-12-05T05:00:00+00:00 [running]> finished with state failed,"
        " but the task instance's state attribute is running. Learn more:"
        " https://airflow.apache.org/docs/apache-airflow/stable/troubleshooting.html#task-state-changed-externally"
    )
    return {
        "heartbeat lost": failure_of({"exception": Exception(heartbeat)}),
        "process died": failure_of({"exception": Exception(executor)}),
        "no exception": failure_of({}),
    }


def timed_out() -> BaseException:
    """Airflow's own execution_timeout, spent (airflow.sdk.execution_time.timeout)."""
    import time

    from airflow.sdk.exceptions import AirflowTaskTimeout
    from airflow.sdk.execution_time.timeout import timeout

    with pytest.raises(AirflowTaskTimeout) as caught, timeout(1):
        time.sleep(5)
    return caught.value


@pytest.fixture(scope="module")
def failures() -> dict[str, BaseException]:
    return {**configuration_failures(), **lost_tasks(), "timeout": timed_out()}


def shown(error: BaseException) -> dict[str, str]:
    """The failure as the console shows it: its class's label, its line in the list, its reason on its page."""
    row = SimpleNamespace(
        kind="task", error_class=type(error).__name__, message=quote_answer(str(error), MESSAGE_CAP)
    )
    return {
        "class": render.error_class_label(row.error_class),
        "message": str(words.failure_message(row)),
        "reason": str(words.failure_reason(row, row.message)),
    }


def test_each_failure_is_the_one_the_case_means(failures: dict[str, BaseException]) -> None:
    classes = {name: type(e).__name__ for name, e in failures.items()}
    assert {n: c for n, c in classes.items() if c != "ConfigError"} == {
        "heartbeat lost": "TaskLost", "process died": "TaskLost", "no exception": "TaskLost",
        "timeout": "AirflowTaskTimeout",
    }  # fmt: skip
    assert len({str(e) for e in failures.values()}) == len(failures)
    assert "'DAG Id': 'onestop_sync_hd_thu'" in str(failures["heartbeat lost"])


def test_no_task_failure_is_shown_as_other_or_under_a_bare_class(failures: dict[str, BaseException]) -> None:
    every = {name: shown(e) for name, e in failures.items()}
    assert {n: s for n, s in every.items() if any(OTHER in v for v in s.values())} == {}
    coded = render.error_class_label("NoSuchClass").replace("NoSuchClass", "")
    assert {n: s["class"] for n, s in every.items() if coded in s["class"]} == {}


def test_no_task_failure_ends_in_english_words_of_ours(
    failures: dict[str, BaseException],
    pseudo_locale: None,  # noqa: F811
) -> None:
    planted = "hd_thu Huyện Thử onestop_src_hd_thu_chua_co ONESTOP_SRC_HD_THU_CHUA_CO LayHoSoDaXoa LayDanhSachHoSo CongKhac XacThuc"
    left = {
        name: words_left
        for name, e in failures.items()
        for out in shown(e).values()
        if (words_left := leftovers(out, planted))
    }
    assert left == {}


def test_a_run_whose_staged_rows_are_gone_and_a_run_that_is_not_there_are_said_in_vietnamese(
    db, districts, portal
) -> None:
    empty(db)  # the console's `db` keeps the worker's last module's runs: one of SOURCES[0] moves its window
    run_id = pipeline.plan(SOURCES[0]).run_id
    pipeline.extract(run_id)
    db.execute(sql.SQL("TRUNCATE {}").format(staging.table(run_id, "good")))  # what crash recovery does
    errors = []
    for run in (run_id, 10**9):
        with pytest.raises(Exception) as caught:
            pipeline.load(run)
        errors.append(caught.value)

    assert [type(e).__name__ for e in errors] == ["StagingLost", "LookupError"]
    said = [shown(e) for e in errors]
    assert [s for s in said if any(OTHER in v for v in s.values())] == []
    assert render.error_class_label("StagingLost") != "StagingLost"


def test_a_library_error_we_cannot_say_is_shown_as_its_code_not_as_other() -> None:
    row = SimpleNamespace(kind="task", error_class="OperationalError", message="server closed the connection")
    assert OTHER not in str(words.failure_message(row))
    assert "<code>server closed the connection</code>" in str(words.failure_message(row))
    ours = SimpleNamespace(kind="task", error_class="ConfigError", message="a text of no shape")
    assert OTHER in str(words.failure_message(ours))  # ours must have a shape: a missing one shows


def test_a_task_that_raised_is_recorded_by_what_it_raised() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from onestop.airflow.dags import TaskLost, failure_of

    cause = ConfigError("Airflow connection 'x' is not defined")
    told = AirflowFailException(str(cause))
    told.__cause__ = cause
    assert failure_of({"exception": told}) is cause  # not how Airflow was told (fail_fast)
    assert isinstance(failure_of({"exception": RuntimeError("x")}), RuntimeError)
    assert isinstance(failure_of({"exception": "the scheduler's words"}), TaskLost)
