"""The source registry (config/sources.yaml): one entry per district or sector system.

Adding a district is one entry here (and, for a new vendor dialect, one mappings/<dialect>.yaml): no Python.
Protocol details shared by every system of one vendor live in a `profiles:` entry that sources name.
"""

from __future__ import annotations

import re
from datetime import timedelta
from difflib import get_close_matches
from functools import cache
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator

from connectors.errors import ConfigError
from connectors.spec.common import ConnId, Duration, Spec
from connectors.spec.source import SourceConfig
from onestop import settings


class PortalConfig(Spec):
    conn_id: ConnId = "onestop_portal"
    batch_size: int = Field(default=100, ge=1, le=500)
    max_attempts: int = Field(default=8, ge=1)
    timeout_s: float = 60.0
    # A whole answer, headers and body (connectors/transport.py).
    answer_timeout_s: float = Field(default=600.0, gt=0)
    retry_backoff: Duration = timedelta(seconds=30)  # first wait after a failed batch; doubles, up to 2^10×


class RetentionConfig(Spec):
    """How long raw payloads carrying citizens' personal data are kept (onestop/operations/retention.py, `onestop purge`).
    The unified dossier record is the province's system of record and is not purged."""

    raw_payloads: Duration = timedelta(days=30)  # staged records of runs; closed quarantined records
    quarantine: Duration = timedelta(days=90)  # open quarantined records keep their row, lose the payload
    incidents: Duration = timedelta(days=180)  # failed calls, task failures (they quote remote answers)
    message_log: Duration = timedelta(
        days=730
    )  # older entries move to archive files (hashes, ids: no payloads)

    @field_validator("raw_payloads", "quarantine", "incidents", "message_log")
    @classmethod
    def _at_least_a_day(cls, value: timedelta) -> timedelta:
        if value < timedelta(days=1):  # a run's staged records must outlive its load
            raise ValueError("a retention period is at least 1d")
        return value


class BreakerConfig(Spec):
    """Circuit breakers, one per endpoint (each source, the portal): after `threshold` consecutive failures
    calls fail fast for `cooldown`, doubled after each failed trial up to `max_cooldown`."""

    threshold: int = Field(default=5, ge=1)
    cooldown: Duration = timedelta(seconds=30)
    max_cooldown: Duration = timedelta(minutes=30)


class AlertsConfig(Spec):
    """Where alerts go (onestop/airflow/alerts.py) when one is raised or cleared: e-mail through an Airflow SMTP
    connection, and a chat app's incoming webhook (an Airflow connection whose host is the URL)."""

    email_to: list[str] = []  # empty: no e-mail
    smtp_conn_id: ConnId = "smtp_default"
    webhook_conn_id: ConnId | None = None  # e.g. onestop_alert_webhook; None: no webhook


class Registry(Spec):
    portal: PortalConfig = PortalConfig()
    breakers: BreakerConfig = BreakerConfig()
    retention: RetentionConfig = RetentionConfig()
    alerts: AlertsConfig = AlertsConfig()
    sources: list[SourceConfig]
    # The `profiles:` as written (a vendor's protocol settings; a connection test of a kind no source uses yet
    # takes them from here).
    profiles: dict[str, dict[str, Any]] = Field(default={}, exclude=True)
    # The `defaults:` as written (merged under every entry, below its profile).
    defaults: dict[str, Any] = Field(default={}, exclude=True)

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"no source named {name!r} in the registry (known: {', '.join(self.names())})")

    def names(self) -> list[str]:
        return [s.name for s in self.sources]


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (
            _merge(merged[key], value)
            if isinstance(merged.get(key), dict) and isinstance(value, dict)
            else value
        )
    return merged


def _model_at(model: Any, loc: list[Any]) -> type[BaseModel] | None:
    """The model class reached by following `loc` (field names, list indexes) down from `model`."""
    for step in loc:
        if isinstance(step, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        field = next((f for n, f in model.model_fields.items() if step in (n, f.alias)), None)
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """list[X], dict[str, X], X | None → X (the first model among the arguments)."""
    for arg in get_args(annotation):
        inner = _unwrap(arg)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation


def did_you_mean(err: Any, root: type[BaseModel], also: tuple[str, ...] = ()) -> str:
    """' (did you mean X?)' for a misspelt key or value, from what that place accepts (and `also`: keys read
    before the model sees the document)."""
    if err["type"] == "extra_forbidden":
        model = _model_at(root, list(err["loc"])[:-1])
        known = [f.alias or n for n, f in model.model_fields.items()] if model else []
        known += also
        wrong = str(err["loc"][-1])
    elif err["type"] == "literal_error":
        known = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        wrong = str(err.get("input"))
    else:
        return ""
    close = get_close_matches(wrong, known, n=2, cutoff=0.5)
    if close:
        return f" (did you mean {' or '.join(close)}?)"
    return f" (known: {', '.join(known)})" if known and len(known) <= 12 else ""


def _reach(document: Any, path: list[Any]) -> int:
    """How many steps of `path` a document holds."""
    n = 0
    for step in path:
        if (isinstance(document, dict) and step in document) or (
            isinstance(document, list) and isinstance(step, int) and step < len(document)
        ):
            document, n = document[step], n + 1
        else:
            break
    return n


def parse(data: Any, origin: str = "<registry>") -> Registry:
    """Validate a registry document; every problem names the file, the line, the entry and the field."""
    if not isinstance(data, dict):  # a list or a text at the top: there is no entry to name
        raise ConfigError(
            f"{origin}:{getattr(data, 'line', 1)}: the registry is a mapping (portal:, profiles:, defaults:, "
            f"sources:), not {'a list' if isinstance(data, list) else repr(data)[:40]}"
        )
    problems: list[str] = []

    def where(*path: Any) -> str:
        from mappings.yamllines import line_of

        return f"{origin}:{line_of(data, path)}"

    # What is not of the shape the merge needs is merged as nothing and reported by the model (Registry).
    written_profiles = data.get("profiles") or {}
    profiles = {
        k: v if isinstance(v, dict) else {}
        for k, v in (written_profiles.items() if isinstance(written_profiles, dict) else ())
    }
    defaults = data.get("defaults") or {}
    defaults = defaults if isinstance(defaults, dict) else {}
    sources = data.get("sources") or []
    entries: Any = [] if isinstance(sources, list) else sources

    def where_in_source(i: int, path: list[Any]) -> str:
        """file:line of a source's setting, in the entry, its profile or the defaults (whichever says it)."""
        entry = sources[i]
        candidates = [(("sources", i), entry)]
        if isinstance(entry, dict) and isinstance(entry.get("profile"), str) and entry["profile"] in profiles:
            candidates.append((("profiles", entry["profile"]), profiles[entry["profile"]]))
        candidates.append((("defaults",), defaults))
        # A setting that comes from a profile (or the defaults) is reported at the line that says it.
        prefix, _ = max(candidates, key=lambda c: _reach(c[1], path))
        return where(*prefix, *path)

    for i, entry in enumerate(sources if isinstance(sources, list) else ()):
        if not isinstance(entry, dict):
            entries.append(entry)  # the model says what it should be
            continue
        profile_name = entry.get("profile")
        if profile_name is not None and (not isinstance(profile_name, str) or profile_name not in profiles):
            near = get_close_matches(str(profile_name), [str(p) for p in profiles], n=1)
            known = (
                f" (did you mean {near[0]}?)"
                if near
                else f" (known: {', '.join(map(str, profiles)) or 'none'})"
            )
            problems.append(
                f"{where('sources', i, 'profile')}: sources[{i}] ({entry.get('name')}): unknown profile "
                f"{profile_name!r}{known}"
            )
            profile_name = None
        own = {k: v for k, v in entry.items() if k != "profile"}
        entries.append(_merge(_merge(defaults, profiles.get(profile_name, {})), own))
    registry = None
    try:
        # Every other top-level block (portal, breakers, retention, …) as written; an unknown one is an error.
        blocks = {k: v or {} for k, v in data.items() if k not in ("profiles", "sources")}
        registry = Registry.model_validate(blocks | {"sources": entries, "profiles": written_profiles})
    except ValidationError as exc:
        for err in exc.errors():
            loc = list(err["loc"])
            # An entry's `profile` is merged away before the model sees the entry.
            hint = did_you_mean(err, Registry, ("profile",) if len(loc) == 3 and loc[0] == "sources" else ())
            err["msg"] = err["msg"].removeprefix("Value error, ")
            if loc[:1] == ["sources"] and len(loc) > 1:
                i, field = loc[1], ".".join(str(p) for p in loc[2:])
                name = entries[i].get("name", "?") if isinstance(entries[i], dict) else "?"
                problems.append(
                    f"{where_in_source(i, loc[2:])}: sources[{i}] ({name}): {field + ': ' if field else ''}"
                    f"{err['msg']}{hint}"
                )
            else:
                problems.append(f"{where(*loc)}: {'.'.join(str(p) for p in loc)}: {err['msg']}{hint}")
    if registry is not None:
        seen: dict[str, int] = {}
        for i, s in enumerate(registry.sources):
            if s.name in seen:
                problems.append(
                    f"{where('sources', i, 'name')}: source name {s.name!r} appears twice (first: sources[{seen[s.name]}])"
                )
            seen.setdefault(s.name, i)
            if getattr(s, s.kind) is None:
                problems.append(
                    f"{where('sources', i)}: source {s.name}: kind {s.kind} needs a `{s.kind}:` section (or a profile)"
                )
    if problems:  # in the file's order, as an editor walks them
        problems.sort(key=lambda p: int(m[1]) if (m := re.match(r"[^:\n]*:(\d+):", p)) else 0)
        raise ConfigError("\n".join(problems))
    assert registry is not None
    return registry


def read(path: Path) -> Registry:
    from mappings.yamllines import read_with_lines

    data, problems = read_with_lines(path.read_text(encoding="utf-8"), str(path))
    if problems:
        raise ConfigError("\n".join(str(p) for p in problems))
    return parse(data or {}, origin=str(path))


@cache
def _load(path: Path, mtime: float) -> Registry:
    return read(path)


def load(path: Path | None = None) -> Registry:
    """The registry, re-read only when the file changes (DAG files parse it every 30 s)."""
    path = path or settings.sources_file()
    return _load(path, path.stat().st_mtime)
