"""typed_values: a document store's typed-value JSON (DynamoDB's AttributeValue, Firestore's Value, a table of
one's own) is read as plain JSON before the mapping's paths, and a wrapper that does not fit costs its record
alone, naming the field that reads it and the value's path — never a value read past in silence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mapping_samples import MINIMAL, minimal_record

from mappings import CompiledMapping, MappingError, compile_mapping, load_mapping
from mappings.typed import PRESETS, build

HISTORY = """\
  history:
    path: steps
    each: {status: {path: st, code: status}, at: at}
  fees:
    path: fees
    each: {name: name, amount_vnd: amount}
"""
STATUS = "code_tables:\n  status: {target: status, values: {2: 2}}\n"


def mapping_text(typed: str, extra_fields: str = HISTORY) -> str:
    return MINIMAL.format(name="t") + extra_fields + STATUS + f"typed_values: {typed}\n"


@pytest.fixture
def compile_text(write_yaml: Callable[..., Path]) -> Callable[[str], CompiledMapping]:
    return lambda text: compile_mapping(load_mapping(write_yaml(text)))


def dynamo(value: Any) -> Any:
    """A plain JSON value in DynamoDB's typed JSON (what a Scan answers)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [dynamo(v) for v in value]}
    return {"M": {k: dynamo(v) for k, v in value.items()}}


def firestore(value: Any) -> Any:
    """A plain JSON value in Firestore's Value JSON (empty lists and maps without their inner key, as it writes)."""
    if value is None:
        return {"nullValue": None}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [firestore(v) for v in value]} if value else {}}
    return {"mapValue": {"fields": {k: firestore(v) for k, v in value.items()}} if value else {}}


def plain_record(**extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = minimal_record(
        steps=[{"st": 2, "at": "2025-03-12T08:15:00+07:00"}],
        fees=[{"name": "Lệ phí", "amount": 150000}],
        note=None,
        urgent=False,
    )
    record.update(extra)
    return record


def test_a_dynamodb_item_is_read_as_the_plain_record(compile_text: Callable[[str], CompiledMapping]) -> None:
    mapping = compile_text(mapping_text("dynamodb"))
    item = {k: dynamo(v) for k, v in plain_record().items()}
    assert item["fees"] == {"L": [{"M": {"name": {"S": "Lệ phí"}, "amount": {"N": "150000"}}}]}
    outcome = mapping.normalize(item, "src")
    assert outcome.errors == []
    dossier = outcome.dossier
    assert dossier is not None and dossier.applicant.name == "Nguyễn Văn An"
    assert dossier.fees[0].amount_vnd == 150000 and dossier.history[0].status == 2
    assert mapping.record_id(item) == "r1"
    assert mapping.updated_at(item) is not None
    assert item["id"] == {"S": "r1"}  # the record as received is left as it was (staging keeps it)


def test_a_firestore_document_is_read_at_its_fields(compile_text: Callable[[str], CompiledMapping]) -> None:
    text = mapping_text("{preset: firestore, at: fields}").replace(
        "record: {id: id, updated_at: updated}",
        "record: {id: {path: name, transform: 'strip_prefix:projects/p/databases/(default)/documents/hoso/'},"
        " updated_at: fields.updated}",
    )
    text = text.replace("  ma_ho_so: code", "  ma_ho_so: fields.code").replace(": proc", ": fields.proc")
    text = text.replace(": procName", ": fields.procName").replace(": name\n", ": fields.name\n", 1)
    text = text.replace("received_at: received", "received_at: fields.received")
    text = text.replace("path: steps", "path: fields.steps").replace("path: fees", "path: fields.fees")
    mapping = compile_text(text)
    fields = {k: firestore(v) for k, v in plain_record(steps=[], id=None).items()}
    document = {
        "name": "projects/p/databases/(default)/documents/hoso/r7",
        "fields": fields,
        "createTime": "x",
    }
    outcome = mapping.normalize(document, "src")
    assert outcome.errors == [] and outcome.record_id == "r7"
    assert fields["steps"] == {"arrayValue": {}}  # Firestore's empty array: no `values`
    assert outcome.dossier is not None and outcome.dossier.history == []


@pytest.mark.parametrize(
    ("fee", "field", "reason"),
    [
        ({"S": "150000", "N": "150000"}, "fees[0].amount_vnd", "2 type keys ('S', 'N'): one is expected"),
        ({"X": "150000"}, "fees[0].amount_vnd", "unknown type key 'X' (known: S, N, B, BOOL"),
        ({"N": "một trăm"}, "fees[0].amount_vnd", "'N': not a number"),
        ({"N": "1e999999"}, "fees[0].amount_vnd", "'N': not a number"),
        ({"N": "Infinity"}, "fees[0].amount_vnd", "'N': not a number"),
        ({"N": 15.5}, None, None),  # a gateway that wrote the number as JSON: read as that number
        ({}, "fees[0].amount_vnd", "a typed value without its type key"),
        ("150000", "fees[0].amount_vnd", "an object of one type key, got str"),
        ({"L": "x"}, "fees[0].amount_vnd", "'L': a list is expected, got str"),
    ],
)
def test_a_wrapper_that_does_not_fit_costs_its_record_naming_the_field(
    compile_text: Callable[[str], CompiledMapping], fee: Any, field: str | None, reason: str | None
) -> None:
    mapping = compile_text(mapping_text("dynamodb"))
    item = {k: dynamo(v) for k, v in plain_record().items()}
    item["fees"]["L"][0]["M"]["amount"] = fee
    outcome = mapping.normalize(item, "src")
    if field is None:
        assert outcome.dossier is None  # 15.5 đ: a fraction of a dong, refused by the field as any value is
        assert [e.field for e in outcome.errors] == ["fees[0].amount_vnd"]
        return
    assert outcome.dossier is None and outcome.record_id == "r1"
    [error] = outcome.errors
    assert (error.field, error.source_path) == (field, "fees[0].amount")
    assert reason is not None and reason in error.reason and error.reason.startswith("typed value: ")
    assert mapping.canonical(item, "src").__class__.__name__ == "Outcome"  # the pipeline's path says the same


def test_an_unread_attribute_that_does_not_fit_still_costs_the_record(
    compile_text: Callable[[str], CompiledMapping],
) -> None:
    mapping = compile_text(mapping_text("dynamodb"))
    item = {k: dynamo(v) for k, v in plain_record().items()}
    item["ghi chú.x"] = {"S": "a", "BOOL": True, "N": "1", "L": []}
    [error] = mapping.normalize(item, "src").errors
    assert (error.field, error.source_path) == ("(record)", "['ghi chú.x']")
    assert "4 type keys ('S', 'BOOL', 'N' and 1 more)" in error.reason


def test_personal_data_in_a_misfit_is_never_quoted(compile_text: Callable[[str], CompiledMapping]) -> None:
    mapping = compile_text(mapping_text("dynamodb", HISTORY + "  applicant.id_number: cccd\n"))
    item = {k: dynamo(v) for k, v in plain_record().items()}
    item["cccd"] = {"N": "001090012345", "S": "001090012345"}
    [error] = mapping.normalize(item, "src").errors
    assert error.field == "applicant.id_number" and error.value is None
    assert "001090012345" not in error.describe("src", "r1")


def test_personal_data_in_a_key_is_masked_in_the_path_and_the_reason(
    compile_text: Callable[[str], CompiledMapping],
) -> None:
    """A map keyed by phone numbers, or a phone number where a type key should be: the error text is logged."""
    mapping = compile_text(mapping_text("dynamodb"))
    item = {k: dynamo(v) for k, v in plain_record().items()}
    item["lien_he"] = {"M": {"0912345678": {"0987654321": "x"}}}
    [error] = mapping.normalize(item, "src").errors
    described = error.describe("src", "r1")
    assert "0912345678" not in described and "0987654321" not in described
    assert "unknown type key" in described


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"integerValue": "12", "stringValue": "12"}, "2 type keys ('integerValue', 'stringValue')"),
        ({"intValue": "12"}, "unknown type key 'intValue' (known: nullValue, booleanValue"),
        ({"integerValue": "mười hai"}, "'integerValue': not a 64-bit integer"),
        ({"integerValue": str(2**63)}, "'integerValue': not a 64-bit integer"),
        ({"doubleValue": "1.5"}, "'doubleValue': a number is expected, got str"),
        ({"mapValue": []}, "'mapValue': an object holding 'fields' is expected, got a list"),
        (
            {"arrayValue": {"values": {"0": {"stringValue": "x"}}}},
            "'arrayValue': a list is expected, got an object",
        ),
        ({"booleanValue": "true"}, "'booleanValue': true or false is expected, got str"),
    ],
)
def test_a_firestore_value_that_does_not_fit_costs_its_record_naming_source_record_and_field(
    value: Any, reason: str
) -> None:
    typed = build("firestore", None, "fields")
    plain, failures = typed.decode({"name": "n/r7", "fields": {"amount": value, "ok": {"stringValue": "x"}}})
    assert plain == {
        "name": "n/r7",
        "fields": {"amount": None, "ok": "x"},
    }  # the rest still read: the id is named
    [(path, said)] = failures
    assert path == "fields.amount" and reason in said


def test_a_failure_is_described_with_its_source_record_and_field(
    compile_text: Callable[[str], CompiledMapping],
) -> None:
    mapping = compile_text(mapping_text("dynamodb"))
    item = {k: dynamo(v) for k, v in plain_record().items()}
    item["steps"]["L"][0]["M"]["st"] = {"N": "hai"}
    outcome = mapping.normalize(item, "hd_kim_thanh")
    assert outcome.describe("hd_kim_thanh") == [
        "hd_kim_thanh: record r1: field history[0].status (steps[0].st): typed value: 'N': not a number"
    ]


def test_a_hostile_record_lists_fifty_failures_and_counts_the_rest(
    compile_text: Callable[[str], CompiledMapping],
) -> None:
    mapping = compile_text(mapping_text("dynamodb"))
    item = {k: dynamo(v) for k, v in plain_record().items()}
    item.update({f"x{i}": {"Q": i} for i in range(10_000)})
    errors = mapping.normalize(item, "src").errors
    assert len(errors) == 51 and errors[-1].reason == "typed value: 9950 more failures"


def test_nesting_past_the_bound_is_a_failure_not_a_recursion_error(
    compile_text: Callable[[str], CompiledMapping],
) -> None:
    mapping = compile_text(mapping_text("dynamodb"))
    deep: Any = {"S": "x"}
    for _ in range(5000):
        deep = {"L": [deep]}
    item = {k: dynamo(v) for k, v in plain_record().items()} | {"deep": deep}
    [error] = mapping.normalize(item, "src").errors
    assert "nested more than 64 deep" in error.reason and error.field == "(record)"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("mongodb", "'mongodb' is not a preset (one of: dynamodb, firestore, mongo_ejson)"),
        ("{at: fields}", "names a preset (dynamodb, firestore, mongo_ejson) or a table of `types`, or both"),
        ("{types: {S: text, N: numeric}}", "N: unknown kind 'numeric'"),
        ("{types: {S: 'text:values'}}", "only list and map name the key their items are under"),
        ("{preset: dynamodb, at: 'a..b'}", "typed_values.at: 'a..b': keys from the record's root"),
        ("{preset: dynamodb, unwrap: true}", "typed_values.unwrap: unknown key"),
        ("[S, N]", "a preset (dynamodb, firestore, mongo_ejson) or {preset, types, at, plain}"),
        ("{preset: mongo_ejson, plain: 'yes'}", "typed_values.plain: true or false"),
    ],
)
def test_a_table_that_cannot_be_read_does_not_load(
    write_yaml: Callable[..., Path], typed: str, problem: str
) -> None:
    with pytest.raises(MappingError) as info:
        load_mapping(write_yaml(mapping_text(typed)))
    assert problem in str(info.value)


def test_a_path_into_a_type_key_does_not_load(write_yaml: Callable[..., Path]) -> None:
    """`fullname.S` once typed_values reads {"S": …} as its text would never have a value: refused at load."""
    text = mapping_text("dynamodb").replace("applicant.name: name", "applicant.name: name.S")
    with pytest.raises(MappingError) as info:
        load_mapping(write_yaml(text))
    assert "'name.S' steps into the type key 'S', which typed_values reads past" in str(info.value)


@pytest.mark.parametrize(
    ("n", "read"),
    [
        ("150000", 150000),
        ("-7", -7),
        ("0912345678", "0912345678"),
        ("1.50", "1.50"),
        ("1e3", "1e3"),
        (12, 12),
    ],
)
def test_a_number_comes_out_an_int_when_written_as_one_else_as_its_checked_text(n: Any, read: Any) -> None:
    """Nothing is lost: a phone a vendor kept in an N keeps its leading zero; a fraction its digits."""
    assert build("dynamodb", None, "").decode({"x": {"N": n}}) == ({"x": read}, [])


def test_a_phone_kept_in_an_n_keeps_its_leading_zero(compile_text: Callable[[str], CompiledMapping]) -> None:
    mapping = compile_text(mapping_text("dynamodb", HISTORY + "  applicant.phone: phone\n"))
    item = {k: dynamo(v) for k, v in plain_record().items()} | {"phone": {"N": "0912345678"}}
    outcome = mapping.normalize(item, "src")
    assert outcome.dossier is not None and outcome.dossier.applicant.phone == "0912345678"


def test_a_table_of_ones_own_extends_a_preset() -> None:
    typed = build("firestore", {"decimalValue": "number"}, "fields")
    plain, failures = typed.decode(
        {"fields": {"a": {"decimalValue": "1.50"}, "b": {"geoPointValue": {"x": 1}}}}
    )
    assert failures == [] and plain == {"fields": {"a": "1.50", "b": {"x": 1}}}
    assert set(PRESETS["firestore"]) < set(typed.types)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), JSON, max_size=6))
def test_reading_a_typed_record_gives_back_the_plain_one(record: dict[str, Any]) -> None:
    """For any JSON record: decode(encode(record)) == record, in either preset, with no failure."""
    assert build("dynamodb", None, "").decode({k: dynamo(v) for k, v in record.items()}) == (record, [])
    document = {"name": "n", "fields": {k: firestore(v) for k, v in record.items()}}
    assert build("firestore", None, "fields").decode(document) == ({"name": "n", "fields": record}, [])


@settings(max_examples=300, deadline=None)
@given(st.recursive(JSON, lambda inner: st.dictionaries(st.sampled_from(["S", "N", "L", "M", "BOOL", "NULL", "Z"]),
                                                         inner, max_size=3), max_leaves=12))  # fmt: skip
def test_any_json_is_read_or_refused_never_raised(value: Any) -> None:
    """Whatever a hostile system sends, decoding returns (each misfit a failure at its path), never raises."""
    plain, failures = build("dynamodb", None, "").decode({"x": value})
    assert set(plain) == {"x"}
    assert all(path.startswith("x") and reason for path, reason in failures)
    plain, failures = build("firestore", None, "fields").decode({"fields": {"x": value}, "name": "n"})
    assert plain["name"] == "n" and all(path.startswith("fields.x") for path, _ in failures)


# -- MongoDB Extended JSON (mongo_ejson: only the values JSON cannot say are wrapped, the rest plain) -----------

EJSON_KEYS = frozenset(PRESETS["mongo_ejson"])
# a Decimal128 amount is the text of a decimal ("150000.00"): read as an amount of VND, as any amount's text is
EJSON_HISTORY = HISTORY.replace("amount_vnd: amount}", "amount_vnd: {path: amount, type: decimal}}")


def ejson_mapping(extra_fields: str = "") -> str:
    return mapping_text("mongo_ejson", EJSON_HISTORY + extra_fields).replace("{id: id,", "{id: _id,")


def ejson(value: Any) -> Any:
    """A plain JSON value in canonical Extended JSON v2: integers wrapped ($numberInt within 32 bits, else
    $numberLong), texts, booleans, nulls, documents and arrays plain (what EJSON.stringify canonical writes)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"$numberInt" if -(2**31) <= value < 2**31 else "$numberLong": str(value)}
    if isinstance(value, list):
        return [ejson(v) for v in value]
    return {k: ejson(v) for k, v in value.items()}


def canonical_date(at: str) -> dict[str, Any]:
    ms = int(datetime.fromisoformat(at).timestamp() * 1000)
    return {"$date": {"$numberLong": str(ms)}}


def mongo_document(**extra: Any) -> dict[str, Any]:
    """A dossier as a MongoDB collection holds it, in canonical EJSON: an ObjectId, dates as milliseconds in a
    $numberLong, a Decimal128 amount, nested documents and an array of them."""
    document = ejson(plain_record(steps=[{"st": 2}], fees=[{"name": "Lệ phí"}]))
    document.update(
        _id={"$oid": "6751a3f0c2b9e41d8c0f1a2b"},
        updated=canonical_date("2025-03-12T09:00:00+07:00"),
        received=canonical_date("2025-03-12T08:15:00+07:00"),
    )
    document["steps"][0]["at"] = canonical_date("2025-03-12T08:15:00+07:00")
    document["fees"][0]["amount"] = {"$numberDecimal": "150000.00"}
    document.update(extra)
    return document


def test_a_mongo_document_in_canonical_ejson_is_read_as_the_plain_record(
    compile_text: Callable[[str], CompiledMapping],
) -> None:
    mapping = compile_text(ejson_mapping())
    document = mongo_document()
    outcome = mapping.normalize(document, "src")
    assert outcome.errors == [] and outcome.record_id == "6751a3f0c2b9e41d8c0f1a2b"
    dossier = outcome.dossier
    assert dossier is not None and dossier.fees[0].amount_vnd == 150000
    assert dossier.received_at is not None and dossier.received_at.isoformat() == "2025-03-12T08:15:00+07:00"
    assert dossier.history[0].status == 2 and dossier.history[0].at == dossier.received_at
    assert document["updated"] == canonical_date("2025-03-12T09:00:00+07:00")  # as received: left as it was


def test_relaxed_ejson_reads_as_canonical_does() -> None:
    typed = build("mongo_ejson", None, "")
    relaxed = {"at": {"$date": "2025-03-12T01:15:00Z"}, "n": 5, "big": 2**40, "ratio": 0.5, "tags": ["a"]}
    canonical = {
        "at": canonical_date("2025-03-12T08:15:00+07:00"),
        "n": {"$numberInt": "5"},
        "big": {"$numberLong": str(2**40)},
        "ratio": {"$numberDouble": "0.5"},
        "tags": ["a"],
    }
    expected = {"at": "2025-03-12T01:15:00.000Z", "n": 5, "big": 2**40, "ratio": 0.5, "tags": ["a"]}
    assert typed.decode(relaxed) == (expected, []) == typed.decode(canonical)
    assert typed.decode({"legacy": {"$date": 1741742100000}})[0] == {"legacy": "2025-03-12T01:15:00.000Z"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"$date": "12/03/2025"}, "'$date': not a time (ISO 8601 text or milliseconds since 1970)"),
        ({"$date": "2025-03-12T08:15:00"}, "'$date': a time without its offset"),
        ({"$date": {"$numberLong": "9" * 18}}, "'$date': a time out of range (years 1 to 9999)"),
        ({"$date": True}, "'$date': a time is expected (ISO 8601 text or milliseconds since 1970), got bool"),
        ({"$date": {"$numberLong": "mười hai"}}, "'$numberLong': not a 64-bit integer"),
        (
            {"$date": {"$numberLong": "1"}, "ghiChu": "x"},
            "a typed value '$date' has other keys beside it ('ghiChu')",
        ),
        ({"$numberInt": "3000000000"}, "'$numberInt': not a 32-bit integer"),
        ({"$numberDecimal": "NaN"}, "'$numberDecimal': not a number"),
        ({"$numberDouble": "1e999"}, "'$numberDouble': not a number (beyond a double's range)"),
        ({"$numberDouble": "một"}, "'$numberDouble': not a number"),
        ({"$oid": 12}, "'$oid': a text is expected, got"),
    ],
)
def test_an_ejson_value_that_does_not_fit_costs_its_record_naming_source_record_and_field(
    compile_text: Callable[[str], CompiledMapping], value: Any, reason: str
) -> None:
    mapping = compile_text(ejson_mapping())
    document = mongo_document()
    document["steps"][0]["at"] = value
    outcome = mapping.normalize(document, "hd_tu_ky")
    assert outcome.dossier is None and outcome.record_id == "6751a3f0c2b9e41d8c0f1a2b"
    [error] = outcome.errors
    assert (error.field, error.source_path) == ("history[0].at", "steps[0].at")
    assert reason in error.reason, error.reason
    assert error.describe("hd_tu_ky", outcome.record_id).startswith(
        "hd_tu_ky: record 6751a3f0c2b9e41d8c0f1a2b: field history[0].at (steps[0].at): typed value: "
    )


def test_personal_data_in_an_ejson_misfit_is_never_quoted(
    compile_text: Callable[[str], CompiledMapping],
) -> None:
    mapping = compile_text(ejson_mapping("  applicant.phone: phone\n"))
    document = mongo_document(
        phone={"$numberInt": "02203852123"}
    )  # a landline kept as a number: past 32 bits
    [error] = mapping.normalize(document, "src").errors
    assert error.field == "applicant.phone" and "2203852123" not in error.describe("src", "r1")
    assert "not a 32-bit integer" in error.reason
    document = mongo_document(phone={"$date": "0912345678"})
    assert "0912345678" not in mapping.normalize(document, "src").errors[0].describe("src", "r1")
    # keys beside a type key are quoted by the reason: masked as any personal data is
    document = mongo_document(received={"$date": 1, "0912345678": "x", "an.nguyen@example.vn": 1})
    [said] = mapping.normalize(document, "src").errors
    assert "0912345678" not in said.describe("src", "r1") and "an.nguyen" not in said.describe("src", "r1")
    assert "has other keys beside it" in said.reason


def test_a_table_of_ones_own_reads_plain_values_with_plain_true(write_yaml: Callable[..., Path]) -> None:
    mapping = compile_mapping(load_mapping(write_yaml(mapping_text("{types: {$when: date}, plain: true}"))))
    record = minimal_record(received={"$when": 1741742100000}, steps=[], fees=[])
    outcome = mapping.normalize(record, "src")
    assert outcome.errors == [] and outcome.dossier is not None
    assert outcome.dossier.received_at is not None
    assert outcome.dossier.received_at.isoformat() == "2025-03-12T08:15:00+07:00"
    assert build("dynamodb", None, "").plain is False and build("dynamodb", None, "", True).plain is True


EJSON_RECORD = st.dictionaries(st.text(max_size=6).filter(lambda k: k not in EJSON_KEYS), JSON, max_size=6)


@settings(max_examples=200, deadline=None)
@given(EJSON_RECORD)
def test_reading_a_canonical_ejson_record_gives_back_the_plain_one(record: dict[str, Any]) -> None:
    """decode(ejson(record)) == record for any JSON record whose keys are no type keys, with no failure."""
    # a document keyed `$oid` is a wrapper by EJSON's own rule: not a plain record
    assume(not any(EJSON_KEYS & set(o) for o in _objects(record)))
    assert build("mongo_ejson", None, "").decode(ejson(record)) == (record, [])


def _objects(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value, *(o for v in value.values() for o in _objects(v))]
    if isinstance(value, list):
        return [o for v in value for o in _objects(v)]
    return []


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_a_date_as_milliseconds_and_as_its_iso_text_read_the_same_instant(at: datetime) -> None:
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)
    ms = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    typed = build("mongo_ejson", None, "")
    canonical, failures = typed.decode({"t": {"$date": {"$numberLong": str(ms)}}})
    relaxed, _ = typed.decode({"t": {"$date": at.isoformat()}})
    assert failures == [] and canonical == relaxed
    assert datetime.fromisoformat(canonical["t"]) == at


@settings(max_examples=300, deadline=None)
@given(st.recursive(JSON, lambda inner: st.dictionaries(st.sampled_from(["$date", "$numberLong", "$numberInt", "$oid",
                                                                         "$numberDecimal", "$numberDouble", "x"]),
                                                         inner, max_size=3), max_leaves=12))  # fmt: skip
def test_any_json_is_read_as_ejson_or_refused_never_raised(value: Any) -> None:
    """Whatever a hostile gateway sends, mongo_ejson returns (each misfit a failure at its path), never raises."""
    plain, failures = build("mongo_ejson", None, "").decode({"x": value, "id": "r1"})
    assert plain["id"] == "r1" and all(path.startswith("x") and reason for path, reason in failures)
