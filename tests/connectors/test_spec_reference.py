"""docs/sources-reference.md is what the spec models generate (`onestop config reference --out …`)."""

from __future__ import annotations

from connectors.spec.reference import markdown
from tests.conftest import ROOT


def test_the_reference_doc_is_regenerated_without_a_diff() -> None:
    shipped = (ROOT / "docs" / "sources-reference.md").read_text(encoding="utf-8")
    assert shipped == markdown(), "run: .venv/bin/onestop config reference --out docs/sources-reference.md"


def test_every_rest_key_is_explained() -> None:
    text = markdown()
    for key in ("`request`", "`records`", "`paginator`", "`cursor_path`", "`link_header`", "`step`", "`means`",
                "`token_path`", "`charset`", "`not_in`", "`json`", "`form`"):  # fmt: skip
        row = next(line for line in text.splitlines() if line.startswith(f"| {key} |"))
        assert row.rstrip(" |").split("|")[-1].strip(), f"{key} has no meaning in the reference"
