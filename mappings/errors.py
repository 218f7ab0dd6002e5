"""Errors of the mapping layer: problems in a mapping file, and failing fields of a source record."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.dossier import mask
from schemas.text_safety import escape

# Personal data (DESIGN.md "Secrets and personal data"): their offending values are masked in FieldError.
PERSONAL_FIELDS = frozenset({"applicant.id_number", "applicant.phone", "applicant.email"})
VALUE_LIMIT = 80  # characters of an offending value that a FieldError quotes
REASON_LIMIT = 400  # characters of a reason (ours are short; an exception's text may quote a whole value)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a mapping file, located to the line of the offending key."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


class MappingError(Exception):
    """A mapping file that cannot be used. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConversionError(ValueError):
    """Raised inside the engine when one field of one record cannot be converted; never escapes normalize."""

    def __init__(self, reason: str, value: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failing canonical field of one source record (engine conversion or model validation)."""

    field: str  # canonical dotted target with list indexes, e.g. history[3].at
    source_path: str | None  # where the value came from (or the paths tried, joined by " | ")
    reason: str
    value: str | None = None  # the offending raw value, truncated (masked for personal data)

    def describe(self, source: str, record_id: str | None) -> str:
        where = f" ({self.source_path})" if self.source_path else ""
        return f"{source}: record {record_id}: field {self.field}{where}: {self.reason}"


def show_value(field: str, value: object) -> str | None:
    """The raw value as FieldError.value shows it: text, truncated, control and invisible characters escaped
    (\\x00, \\u200b: storable, printable), personal data masked."""
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    if _plain_field(field) in PERSONAL_FIELDS:
        text = mask(text) or text
    return escape(text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…")


def safe_reason(reason: str) -> str:
    """A reason as FieldError.reason holds it: bad characters escaped, at most REASON_LIMIT characters."""
    reason = escape(reason)
    return reason if len(reason) <= REASON_LIMIT else reason[: REASON_LIMIT - 1] + "…"


def _plain_field(field: str) -> str:
    """history[3].at -> history.at (list indexes dropped)."""
    if "[" not in field:
        return field
    out, depth = [], 0
    for ch in field:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)
