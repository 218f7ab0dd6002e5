"""Personal data (citizen IDs, phones, e-mails) masked in every log line and message we keep.

`mask_text` masks what looks like personal data and leaves what merely has digits alone: dates (20250701,
2025-07-01T10:00:00, 01.07.2025), MaHoSo codes (000.00.14.H56-200203-0118), procedure codes (1.000656).
`install_log_masking()` puts it on every log line: stdlib handlers of the root logger (the CLI's, Airflow's task
log handler) and structlog's processor chains (Airflow 3's own task log lines, exception tracebacks included).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

# An e-mail address: the first character and the domain stay.
_EMAIL = re.compile(r"(?<![\w.+-])([\w+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")

# A phone (or a CCCD) written in groups: 0912 345 678, 0912.345.678, 091-234-5678, (024) 3823 4567,
# +84 912 345 678, (+84) 912 345 678. Whether it is one is decided by its digits (see _grouped) so that
# dates (01.07.2025, 03 07 2025), times and the dotted parts of agency and procedure codes stay as they are.
_GROUPED = re.compile(
    r"(?<![\w.+\-/])"  # not the tail of a code, a number or a path
    r"(?:\(\+84\)|\+84|\(0\d{2,3}\)|0\d{2,3})"  # +84, (+84), (024), 024, 0912
    r"(?:[ .\-]\d{2,6}){1,4}"  # then groups, each after one separator
    r"(?![\w\-/])"
)
_GROUP = re.compile(r"[ .\-]\d+")

# A run of 9 to 12 digits: a CCCD (12), an old CMND (9), a phone without separators (0 or 84 + 9 or 10 digits).
# Shorter runs (dates: 8 digits) and longer ones (yyyyMMddHHmmss: 14) are not personal data.
_DIGITS = re.compile(r"(?<!\d)(?<!\d[.,])(\+?\d{9,12})(?!\d|[.,]\d)")


def _star_digits(text: str, keep: int = 3) -> str:
    """Every digit but the last `keep` becomes '*'; separators stay (0912 345 678 -> **** *** 678)."""
    digits = sum(c.isdigit() for c in text)
    out, seen = [], 0
    for c in text:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - keep else "*")
        else:
            out.append(c)
    return "".join(out)


def _personal_number(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if text.lstrip("(").startswith("+84"):
        digits = "0" + digits[2:]
    return bool(
        re.fullmatch(r"0[35789]\d{8}", digits)  # a mobile number
        or re.fullmatch(r"02\d{9}", digits)  # a landline with its area code
        or re.fullmatch(r"0\d{11}", digits)  # a CCCD written in groups
    )


def _grouped(m: re.Match[str]) -> str:
    """The longest leading run of groups that is a phone (or a CCCD) is masked; what follows stays."""
    text = m[0]
    ends = [g.end() for g in _GROUP.finditer(text)]
    for end in reversed(ends):
        if _personal_number(text[:end]):
            return _star_digits(text[:end]) + text[end:]
    return text


def mask_text(text: str) -> str:
    if not text:
        return text
    text = _EMAIL.sub(lambda m: f"{m[1]}***@{m[2]}", text)
    text = _GROUPED.sub(_grouped, text)
    return _DIGITS.sub(lambda m: _star_digits(m[0]), text)


def mask_data(value: Any) -> Any:
    """Every string inside dicts, lists and tuples masked (keys stay): for error lists kept as JSON."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_data(v) for v in value)
    return value


class MaskingFilter(logging.Filter):
    """Attach to a handler: rewrites the rendered message (and a traceback) so no personal data reaches the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it, we do not make it worse
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # logging.Formatter uses exc_text when it is set: an exception quoting a response is masked too.
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def mask_event(logger: Any, method_name: str, event_dict: dict) -> dict:
    """A structlog processor (just before the renderer): every string of the event masked, the exception
    rendered first (as a string, or already as dicts by Airflow's JSON chain) and masked with it."""
    if event_dict.get("exc_info"):
        import structlog

        event_dict = structlog.processors.format_exc_info(logger, method_name, event_dict)
    return {k: mask_data(v) for k, v in event_dict.items()}


def _before_renderer(processors: Any) -> Any:
    """The chain with mask_event just before its last step (the renderer); a list is changed in place."""
    if not isinstance(processors, list | tuple) or not processors or mask_event in processors:
        return processors
    if isinstance(processors, list):
        processors.insert(len(processors) - 1, mask_event)
        return processors
    return (*processors[:-1], mask_event, processors[-1])


def install_log_masking() -> None:
    """Mask every log line: a filter on every handler of the root logger (Airflow's task log handler included),
    and, where structlog is in use (Airflow 3 tasks), a processor in its chains. Idempotent; call it after
    logging is configured (the CLI after basicConfig, a task when it starts)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
        # structlog's ProcessorFormatter renders a record's exception from the exception object itself.
        if hasattr(handler.formatter, "processors"):
            handler.formatter.processors = _before_renderer(handler.formatter.processors)  # type: ignore[union-attr]
    if "structlog" in sys.modules:
        import structlog

        # The configured list is shared by loggers already cached: changed in place, they mask too.
        _before_renderer(structlog.get_config()["processors"])
