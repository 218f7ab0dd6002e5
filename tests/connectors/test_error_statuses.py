"""errors[].status: a REST source's rules that read HTTP error answers. DynamoDB and every AWS JSON API answer each
error with HTTP 400 and a `__type`: a throttled call is to be retried, a refused key to fail fast, and only the
body tells them apart. An answer of such a status that no rule explains keeps the meaning of its status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.connection import Connection
from connectors.errors import AuthError, ConfigError, ProtocolError
from tests.connectors.entries import opened
from tests.connectors.scripted_server import scripted_server

AMZ = {"Content-Type": "application/x-amz-json-1.0"}
PREFIX = "com.amazonaws.dynamodb.v20120810#"
SPEC: dict[str, Any] = {
    "request": {"method": "POST", "path": "/", "json": {"Limit": 2, "ExclusiveStartKey": "{cursor}"}},
    "records": "Items",
    "paginator": {"type": "cursor", "cursor_path": "LastEvaluatedKey", "cursor_type": "object"},
    "errors": [
        {"status": [400], "when": {"path": "__type", "in": [f"{PREFIX}UnrecognizedClientException",
                                                              f"{PREFIX}AccessDeniedException"]},
         "code": "__type", "message": "message", "means": "auth"},
        {"status": [400], "when": {"path": "__type", "in": [f"{PREFIX}ThrottlingException",
                                                              f"{PREFIX}ProvisionedThroughputExceededException"]},
         "code": "__type", "message": "message", "means": "transient"},
    ],
}  # fmt: skip


def amz_error(name: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return 400, AMZ, json.dumps({"__type": PREFIX + name, "message": message}).encode()


def items(*ids: str) -> tuple[int, dict[str, str], bytes]:
    return 200, AMZ, json.dumps({"Items": [{"id": i} for i in ids], "Count": len(ids)}).encode()


def read(
    answers: list[tuple[int, dict[str, str], bytes]], spec: dict[str, Any] = SPEC
) -> tuple[list[str], int]:
    with scripted_server(answers) as (url, log):
        reader = opened("rest", spec, Connection("c", host=url), max_attempts=3)
        return [r.record["id"] for chunk in reader.pages(None, None) for r in chunk], len(log)


def test_a_throttled_call_answered_400_is_retried_as_its_rule_says() -> None:
    ids, calls = read([amz_error("ProvisionedThroughputExceededException", "Rate exceeded"), items("a", "b")])
    assert ids == ["a", "b"] and calls == 2


def test_a_refused_key_answered_400_fails_fast_as_credentials_with_the_vendors_words() -> None:
    refused = amz_error(
        "UnrecognizedClientException", "The security token included in the request is invalid."
    )
    with pytest.raises(
        AuthError, match=r"^hd_thu: page: the system answered an error .*Unrecognized"
    ) as info:
        read([refused, items("a")])
    assert "The security token included in the request is invalid." in str(info.value)


def test_a_400_no_rule_explains_is_what_its_status_says_with_the_systems_words() -> None:
    answers = [amz_error("ValidationException", "The provided starting key is invalid"), items("a")]
    with pytest.raises(
        ProtocolError, match=r"page: HTTP 400: .*The provided starting key is invalid"
    ) as info:
        read(answers)
    assert info.value.http_status == 400


def test_a_400_that_is_not_json_is_what_its_status_says() -> None:
    with pytest.raises(ProtocolError, match=r"page: HTTP 400: Bad Request"):
        read([(400, {"Content-Type": "text/plain"}, b"Bad Request"), items("a")])


def test_a_rule_with_a_status_does_not_read_2xx_answers_and_one_without_does_not_read_errors() -> None:
    """A 200 answer that happens to hold `__type` is data; a 2xx rule never turns a 400 into something else."""
    ok = (
        200,
        AMZ,
        json.dumps({"__type": PREFIX + "UnrecognizedClientException", "Items": [{"id": "a"}]}).encode(),
    )
    assert read([ok]) == (["a"], 1)
    plain = {
        **SPEC,
        "errors": [{"when": {"path": "__type", "exists": True}, "message": "message", "means": "transient"}],
    }
    with pytest.raises(ProtocolError, match=r"HTTP 400"):
        read([amz_error("ThrottlingException", "slow down"), items("a")], plain)


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ({**SPEC, "answer": "xml", "records": "Items"}, r"errors\[\]\.status reads the JSON body of an HTTP error"),
        ({**SPEC, "errors": [{"status": [99], "when": {"path": "x", "exists": True}}]}, r"HTTP statuses are 200 to 599"),
        ({**SPEC, "embedded": {"path": "d", "format": "json", "errors": SPEC["errors"]}},
         r"errors\[\]\.status reads the JSON body of an HTTP error answer: it needs `answer: json` without"),
    ],
    ids=["xml-answer", "not-a-status", "embedded"],
)  # fmt: skip
def test_a_status_rule_that_cannot_be_read_is_refused_by_the_registry(
    spec: dict[str, Any], said: str
) -> None:
    with pytest.raises(ConfigError, match=said):
        opened("rest", spec, Connection("c", host="http://127.0.0.1:9"))


def test_a_400_whose_body_nests_past_any_parser_is_what_its_status_says() -> None:
    """The error body is read as the source's answers are (parse_json): nesting no parser follows is no rule's
    document, not a crash of the read."""
    deep = b'{"__type": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ProtocolError, match=r"page: HTTP 400") as info:
        read([(400, AMZ, deep), items("a")])
    assert info.value.http_status == 400
