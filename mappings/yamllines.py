"""YAML read with the line of every key, for any configuration file whose errors must name file and line
(the mappings and the source registry)."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mappings.errors import Problem

__all__ = ["LineLoader", "YMap", "YSeq", "line_of", "read_with_lines"]


class LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when built: ~6x faster
    """A SafeLoader whose node tree we walk ourselves, so every key keeps the line it was written on."""


class YMap(dict):
    """A YAML mapping that remembers its line, the line of each key and each key as written."""

    line: int
    key_lines: dict[Any, int]
    raw_keys: dict[Any, str]

    def at(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class YSeq(list):
    line: int
    item_lines: list[int]

    def at(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def _line(node: Node) -> int:
    return node.start_mark.line + 1


# Values a document may hold once its aliases are expanded: the largest configuration holds a few thousand, and
# aliases of aliases (a "billion laughs") would otherwise be expanded for hours.
MAX_VALUES = 100_000


class _TooMany(Exception):
    pass


class _Reader:
    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        self.values = 0
        self.open: set[int] = set()  # the mappings and lists being read: an alias to one of them is recursive

    def read(self, text: str) -> Any:
        loader = LineLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                self.problems.append(Problem(self.file, 1, "yaml", "the file is empty"))
                return None
            return self._value(loader, node, "")
        except _TooMany:
            message = f"more than {MAX_VALUES} values once its aliases are expanded (aliases of aliases?)"
            self.problems.append(Problem(self.file, 1, "yaml", message))
            return None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            context = exc.context
            if context and exc.context_mark and mark and exc.context_mark.line != mark.line:
                context += f" (line {exc.context_mark.line + 1})"
            message = " ".join(filter(None, [context, exc.problem]))
            self.problems.append(Problem(self.file, line, "yaml", f"syntax error: {message}"))
            return None
        finally:
            loader.dispose()

    def _value(self, loader: LineLoader, node: Node, key: str) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _TooMany
        if id(node) in self.open:  # `a: &x [*x]`: read as written, it would never end
            self.problems.append(
                Problem(self.file, _line(node), key, "a recursive alias: it stands inside what it names")
            )
            return None
        if not isinstance(node, MappingNode | SequenceNode):
            return self._scalar(loader, node, key)
        self.open.add(id(node))
        try:
            return self._collection(loader, node, key)
        finally:
            self.open.discard(id(node))

    def _collection(self, loader: LineLoader, node: MappingNode | SequenceNode, key: str) -> Any:
        if isinstance(node, MappingNode):
            loader.flatten_mapping(node)  # YAML merge keys (<<)
            out = YMap()
            out.line, out.key_lines, out.raw_keys = _line(node), {}, {}
            for knode, vnode in node.value:
                kline = _line(knode)
                if not isinstance(knode, ScalarNode):
                    self.problems.append(
                        Problem(self.file, kline, key or "(top)", "a key must be a plain value")
                    )
                    continue
                k = self._scalar(loader, knode, key)
                dotted = f"{key}.{k}" if key else str(k)
                if k in out:
                    first = out.key_lines[k]
                    self.problems.append(
                        Problem(self.file, kline, dotted, f"duplicate key (first at line {first})")
                    )
                    continue
                out[k] = self._value(loader, vnode, dotted)
                out.key_lines[k] = kline
                out.raw_keys[k] = knode.value
            return out
        seq = YSeq()
        seq.line, seq.item_lines = _line(node), []
        for i, item in enumerate(node.value):
            seq.append(self._value(loader, item, f"{key}[{i}]"))
            seq.item_lines.append(_line(item))
        return seq

    def _scalar(self, loader: LineLoader, node: Node, key: str) -> Any:
        try:
            return loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:  # e.g. a timestamp like 2024-13-01
            self.problems.append(Problem(self.file, _line(node), key or "(top)", f"bad value: {exc}"))
            return node.value


def read_with_lines(text: str, file: str) -> tuple[Any, list[Problem]]:
    """The document (YMap/YSeq keep their lines) and the syntax problems found (duplicate keys included)."""
    problems: list[Problem] = []
    return _Reader(file, problems).read(text), problems


def line_of(document: Any, path: tuple[Any, ...]) -> int:
    """The line of the deepest key of `path` that exists in the document (1 when nothing matches)."""
    line, node = getattr(document, "line", 1), document
    for step in path:
        if (isinstance(node, YMap) and step in node) or (
            isinstance(node, YSeq) and isinstance(step, int) and step < len(node)
        ):
            line, node = node.at(step), node[step]
        else:
            break
    return line
