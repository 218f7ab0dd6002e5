"""The fault proxy's faults (onestop/chaos/proxy.py): a control-API spec validated into a Fault, which counts
the requests it matches and says when to fire. The types and their phases are described in proxy.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

FAULT_TYPES = ("latency", "reset", "timeout", "truncate", "status", "down")
PHASES: dict[str, tuple[str, ...]] = {  # allowed phases per type, the default first
    "latency": ("before", "after"),
    "reset": ("before", "after"),
    "timeout": ("before", "after"),
    "truncate": ("after",),
    "status": ("before", "after"),
    "down": ("before",),
}


@dataclass
class Fault:
    type: str
    every: int = 1
    count: int | None = None
    path: str = ""
    phase: str = "before"
    latency_ms: float = 0
    status: int = 503
    retry_after: float | None = None
    truncate_at: float = 0.5
    seconds: float = 3600
    matched: int = field(default=0, metadata={"state": True})
    injected: int = field(default=0, metadata={"state": True})

    @classmethod
    def from_spec(cls, spec: Any) -> Fault:
        """Validates a control-API spec; ValueError says what is wrong."""
        if not isinstance(spec, dict):
            raise ValueError("a fault spec is a JSON object")
        allowed = {f.name for f in fields(cls) if not f.metadata.get("state")}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ValueError(f"unknown fault field(s) {unknown}; known: {sorted(allowed)}")
        kind = spec.get("type")
        if kind not in FAULT_TYPES:
            raise ValueError(f"type must be one of {list(FAULT_TYPES)}, not {kind!r}")
        phase = spec.get("phase", PHASES[kind][0])
        if phase not in PHASES[kind]:
            raise ValueError(f"phase of a {kind!r} fault must be one of {list(PHASES[kind])}")
        path = spec.get("path", "")
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise ValueError("path must be a string starting with '/'")
        count = spec.get("count")
        retry_after = spec.get("retry_after")
        return cls(
            type=kind,
            phase=phase,
            path=path,
            every=int(_number(spec, "every", 1, low=1, integer=True)),
            count=None if count is None else int(_number(spec, "count", 0, low=0, integer=True)),
            latency_ms=_number(spec, "latency_ms", 0, low=0),
            status=int(_number(spec, "status", 503, low=400, high=599, integer=True)),
            retry_after=None if retry_after is None else _number(spec, "retry_after", 0, low=0),
            truncate_at=_number(spec, "truncate_at", 0.5, low=0, high=0.999999),
            seconds=_number(spec, "seconds", 3600, low=0),
        )

    @property
    def name(self) -> str:
        """The key under which its injections are counted."""
        return f"status_{self.status}" if self.type == "status" else self.type

    def take(self, path: str) -> bool:
        """Counts a request to `path` (if it matches) and says whether to inject into it."""
        if not path.startswith(self.path) or (self.count is not None and self.injected >= self.count):
            return False
        self.matched += 1
        if self.matched % self.every:
            return False
        self.injected += 1
        return True

    def describe(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def summary(self) -> str:
        """type(phase) and the fields that differ from their defaults, for the log."""
        changed = [
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if f.name not in ("type", "phase") and getattr(self, f.name) != f.default
        ]
        return f"{self.type}({self.phase}) {' '.join(changed)}".rstrip()


def _number(
    spec: dict[str, Any],
    key: str,
    default: float,
    *,
    low: float,
    high: float | None = None,
    integer: bool = False,
) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and value != int(value)):
        raise ValueError(f"{key} must be {'an integer' if integer else 'a number'}, not {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{key} must be in [{low}, {'∞' if high is None else high}], not {value!r}")
    return value


def parse_faults(body: bytes) -> list[Fault]:
    """A spec, a list of specs or {"faults": [...]}; an empty list means no faults."""
    try:
        payload = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    if isinstance(payload, dict) and set(payload) == {"faults"}:
        payload = payload["faults"]
    specs = payload if isinstance(payload, list) else [payload]
    return [Fault.from_spec(spec) for spec in specs]
