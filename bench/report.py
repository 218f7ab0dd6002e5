"""The bench's report: targets (met or not, never hidden), the markdown table rendered from the figures alone
(so README's table can be re-rendered from the committed latest.json and checked against it), and the chart."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT, share_summary

README = ROOT / "README.md"
LATEST = RESULTS / "latest.json"
BEGIN, END = "<!-- bench:begin (python -m bench.run --render) -->", "<!-- bench:end -->"


def _ratio(a: Any, b: Any) -> float | None:
    return a / b if a is not None and b else None


def _lowest(*values: Any) -> float | None:
    present = [v for v in values if v]
    return min(present) if present else None


def ratios(f: dict[str, Any]) -> dict[str, float | None]:
    return {
        "load_vs_copy": _ratio(f.get("load_rows_per_s"), f.get("copy_rows_per_s")),
        "e2e_vs_ceiling": _ratio(f.get("e2e_dossiers_per_s"),
                                 _lowest(f.get("lean_dossiers_per_s"), f.get("copy_rows_per_s"))),
        "e2e_vs_lean": _ratio(f.get("e2e_dossiers_per_s"), f.get("lean_dossiers_per_s")),
        "e2e_vs_dlt": _ratio(f.get("e2e_dossiers_per_s"), f.get("dlt_dossiers_per_s")),
        "e2e_vs_dlt_best": _ratio(f.get("e2e_dossiers_per_s"), f.get("dlt_best_dossiers_per_s")),
        "rest4_vs_dlt_rest4": _ratio(f.get("rest4_dossiers_per_s"), f.get("dlt_rest4_dossiers_per_s")),
        "load_vs_naive": _ratio(f.get("load_rows_per_s"), f.get("naive_upsert_rows_per_s")),
    }  # fmt: skip


# (id, what, kind, value from figures and ratios, comparison, threshold, format). The ids are stable: tools
# and the README test refer to them.
Check = tuple[str, str, str, Callable[[dict, dict], Any], str, float, str]
CHECKS: tuple[Check, ...] = (
    ("source_alone", "source alone ≥ 50,000 records/s (REST, pages of 200)", "gate",
     lambda f, r: f.get("source_alone_records_per_s"), ">=", 50_000, "{:,.0f}/s"),
    ("normalize_per_core", "normalize ≥ 20,000 dossiers/s per core (REST JSON)", "gate",
     lambda f, r: f.get("normalize_per_s_per_core"), ">=", 20_000, "{:,.0f}/s"),
    ("load_vs_copy", "load ≥ 0.5× the raw COPY of the same rows", "gate",
     lambda f, r: r.get("load_vs_copy"), ">=", 0.5, "{:.2f}×"),
    ("e2e_absolute", "end to end ≥ 4,000 dossiers/s", "gate",
     lambda f, r: f.get("e2e_dossiers_per_s"), ">=", 4_000, "{:,.0f}/s"),
    ("e2e_vs_ceiling", "end to end ≥ 0.5× min(lean, raw COPY)", "gate",
     lambda f, r: r.get("e2e_vs_ceiling"), ">=", 0.5, "{:.2f}×"),
    ("disk_per_dossier", "disk ≤ 3,200 bytes per live dossier", "gate",
     lambda f, r: f.get("disk_bytes_per_dossier"), "<=", 3_200, "{:,.0f} B"),
    ("peak_pss", "peak PSS of the sync's process tree < 500 MB", "gate",
     lambda f, r: f.get("peak_pss_mb"), "<", 500, "{:,.0f} MB"),
    ("incremental_time", "incremental cycle at 1M ≤ 1.2× at 10k, in time", "gate",
     lambda f, r: f.get("incremental_ratio_1m_vs_10k"), "<=", 1.2, "{:.2f}×"),
    ("incremental_per_record", "incremental cycle at 1M ≤ 1.2× at 10k, per record read", "gate",
     lambda f, r: f.get("incremental_ms_per_record_ratio_1m_vs_10k"), "<=", 1.2, "{:.2f}×"),
    ("dag_parse_700", "700-source DAG folder parse < 2 s", "gate",
     lambda f, r: f.get("dag_parse_s_700_sources"), "<", 2, "{:.2f} s"),
    ("soap_lxml_vs_zeep", "SOAP lxml streaming ≥ 3× zeep objects", "gate",
     lambda f, r: f.get("soap_lxml_vs_zeep"), ">=", 3, "{:.1f}×"),
    ("e2e_vs_dlt_best", "stretch: end to end ≥ 3× dlt at its best", "stretch",
     lambda f, r: r.get("e2e_vs_dlt_best"), ">=", 3, "{:.2f}×"),
    ("rest4_vs_dlt_rest4", "stretch: 4 REST sources ≥ 3× 4 dlt pipelines", "stretch",
     lambda f, r: r.get("rest4_vs_dlt_rest4"), ">=", 3, "{:.2f}×"),
)  # fmt: skip
COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, "<": lambda v, t: v < t,
}  # fmt: skip


def targets(f: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets against this run's figures: each with its id, value, threshold and met (a figure
    the run could not measure is not met)."""
    r = ratios(f)
    out = []
    for id_, what, kind, get, op, threshold, fmt in CHECKS:
        value = get(f, r)
        out.append({"id": id_, "target": what, "kind": kind, "value": value, "op": op, "threshold": threshold,
                    "measured": fmt.format(value) if value is not None else "—",
                    "met": value is not None and COMPARE[op](value, threshold)})  # fmt: skip
    return out


def render(f: dict[str, Any] | None) -> str:
    """The markdown of one run's figures: measures, ratios, targets. From the JSON alone (README renders it)."""
    if not f:
        return "No full run recorded yet: `make bench`, then commit `bench/results/latest.json`."
    head = (f"One {'quick' if f.get('quick') else 'full'} run, {f.get('size', 0):,} dossiers,"
            f" {str(f.get('measured_at', ''))[:16].replace('T', ' ')} UTC"
            + (f", {f['total_s'] / 60:.1f} min" if f.get("total_s") else "") + ":")  # fmt: skip
    lines = [head, "", "| measure | figure | note |", "|---|---:|---|"]
    lines += [f"| {m} | {v} | {n} |" for m, v, n in f.get("rows", [])]
    lines += ["", "| ratio | value |", "|---|---:|"]
    lines += [f"| {k} | {v:.2f}× |" if v is not None else f"| {k} | — |" for k, v in ratios(f).items()]
    lines += ["", "| target (2 cores, one run) | id | measured | met |", "|---|---|---:|:---:|"]
    lines += [f"| {t['target']} | `{t['id']}` | {t['measured']} | {'yes' if t['met'] else '**no**'} |"
              for t in f.get("targets") or targets(f)]  # fmt: skip
    lines += stretch_limits(f)
    if f.get("stage_seconds"):
        lines += ["", "Stage durations: " + ", ".join(f"{k} {v:.0f} s" for k, v in f["stage_seconds"].items())
                  + "."]  # fmt: skip
    return "\n".join(lines)


CORES_DURING = (("e2e", "our end to end"), ("lean", "the lean pipeline"), ("dlt_best", "dlt at its best"),
                ("rest4_ours", "our 4 syncs at once"), ("rest4_dlt", "4 dlt pipelines at once"))  # fmt: skip


def stretch_limits(f: dict[str, Any]) -> list[str]:
    """What limits the stretch targets, from this run's figures: the rate each needs against the lean pipeline
    (which does less than ours: no validation, no versions, no history, no outbox), and where the machine's
    cores went meanwhile (figures["cores"]: bench.common.CoreShare)."""
    lines = []
    times = {id_: threshold for id_, *_, threshold, _fmt in CHECKS}  # the stretch targets' "3×"
    need_best = times["e2e_vs_dlt_best"] * (f.get("dlt_best_dossiers_per_s") or 0)
    need_rest4 = times["rest4_vs_dlt_rest4"] * (f.get("dlt_rest4_dossiers_per_s") or 0)
    lean, e2e = f.get("lean_dossiers_per_s"), f.get("e2e_dossiers_per_s")
    if need_best and lean:
        lines.append(f"- `e2e_vs_dlt_best` needs {need_best:,.0f} dossiers/s end to end: {need_best / lean:.2f}×"
                     f" the lean pipeline's {lean:,.0f}/s, which does less than ours on the same cores.")  # fmt: skip
    if need_rest4 and e2e:
        lines.append(f"- `rest4_vs_dlt_rest4` needs {need_rest4:,.0f} dossiers/s from 4 sources at once:"
                     f" {need_rest4 / e2e:.2f}× our single source end to end ({e2e:,.0f}/s), on the same cores.")  # fmt: skip
    cores = f.get("cores") or {}
    for key, label in CORES_DURING:
        if cores.get(key):
            share = cores[key]
            lines.append(f"- The cores during {label}: {share_summary(share)} (of {share['core_seconds']:,.0f}"
                         " core-seconds).")  # fmt: skip
    return ["", "What limits the stretch targets (this run):", "", *lines] if lines else []


def readme_section(text: str) -> str | None:
    """What README holds between the bench markers (None without them)."""
    match = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    return match.group(1) if match else None


def load_latest(path: Path = LATEST) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def render_readme(readme: Path = README, latest: Path = LATEST) -> bool:
    """README's bench table rewritten from the committed latest.json; True when it changed."""
    text = readme.read_text(encoding="utf-8")
    if readme_section(text) is None:
        raise SystemExit(f"{readme}: no {BEGIN} … {END} markers")
    new = re.sub(re.escape(BEGIN) + r"\n.*?\n" + re.escape(END),
                 lambda _: f"{BEGIN}\n{render(load_latest(latest))}\n{END}", text, flags=re.S)  # fmt: skip
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


CHARTED = {
    "source_alone_records_per_s": "source alone (REST server)",
    "lean_dossiers_per_s": "lean pipeline (ceiling)",
    "copy_rows_per_s": "raw binary COPY (ceiling)",
    "load_rows_per_s": "load (merge from staging)",
    "naive_upsert_rows_per_s": "naive row-by-row upsert",
    "e2e_dossiers_per_s": "end to end, REST",
    "dlt_best_dossiers_per_s": "dlt at its best, same source",
    "province_dossiers_per_s": "province, 13 sources at once",
    "rest4_dossiers_per_s": "4 REST sources, ours",
    "dlt_rest4_dossiers_per_s": "4 REST sources, dlt",
    "normalize_per_s_per_core": "normalize, one core",
    "deliver_dossiers_per_s": "delivery to the portal",
}


def chart(figures: dict[str, Any], path: Path) -> None:
    """Throughputs side by side, on a log scale (they span three orders of magnitude)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(label, figures[key]) for key, label in CHARTED.items() if figures.get(key)]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(shown) + 1.2))
    ax.barh([label for label, _ in shown], [value for _, value in shown], color="#2f6f9f")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("rows or dossiers per second (log scale)")
    ax.set_title(f"onestop-esb bench: {figures['size']:,} dossiers, {figures.get('measured_at', '')[:16]}")
    for i, (_, value) in enumerate(shown):
        ax.text(value, i, f" {value:,.0f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
