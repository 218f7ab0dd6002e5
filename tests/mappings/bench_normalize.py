"""Throughput of mappings: normalize (engine + pydantic validation) of records with 8 history events.

Run: .venv/bin/python tests/mappings/bench_normalize.py [records] [dialect|all]   (default: 20000 igate)
Not a test: no timing assertions anywhere. The input records are built up front and frozen out of the
garbage collector (gc.freeze), since a sync run streams its input rather than holding it all.

Two figures: `one by one` consumes each Dossier as it is produced (the cost of normalize itself);
`pages of 1000 kept` holds a page of Dossier objects alive, as a loader that COPYs per page may — the
extra is allocation and garbage-collector work caused by what the caller keeps, not by normalize.
`all` measures each mapping shipped in mappings/ (igate, aspnet_xml, dvc_soap, lgsp_feed), one by one.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mapping_samples import SHIPPED, shipped_batch

from mappings import get_mapping
from schemas import Dossier

PAGE = 1000


def best(run: Callable[[], None], count: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) / count)
    return min(times)


def main(n: int = 20_000, dialect: str = "igate", repeat: int = 5) -> None:
    if dialect == "all":
        for name in SHIPPED:
            streaming = one_by_one(name, n, repeat)
            print(
                f"{name:<11} normalize, one by one: {1 / streaming:>8,.0f} records/s/core ({streaming * 1e6:.1f} µs)"
            )
        return
    mapping = get_mapping(dialect)
    records = shipped_batch(dialect, n)
    sample = [mapping.normalize(r, "bench").dossier for r in records[:PAGE]]
    assert all(d is not None for d in sample), "the benchmark records must be valid"
    inputs = [d.model_dump() for d in sample if d is not None]
    del sample
    gc.collect()
    gc.freeze()

    def pages_kept() -> None:
        for i in range(0, n, PAGE):
            page = [mapping.normalize(r, "bench").dossier for r in records[i : i + PAGE]]
        del page

    def model_alone() -> None:
        for data in inputs:
            Dossier.model_validate(data)

    streaming = one_by_one(dialect, n, repeat, records)
    paged, model = best(pages_kept, n, repeat), best(model_alone, len(inputs), repeat)
    print(
        f"normalize, one by one:        {1 / streaming:>8,.0f} records/s/core ({streaming * 1e6:.1f} µs/record)"
    )
    print(f"normalize, pages of {PAGE} kept: {1 / paged:>8,.0f} records/s/core ({paged * 1e6:.1f} µs/record)")
    print(f"  of which pydantic validation of Dossier alone ~{model * 1e6:.1f} µs/record")


def one_by_one(dialect: str, n: int, repeat: int, records: list | None = None) -> float:
    """Seconds per record, best of `repeat` passes over n records of `dialect`."""
    mapping = get_mapping(dialect)
    records = records if records is not None else shipped_batch(dialect, n)
    assert mapping.normalize(records[0], "bench").ok, "the benchmark records must be valid"
    gc.collect()
    gc.freeze()

    def run() -> None:
        normalize = mapping.normalize
        for r in records:
            normalize(r, "bench")

    try:
        return best(run, n, repeat)
    finally:
        gc.unfreeze()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000, sys.argv[2] if len(sys.argv) > 2 else "igate")
