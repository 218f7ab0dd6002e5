"""Declarative mappings from vendor dialects to the canonical dossier (schemas.Dossier).

One YAML file per dialect (mappings/<dialect>.yaml); the format is documented in mappings.spec.

    from mappings import get_mapping
    outcome = get_mapping("igate").normalize(record, source="hd-thanhpho")
    if outcome.dossier is None:
        for error in outcome.errors:
            print(error.describe("hd-thanhpho", outcome.record_id))
"""

from __future__ import annotations

import dataclasses
import os
import threading
from difflib import get_close_matches
from pathlib import Path

from mappings import (
    legacy_text,  # noqa: F401 - registers the tcvn3, vni, cp1258 and vn_text transforms
    unit_names,  # noqa: F401 - registers commune_code_by_name and district_code_by_name
)
from mappings.compiler import CompiledMapping, Outcome, compile_mapping
from mappings.errors import FieldError, MappingError, Problem
from mappings.loader import load_mapping, parse_mapping
from mappings.spec import CodeTable, Mapping, Period, Rule
from mappings.text import TextFixed
from mappings.transforms import TRANSFORMS, register_transform
from mappings.xmltree import element_to_dict

MAPPINGS_DIR_ENV = "ONESTOP_MAPPINGS_DIR"
PACKAGE_DIR = Path(__file__).resolve().parent

_cache: dict[tuple[Path, str | None], CompiledMapping] = {}
_lock = threading.Lock()


def mapping_path(dialect: str) -> Path:
    """The file for `dialect`: in $ONESTOP_MAPPINGS_DIR first when set, else beside this package."""
    if not dialect or not dialect.replace("_", "").isalnum() or not dialect.isascii() or len(dialect) > 100:
        raise MappingError([Problem(f"{dialect}.yaml", 0, "dialect", f"{dialect!r} is not a dialect name")])
    candidates = []
    override = os.environ.get(MAPPINGS_DIR_ENV)
    if override:
        candidates.append(Path(override) / f"{dialect}.yaml")
    candidates.append(PACKAGE_DIR / f"{dialect}.yaml")
    for path in candidates:
        if path.is_file():
            return path.resolve()
    looked = ", ".join(str(p.parent) for p in candidates)
    known = sorted({p.stem for c in candidates for p in c.parent.glob("*.yaml")})
    near = get_close_matches(dialect, known, n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    raise MappingError(
        [
            Problem(
                f"{dialect}.yaml",
                0,
                "dialect",
                f"no mapping for dialect {dialect!r} ({hint}looked in {looked})",
            )
        ]
    )


def get_mapping(dialect: str, timezone: str | None = None) -> CompiledMapping:
    """The compiled mapping of `dialect`, loaded, validated and compiled once per file and zone (thread-safe).

    `timezone` (a source's registry `timezone`) replaces the mapping's own for times written without a zone."""
    path = mapping_path(dialect)
    key = (path, timezone)
    compiled = _cache.get(key)
    if compiled is None:
        with _lock:
            compiled = _cache.get(key)
            if compiled is None:
                spec = load_mapping(path)
                if timezone is not None and timezone != spec.timezone:
                    spec = dataclasses.replace(spec, timezone=timezone)
                compiled = _cache[key] = compile_mapping(spec)
    return compiled


def clear_cache() -> None:
    """Forget compiled mappings (tests; a long-lived process that wants edited files re-read)."""
    with _lock:
        _cache.clear()


__all__ = [
    "MAPPINGS_DIR_ENV",
    "TRANSFORMS",
    "CodeTable",
    "CompiledMapping",
    "FieldError",
    "Mapping",
    "MappingError",
    "Outcome",
    "Period",
    "Problem",
    "Rule",
    "TextFixed",
    "clear_cache",
    "compile_mapping",
    "element_to_dict",
    "get_mapping",
    "load_mapping",
    "mapping_path",
    "parse_mapping",
    "register_transform",
]
