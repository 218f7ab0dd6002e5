"""get_mapping: one compiled mapping per dialect file, cached; ONESTOP_MAPPINGS_DIR is looked in first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from mapping_samples import MINIMAL, igate_record, minimal_record

import mappings
from mappings import MappingError, get_mapping


def test_the_shipped_dialect_is_found_and_cached() -> None:
    first = get_mapping("igate")
    assert get_mapping("igate") is first
    assert first.dialect == "igate"
    assert Path(first.mapping.file) == Path(mappings.__file__).resolve().parent / "igate.yaml"
    mappings.clear_cache()
    assert get_mapping("igate") is not first


def test_the_environment_directory_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: Callable[..., Path]
) -> None:
    override = write_yaml(MINIMAL.format(name="igate"), name="igate")
    monkeypatch.setenv(mappings.MAPPINGS_DIR_ENV, str(tmp_path))

    m = get_mapping("igate")

    assert Path(m.mapping.file) == override.resolve()
    assert m.normalize(minimal_record(), "s").dossier is not None
    assert m.normalize(igate_record(), "s").dossier is None  # the override, not the shipped iGate mapping
    monkeypatch.delenv(mappings.MAPPINGS_DIR_ENV)
    assert Path(get_mapping("igate").mapping.file).parent == Path(mappings.__file__).resolve().parent


def test_a_dialect_only_in_the_environment_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: Callable[..., Path]
) -> None:
    write_yaml(MINIMAL.format(name="vnpt_xml"), name="vnpt_xml")
    monkeypatch.setenv(mappings.MAPPINGS_DIR_ENV, str(tmp_path))
    assert get_mapping("vnpt_xml").dialect == "vnpt_xml"
    assert get_mapping("igate").dialect == "igate"  # not overridden: the shipped one


def test_an_unknown_dialect() -> None:
    with pytest.raises(MappingError, match="no mapping for dialect 'nope'"):
        get_mapping("nope")
    with pytest.raises(MappingError, match="is not a dialect name"):
        get_mapping("../etc/passwd")


def test_a_broken_file_is_refused_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("dialect: bad\nfields: [\n", name="bad")
    monkeypatch.setenv(mappings.MAPPINGS_DIR_ENV, str(tmp_path))
    for _ in range(2):
        with pytest.raises(MappingError, match=r"bad\.yaml:\d+: yaml: syntax error"):
            get_mapping("bad")


def test_a_sources_timezone_replaces_the_mappings_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: Callable[..., Path]
) -> None:
    """A registry entry whose `timezone` differs from its mapping's (a system asked in UTC, read by a mapping
    written for local time) gets the mapping compiled for that zone: zone-less times are read in it. (Was: an
    AttributeError, `Mapping` being a dataclass, at the first page of such a source.)"""
    write_yaml(MINIMAL.format(name="utc_vendor"), name="utc_vendor")
    monkeypatch.setenv(mappings.MAPPINGS_DIR_ENV, str(tmp_path))
    record = minimal_record(received="2025-03-12T01:15:00")

    local, utc = get_mapping("utc_vendor"), get_mapping("utc_vendor", "UTC")

    assert utc is not local and utc is get_mapping("utc_vendor", "UTC")
    assert (local.mapping.timezone, utc.mapping.timezone) == ("Asia/Ho_Chi_Minh", "UTC")
    assert local.normalize(record, "s").dossier.received_at.isoformat() == "2025-03-12T01:15:00+07:00"
    assert utc.normalize(record, "s").dossier.received_at.isoformat() == "2025-03-12T08:15:00+07:00"
