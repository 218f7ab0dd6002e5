"""Any REST district system by configuration: every vendor folder is onboarded with a registry entry, a mapping
and a connection only, and what lands in onestop.dossier must equal the vendor's ground truth field by field.

Each vendor's server enforces its own contract and counts what it refuses; a sync that speaks the contract
right makes it refuse nothing. The totals go to ONESTOP_VENDORS_REPORT (default var/vendors-report.json) for
`make test-vendors` (python -m tests.vendors.report).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from connectors.errors import ConnectorError
from onestop import pipeline
from tests.vendors import harness, truth

VENDORS = harness.discover()


@pytest.fixture(scope="module")
def report() -> Iterator[dict[str, dict[str, Any]]]:
    """Per-vendor totals, written after every test so that a failing run still reports what it compared."""
    totals: dict[str, dict[str, Any]] = {}
    yield totals


def write_report(totals: dict[str, dict[str, Any]]) -> None:
    path = harness.report_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(totals, indent=2, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module", params=VENDORS)
def vendor(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[harness.Vendor]:
    name: str = request.param
    with harness.started(name, tmp_path_factory.mktemp(f"vendor-{name}")) as running:
        yield running


def test_vendor_is_onboarded_by_configuration_alone(
    vendor: harness.Vendor,
    db: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    report: dict[str, dict[str, Any]],
) -> None:
    items, deleted = vendor.truth(), vendor.deleted()
    if not deleted:  # a feed with deletions serves what survives of a longer truth.generate
        assert items == truth.generate(vendor.name, harness.SEED, harness.COUNT), (
            "the server serves truth.generate"
        )
    harness.configure(vendor, monkeypatch)
    refused_before = vendor.stats()["refused"]
    began = time.monotonic()

    counts = pipeline.sync(vendor.source)

    elapsed = time.monotonic() - began
    stats = vendor.stats()
    refused = stats["refused"] - refused_before
    result = harness.compare(db, vendor.source, items)
    report[vendor.name] = {
        "source": vendor.source,
        "dossiers": result.dossiers,
        "loaded": result.loaded,
        "fields": result.fields,
        "mismatches": len(result.mismatches),
        "quarantined": counts.quarantined,
        "refused": refused,
        "requests": len(stats["requests"]),
        "seconds": round(elapsed, 2),
        "onboarded": False,
    }
    write_report(report)

    assert refused == 0, f"the server refused {refused} request(s): {stats['refusals'][refused_before:]}"
    assert counts.quarantined == 0, db.execute(
        "SELECT record_id, errors FROM onestop.quarantine WHERE source = %s LIMIT 5", (vendor.source,)
    ).fetchall()
    assert not result.missing, f"{len(result.missing)} dossiers not loaded, e.g. {result.missing[:5]}"
    assert not result.mismatches, f"{len(result.mismatches)} mismatches, e.g. {result.mismatches[:10]}"
    assert result.loaded == len(items) >= 200
    gone = db.execute(
        "SELECT source_record_id FROM onestop.dossier WHERE source = %s AND deleted ORDER BY 1",
        (vendor.source,),
    ).fetchall()
    assert sorted(r[0] for r in gone) == sorted(deleted), "every deletion applied, nothing else deleted"
    assert counts.loaded == len(items) + len(deleted)
    report[vendor.name]["onboarded"] = True
    write_report(report)


def test_wrong_credential_fails_with_the_vendors_own_message(
    vendor: harness.Vendor, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.configure(vendor, monkeypatch, vendor.wrong_connection())
    refused_before = vendor.stats()["refused"]

    with pytest.raises(ConnectorError) as failure:
        pipeline.sync(vendor.source)

    # cp1258 and friends may hand tones over decomposed: the message is compared as NFC text
    assert harness.nfc(vendor.refusal) in harness.nfc(str(failure.value))
    refused = vendor.stats()["refused"] - refused_before
    assert 1 <= refused <= 2, f"credentials refused: fail fast, at most one re-login ({refused} refusals)"
    assert db.execute("SELECT count(*) FROM onestop.dossier").fetchone() == (0,)


def test_every_vendor_folder_is_complete() -> None:
    """A folder with a server but no entry, mapping or connection would be skipped silently."""
    for folder in sorted(p for p in Path(harness.VENDORS_DIR).iterdir() if (p / "server.py").is_file()):
        if (folder / "PENDING.md").is_file():  # says which connector language it waits for
            assert "waits for" in (folder / "PENDING.md").read_text(encoding="utf-8"), folder.name
            continue
        entries = yaml.safe_load((folder / "source.yaml").read_text(encoding="utf-8"))
        assert isinstance(entries, list) and len(entries) == 1, f"{folder.name}: ONE registry entry"
        entry = entries[0]
        assert entry["kind"] in ("rest", "xml", "soap", "feed"), folder.name
        assert harness.mapping_file(folder, entry["dialect"]).is_file()
        connection = json.loads((folder / "connection.json").read_text(encoding="utf-8"))
        assert "{url}" in json.dumps(connection), (
            f"{folder.name}: connection.json names the server as {{url}}"
        )
    assert len(VENDORS) >= 8  # issue 13: eight vendor APIs unlike ours and each other
