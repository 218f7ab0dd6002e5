"""The standard streams of a test run that starts noisy parts in its own process (Airflow, the embedded
PostgreSQL), kept out of its report."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator


class _Output:
    text = ""


@contextlib.contextmanager
def quiet() -> Iterator[_Output]:
    """File descriptors 1 and 2 (and so Python's sys.stdout/err, and any stream a library kept) into one
    temporary file, read back at the end."""
    out = _Output()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield out
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            out.text = sink.read().decode("utf-8", "replace")
