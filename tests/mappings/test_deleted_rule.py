"""record.deleted: how a mapping recognizes a change feed's deletion (which is no dossier), and its errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from mapping_samples import MINIMAL, igate_record, minimal_record

from mappings import CompiledMapping, MappingError, compile_mapping, get_mapping, load_mapping
from onestop.simulators.feed import to_dialect
from schemas import Channel, DossierStatus

MINIMAL_RECORD_LINE = "record: {id: id, updated_at: updated}\n"


def with_deleted(rule: str) -> str:
    """The minimal mapping with a block `record:` whose `deleted:` starts at line 5."""
    text = MINIMAL.format(name="t")
    assert MINIMAL_RECORD_LINE in text
    return text.replace(MINIMAL_RECORD_LINE, "record:\n  id: id\n  updated_at: updated\n  deleted:" + rule)


def problems(path: Path) -> list[str]:
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    return [str(p) for p in info.value.problems]


@pytest.fixture
def compile_text(write_yaml: Callable[..., Path]) -> Callable[[str], CompiledMapping]:
    return lambda text: compile_mapping(load_mapping(write_yaml(text)))


def test_a_deletion_is_recognized_by_its_marker(compile_text: Callable[[str], CompiledMapping]) -> None:
    mapping = compile_text(with_deleted(" {path: _op, equals: delete}\n"))
    rule = mapping.mapping.deleted
    assert rule is not None and (rule.key, rule.line, rule.paths, rule.equals) == (
        "record.deleted",
        5,
        ("_op",),
        frozenset({"delete"}),
    )
    assert mapping.is_deleted({"id": "r9", "_op": "delete"})
    assert mapping.is_deleted({"id": "r9", "_op": " delete "})  # text is stripped, as everywhere
    for record in (
        {"_op": "upsert"},
        {"_op": "DELETE"},
        {"id": "r9"},
        {"_op": None},
        {"_op": ["delete"]},
        "x",
    ):
        assert not mapping.is_deleted(record), record
    # A deletion is keyed like any record, without being normalized.
    assert mapping.record_id({"id": "r9", "_op": "delete"}) == "r9"


def test_equals_takes_a_list_compared_as_text(compile_text: Callable[[str], CompiledMapping]) -> None:
    mapping = compile_text(
        with_deleted("\n    path: [meta.action, action]\n    equals: [delete, removed, 1, true]\n")
    )
    assert mapping.mapping.deleted is not None
    assert mapping.mapping.deleted.equals == {"delete", "removed", "1", "true"}
    for action in ("removed", 1, "1", True, "true"):
        assert mapping.is_deleted({"action": action}), action
    for action in (0, "0", False, "upsert", 1.5):
        assert not mapping.is_deleted({"action": action}), action
    # A fallback chain: the first path with a value decides ("" is a null value and is skipped).
    assert mapping.is_deleted({"meta": {"action": ""}, "action": "delete"})
    assert not mapping.is_deleted({"meta": {"action": "update"}, "action": "delete"})


def test_without_the_rule_nothing_is_a_deletion(
    compile_yaml: Callable[..., CompiledMapping], igate: CompiledMapping
) -> None:
    mapping = compile_yaml()
    assert mapping.mapping.deleted is None
    assert not mapping.is_deleted({"_op": "delete", "deleted": True})
    assert not igate.is_deleted(igate_record(_op="delete"))


def test_a_deletion_is_not_normalized_into_a_dossier(compile_text: Callable[[str], CompiledMapping]) -> None:
    mapping = compile_text(with_deleted(" {path: _op, equals: delete}\n"))
    outcome = mapping.normalize({"id": "r9", "_op": "delete", "updated": "2025-03-12T09:00:00Z"}, "s")
    assert outcome.dossier is None and outcome.record_id == "r9"
    assert outcome.describe("s") == [
        "s: record r9: field (record): a deletion (record.deleted), not a dossier"
    ]
    # Everything else normalizes as before.
    good = mapping.normalize(minimal_record(_op="upsert"), "s")
    assert good.errors == [] and good.dossier is not None


def test_equals_missing_is_an_error_with_file_and_line(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(with_deleted("\n    path: _op\n"))
    assert problems(path) == [
        f"{path}:5: record.deleted.equals: missing: the value (or list of values) that marks a deletion"
    ]


def test_every_problem_of_the_rule_is_located(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(with_deleted("\n    equals: []\n    when: always\n"))
    assert problems(path) == [
        f"{path}:5: record.deleted.path: missing: the path to the value that marks a deletion (e.g. _op)",
        f"{path}:6: record.deleted.equals: an empty list: give the value(s) that mark a deletion",
        f"{path}:7: record.deleted.when: not allowed here (allowed: path, equals)",
    ]
    path = write_yaml(
        with_deleted("\n    path: 'a..b'\n    equals:\n      - delete\n      - {x: 1}\n      -\n")
    )
    assert problems(path) == [
        f"{path}:6: record.deleted.path: bad path 'a..b': an empty step at character 2",
        f"{path}:9: record.deleted.equals[1]: {{'x': 1}}: a value is text, a number or true/false",
        f"{path}:10: record.deleted.equals[2]: None: a value is text, a number or true/false",
    ]
    path = write_yaml(with_deleted(" _op\n"))
    assert problems(path) == [
        f"{path}:5: record.deleted: a mapping {{path, equals}}: where to look, and the value(s) that mean deleted"
    ]
    path = write_yaml(
        MINIMAL.format(name="t").replace("updated_at: updated}", "updated_at: updated, gone: x}")
    )
    assert problems(path) == [f"{path}:2: record.gone: unknown key (expected id, updated_at, deleted)"]


def test_the_lgsp_feed_dialect() -> None:
    mapping = get_mapping("lgsp_feed")
    assert mapping.mapping.deleted is not None and mapping.mapping.deleted.equals == {"delete"}
    # Items as the feed serves them: a deletion carries no record.
    deletion = {
        "ack_id": "3-9",
        "op": "delete",
        "id": "abc",
        "occurredAt": "2025-03-20T02:00:00Z",
        "record": None,
    }
    assert mapping.is_deleted(deletion) and mapping.record_id(deletion) == "abc"
    # A deletion has no LastModified: its update time is when it was announced, in Vietnam time.
    assert mapping.updated_at(deletion) == datetime.fromisoformat("2025-03-20T09:00:00+07:00")

    dossier = to_dialect(igate_record(), "Sở Tư pháp tỉnh Hải Dương")
    record = {"ack_id": "3-8", "op": "upsert", "id": dossier["Id"], "occurredAt": "x", "record": dossier}
    assert (dossier["Channel"], dossier["Status"], dossier["DateReceived"]) == (
        2,
        "returned",
        "2025-03-12T01:15:00Z",
    )
    assert not mapping.is_deleted(record)
    outcome = mapping.normalize(record, "lgsp_tuphap")
    d = outcome.dossier
    assert outcome.errors == [] and d is not None
    assert d.channel is Channel.IN_PERSON  # this system's 2 is the canonical 1
    assert d.status is DossierStatus.RETURNED and d.status_raw == "returned"
    assert d.received_at == datetime.fromisoformat("2025-03-12T08:15:00+07:00")
    assert str(d.received_at.tzinfo) == "Asia/Ho_Chi_Minh"
    assert [e.status for e in d.history][-1] is DossierStatus.RETURNED
    assert d.fees[0].amount_vnd == 50000 and d.applicant.id_number == "030085001234"
