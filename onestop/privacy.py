"""Personal data (citizen IDs, phones, e-mails) masked in every log line and message we keep."""

from __future__ import annotations

import logging
import re

# 9 or 12 digit IDs, Vietnamese phones (0 or +84 then 9-10 digits), e-mail addresses.
_PATTERNS = [
    (re.compile(r"(?<![\d.])(\+?84|0)(\d{5,6})(\d{3})(?![\d.])"), lambda m: "*" * len(m[1] + m[2]) + m[3]),
    (re.compile(r"(?<![\d.])(\d{6,9})(\d{3})(?![\d.])"), lambda m: "*" * len(m[1]) + m[2]),
    (re.compile(r"\b([\w.+-])[\w.+-]*@([\w-]+\.[\w.-]+)\b"), lambda m: f"{m[1]}***@{m[2]}"),
]


def mask_text(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class MaskingFilter(logging.Filter):
    """Attach to a handler: rewrites the rendered message so no personal data reaches the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_masking() -> None:
    """Mask on every handler of the root logger (Airflow's task log handlers included)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
