"""YAML read with the line of every key, for any configuration file whose errors must name file and line
(the mappings and the source registry)."""

from __future__ import annotations

from typing import Any

from mappings.errors import Problem
from mappings.loader import YMap, YSeq, _Reader

__all__ = ["YMap", "YSeq", "line_of", "read_with_lines"]


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
