"""Progress bars for long steps, shown only where a person watches (the demo, the CLI on a terminal).

The pipeline reports progress through `task()`; in Airflow and tests nothing is drawn.
"""

from __future__ import annotations

from typing import Any

_progress: Any = None  # a rich.progress.Progress while enabled


class _Task:
    def __init__(self, description: str) -> None:
        self.id = _progress.add_task(description, total=None) if _progress is not None else None

    def advance(self, n: int) -> None:
        if self.id is not None and _progress is not None:
            _progress.advance(self.id, n)

    def done(self) -> None:
        if self.id is not None and _progress is not None:
            _progress.remove_task(self.id)
            self.id = None


def task(description: str) -> _Task:
    return _Task(description)


def enable(progress: Any) -> None:
    global _progress
    _progress = progress


def disable() -> None:
    global _progress
    _progress = None
