"""The hostile inputs that run through Airflow (`via: dag`), in a process of their own: a database of their own
on the server the main process started, their own HostileServer and Airflow home (see tests/hostile/harness.py).

    python -m tests.hostile.dag_worker --url URL --pg-log FILE --out FILE NAME...

Writes the verdicts as a JSON list to --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import asdict
from pathlib import Path

from tests.hostile import manifest
from tests.hostile.harness import Harness
from tests.hostile.runner import Runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile.dag_worker")
    parser.add_argument("--url", required=True)
    parser.add_argument("--pg-log", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    inputs = [i for i in manifest.load() if i.name in set(args.names)]
    harness = Harness().start(url=args.url, pg_log=args.pg_log)
    try:
        harness.dags()  # Airflow's imports and metadata before the first input's clock starts
        runner = Runner(harness)
        verdicts = [asdict(runner.run_input(inp)) for inp in inputs]
    finally:
        harness.stop()
    args.out.write_text(json.dumps(verdicts, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
