"""The dlt peer's tuning flags become the environment dlt reads (set before dlt is imported), and the run's
configuration records them; what `dlt_best_config` in latest.json is made of."""

from __future__ import annotations

import os

import pytest

from bench.dlt_best import CONFIGS
from bench.dlt_peer import load_igate


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "NORMALIZE__WORKERS",
        "LOAD__WORKERS",
        "DATA_WRITER__FILE_MAX_ITEMS",
        "DATA_WRITER__BUFFER_MAX_ITEMS",
    ):
        monkeypatch.setenv(name, "")  # recorded, so that what configure_environment sets is undone after
        monkeypatch.delenv(name)
    for name in ("DLT_DATA_DIR", "DLT_PROJECT_DIR", "RUNTIME__DLTHUB_TELEMETRY", "RUNTIME__LOG_LEVEL"):
        monkeypatch.setenv(name, "")  # restored after the test: configure_environment sets them


def configure(args: list[str], tmp_path) -> dict:
    base = ["--base-url", "http://x", "--pg-url", "postgresql://u@/d", "--dataset", "d"]
    return load_igate.configure_environment(load_igate.build_parser().parse_args(base + args), str(tmp_path))


def test_the_tuned_configuration_reaches_dlt_and_its_record(clean_env, tmp_path) -> None:
    args = next(a for label, a in CONFIGS if "csv" in label)
    config = configure(list(args), tmp_path)
    assert (config["loader_file_format"], config["normalize_workers"], config["load_workers"]) == (
        "csv",
        2,
        4,
    )
    assert (config["file_max_items"], config["buffer_max_items"]) == (20_000, 10_000)
    assert os.environ["NORMALIZE__WORKERS"] == "2" and os.environ["LOAD__WORKERS"] == "4"
    assert os.environ["DATA_WRITER__FILE_MAX_ITEMS"] == "20000"
    assert os.environ["DATA_WRITER__BUFFER_MAX_ITEMS"] == "10000"


def test_todays_configuration_leaves_dlts_defaults_alone(clean_env, tmp_path) -> None:
    config = configure(list(CONFIGS[0][1]), tmp_path)
    assert config["loader_file_format"] == "insert_values"
    assert config["load_workers"] == load_igate.DLT_DEFAULT_LOAD_WORKERS
    assert "LOAD__WORKERS" not in os.environ and "DATA_WRITER__BUFFER_MAX_ITEMS" not in os.environ


def test_the_three_loaders_are_compared() -> None:
    formats = [args[args.index("--loader-file-format") + 1] for _, args in CONFIGS]
    assert formats == ["insert_values", "csv", "parquet"]
