"""`make test-vendors`: run the vendor tests, then say in one line what they onboarded and compared.

    python -m tests.vendors.report [pytest args...]

The last line is `vendors: N onboarded, F fields compared, M mismatches`; the exit code is non-zero when
pytest failed or any field mismatched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    report = Path(os.environ.get("ONESTOP_VENDORS_REPORT") or ROOT / "var" / "vendors-report.json")
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)  # a stale report must not count for this run
    env = {**os.environ, "ONESTOP_VENDORS_REPORT": str(report)}
    # the vendor tests only; the repository's pytest options still apply (the loopback-only socket guard)
    code = subprocess.call([sys.executable, "-m", "pytest", "tests/vendors", *argv], cwd=ROOT, env=env)
    totals = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}
    onboarded = sum(1 for v in totals.values() if v.get("onboarded"))
    fields = sum(int(v.get("fields", 0)) for v in totals.values())
    mismatches = sum(int(v.get("mismatches", 0)) for v in totals.values())
    print(f"vendors: {onboarded} onboarded, {fields} fields compared, {mismatches} mismatches", flush=True)
    return 1 if code != 0 or mismatches or not totals else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
