"""A dossier whose detail is gone when it is listed (withdrawn for editing between the list and its detail call)
costs that dossier alone: it waits in quarantine naming `(detail)` and the system's own words, a re-drive while
it is still gone says so again (not a dozen fields missing from the summary), and once the system serves it a
re-drive calls for its detail again and loads it, exactly as the truth says."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from onestop import pipeline
from onestop.operations.redrive import redrive
from tests.vendors import harness
from tests.vendors.list_detail.server import listed_id


def test_a_detail_gone_at_the_list_costs_its_dossier_alone_and_a_redrive_reads_it_again(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("list_detail", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        items = vendor.truth()
        gone = [listed_id(i) for i in items[:2]]
        harness.control(vendor.server.url, f"gone?ids={','.join(gone)}")

        counts = pipeline.sync(vendor.source)
        rows = db.execute(
            "SELECT record_id, errors, payload FROM onestop.quarantine WHERE source = %s AND state = 'open'"
            " AND error_class = 'DetailUnread'",  # the class the console files them under, and re-drives
            (vendor.source,),
        ).fetchall()
        still = redrive(source=vendor.source, error_class="DetailUnread")
        again = db.execute(
            "SELECT errors FROM onestop.quarantine WHERE source = %s", (vendor.source,)
        ).fetchall()

        harness.control(vendor.server.url, "gone?ids=")
        redriven = redrive(source=vendor.source, ids=gone[:1])
        # The other is read again by a sync whose window holds it (its officer edited it: here, a backfill).
        resynced = pipeline.sync(
            vendor.source, interval=(datetime(2024, 1, 1, tzinfo=UTC), datetime.now(UTC))
        )
        states = db.execute(
            "SELECT record_id, state, resolved_by FROM onestop.quarantine WHERE source = %s ORDER BY record_id",
            (vendor.source,),
        ).fetchall()
        nothing = redrive(source=vendor.source)
        compared = harness.compare(db, vendor.source, items)

    assert (counts.loaded, counts.quarantined) == (harness.COUNT - 2, 2)
    assert sorted(r[0] for r in rows) == sorted(gone)  # named by the id the detail was asked by
    for _record_id, errors, payload in rows:
        assert [(e["field"], e["reason"]) for e in errors] == [
            ("(detail)", 'detail: HTTP 404: {"maLoi": 404, "thongBao": "Không tìm thấy hồ sơ"}')
        ]
        assert '"hoSoId": "NS/' in payload and "thuTuc" not in payload  # the summary, as it was listed
    assert (still.tried, still.redriven, still.still_failing) == (2, 0, 2)
    assert all([e["field"] for e in errors] == ["(detail)"] for (errors,) in again)
    assert (redriven.redriven, redriven.still_failing) == (1, 0)
    assert resynced.quarantined == 0
    assert sorted(states) == sorted([(gone[0], "redriven", "redrive"), (gone[1], "superseded", "pipeline")])
    assert nothing.tried == 0
    assert compared.mismatches == [] and compared.loaded == harness.COUNT
