"""Readers for the deployment files under docker/ (compose file, env files, Dockerfile and its ignore file, Helm
values, wheelhouse script), shared by the tests of this folder. Docker cannot run here: these files are checked
by reading them, against each other and against the project (pyproject.toml, uv.lock, config/sources.yaml)."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
DOCKERIGNORE = DOCKER / "Dockerfile.dockerignore"
HELM_VALUES = DOCKER / "helm" / "values.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
STAGING_CONNECTIONS = DOCKER / "staging" / "connections.env"
WHEELHOUSE_SCRIPT = DOCKER / "wheelhouse.sh"
POSTGRES_INIT = DOCKER / "postgres-init" / "10-databases.sh"

# Secrets: never a literal value in a committed file, never a default in an interpolation.
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|_KEY|TOKEN)$", re.IGNORECASE)


# --- project facts --------------------------------------------------------------------------------------------
@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@cache
def lock() -> dict[str, Any]:
    return tomllib.loads((ROOT / "uv.lock").read_text())


def locked_version(name: str) -> str:
    versions = [p["version"] for p in lock()["package"] if p["name"] == name]
    assert len(versions) == 1, f"{name}: {versions} in uv.lock"
    return versions[0]


# --- compose ----------------------------------------------------------------------------------------------------
def load_compose(text: str | None = None) -> dict[str, Any]:
    """The compose file as compose reads it before interpolation (YAML anchors and merge keys resolved)."""
    return yaml.safe_load(COMPOSE_FILE.read_text() if text is None else text)


@dataclass(frozen=True)
class Reference:
    """One `${NAME…}` of the compose file: `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME:?message}`…"""

    name: str
    operator: str  # "", ":-", "-", ":?", "?"
    argument: str

    @property
    def required(self) -> bool:
        return self.operator in (":?", "?")

    @property
    def has_default(self) -> bool:
        return self.operator in (":-", "-")


_REFERENCE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def references(text: str) -> list[Reference]:
    """Every interpolation in `text` (`$$` is compose's escaped dollar: not one)."""
    found = []
    for part in text.split("$$"):
        for m in _REFERENCE.finditer(part):
            found.append(Reference(m["braced"] or m["bare"], m["op"] or "", m["arg"] or ""))
    return found


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's interpolation with `env`: after YAML parsing, in every string of the document (so "False"
    stays a string); raises KeyError where compose would refuse to start."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    return _interpolate(value, env) if isinstance(value, str) else value


def _interpolate(text: str, env: dict[str, str]) -> str:

    def one(m: re.Match) -> str:
        name, op, arg = m["braced"] or m["bare"], m["op"] or "", m["arg"] or ""
        value = env.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return arg if value is None else value
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise KeyError(f"{name}: {arg}")
        return value or ""

    return "$".join(_REFERENCE.sub(one, part) for part in text.split("$$"))


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments and blank lines skipped; values taken verbatim)."""
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
            env[key.strip()] = value
    return env


def url_password(value: str) -> str | None:
    """The password of a URL's userinfo (read before interpolation: `${…}` may hold a `/`)."""
    m = re.search(r"://[^:@/]*:(?P<password>(?:\$\{[^}]*\}|[^@])*)@", value)
    return m["password"] if m else None


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def option(argv: list[str], *names: str) -> str | None:
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def healthcheck_text(service: dict[str, Any]) -> str:
    test = (service.get("healthcheck") or {}).get("test") or []
    return test if isinstance(test, str) else " ".join(test)


# --- Dockerfile ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def dockerfile_instructions(text: str | None = None) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text() if text is None else text
    instructions, buffer, start = [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not buffer and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if buffer and raw.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if not buffer:
            start = number
        if raw.rstrip().endswith("\\"):
            buffer += raw.rstrip()[:-1] + " "
            continue
        buffer += raw
        keyword, _, args = buffer.strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        buffer = ""
    assert not buffer, "the Dockerfile ends inside a continued line"
    return instructions


def copy_sources(instruction: Instruction) -> tuple[list[str], str, dict[str, str]]:
    """A COPY/ADD's (sources, destination, flags); the JSON form is not used here."""
    words = shlex.split(instruction.args)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    assert len(words) >= 2, f"line {instruction.line}: {instruction.keyword} needs a source and a destination"
    return words[:-1], words[-1], flags


def bind_mount_sources(instruction: Instruction) -> list[str]:
    """`source=` of every `RUN --mount=type=bind,…` (relative to the build context)."""
    sources = []
    for word in shlex.split(instruction.args):
        if word.startswith("--mount="):
            fields = dict(f.partition("=")[::2] for f in word[len("--mount=") :].split(","))
            if fields.get("type") == "bind":
                sources.append(fields.get("source") or fields.get("src") or ".")
    return sources


def env_instructions(instructions: list[Instruction]) -> dict[str, str]:
    env = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            for word in shlex.split(instruction.args):
                key, sep, value = word.partition("=")
                assert sep, f"line {instruction.line}: ENV in the `key=value` form only"
                env[key] = value
    return env


# --- .dockerignore ------------------------------------------------------------------------------------------
def _pattern_regex(pattern: str) -> re.Pattern:
    """Docker's pattern syntax (Go filepath.Match plus `**`): `*` and `?` stay within one path segment."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out += "(?:.*/)?"
                i += 1
            else:
                out += ".*"
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(out + r"\Z")


def dockerignore_rules(text: str | None = None) -> list[tuple[bool, re.Pattern]]:
    """(exclude?, regex) per line, in order: the last rule matching a path or one of its parents decides."""
    text = DOCKERIGNORE.read_text() if text is None else text
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        pattern = re.sub(r"/+", "/", pattern).strip("/") or "."
        rules.append((not negated, _pattern_regex(pattern)))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    """Whether the build context leaves `path` (relative, `/`-separated) out."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for exclude, regex in rules:
        if any(regex.match(c) for c in candidates):
            excluded = exclude
    return excluded


# --- Helm ------------------------------------------------------------------------------------------------------
def load_helm_values() -> dict[str, Any]:
    return yaml.safe_load(HELM_VALUES.read_text())


# --- wheelhouse script ---------------------------------------------------------------------------------------
def wheelhouse_default(name: str) -> str:
    """The default of `name="${…:-default}"` in docker/wheelhouse.sh (the output folder, the Python version)."""
    m = re.search(rf'^{name}="\$\{{[A-Z0-9_]+:-(?P<default>[^}}]*)\}}"', WHEELHOUSE_SCRIPT.read_text(), re.M)
    assert m, f'docker/wheelhouse.sh: no {name}="${{…:-default}}"'
    return m["default"]


# --- workers and queues ---------------------------------------------------------------------------------------
def workers(services: dict[str, dict]) -> dict[str, dict]:
    """The compose services that run `airflow celery worker`."""
    return {n: s for n, s in services.items() if command_of(s)[:2] == ["celery", "worker"]}


def worker_queues(service: dict) -> set[str]:
    return set((option(command_of(service), "--queues", "-q") or "").split(","))


def registry_queues() -> set[str]:
    """The queues the source DAGs route to: one per source kind (onestop.airflow.dags: `queue=source.kind`),
    and `default` for the fixed DAGs (delivery, upkeep, alerts)."""
    from onestop import registry

    return {s.kind for s in registry.load().sources} | {"default"}
