"""The source registry: profiles and defaults merge under each entry; mistakes name the entry and field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.errors import ConfigError
from onestop import registry


def test_the_shipped_registry_is_valid_and_entries_inherit_their_profile() -> None:
    reg = registry.load()
    source = reg.source("hd_chi_linh")
    assert (source.kind, source.dialect, source.district_code) == ("rest", "igate", "290")
    assert source.rest is not None and source.rest.paginator.base_page == 0
    assert source.lookback == timedelta(minutes=15)
    assert source.pool == "onestop_hd_chi_linh"


def test_an_entry_overrides_its_profile_field_by_field() -> None:
    reg = registry.parse({
        "profiles": {"v": {"kind": "rest", "dialect": "igate", "rest": {"resource": "/a", "paginator": {"page_size": 50}}}},
        "sources": [{"name": "d1", "title": "D1", "profile": "v", "conn_id": "c", "rest": {"paginator": {"page_size": 10}}}],
    })  # fmt: skip
    rest = reg.source("d1").rest
    assert rest is not None and (rest.resource, rest.paginator.page_size) == ("/a", 10)


def test_mistakes_name_the_entry_and_the_field() -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\] \(d1\): kind: Input should be"):
        registry.parse(
            {"sources": [{"name": "d1", "title": "D1", "kind": "ftp", "dialect": "x", "conn_id": "c"}]}
        )
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        registry.parse({"sources": [{"name": "d1", "profile": "nope"}]})
    with pytest.raises(ConfigError, match="appears twice"):
        entry = {
            "name": "d1",
            "title": "D1",
            "kind": "rest",
            "dialect": "x",
            "conn_id": "c",
            "rest": {"resource": "/"},
        }
        registry.parse({"sources": [entry, entry]})


def test_top_level_blocks_are_read_and_an_unknown_one_is_refused() -> None:
    source = {
        "name": "d1",
        "title": "D1",
        "conn_id": "c1",
        "kind": "rest",
        "dialect": "igate",
        "rest": {"resource": "/x"},
    }
    reg = registry.parse(
        {"breakers": {"cooldown": "2s"}, "portal": {"retry_backoff": "1s"}, "sources": [source]}
    )
    assert reg.breakers.cooldown == timedelta(seconds=2) and reg.portal.retry_backoff == timedelta(seconds=1)
    with pytest.raises(ConfigError, match="breakerz"):
        registry.parse({"breakerz": {}, "sources": [source]})
