"""Pieces every kind of source spec shares: strict models, durations, paths and conditions on an answer."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mappings.paths import PathSyntaxError, compile_path

_DURATION = re.compile(r"^(?P<n>\d+)\s*(?P<unit>s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: Any) -> Any:
    if isinstance(value, str) and (m := _DURATION.match(value.strip())):
        return timedelta(**{_UNITS[m["unit"]]: int(m["n"])})
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
# An Airflow connection id as Airflow accepts one (airflow.models.connection.sanitize_conn_id): another (empty, a
# space, a NUL) could never be defined, and config check would only warn that it is not.
ConnId = Annotated[str, Field(pattern=r"^[\w#!()\-.:/\\]+$", max_length=250)]


class Spec(BaseModel):
    """Unknown keys are errors (with a "did you mean" from the registry's error report)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def check_path(text: str, what: str) -> str:
    """A path of the mapping path language (`data.items`, `result[0].list`, `@total`); '' is the answer itself."""
    if text:
        try:
            compile_path(text)
        except PathSyntaxError as exc:
            raise ValueError(f"{what}: {exc}") from None
    return text


def get_path(document: Any, text: str) -> Any:
    """The value at a path ('' = the document); None when any step is missing."""
    return compile_path(text).get(document) if text else document


def leaf(value: Any) -> Any:
    """An XML leaf's text as element_to_dict gives it ({"#text": …} when it has attributes we dropped), else
    the value itself."""
    return value.get("#text") if isinstance(value, dict) and set(value) <= {"#text"} else value


def as_text(value: Any) -> str | None:
    """How a condition compares values: as text, booleans as true/false (so `false` matches false and "false")."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_TESTS = ("equals", "not_equals", "in_", "not_in", "exists", "present")


class Condition(Spec):
    """A test on one value of an answer: exactly one of equals, not_equals, in, not_in, exists, present."""

    path: str = Field(description="where the value is in the answer (the path language of the mappings)")
    equals: Any = Field(
        default=None, description="the value equals this (compared as text; true/false for booleans)"
    )
    not_equals: Any = Field(default=None, description="the value is present and differs from this")
    in_: list[Any] | None = Field(default=None, alias="in", description="the value is one of these")
    not_in: list[Any] | None = Field(default=None, description="the value is present and none of these")
    exists: bool | None = Field(
        default=None,
        description="true: the path has a value (not null, not an empty element); false: it has none",
    )
    present: bool | None = Field(
        default=None,
        description="true: the path is there at all (even null or an empty element); false: it is not",
    )

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        check_path(self.path, "path")
        given = [k for k in _TESTS if k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("a condition has exactly one of equals, not_equals, in, not_in, exists, present")
        return self

    def holds(self, document: Any) -> bool:
        if "present" in self.model_fields_set:
            return has_path(document, self.path) == bool(self.present)
        value = as_text(get_path(document, self.path))
        if "exists" in self.model_fields_set:
            return (value is not None) == bool(self.exists)
        if "equals" in self.model_fields_set:
            return value == as_text(self.equals)
        if "not_equals" in self.model_fields_set:
            return value is not None and value != as_text(self.not_equals)
        if "in_" in self.model_fields_set:
            return value in {as_text(v) for v in self.in_ or ()}
        return value is not None and value not in {as_text(v) for v in self.not_in or ()}


def has_path(document: Any, text: str) -> bool:
    """Whether every step of a path is present (a present null counts: 'no next cursor' is an answer)."""
    from mappings.paths import Where, parse_steps

    if not text:
        return True
    for step in parse_steps(text)[0]:
        if isinstance(step, Where):
            document = step.pick(document)
            if document is None:
                return False
            continue
        if isinstance(step, int):
            if not isinstance(document, list) or not -len(document) <= step < len(document):
                return False
        elif not isinstance(document, dict) or step not in document:
            return False
        document = document[step]
    return True
