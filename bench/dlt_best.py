"""dlt at its best on the same REST district system: today's configuration (insert_values, dlt's default
workers), the COPY-based `csv` loader and the `parquet` loader (ADBC), each merging on `id`, the latter two with
tuned workers and writer sizes. The fastest is `dlt_best_dossiers_per_s`; its configuration `dlt_best_config`."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import SPAN_DAYS, CoreShare, create_database, start_igate

if TYPE_CHECKING:
    from bench.stages import Bench

PAGE_SIZE = 200  # our connector's pages: dlt asks for the same
# (label, load_igate.py arguments). Two cores: two normalize processes keep both busy while the extract thread
# waits on the server; a few load threads overlap COPYs of rotated files; files rotate at 20,000 rows so that
# normalize and load have several files to share out, and writers buffer 10,000 rows between flushes.
TUNED = ("--normalize-workers", "2", "--load-workers", "4", "--file-max-items", "20000",
         "--buffer-max-items", "10000")  # fmt: skip
CONFIGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("insert_values, dlt's defaults", ("--loader-file-format", "insert_values")),
    ("csv (COPY), tuned", ("--loader-file-format", "csv", *TUNED)),
    ("parquet (ADBC), tuned", ("--loader-file-format", "parquet", *TUNED)),
)


def run_dlt(python: Path, base_url: str, pg_url: str, dataset: str, extra: tuple[str, ...],
            timeout: float = 1800) -> dict[str, Any]:  # fmt: skip
    """One load_igate.py run; its JSON line, or {"error": …} with the tail of what it said."""
    from bench.dlt_peer.env import LOAD_SCRIPT

    cmd = [str(python), str(LOAD_SCRIPT), "--base-url", base_url, "--client-id", "igate", "--client-secret",
           "secret", "--pg-url", pg_url, "--dataset", dataset, "--page-size", str(PAGE_SIZE), *extra]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout)[-1500:], "args": list(extra)}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "args": list(extra)}


def dlt_best(bench: Bench) -> None:
    """dlt 1.31 rest_api (its own virtual environment): insert_values, csv and parquet, merge on the same key."""
    from bench.dlt_peer.env import ensure_venv

    python = ensure_venv(bench.root)
    pg_url = create_database("dlt_bench")
    args = ("--seed", "7", "--count", str(bench.dlt_size), "--span-days", str(SPAN_DAYS))
    sim, mode = start_igate(
        *args
    )  # the same generator and mode as our REST system: its first dlt_size dossiers
    results: dict[str, dict[str, Any]] = {}
    with sim:
        for i, (label, extra) in enumerate(CONFIGS):
            with CoreShare() as cores:
                result = run_dlt(python, sim.url, pg_url, f"dlt_igate_{i}", extra)
            result["cores"] = cores.share
            results[label] = result
            if "error" in result:
                first = result["error"].strip().splitlines()[-1][:160] if result["error"].strip() else "?"
                bench.note(f"dlt 1.31 rest_api → PostgreSQL, {label}", "failed", f"({first})")
                continue
            rate = result["rows"] / result["seconds"]
            result["dossiers_per_s"] = rate
            cfg = result["config"]
            bench.note(f"dlt 1.31 rest_api → PostgreSQL, {label}", f"{rate:,.0f} dossiers/s",
                       f"(sample of {result['rows']:,}; {cfg['normalize_workers']} normalize / {cfg['load_workers']}"
                       f" load workers, file max items {cfg.get('file_max_items')}; merge on id)")  # fmt: skip
    ok = {label: r for label, r in results.items() if "error" not in r}
    bench.figures["dlt_runs"] = results
    bench.figures["dlt_server_mode"] = mode
    default = ok.get(CONFIGS[0][0])
    bench.figures["dlt_dossiers_per_s"] = default["dossiers_per_s"] if default else None  # today's keys
    bench.figures["dlt"] = default
    if not ok:
        bench.figures |= {"dlt_best_dossiers_per_s": None, "dlt_best_config": None}
        return
    label, best = max(ok.items(), key=lambda kv: kv[1]["dossiers_per_s"])
    bench.figures |= {"dlt_best_dossiers_per_s": best["dossiers_per_s"],
                      "dlt_best_config": {"label": label, "args": best["args"], **best["config"]}}  # fmt: skip
    bench.note("dlt at its best", f"{best['dossiers_per_s']:,.0f} dossiers/s", f"({label})")
    bench.figures.setdefault("cores", {})["dlt_best"] = best["cores"]


def dlt_concurrent(python: Path, urls: list[str], pg_url: str, extra: tuple[str, ...]) -> dict[str, Any]:
    """Several dlt pipelines at once, one per district system, each its own process and dataset."""
    from bench.dlt_peer.env import LOAD_SCRIPT

    procs = []
    started = time.perf_counter()
    for i, url in enumerate(urls):
        cmd = [str(python), str(LOAD_SCRIPT), "--base-url", url, "--client-id", "igate", "--client-secret",
               "secret", "--pg-url", pg_url, "--dataset", f"dlt_rest4_{i}", "--page-size", str(PAGE_SIZE),
               *extra]  # fmt: skip
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      stdin=subprocess.DEVNULL))  # fmt: skip
    outs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - started
    failed = [err[-800:] for p, (_, err) in zip(procs, outs, strict=True) if p.returncode != 0]
    if failed:
        return {"error": failed[0], "seconds": seconds}
    runs = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    rows = sum(r["rows"] for r in runs)
    return {"rows": rows, "seconds": seconds, "dossiers_per_s": rows / seconds, "runs": runs}
