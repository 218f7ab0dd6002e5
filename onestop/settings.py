"""Where things live. Everything has an embedded default so that `make demo` needs no configuration."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path


@cache
def home() -> Path:
    """The project folder: ONESTOP_HOME, else the checkout this package was installed from, else the cwd."""
    if env := os.environ.get("ONESTOP_HOME"):
        return Path(env).resolve()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "config" / "sources.yaml").exists():
        return checkout
    return Path.cwd()


def var_dir() -> Path:
    """Data folders (embedded database, Airflow home, simulator state): kept out of git."""
    path = Path(os.environ.get("ONESTOP_VAR", home() / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def sources_file() -> Path:
    return Path(os.environ.get("ONESTOP_SOURCES", home() / "config" / "sources.yaml"))


def db_url_from_env() -> str | None:
    """An external PostgreSQL named by ONESTOP_DB_URL wins over the embedded one."""
    return os.environ.get("ONESTOP_DB_URL") or None
