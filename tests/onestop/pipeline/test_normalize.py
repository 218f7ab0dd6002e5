"""Normalizing a chunk of fetched rows: what a quarantined record's row lists of what is wrong with it."""

from __future__ import annotations

import json

from connectors.base import JSON, MAX_DEFECTS
from mappings import get_mapping
from onestop import pipeline
from onestop.simulators.igate_data import DossierGenerator, GeneratorConfig


def test_a_record_with_thousands_of_failing_fields_lists_fifty_and_counts_the_rest(monkeypatch) -> None:
    """A dossier with 5,000 history events whose time is no time: its quarantine row (and the log) names the first
    MAX_DEFECTS fields and counts the rest, not 5,000 reasons in one row and as many log lines."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONESTOP_CITIZEN_ID_KEY", json.dumps({"conn_type": "generic", "password": "k" * 32})
    )
    record = DossierGenerator(GeneratorConfig(seed=7, count=10, span_days=30, bad_rate=0.0)).record(
        0, 2**31 - 1
    )
    assert record is not None
    record["history"] = [{**record["history"][0], "createdDate": f"không phải ngày {i}"} for i in range(5000)]
    _, bad, _ = pipeline.normalize_chunk(get_mapping("igate"), "s", [(0, None, JSON, json.dumps(record))])
    [row] = bad
    errors = json.loads(row.errors)
    assert len(errors) == MAX_DEFECTS + 1
    assert (
        errors[-1]["field"] == "(record)" and errors[-1]["reason"] == f"{5000 - MAX_DEFECTS} more not listed"
    )
