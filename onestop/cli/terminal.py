"""What every command writes through: the rich console and the log setup."""

from __future__ import annotations

import logging
import sys

from rich.console import Console

# Without a terminal (CI, a pipe) rich assumes 80 columns, too narrow for the per-source tables.
console = Console() if sys.stdout.isatty() else Console(width=160)


def setup_logging(verbose: bool) -> None:
    from onestop.privacy import install_log_masking

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    install_log_masking()
