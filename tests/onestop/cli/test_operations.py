"""Operating sources by configuration: `config check` names file and line; `mapping try` dry-runs a fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mappings import mapping_path
from onestop import pipeline
from onestop.operations.mapping_try import try_mapping
from tests.conftest import ROOT, SOURCES, truth


def onestop(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "onestop.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_config_check_names_the_file_and_line_of_a_broken_entry(tmp_path: Path) -> None:
    shipped = (ROOT / "config" / "sources.yaml").read_text()
    broken = shipped.replace('district_code: "290"}', 'district_code: "290", lookback: forever}')
    assert broken != shipped
    registry = tmp_path / "sources.yaml"
    registry.write_text(broken)
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "lookback: forever" in text)

    result = onestop("config", "check", env={"ONESTOP_SOURCES": str(registry)})

    assert result.returncode == 1
    assert f"{registry}:{line}: sources[1] (hd_chi_linh): lookback:" in result.stderr


def test_config_check_names_the_sources_of_a_dialect_that_has_no_mapping(tmp_path: Path) -> None:
    broken = (ROOT / "config" / "sources.yaml").read_text().replace("dialect: igate", "dialect: igat")
    registry = tmp_path / "sources.yaml"
    registry.write_text(broken)

    result = onestop("config", "check", env={"ONESTOP_SOURCES": str(registry)})

    assert result.returncode == 1
    assert (
        "igat.yaml:0: dialect: no mapping for dialect 'igat' (did you mean igate? looked in " in result.stderr
    )
    assert "(the dialect of hd_thanh_pho_hai_duong, hd_chi_linh, hd_kinh_mon, hd_nam_sach)" in result.stderr


def test_config_check_passes_the_shipped_registry_and_warns_of_missing_connections() -> None:
    env = {k: "" for k in os.environ if k.startswith("AIRFLOW_CONN_")}
    result = onestop("config", "check", env=env)
    assert result.returncode == 0, result.stderr
    assert "0 errors" in result.stdout


def test_config_check_warns_of_a_registry_that_declares_no_sources(tmp_path: Path) -> None:
    whole = (ROOT / "config" / "sources.yaml").read_text()
    registry = tmp_path / "sources.yaml"
    registry.write_text(whole[: whole.index("\nsources:")] + "\nsources:\n")

    result = onestop("config", "check", env={"ONESTOP_SOURCES": str(registry)})

    assert result.returncode == 0, result.stderr
    assert f"warning: {registry} declares no sources: no DAG will sync anything" in result.stderr
    assert "0 sources, 0 errors" in result.stdout


def test_mapping_try_shows_what_a_fixed_mapping_would_now_let_through(
    db, districts, portal, tmp_path: Path
) -> None:
    pipeline.sync(SOURCES[0])
    unknown_status = [r for r in truth(districts[SOURCES[0]]) if r["bad"] and "status" in r["bad"]]
    assert unknown_status, "the simulator serves records with an unknown status"
    # The fix an engineer would make: the vendor's new status 99 means "processing".
    fixed = mapping_path("igate").read_text().replace("    values: {0: 1,", "    values: {99: 4, 0: 1,", 1)
    assert fixed != mapping_path("igate").read_text(), "the status table's first line changed shape"
    (tmp_path / "igate.yaml").write_text(fixed)

    before = try_mapping("igate")
    after = try_mapping("igate", tmp_path / "igate.yaml")

    assert before.tried == after.tried > 0 and before.would_pass == []
    assert len(after.would_pass) == len(unknown_status)
    assert (
        db.execute("SELECT count(*) FROM onestop.quarantine WHERE state = 'open'").fetchone()[0]
        == before.tried
    )
