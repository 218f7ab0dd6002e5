"""`make profile`: where a sync's time goes, call by call (pyinstrument), on a fresh embedded database.

    .venv/bin/python -m bench.profile [--size 20000]

One iGate REST district system of `size` dossiers (the bench's seed), read and loaded once by the real pipeline in
this process, with normalization inline (ONESTOP_NORMALIZE_PROCESSES=0: worker processes would hide it from the
profiler). Writes bench/results/profile-extract.html and profile-load.html (open them in a browser) and prints
each step's call tree, trimmed to the frames that cost at least 2% of it. What `make bench` measures, this
explains.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path

from pyinstrument import Profiler

from bench.common import REST, RESULTS, ROOT, one_rest_district


def profile(size: int, root: Path, results: Path = RESULTS) -> dict[str, Path]:
    from onestop import pipeline

    written = {}
    with ExitStack() as stack:
        one_rest_district(stack, root, size, ONESTOP_NORMALIZE_PROCESSES="0")
        run = pipeline.plan(REST)
        for step, call in (("extract", pipeline.extract), ("load", pipeline.load)):
            profiler = Profiler(interval=0.001)
            with profiler:
                call(run.run_id)
            results.mkdir(parents=True, exist_ok=True)
            written[step] = results / f"profile-{step}.html"
            written[step].write_text(profiler.output_html(), encoding="utf-8")
            print(f"== {step} (run {run.run_id}, {size:,} dossiers)")
            print(
                profiler.output_text(
                    unicode=True, time="percent_of_total", processor_options={"filter_threshold": 0.02}
                )
            )
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.profile", description=__doc__)
    parser.add_argument("--size", type=int, default=20_000, help="dossiers in the REST district system")
    args = parser.parse_args(argv)
    for step, path in profile(args.size, ROOT / "var" / "bench-profile").items():
        print(f"{step}: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
