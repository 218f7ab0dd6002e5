"""Fixtures for the mapping specs: the iGate mapping, and small mappings written to tmp_path."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # mapping_samples, shared with the benchmark

from mapping_samples import MINIMAL

import mappings
from mappings import CompiledMapping, compile_mapping, load_mapping


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(mappings.MAPPINGS_DIR_ENV, raising=False)
    mappings.clear_cache()


@pytest.fixture
def igate() -> CompiledMapping:
    return mappings.get_mapping("igate")


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[..., Path]:
    """write_yaml(text, name="t") -> the path of <name>.yaml holding the dedented text."""

    def write(text: str, name: str = "t") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def compile_yaml(write_yaml: Callable[..., Path]) -> Callable[..., CompiledMapping]:
    """compile_yaml(extra_fields_yaml) -> MINIMAL plus more lines under `fields:` (or top-level keys)."""

    def build(fields: str = "", top: str = "", name: str = "t") -> CompiledMapping:
        text = (
            MINIMAL.format(name=name) + textwrap.indent(textwrap.dedent(fields), "  ") + textwrap.dedent(top)
        )
        return compile_mapping(load_mapping(write_yaml(text, name)))

    return build
