"""`make test-hostile`: the hostile inputs and the generated records through the real sync path; one line per
bad input (declared vs observed), then the two summary lines. Exit code 0 only when nothing is unexpected,
crashed, half-loaded or leaked.

    python -m tests.hostile.report [--long] [--only NAME ...] [--no-generated]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings

from tests.hostile import manifest
from tests.hostile.harness import Harness
from tests.hostile.runner import Verdict, run_all, shown


def summary(verdicts: list[Verdict]) -> str:
    count = {k: sum(v.declared == k for v in verdicts) for k in ("refused", "quarantined", "loaded")}
    outcome = {k: sum(v.outcome == k for v in verdicts) for k in ("unexpected", "crashed", "half-loaded")}
    leaked = sum(bool(v.leaks) for v in verdicts)
    return (
        f"hostile: {len(verdicts)} inputs, refused {count['refused']}, quarantined {count['quarantined']},"
        f" loaded {count['loaded']}, unexpected {outcome['unexpected']}, crashed {outcome['crashed']},"
        f" half-loaded {outcome['half-loaded']}, leaked {leaked}"
    )


def bad_line(v: Verdict) -> str:
    parts = [f"{v.outcome.upper() if v.outcome != 'ok' else 'LEAKED'} {v.name} [{v.protocol}/{v.via}]:"]
    parts.append(f"declared {v.expected}; observed {shown(v.observed)}")
    if v.problems:
        parts.append("— " + shown("; ".join(v.problems), 400))
    if v.leaks:
        parts.append("— leaked in " + "; ".join(v.leaks))
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile.report")
    parser.add_argument("--long", action="store_true", help="more generated records, random seeds")
    parser.add_argument("--only", nargs="*", default=None, help="these inputs only (names)")
    parser.add_argument("--no-generated", action="store_true", help="skip the generated records")
    parser.add_argument("--verbose", action="store_true", help="a line per input as it runs")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    inputs = manifest.load()
    if args.only:
        inputs = [i for i in inputs if i.name in set(args.only)]
    harness = Harness().start()
    try:

        def progress(v: Verdict) -> None:
            if args.verbose:
                print(
                    f"  {v.seconds:6.2f}s {v.outcome:11} {'LEAK ' if v.leaks else ''}{v.name}",
                    file=sys.__stderr__,
                    flush=True,
                )

        verdicts = run_all(harness, inputs, progress)
        generated_line = None
        if not args.no_generated:
            from tests.hostile import generated

            generated_line = generated.run(harness, long=args.long, verbose=args.verbose)
    finally:
        harness.stop()
    # Airflow and the database server log through handlers of their own (to stdout, some at exit): the last
    # two lines of the output must be the summary.
    logging.getLogger().handlers.clear()
    logging.disable(logging.CRITICAL)
    bad = [v for v in verdicts if v.bad]
    for v in bad:
        print(bad_line(v))
    if generated_line is not None:
        for note in generated_line.notes:
            print(note)
    print(f"({time.monotonic() - started:.0f} s)")
    print(summary(verdicts))
    if generated_line is not None:
        print(generated_line.line())
    ok = not bad and (generated_line is None or generated_line.ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
