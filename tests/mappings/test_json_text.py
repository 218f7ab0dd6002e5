"""json_text: a value that holds a JSON document written as text (a ticketing system's multi-line text field that an
intake app fills with a dossier's steps, as Zendesk's custom fields are read by their id) is read as JSON before the
rules read it, so that a list rule's path reaches into it; a text there that is not JSON costs its record alone,
naming the field that reads it — never a value read past in silence — and the record as received is left as it
was."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mapping_samples import MINIMAL, minimal_record

from mappings import CompiledMapping, MappingError, compile_mapping, load_mapping

STEPS = "custom_fields[?(@.id=='360023')][0].value"
FEES = "custom_fields[?(@.id=='360024')][0].value"
RULES = f"""\
  history:
    path: "{STEPS}"
    each: {{status: {{path: st, code: status}}, at: at, actor: who}}
  fees:
    path: "{FEES}"
    each: {{name: name, amount_vnd: amount}}
code_tables:
  status: {{target: status, values: {{2: 2, 4: 4}}}}
json_text: ["{STEPS}", "{FEES}"]
"""


@pytest.fixture
def mapping(write_yaml: Callable[..., Path]) -> CompiledMapping:
    return compile_mapping(load_mapping(write_yaml(MINIMAL.format(name="t") + RULES)))


def ticket(steps: Any, fees: Any = "[]") -> dict[str, Any]:
    return minimal_record(
        custom_fields=[
            {"id": 360001, "value": "HS-1"},
            {"id": 360023, "value": steps},
            {"id": 360024, "value": fees},
        ]
    )


def test_a_list_kept_as_json_text_in_a_field_read_by_its_id_is_read_as_the_list(
    mapping: CompiledMapping,
) -> None:
    steps = json.dumps(
        [
            {"st": 2, "at": "2025-03-12T01:15:00Z", "who": "Đỗ Quang Vinh"},
            {"st": 4, "at": "2025-03-13T02:00:00Z"},
        ]
    )
    record = ticket(steps, json.dumps([{"name": "Lệ phí", "amount": 50000}]))
    received = copy.deepcopy(record)
    outcome = mapping.normalize(record, "src")
    assert outcome.errors == [] and outcome.dossier is not None
    assert [(h.status, h.actor) for h in outcome.dossier.history] == [(2, "Đỗ Quang Vinh"), (4, None)]
    assert outcome.dossier.history[0].at.isoformat() == "2025-03-12T08:15:00+07:00"
    assert outcome.dossier.fees[0].amount_vnd == 50000
    assert record == received, "the record as received is left as it was (staging keeps it)"
    assert mapping.canonical(record, "src").values["history"][1]["status"] == 4  # type: ignore[union-attr]


@pytest.mark.parametrize("steps", [None, "", "   ", []])
def test_no_text_or_json_already_is_left_as_it_is(mapping: CompiledMapping, steps: Any) -> None:
    outcome = mapping.normalize(ticket(steps), "src")
    assert outcome.errors == [] and outcome.dossier is not None and outcome.dossier.history == []


@pytest.mark.parametrize(
    "steps",
    [
        '[{"st": 2, "at": "2025-03-12T01:15:00Z"',  # cut short
        "Tiếp nhận lúc 08:15",  # words typed where the app writes JSON
        "[" * 5000 + "]" * 5000,  # nested past any parser
    ],
)
def test_a_text_that_is_not_json_costs_its_record_naming_the_field(
    mapping: CompiledMapping, steps: str
) -> None:
    outcome = mapping.normalize(ticket(steps), "src")
    assert outcome.dossier is None and outcome.record_id == "r1"
    [error] = outcome.errors
    assert error.field == "history" and error.reason.startswith("not JSON text")
    assert steps[:20] not in error.reason or steps.startswith("[")


def test_a_nan_in_the_text_costs_its_record_at_the_field_that_reads_it(mapping: CompiledMapping) -> None:
    outcome = mapping.normalize(ticket("[]", '[{"name": "Lệ phí", "amount": NaN}]'), "src")
    assert outcome.dossier is None and [e.field for e in outcome.errors] == ["fees[0].amount_vnd"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.text(alphabet=st.characters(categories=("L", "N", "Zs", "P")), min_size=1, max_size=40).filter(
            lambda t: t.strip() == t and t
        ),
        max_size=5,
    )
)
def test_any_text_inside_the_json_comes_out_as_written(mapping: CompiledMapping, actors: list[str]) -> None:
    steps = [{"st": 2, "at": "2025-03-12T01:15:00Z", "who": who} for who in actors]
    outcome = mapping.normalize(ticket(json.dumps(steps, ensure_ascii=False)), "src")
    if (
        outcome.dossier is None
    ):  # a text the dossier refuses (its bound, a control): the record, never the read
        assert outcome.errors and all(e.field.startswith("history[") for e in outcome.errors)
        return
    import unicodedata

    assert [h.actor for h in outcome.dossier.history] == [unicodedata.normalize("NFC", a) for a in actors]


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("notes", "a list of paths"),
        (["custom_fields[?(@.id=='1')]"], "a filter followed by an index"),
        (["custom_fields[?(@.id=='1')].value"], "a filter followed by an index"),
        (["$.notes"], "no `$.`"),
        ([12], "a path (text)"),
    ],
)
def test_json_text_names_places_of_one_text(write_yaml: Callable[..., Path], value: Any, said: str) -> None:
    text = MINIMAL.format(name="t") + f"json_text: {json.dumps(value)}\n"
    with pytest.raises(MappingError) as info:
        load_mapping(write_yaml(text))
    assert said in str(info.value) and "t.yaml:" in str(info.value)
