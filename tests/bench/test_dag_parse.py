"""The DAG-parse benchmark (bench/dag_parse.py) on a small generated registry: every DAG is found, none fails.

No timing assertions: the figures are the benchmark's report, not a pass mark.
"""

from __future__ import annotations

from bench.dag_parse import FIXED_DAGS, measure


def test_a_generated_registry_of_50_sources_parses_into_100_source_dags_and_the_fixed_ones() -> None:
    result = measure(sources=50, repeats=1)
    print(
        f"\n50 sources: {result['dags']} DAGs, DagBag min {result['min_s']} s, "
        f"first load {result['first_load_s']} s"
    )

    assert result["import_errors"] == {}
    names = [f"vn_src_{i:04d}" for i in range(1, 51)]
    expected = {f"onestop_{kind}_{n}" for n in names for kind in ("sync", "archive")} | set(FIXED_DAGS)
    assert len(expected) == 100 + len(FIXED_DAGS)
    assert set(result["dag_ids"]) == expected
    assert result["dags"] == len(expected)
    assert result["per_file"]["onestop_sources.py"]["dags"] == 100
