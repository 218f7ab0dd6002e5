"""What an "Excel" that is an HTML page holds a reader to: read as the tables it is only where the source says so
(`html: true`), each GridView by its id; a page without the named grid, as IIS or a login page answers, is refused
and names the tables it has, never read as rows of nothing."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from connectors.errors import ConnectorError
from onestop import pipeline
from tests.vendors import harness


def synced_with(old: str, new: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """A sync with one line of the registry entry changed: its counts, or what it raised."""
    with harness.started("webforms_xls", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        registry_file = vendor.work / "sources.yaml"
        text = registry_file.read_text(encoding="utf-8")
        assert old in text
        registry_file.write_text(text.replace(old, new), encoding="utf-8")
        try:
            return pipeline.sync(vendor.source)
        except ConnectorError as exc:
            return exc


def test_an_html_export_is_not_taken_for_a_spreadsheet_unless_the_source_says_so(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcome = synced_with("html: true", "html: false", tmp_path, monkeypatch)
    assert isinstance(outcome, ConnectorError)
    assert (
        "answer is not a spreadsheet (it is markup: HTML or XML; an export of HTML tables is read with "
        in str(outcome)
    )


def test_a_page_without_the_named_grid_is_refused_naming_the_tables_it_has(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outcome = synced_with("sheet: ctl00_MainContent_gvHoSo", "sheet: gvHoSo", tmp_path, monkeypatch)
    assert isinstance(outcome, ConnectorError)
    assert (
        "the spreadsheet has no sheet 'gvHoSo'; its sheets: Table1, ctl00_MainContent_gvHoSo, Table2"
        in str(outcome)
    )
    assert db.execute("SELECT count(*) FROM onestop.dossier").fetchone() == (0,)
