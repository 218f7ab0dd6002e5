"""Throughput of mappings: normalize (engine + pydantic validation) of iGate records with 8 history events.

Run: .venv/bin/python tests/mappings/bench_normalize.py [records]
Not a test: no timing assertions anywhere. The input records are built up front and frozen out of the
garbage collector (gc.freeze), since a sync run streams its input rather than holding it all.

Two figures: `one by one` consumes each Dossier as it is produced (the cost of normalize itself);
`pages of 1000 kept` holds a page of Dossier objects alive, as a loader that COPYs per page may — the
extra is allocation and garbage-collector work caused by what the caller keeps, not by normalize.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mapping_samples import igate_batch

from mappings import get_mapping
from schemas import Dossier

PAGE = 1000


def main(n: int = 20_000, repeat: int = 5) -> None:
    mapping = get_mapping("igate")
    records = igate_batch(n)
    sample = [mapping.normalize(r, "bench").dossier for r in records[:PAGE]]
    assert all(d is not None for d in sample), "the benchmark records must be valid"
    inputs = [d.model_dump() for d in sample if d is not None]
    del sample
    gc.collect()
    gc.freeze()

    def best(run: Callable[[], None], count: int) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            run()
            times.append((time.perf_counter() - start) / count)
        return min(times)

    def one_by_one() -> None:
        normalize = mapping.normalize
        for r in records:
            normalize(r, "bench")

    def pages_kept() -> None:
        for i in range(0, n, PAGE):
            page = [mapping.normalize(r, "bench").dossier for r in records[i : i + PAGE]]
        del page

    def model_alone() -> None:
        for data in inputs:
            Dossier.model_validate(data)

    streaming, paged, model = best(one_by_one, n), best(pages_kept, n), best(model_alone, len(inputs))
    print(
        f"normalize, one by one:        {1 / streaming:>8,.0f} records/s/core ({streaming * 1e6:.1f} µs/record)"
    )
    print(f"normalize, pages of {PAGE} kept: {1 / paged:>8,.0f} records/s/core ({paged * 1e6:.1f} µs/record)")
    print(f"  of which pydantic validation of Dossier alone ~{model * 1e6:.1f} µs/record")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
