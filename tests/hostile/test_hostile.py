"""Bad input never stops a source: one bad value costs one record, never a page, a run or a district.

`make test` runs the quick hostile harness here (the same runner as `make test-hostile`, in a process of its own),
checks the manifest's shape, and runs the one explicit follow-up check of the issue: the next run after a page
with bad records ends loaded and adds nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from schemas.personal_data import mask_text
from tests.hostile import manifest
from tests.hostile.harness import Harness, source_of
from tests.hostile.pages import PROTOCOLS
from tests.hostile.runner import Runner, leaks_in

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"^hostile: (\d+) inputs, refused (\d+), quarantined (\d+), loaded (\d+), unexpected (\d+), crashed (\d+),"
    r" half-loaded (\d+), leaked (\d+)$"
)
GENERATED = re.compile(r"^generated: (\d+) records, crashed (\d+), half-loaded (\d+), leaked (\d+)$")


def report_env() -> dict[str, str]:
    """This worktree's code, no session database; bytecode cached under var/ (Airflow's import compiles
    ~2,000 modules otherwise)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ONESTOP_DB_URL", "ONESTOP_VAR", "PYTHONDONTWRITEBYTECODE")
    }
    return env | {
        "PYTHONPATH": str(ROOT),
        "ONESTOP_HOME": str(ROOT),
        "PYTHONPYCACHEPREFIX": str(ROOT / "var" / "pycache"),
    }


def test_a_planted_number_is_found_whatever_stands_between_its_digits() -> None:
    assert leaks_in("id_number: '0301\u200b87004219' is not a CCCD") == ["cccd"]
    assert leaks_in("gọi 0912.468.013") == ["phone"]
    assert leaks_in("+84 (912) 468-013") == ["phone_intl"]
    assert leaks_in("Gửi Hostile.NguoiDan.7@example.vn") == ["email"]


def test_masked_personal_data_is_no_leak() -> None:
    assert (
        leaks_in(mask_text("CCCD 030187004219, 0912 468 013, +84 912 468 013, hostile.nguoidan.7@example.vn"))
        == []
    )
    assert leaks_in("run 1234 of 2025-01-02T08:00:00+07:00: 300 records") == []


def test_the_manifest_declares_at_least_60_inputs_each_with_one_expected_outcome() -> None:
    inputs = manifest.load()

    assert len(inputs) >= 60
    assert {i.protocol for i in inputs} == set(PROTOCOLS)
    assert sum(i.via == "dag" for i in inputs) >= 3 and sum(i.via == "cli" for i in inputs) >= 2
    for inp in inputs:
        records = [r for r in inp.records if r.quarantined is not None or r.loaded is not None]
        assert (inp.refused is not None) != bool(records or inp.loaded), inp.name  # exactly one kind
        assert inp.body is None or not inp.records, inp.name
        if inp.body and "file" in inp.body:
            assert (manifest.HERE / inp.body["file"]).is_file(), inp.name
        for r in inp.records:
            for spec in r.settings.values():
                assert "file" not in spec or (manifest.HERE / spec["file"]).is_file(), inp.name


def test_every_hostile_input_ends_as_declared_and_nothing_crashes_half_loads_or_leaks() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.hostile.report"],
        cwd=ROOT,
        env=report_env(),
        capture_output=True,
        text=True,
        timeout=540,
    )
    lines = proc.stdout.strip().splitlines()
    assert len(lines) >= 2, proc.stdout + proc.stderr[-3000:]
    summary, generated = SUMMARY.match(lines[-2]), GENERATED.match(lines[-1])
    assert summary and generated, proc.stdout[-3000:] + proc.stderr[-3000:]
    n, refused, quarantined, loaded = (int(g) for g in summary.groups()[:4])
    assert n >= 60 and refused + quarantined + loaded == n
    # The to-do list: one line per input (and generated record) that is not what the issue demands.
    assert proc.returncode == 0, "\n".join(lines)
    assert summary.groups()[4:] == ("0", "0", "0", "0") and generated.groups()[1:] == ("0", "0", "0")


def test_the_run_after_a_page_of_21_with_two_nuls_and_a_lone_surrogate_ends_loaded_and_adds_nothing(
    db, pg_url
) -> None:
    inp = next(i for i in manifest.load() if i.name == "json-two-nuls-and-a-lone-surrogate-in-a-page-of-21")
    source = source_of(inp.protocol)
    harness = Harness().start(url=pg_url)
    try:
        runner = Runner(harness)
        page = manifest.build(inp, runner.builder)
        harness.serve(source, page.replies, inp.protocol)
        with harness.captured():
            runner.sync(source, "pipeline")
        versions, quarantined = db.execute(
            "SELECT (SELECT count(*) FROM onestop.dossier_version), (SELECT count(*) FROM onestop.quarantine)"
        ).fetchone()

        harness.serve(source, page.replies, inp.protocol)  # the same page again
        with harness.captured():
            second = runner.sync(source, "pipeline")

        assert (second.state, second.exception) == ("loaded", None)
        assert db.execute(
            "SELECT (SELECT count(*) FROM onestop.dossier_version), (SELECT count(*) FROM onestop.quarantine)"
        ).fetchone() == (versions, quarantined)
        assert versions == len(page.good_ids) and quarantined == 3  # the first run: 18 loaded, 3 quarantined
    finally:
        harness.stop()
