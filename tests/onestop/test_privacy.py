"""Personal data is masked in every log line (stdlib, structlog, Airflow's task log chain) and in every error
message we store; dates, MaHoSo codes and procedure codes are left as they are."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.store.attempts import AttemptRecorder, record_task_failure
from onestop.privacy import MaskingFilter, install_log_masking, mask_event
from schemas.personal_data import MESSAGE_CAP, mask_data, mask_text

ROOT = Path(__file__).resolve().parents[2]

MASKED = [
    ('{"SoGiayToChuHoSo":"001203004567"}', '{"SoGiayToChuHoSo":"*********567"}'),
    ("<SoCMND>030203004567</SoCMND>", "<SoCMND>*********567</SoCMND>"),
    ("CCCD 001203004567.", "CCCD *********567."),  # at the end of a sentence too
    ("CMND 123456789", "CMND ******789"),
    ("CCCD 030 203 004 567", "CCCD *** *** *** 567"),
    ("0912345678", "*******678"),
    ("0912 345 678", "**** *** 678"),
    ("0912.345.678", "****.***.678"),
    ("0912-345-678", "****-***-678"),
    ("091 234 5678", "*** *** *678"),
    ("SĐT:0912 345 678", "SĐT:**** *** 678"),
    ("+84912345678", "+********678"),
    ("+84 912 345 678", "+** *** *** 678"),
    ("(+84) 912 345 678", "(+**) *** *** 678"),
    ("(024) 3823 4567", "(***) **** *567"),
    ("0220 3852 123", "**** **** 123"),
    ("gọi 0912 345 678 lúc 2025", "gọi **** *** 678 lúc 2025"),
    ("nguyen.van.a@so-tp.haiduong.gov.vn", "n***@so-tp.haiduong.gov.vn"),
    ('"Email":"Tran.Thi.B+hs@gmail.com"', '"Email":"T***@gmail.com"'),
]

KEPT = [
    "20250701",
    "20250701100000",
    "2025-07-01T10:00:00",
    "2025-07-01T10:00:00+07:00",
    "2025-07-01 10:00:00.123456+07",
    "01.07.2025",
    "03.07.2025 10:00",
    "03/07/2025",
    "000.00.14.H56-200203-0118",
    "000.00.14.H56-080203-0118",
    "H56-20250701-0001234",
    "1.000656",
    "1.000656.000.00.00.H56",
    "run 1234: 300 records, 13,456,789 bytes in 0.123456789012 s",
    "http://district/api/0912/345/678",
]


@pytest.mark.parametrize(("text", "masked"), MASKED)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", KEPT)
def test_dates_and_codes_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_masking_inside_json_keeps_it_json() -> None:
    errors = [{"field": "applicant.phone", "reason": "not a date: '0912 345 678'", "line": 123456789012}]
    masked = mask_data(errors)
    assert masked == [
        {"field": "applicant.phone", "reason": "not a date: '**** *** 678'", "line": 123456789012}
    ]
    assert json.loads(json.dumps(masked)) == masked


def _logger_to(stream: io.StringIO) -> tuple[logging.Logger, logging.Handler]:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.privacy")
    logger.addHandler(handler)
    logger.propagate = False
    return logger, handler


def test_a_log_line_and_its_traceback_are_masked() -> None:
    stream = io.StringIO()
    logger, handler = _logger_to(stream)
    try:
        logger.warning("applicant %s, phone %s", "001203004567", "0912.345.678")
        try:
            raise ValueError('HTTP 500: {"SoGiayToChuHoSo":"001203004567","Email":"a.b@c.vn"}')
        except ValueError:
            logger.exception("source answered")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "applicant *********567, phone ****.***.678" in text
    assert "ValueError: HTTP 500" in text  # the traceback is there, masked
    for raw in ("001203004567", "0912.345.678", "a.b@c.vn"):
        assert raw not in text


def test_install_puts_the_filter_on_every_root_handler_once() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_log_masking()
        install_log_masking()
        assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1
        logging.getLogger("onestop.pipeline").warning("quarantined: phone 0912 345 678")
    finally:
        root.removeHandler(handler)
    assert "**** *** 678" in stream.getvalue() and "0912 345 678" not in stream.getvalue()


AIRFLOW_TASK_LOGGING = r"""
import logging, sys
import structlog
from airflow.sdk.log import configure_logging
# As Airflow 3's task runner does in the task process: JSON lines to the supervisor.
configure_logging(json_output=True, output=sys.stdout.buffer, sending_to_supervisor=True)
early = structlog.get_logger("airflow.task")
early.warning("before masking is installed")  # the logger is cached now, as the task runner's are
from onestop.privacy import install_log_masking
install_log_masking()
logging.getLogger("onestop.pipeline").warning("applicant %s", "001203004567")
early.warning("phone 0912 345 678")
try:
    raise RuntimeError('answer: {"SoDienThoai":"0912.345.678"}')
except RuntimeError:
    early.exception("Task failed with exception")
    logging.getLogger("onestop.pipeline").exception("stdlib: task failed")
"""


def test_airflow_task_log_lines_are_masked(tmp_path: Path) -> None:
    """Airflow 3 task logs go through structlog (its own lines, tracebacks as dicts) and a stdlib handler."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", AIRFLOW_TASK_LOGGING], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    text = json.dumps(lines, ensure_ascii=False)
    assert len(lines) >= 5, out.stdout
    assert "applicant *********567" in text and "phone **** *** 678" in text
    assert text.count("****.***.678") >= 2  # both tracebacks, the structlog one and the stdlib one
    for raw in ("001203004567", "0912 345 678", "0912.345.678"):
        assert raw not in text


AIRFLOW_TAKES_THE_HANDLERS = """
import logging
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")  # as the CLI sets it up
from onestop.privacy import install_log_masking
install_log_masking()
log = logging.getLogger("onestop.pipeline.normalize")
log.info("before: unrecognized date '%s'", "0912 345 678")
from connectors.connection import get_connection
try:  # a connection not in the environment is asked of Airflow, whose import configures logging its own way
    get_connection("onestop_src_not_anywhere")
except Exception:
    pass
log.warning("after: unrecognized date '%s'", "0912 345 678")
try:
    raise ValueError("CCCD 001203004567")
except ValueError:
    log.exception("failed")
"""


def test_log_lines_stay_masked_after_airflow_takes_the_handlers(tmp_path: Path) -> None:
    """`onestop sync` reads a connection Airflow holds: importing Airflow replaces the root logger's handlers
    (and our filter with them), and every line after that went out unmasked. The mask is made with each
    record."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("AIRFLOW_CONN_ONESTOP_SRC_NOT_ANYWHERE", None)
    out = subprocess.run(
        [sys.executable, "-c", AIRFLOW_TAKES_THE_HANDLERS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    assert "after: unrecognized date '**** *** 678'" in text, text
    assert "0912 345 678" not in text and "001203004567" not in text and "*********567" in text, text


def test_stored_error_messages_are_masked(db, pg_url) -> None:
    recorder = AttemptRecorder(pg_url, run_id=None)
    try:
        body = '{"SoGiayToChuHoSo":"001203004567","SoDienThoai":"0912 345 678","Email":"ab@x.vn"}'
        recorder(endpoint="hd_chi_linh", operation="GET /api/v1/dossiers", error_class="ProtocolError",
                 message=f"HTTP 500: {body}" + "x" * 9000, http_status=500)  # fmt: skip
    finally:
        recorder.close()
    record_task_failure(pg_url, dag_id="d", run_id="r", task_id="t", source="hd_chi_linh",
                        error=RuntimeError("CCCD 030203004567, 0912.345.678"))  # fmt: skip
    (attempt,) = db.execute("SELECT message FROM onestop.attempt").fetchone()
    (failure,) = db.execute("SELECT message FROM onestop.task_failure").fetchone()
    assert '"*********567"' in attempt and "**** *** 678" in attempt and "a***@x.vn" in attempt
    kept, marker, rest = attempt.partition("…(+")  # capped at MESSAGE_CAP bytes, cut on a character
    assert marker and len(kept.encode()) <= MESSAGE_CAP and rest.endswith(" bytes)")
    assert failure == "CCCD *********567, ****.***.678"


def test_a_structlog_event_is_masked_keys_and_numbers_too() -> None:
    event = {"event": "applicant", "001203004567": "found", "phone": 912345678, "records": 300}
    assert mask_event(None, "info", event) == {
        "event": "applicant", "*********567": "found", "phone": "******678", "records": 300,
    }  # fmt: skip
