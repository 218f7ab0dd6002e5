"""Personal data masked on every log line: `install_log_masking()` puts schemas.personal_data's mask on the
stdlib handlers of the root logger (the CLI's, Airflow's task log handler) and on structlog's processor chains
(Airflow 3's own task log lines, exception tracebacks included)."""

from __future__ import annotations

import logging
import sys
from typing import Any

from schemas.personal_data import mask_data, mask_text


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
    """A structlog processor (just before the renderer): every string, key and personal number of the event
    masked, the exception rendered first (as a string, or already as dicts by Airflow's JSON chain) and masked
    with it."""
    if event_dict.get("exc_info"):
        import structlog

        event_dict = structlog.processors.format_exc_info(logger, method_name, event_dict)
    return mask_data(event_dict)


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
