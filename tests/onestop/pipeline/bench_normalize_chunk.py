"""normalize_chunk in one pass against the two-pass path it replaced (generated mapping, then pydantic, then
model_dump + canonical JSON), side by side in one process on the same staged iGate rows (REST JSON).

Run: .venv/bin/python tests/onestop/pipeline/bench_normalize_chunk.py [records]   (default 6000)
Not a test: no timing assertions. CPU time (time.process_time), best of 5 interleaved passes, so that other
load on the machine weighs on both paths alike. Both paths must give the same rows, checked first.
"""

from __future__ import annotations

import gc
import logging
import sys
import time

from connectors.base import JSON
from connectors.store.staging import GoodRow
from mappings import get_mapping
from onestop import pipeline, privacy
from onestop.simulators.igate_data import DossierGenerator, GeneratorConfig
from schemas import jsontext
from schemas.dossier import content_hash, dossier_uid


def two_pass(mapping, source: str, rows: list) -> list[GoodRow]:
    """The good rows as normalize_chunk made them before: a Dossier, then its canonical JSON and hash."""
    good = []
    key = privacy.citizen_id_key()
    for seq, _staged_id, content_type, payload in rows:
        d = mapping.normalize(pipeline.parse_payload(payload, content_type), source).dossier
        if d is None:
            continue
        canonical = d.canonical_json()
        number = d.applicant.id_number
        good.append(
            GoodRow(seq=seq, uid=dossier_uid(source, d.source_record_id), source_record_id=d.source_record_id,
                    ma_ho_so=d.ma_ho_so, content_hash=content_hash(canonical), status=int(d.status),
                    received_at=d.received_at, due_at=d.due_at, finished_at=d.finished_at or d.returned_at,
                    procedure_code=d.procedure_code, agency_code=d.agency_code, district_code=d.district_code,
                    commune_code=d.commune_code,
                    applicant_id_hash=privacy.citizen_id_hash(number, key) if number else None,
                    source_updated_at=d.source_updated_at, record=canonical.encode(), flags=d.flags)
        )  # fmt: skip
    return good


def main(n: int = 6000) -> None:
    logging.disable(logging.CRITICAL)  # the quarantine log lines of the simulator's spoiled records
    gen = DossierGenerator(GeneratorConfig(seed=7, count=n, span_days=175))
    records = [r for i in range(n) if (r := gen.record(i, 2_000_000_000)) is not None]
    rows = [(i, r["id"], JSON, jsontext.dumps(r)) for i, r in enumerate(records)]
    mapping = get_mapping("igate")
    one = pipeline.normalize_chunk(mapping, "rest", rows)[0]
    assert one == two_pass(mapping, "rest", rows), "the two paths must give the same rows"
    gc.collect()
    gc.freeze()
    best = {"two passes (pydantic)": 1e9, "one pass": 1e9}
    for _ in range(5):
        for name, run in (
            ("two passes (pydantic)", two_pass),
            ("one pass", lambda *a: pipeline.normalize_chunk(*a)),
        ):
            started = time.process_time()
            run(mapping, "rest", rows)
            best[name] = min(best[name], time.process_time() - started)
    for name, seconds in best.items():
        print(f"{name:<22} {len(rows) / seconds:>8,.0f} records/s/core")
    print(f"ratio                  {best['two passes (pydantic)'] / best['one pass']:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6000)
