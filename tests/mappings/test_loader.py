"""Loading a mapping validates all of it first; each problem is `<file>:<line>: <key>: <message>`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mapping_samples import MINIMAL

from mappings import Mapping, MappingError, Problem, load_mapping


def problems(path: Path) -> list[str]:
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    return [str(p) for p in info.value.problems]


def with_fields(extra: str) -> str:
    """The minimal mapping (fields end at line 10) plus `extra` lines under fields: from line 11."""
    return MINIMAL.format(name="t") + extra


def test_the_minimal_mapping_loads(write_yaml: Callable[..., Path]) -> None:
    mapping = load_mapping(write_yaml(MINIMAL.format(name="t")))
    assert isinstance(mapping, Mapping)
    assert (
        mapping.dialect == "t" and mapping.timezone == "Asia/Ho_Chi_Minh" and mapping.date_formats == ("iso",)
    )
    assert mapping.fields["ma_ho_so"].paths == ("code",)
    assert mapping.fields["received_at"].type == "datetime"  # the type comes from the canonical field


def test_an_unknown_target_field(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(with_fields("  ma_ho_sso: code\n  applicant.nmae: x\n"))
    assert problems(path) == [
        f"{path}:11: fields.ma_ho_sso: unknown target field: no field 'ma_ho_sso' in Dossier (did you mean ma_ho_so?)",
        f"{path}:12: fields.applicant.nmae: unknown target field: no field 'nmae' in applicant (did you mean name?)",
    ]


def test_an_unknown_code_table(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(with_fields("  result_delivery: {path: giao, code: delivery}\n"))
    assert problems(path) == [
        f"{path}:11: fields.result_delivery.code: unknown code table 'delivery' (tables: none defined)"
    ]


def test_a_status_value_that_is_not_a_canonical_status(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        MINIMAL.format(name="t")
        + """\
code_tables:
  status:
    target: status
    values:
      0: 1
      1: 11
"""
    )
    assert problems(path) == [
        f"{path}:16: code_tables.status.values.1: 11 is not a status code (valid: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)"
    ]


def test_an_unknown_transform(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(with_fields("  procedure_local_code: {path: p, transform: [upper, shout]}\n"))
    [problem] = problems(path)
    assert problem.startswith(
        f"{path}:11: fields.procedure_local_code.transform: unknown transform 'shout' (known: "
    )
    assert "national_procedure_code" in problem and "upper" in problem


def test_a_duplicate_key(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(with_fields("  note: ghiChu\n  ma_ho_so: maHoSo\n"))
    assert problems(path) == [f"{path}:12: fields.ma_ho_so: duplicate key (first at line 4)"]


def test_a_yaml_syntax_error(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml("dialect: t\nrecord:\n  id: id\n  updated_at: [updated\nfields:\n  ma_ho_so: code\n")
    (found,) = problems(path)  # libyaml (CSafeLoader) and pure PyYAML word the rest differently
    assert found.startswith(f"{path}:5: yaml: syntax error: while parsing a flow sequence (line 4)")
    assert "expected ',' or ']'" in found


def test_several_problems_are_reported_together(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        """\
        dialect: t
        record: {id: id}
        colour: blue
        date_formats: [iso, dd/MM/yyy]
        code_tables:
          channel: {target: chanel, values: {1: 1}}
        fields:
          ma_ho_so: code
          procedure_code: {path: p, type: money}
          procedure_name: name
          channel: {path: c, code: channel}
          status: s
          applicant.name: n
          received_at: r
          history: history
          summary: {path: s, each: {a: b}}
          note: {type: str}
          province_code: {const: 30}
        """
    )
    assert problems(path) == [
        f"{path}:2: record.updated_at: missing: the path to the source's update time (the sync watermark)",
        f"{path}:3: colour: unknown key (expected one of: dialect, description, record, timezone, date_formats, "
        "null_values, code_tables, fields, typed_values, json_text)",
        f"{path}:4: date_formats[1]: unknown date format 'dd/MM/yyy': yyy is no token (a year is yyyy or yy)",
        f"{path}:6: code_tables.channel.target: unknown target 'chanel' (one of: status, channel, result_delivery, "
        "applicant_type, id_type, str, int)",
        f"{path}:9: fields.procedure_code.type: unknown type 'money' (expected one of: str, int, float, bool, "
        "datetime, date, decimal)",
        f"{path}:11: fields.channel.code: unknown code table 'channel' (tables: none defined)",
        f"{path}:15: fields.history: history is a list: give `each` with the rules for its items",
        f"{path}:16: fields.summary.each: `each` is only for list fields; summary is text",
        f"{path}:17: fields.note: a rule needs `path` or `const`",
        f'{path}:18: fields.province_code.const: 30 does not fit province_code: Input should be a valid string (quote it: "30")',
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "  fees: {path: fees, each: {name: n, amount_vnd: a, amount: a}}\n",
            "fields.fees.each.amount: unknown target field: "
            "no field 'amount' in Fee (did you mean amount_vnd?)",
        ),
        (
            "  fees: {path: fees, each: {amount_vnd: a}}\n",
            "fields.fees.each: required field name has no rule",
        ),
        (
            "  status_raw: {path: s, type: datetime}\n",
            "fields.status_raw.type: type datetime does not fit status_raw (text)",
        ),
        (
            "  applicant: a\n",
            "fields.applicant: applicant is a group of fields: map them one by one (applicant.type, …)",
        ),
        (
            "  source_record_id: x\n",
            "fields.source_record_id: not mappable: set by the engine from record.id",
        ),
        (
            "  due_at: {path: d, formats: [MM/yyyy]}\n",
            "fields.due_at.formats[0]: 'MM/yyyy' is partial (no day): only for date fields",
        ),
        ("  note: {path: n, const: x}\n", "fields.note: `const` stands alone (drop path)"),
        ("  channel: {path: c, default: 7}\n", "fields.channel: duplicate key (first at line 7)"),
        (
            "  result_delivery: {path: r, default: 7}\n",
            "fields.result_delivery.default: 7 does not fit result_delivery: Input should be 0 or 1",
        ),
        (
            "  history.at: h\n",
            "fields.history.at: unknown target field: history is a list: map its items with `each`",
        ),
        ("  note: a..b\n", "fields.note.path: bad path 'a..b': an empty step at character 2"),
        (
            "  fees: {zip: {Ma: a}, path: f, each: {name: Ma, amount_vnd: Ma}}\n",
            "fields.fees.zip: `zip` makes the items from parallel lists: drop `path`",
        ),
        (
            "  fees: {zip: [a, b], each: {name: Ma, amount_vnd: Ma}}\n",
            "fields.fees.zip: a mapping of item key -> the path of its list (`{ThoiDiem: QT_ThoiDiem}`)",
        ),
        (
            "  fees: {zip: {Ma.x: a}, each: {name: Ma, amount_vnd: Ma}}\n",
            "fields.fees.zip.Ma.x: an item key is one plain key (`each` reads it as a path)",
        ),
        (
            "  fees: {zip: {Ma: a, Tien: b}, each: {name: Ma, amount_vnd: SoTien}}\n",
            "fields.fees.each.amount_vnd: path 'SoTien' names no `zip` key (they are: Ma, Tien)",
        ),
        ("  note: {zip: {a: b}}\n", "fields.note.zip: `zip` is only for list fields; note is text"),
    ],
)
def test_other_problems(write_yaml: Callable[..., Path], extra: str, expected: str) -> None:
    path = write_yaml(with_fields(extra))
    assert problems(path) == [f"{path}:11: {expected}"]


@pytest.mark.parametrize("target", ["{}", "[1, {a: b}]", "{x: 1}"])
def test_a_code_table_target_that_is_a_mapping_or_a_list_is_a_problem_not_a_crash(
    write_yaml: Callable[..., Path], target: str
) -> None:
    path = write_yaml(
        f"""\
        dialect: t
        record: {{id: id, updated_at: u}}
        code_tables:
          channel: {{target: {target}, values: {{1: 1}}}}
        fields:
          ma_ho_so: code
        """
    )
    found = problems(path)
    assert any(p.startswith(f"{path}:4: code_tables.channel.target: unknown target") for p in found), found


def test_the_dialect_must_match_the_file_name(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(MINIMAL.format(name="igate"), name="other")
    assert problems(path) == [f"{path}:1: dialect: 'igate' does not match the file name other.yaml"]


def test_problems_are_data(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(with_fields("  ma_ho_sso: code\n"))
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    [problem] = info.value.problems
    assert problem == Problem(str(path), 11, "fields.ma_ho_sso", problem.message)


def test_the_shipped_mappings_load() -> None:
    for path in sorted(Path(__file__).resolve().parents[2].joinpath("mappings").glob("*.yaml")):
        assert load_mapping(path).dialect == path.stem
