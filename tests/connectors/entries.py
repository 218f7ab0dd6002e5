"""The district system under test as a data engineer registers it: source `hd_thu` (Huyện Thử), read with the
iGate mapping through connection `c`, its protocol section `spec` under its kind."""

from __future__ import annotations

from typing import Any

from connectors.connection import Connection
from connectors.factory import open_source
from onestop import registry


def entry(kind: str, spec: dict[str, Any], **more: Any) -> dict[str, Any]:
    """The registry entry (`more`: other keys of the entry, such as max_attempts)."""
    return {"name": "hd_thu", "title": "Huyện Thử", "kind": kind, "dialect": "igate", "conn_id": "c", **more,
            kind: spec}  # fmt: skip


def opened(kind: str, spec: dict[str, Any], conn: Connection | None, **more: Any) -> Any:
    """The entry's connector, open on `conn` (None: the connection `c` as Airflow or the environment has it)."""
    return open_source(registry.parse({"sources": [entry(kind, spec, **more)]}).sources[0], conn=conn)
