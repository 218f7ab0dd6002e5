"""Reading and validating a mapping file: every problem found, each located to its file and line.

The reading is mappings.yamllines, the checks are mappings.validation (one module per section)."""

from __future__ import annotations

from pathlib import Path

from mappings.errors import MappingError
from mappings.spec import Mapping
from mappings.validation import MappingValidator
from mappings.yamllines import read_with_lines


def parse_mapping(text: str, file: str, stem: str | None = None) -> Mapping:
    """Validate mapping text; MappingError with every problem found. `stem` is the expected dialect name."""
    doc, problems = read_with_lines(text, file)
    mapping = None
    if doc is not None:
        mapping = MappingValidator(file, problems).mapping(doc, stem if stem is not None else Path(file).stem)
    if problems or mapping is None:
        problems.sort(key=lambda p: p.line)
        raise MappingError(problems)
    return mapping


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate one mapping file (everything is checked before any record is read)."""
    path = Path(path)
    return parse_mapping(path.read_text(encoding="utf-8"), str(path), path.stem)
