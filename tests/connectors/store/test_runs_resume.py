"""The reader's place a source keeps (`rest.resume`, connectors.store.runs): a run says whether it takes part and
where it starts; what its last page gave becomes the source's place only with its load (keep_place, in the load's
transaction), beside the watermark, which it leaves as it was; a run that does not take part (a backfill) leaves
the place alone, and a run whose last page gave none clears it (the next reads its window afresh)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from connectors.store import runs

WINDOW = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))


def run(conn: psycopg.Connection, *, resumes: bool, found: str | None) -> int:
    run_id = runs.create_run(conn, "s", WINDOW, None, resumes=resumes, resume_from=runs.kept_place(conn, "s"))
    runs.set_extracted(conn, run_id, pages=1, ack_ids=[], resume_next=found)
    return run_id


def test_the_place_moves_with_the_load_of_a_run_that_resumes(db: psycopg.Connection) -> None:
    assert runs.kept_place(db, "s") is None
    first = run(db, resumes=True, found="https://h/delta?token=a")
    assert runs.kept_place(db, "s") is None, "found is not kept before the load"
    runs.keep_place(db, "s", first)
    assert runs.kept_place(db, "s") == "https://h/delta?token=a"
    assert runs.watermark(db, "s") is None, "the watermark is the update times' alone"

    runs.advance_watermark(db, "s", datetime(2025, 1, 20, tzinfo=UTC), first)
    second = run(db, resumes=True, found="https://h/delta?token=b")
    assert runs.resume_of(db, second) == (True, "https://h/delta?token=a")
    runs.keep_place(db, "s", second)
    assert runs.kept_place(db, "s") == "https://h/delta?token=b"
    assert runs.watermark(db, "s") == datetime(2025, 1, 20, tzinfo=UTC)


def test_a_backfill_leaves_the_place_and_a_read_that_gave_none_clears_it(db: psycopg.Connection) -> None:
    runs.keep_place(db, "s", run(db, resumes=True, found="c1"))
    backfill = run(db, resumes=False, found="c9")
    assert runs.resume_of(db, backfill) == (False, None)
    runs.keep_place(db, "s", backfill)
    assert runs.kept_place(db, "s") == "c1"
    runs.keep_place(db, "s", run(db, resumes=True, found=None))
    assert runs.kept_place(db, "s") is None
