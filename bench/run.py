"""`make bench`: where the time goes, measured side by side in one run on one PostgreSQL.

    .venv/bin/python -m bench.run [--size 1000000] [--quick] [--render]

A deterministic synthetic province (the simulators, seeded; the large REST system pre-rendered) is read by the
real pipeline; beside it, on the same rows, the same server and in the same run: the REST system read alone, a
lean pipeline (fetch + orjson + COPY + one upsert of the raw record), a raw binary COPY of the canonical rows, a
naive row-by-row upsert, and dlt 1.31's `rest_api` source at its best (insert_values, csv, parquet; merge on the
same key). Then many sources at once: the province's 13 sources under the real Airflow scheduler, and 4 REST
sources read by our 4 syncs against 4 dlt pipelines. Each stage's duration is printed.

Results: the full run writes bench/results/latest.json (committed; README's table is rendered from it),
latest.md and latest.png; `--quick` writes quick.json and quick.md; another `--size` writes run-<size>.json.
`--render` only rewrites README's bench table from the committed latest.json. Targets are reported met or not,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.common import REST, RESULTS, ROOT, SPAN_DAYS  # noqa: F401 - re-exported (bench.profile)
from bench.stages import Bench

FULL_SIZE = 1_000_000


def sizes(size: int, quick: bool) -> dict[str, int]:
    """Sample sizes that keep the full run within 30 minutes on 2 cores, and --quick within 5."""
    if quick:
        # The province's cost in --quick is Airflow's start and 39 task processes, not its rows: 500 each.
        return {"size": 20_000, "sample": 20_000, "extract": 5_000, "dlt_size": 5_000, "province": 500,
                "rest4": 1_000}  # fmt: skip
    # The per-dialect reads run at 1,000-4,000 records/s: 50,000 each keeps them to about 1.5 minutes.
    return {"size": size, "sample": min(size, 100_000), "extract": min(size, 50_000), "dlt_size": min(size, 100_000),
            "province": 20_000, "rest4": 50_000}  # fmt: skip


def plan(bench: Bench, n: dict[str, int]) -> list[tuple[str, Callable[[], None]]]:
    """The stages in order. The source is read alone, and normalize measured, before anything loads the machine
    (after the 1M load, PostgreSQL's autovacuum works on the other core for minutes); disk is measured right
    after the full load and the incremental cycles (before delivery and any purge); the concurrent stages come
    last, once the large REST system is stopped (its pre-rendered pages hold memory)."""
    from bench import ceilings, dlt_best, many_sources

    def stop_large_systems() -> None:
        for sim in bench.sims.values():
            sim.stop()

    return [
        ("source_alone", lambda: ceilings.source_alone(bench)),
        ("extract_parse", bench.extract_parse),
        ("soap_zeep_vs_lxml", bench.soap_zeep_vs_lxml),
        ("normalize", bench.normalize),
        ("e2e", bench.e2e),
        ("lean", lambda: ceilings.lean(bench)),
        ("copy_ceiling", bench.copy_ceiling),
        ("incremental", bench.incremental),
        ("disk", bench.disk),
        ("naive_upsert", bench.naive_upsert),
        ("delivery", bench.delivery),
        ("dlt_best", lambda: dlt_best.dlt_best(bench)),
        ("dag_parse", bench.dag_parse),
        ("stop_simulators", stop_large_systems),
        ("province", lambda: many_sources.province(bench, n["province"])),
        ("rest4", lambda: many_sources.rest4(bench, n["rest4"])),
    ]


def run_stages(bench: Bench, stages: list[tuple[str, Callable[[], None]]]) -> dict[str, str]:
    """Each stage timed and printed; a stage that fails is recorded (its figures stay None) and the run goes on,
    so one broken peer never hides the other figures."""
    errors: dict[str, str] = {}
    durations: dict[str, float] = bench.figures.setdefault("stage_seconds", {})
    for name, stage in stages:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            stage()
        except Exception as exc:
            traceback.print_exc()
            errors[name] = f"{type(exc).__name__}: {str(exc)[:1500]}"
            bench.note(f"stage {name}", "failed", f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
                       if str(exc) else f"({type(exc).__name__})")  # fmt: skip
        durations[name] = round(time.perf_counter() - started, 1)
        print(f"   {name} took {durations[name]:.1f} s", flush=True)
    return errors


def write(figures: dict[str, Any], stem: str) -> Path:
    figures["targets"] = report.targets(figures)
    figures["ratios"] = report.ratios(figures)
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = report.render(figures)
    (RESULTS / f"{stem}.md").write_text(table + "\n", encoding="utf-8")
    path = RESULTS / f"{stem}.json"
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    try:
        report.chart(figures, RESULTS / f"{stem}.png")
    except Exception as exc:
        print(f"bench: no chart ({exc})")
    print("\n" + table, flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--size", type=int, default=FULL_SIZE, help="dossiers in the REST district system")
    parser.add_argument("--quick", action="store_true", help="a smoke-test size (CI), ≤ 5 minutes")
    parser.add_argument("--render", action="store_true", help="only rewrite README's table from latest.json")
    args = parser.parse_args(argv)
    if args.render:
        print("README.md " + ("rewritten" if report.render_readme() else "already up to date"))
        return 0
    n = sizes(args.size, args.quick)
    bench = Bench(n["size"], n["sample"], n["dlt_size"], root=ROOT / "var" / "bench", quick=args.quick)
    bench.figures["sizes"] = n
    bench.extract_sample = n["extract"]
    started = time.perf_counter()
    with bench.stack:
        print("== setup", flush=True)
        bench.setup()
        bench.figures["stage_seconds"] = {"setup": round(time.perf_counter() - started, 1)}
        errors = run_stages(bench, plan(bench, n))
    bench.figures |= {"rows": bench.rows, "errors": errors, "total_s": round(time.perf_counter() - started, 1),
                      "measured_at": datetime.now(UTC).isoformat()}  # fmt: skip
    stem = "quick" if args.quick else "latest" if args.size == FULL_SIZE else f"run-{args.size}"
    path = write(bench.figures, stem)
    if stem == "latest":
        report.render_readme()  # the committed table and the committed JSON come from the same run
    print(f"\nbench: {path.relative_to(ROOT)}, {bench.figures['total_s'] / 60:.1f} min"
          + (f"; stages that failed: {', '.join(errors)}" if errors else ""), flush=True)  # fmt: skip
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
