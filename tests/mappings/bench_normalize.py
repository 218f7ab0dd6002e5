"""Throughput of mappings: normalize (engine + pydantic validation) of iGate records with 8 history events.

Run: .venv/bin/python tests/mappings/bench_normalize.py [records]
Not a test (no timing assertions anywhere). Records are processed page by page, as a sync run does; the
input records are built up front and frozen out of the garbage collector (gc.freeze), because a sync run
streams its input and does not hold 20,000 parsed records alive while it normalizes.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mapping_samples import igate_batch  # noqa: E402

from mappings import get_mapping  # noqa: E402
from schemas import Dossier  # noqa: E402

PAGE = 1000


def main(n: int = 20_000) -> None:
    mapping = get_mapping("igate")
    records = igate_batch(n)
    pages = [records[i : i + PAGE] for i in range(0, n, PAGE)]
    sample = [mapping.normalize(r, "bench").dossier for r in records[:PAGE]]
    assert all(d is not None for d in sample), "the benchmark records must be valid"
    inputs = [d.model_dump() for d in sample if d is not None]
    gc.collect()
    gc.freeze()

    best = best_model = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for page in pages:
            dossiers = [mapping.normalize(r, "bench").dossier for r in page]
        best = min(best, (time.perf_counter() - start) / n)
        start = time.perf_counter()
        for data in inputs:  # pydantic alone on the same dossiers, for the split
            Dossier.model_validate(data)
        best_model = min(best_model, (time.perf_counter() - start) / len(inputs))
    del dossiers
    print(
        f"normalize: {1 / best:,.0f} records/s on one core ({best * 1e6:.1f} µs/record: "
        f"pydantic validation ~{best_model * 1e6:.1f} µs, mapping engine ~{(best - best_model) * 1e6:.1f} µs)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
