"""DAG parsing of a whole country's registry: DagBag processing of the dags folder in a warm process.

Run: .venv/bin/python bench/dag_parse.py [sources] [repeats]   (defaults: 700 sources, 3 repeats)
Prints one JSON line. Not a test: no timing assertions anywhere (tests/bench/test_dag_parse.py checks the
DAGs it finds).

The registry is config/sources.yaml's portal, retention, profiles and defaults with `sources` generated
entries cycling over the profiles igate, dvc_soap, aspnet_xml and lgsp_feed; ONESTOP_SOURCES points at it.

What is measured, in a fresh subprocess with the project's venv Python and its own AIRFLOW_HOME
(onestop.airflow.env.configure):
- `first_load_s`: the warm-up, the first DagBag of the folder (imports onestop.*, reads the registry).
- `min_s` / `median_s` (the figure): `DagBag(dag_folder=<repo>/dags, safe_mode=False)` again, `repeats`
  times. Airflow's importer drops each DAG file's module from sys.modules and executes it again;
  onestop.* stays imported, the registry stays cached by mtime (onestop.registry._load) and so do
  onestop.airflow.dags' shared timetables (a cold parse builds one per cron expression: see first_load_s).
- `cpu_min_s` / `cpu_median_s`: the measuring process's CPU time of the same loads (less disturbed when
  other work shares the machine's cores).
- `registry_reread`: the same, with the registry cache cleared before each DagBag, so the YAML is read and
  validated again, as each file-processor child of a real dag-processor does (it forks from a manager that
  has Airflow imported, but not onestop.*, and it parses one file).
- `serialize_s`: DagSerialization.to_dict of every DAG of one bag, which a dag-processor child does after
  parsing (not part of the DagBag figure).
Airflow 3.3's DagBag has no include_examples argument: AIRFLOW__CORE__LOAD_EXAMPLES=False (set by
configure) keeps the example DAGs out.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("igate", "dvc_soap", "aspnet_xml", "lgsp_feed")
FIXED_DAGS = (
    "onestop_deliver_portal",
    "onestop_redrive",
    "onestop_reconcile",
    "onestop_purge",
    "onestop_alerts",
    "onestop_metrics",
)


def write_registry(path: Path, sources: int, base: Path | None = None) -> list[str]:
    """A registry of `sources` generated entries with `base`'s other blocks; returns the source names."""
    import yaml

    data = yaml.safe_load((base or ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    missing = [p for p in PROFILES if p not in (data.get("profiles") or {})]
    if missing:
        raise ValueError(f"config/sources.yaml has no profile {', '.join(missing)}")
    entries: list[dict[str, Any]] = []
    for i in range(1, sources + 1):
        profile = PROFILES[(i - 1) % len(PROFILES)]
        name = f"vn_src_{i:04d}"
        entry = {
            "name": name,
            "title": f"Đơn vị hành chính số {i:04d} ({profile})",
            "profile": profile,
            "conn_id": f"onestop_src_{name}",
        }
        if profile != "lgsp_feed":  # as in config/sources.yaml: a sector system has no district code
            entry["district_code"] = f"{i:03d}"
        entries.append(entry)
    data["sources"] = entries
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return [e["name"] for e in entries]


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _summary(times: list[float]) -> dict[str, Any]:
    return {
        "min_s": round(min(times), 4),
        "median_s": round(statistics.median(times), 4),
        "times_s": [round(t, 4) for t in times],
    }


def measure(sources: int = 700, repeats: int = 3, registry_reread: bool = True) -> dict[str, Any]:
    """DagBag processing of <repo>/dags over a generated registry of `sources` sources (see the module doc)."""
    with tempfile.TemporaryDirectory(prefix="onestop-dag-parse-") as tmp:
        tmpdir = Path(tmp)
        registry_file = tmpdir / "sources.yaml"
        names = write_registry(registry_file, sources)
        # No bytecode cache (make's var/pycache): the figure stays what the runs before measured.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "ONESTOP_")) and k != "PYTHONPYCACHEPREFIX"
        }
        env.update(
            {
                "ONESTOP_HOME": str(ROOT),
                "ONESTOP_VAR": str(tmpdir / "var"),
                "ONESTOP_SOURCES": str(registry_file),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        args = {
            "dag_folder": str(ROOT / "dags"),
            "airflow_home": str(tmpdir / "airflow"),
            "repeats": repeats,
            "registry_reread": registry_reread,
        }
        proc = subprocess.run(
            [_python(), str(Path(__file__).resolve()), "--child", json.dumps(args)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"the measuring process failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = {f"onestop_{kind}_{n}" for n in names for kind in ("sync", "archive")} | set(FIXED_DAGS)
    found = set(result["dag_ids"])
    return {
        "sources": sources,
        "repeats": repeats,
        "measured": "DagBag of the dags folder in a warm process: DAG modules re-executed, onestop.* imported, "
        "registry cached by mtime",
        **{k: v for k, v in result.items() if k != "dag_ids"},
        "expected_dags": len(expected),
        "missing_dags": sorted(expected - found),
        "unexpected_dags": sorted(found - expected),
        "dag_ids": sorted(found),
        "cpus": os.cpu_count(),
    }


def _child(args: dict[str, Any]) -> None:
    """Runs in the measuring subprocess: prints one JSON line."""
    import gc

    sys.path.insert(0, str(ROOT))
    from onestop.airflow import env as airflow_env

    airflow_env.configure(home=Path(args["airflow_home"]))  # before Airflow is imported

    started = time.perf_counter()
    import airflow
    from airflow.dag_processing.dagbag import DagBag

    airflow_import_s = time.perf_counter() - started
    folder = args["dag_folder"]

    cpu: list[float] = []  # this process's CPU time of each load: less disturbed by a busy machine

    def load() -> tuple[Any, float]:
        gc.collect()  # the previous bag's garbage is not this one's cost
        start, start_cpu = time.perf_counter(), time.process_time()
        bag = DagBag(dag_folder=folder, safe_mode=False)
        cpu.append(time.process_time() - start_cpu)
        return bag, time.perf_counter() - start

    bag, first_load_s = load()
    cpu.clear()
    if bag.import_errors:
        print(json.dumps({"import_errors": bag.import_errors, "dags": len(bag.dags), "dag_ids": []}))
        return

    times, per_file = [], {}
    for _ in range(args["repeats"]):
        del bag
        bag, elapsed = load()
        times.append(elapsed)
        for stat in bag.dagbag_stats:
            entry = per_file.setdefault(
                stat.file, {"dags": stat.dag_num, "tasks": stat.task_num, "times": []}
            )
            entry["times"].append(stat.duration.total_seconds())
    dag_ids = sorted(bag.dags)
    cpu_times = list(cpu)
    import_errors = dict(bag.import_errors)

    from airflow.serialization.serialized_objects import DagSerialization

    start = time.perf_counter()
    for dag in bag.dags.values():
        DagSerialization.to_dict(dag)
    serialize_s = time.perf_counter() - start

    reread = None
    if args["registry_reread"]:
        from onestop import registry

        reread_times = []
        for _ in range(args["repeats"]):
            del bag
            registry._load.cache_clear()
            bag, elapsed = load()
            reread_times.append(elapsed)
            import_errors.update(bag.import_errors)
        reread = _summary(reread_times)

    print(
        json.dumps(
            {
                "dags": len(dag_ids),
                "import_errors": import_errors,
                **_summary(times),
                "cpu_min_s": round(min(cpu_times), 4),
                "cpu_median_s": round(statistics.median(cpu_times), 4),
                "first_load_s": round(first_load_s, 4),
                "airflow_import_s": round(airflow_import_s, 4),
                "registry_reread": reread,
                "serialize_s": round(serialize_s, 4),
                "per_file": {
                    file: {
                        "dags": e["dags"],
                        "tasks": e["tasks"],
                        "min_s": round(min(e["times"]), 4),
                        "median_s": round(statistics.median(e["times"]), 4),
                    }
                    for file, e in sorted(per_file.items())
                },
                "airflow": airflow.__version__,
                "python": sys.version.split()[0],
                "dag_ids": dag_ids,
            },
            ensure_ascii=False,
        )
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child(json.loads(argv[1]))
        return 0
    sources = int(argv[0]) if argv else 700
    repeats = int(argv[1]) if len(argv) > 1 else 3
    result = measure(sources, repeats)
    result.pop("dag_ids")
    print(json.dumps(result, ensure_ascii=False))
    ok = not result["import_errors"] and not result["missing_dags"] and not result["unexpected_dags"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
