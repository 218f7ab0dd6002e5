"""The source registry: profiles and defaults merge under each entry; mistakes name the file, the line, the entry
and the field, and a misspelt key or value gets a "did you mean"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from connectors.errors import ConfigError
from onestop import registry

REST = {
    "request": {"path": "/a", "query": {"p": "{page}", "n": "{page_size}"}},
    "records": "data",
    "paginator": {"type": "page_number", "page_size": 50},
}


def test_the_shipped_registry_is_valid_and_entries_inherit_their_profile() -> None:
    reg = registry.load()
    source = reg.source("hd_chi_linh")
    assert (source.kind, source.dialect, source.district_code) == ("rest", "igate", "290")
    assert source.rest is not None and source.rest.paginator.base == 0
    assert source.lookback == timedelta(minutes=15)
    assert source.pool == "onestop_hd_chi_linh"


def test_an_entry_overrides_its_profile_field_by_field() -> None:
    reg = registry.parse({
        "profiles": {"v": {"kind": "rest", "dialect": "igate", "rest": REST}},
        "sources": [{"name": "d1", "title": "D1", "profile": "v", "conn_id": "c", "rest": {"paginator": {"page_size": 10}}}],
    })  # fmt: skip
    rest = reg.source("d1").rest
    assert rest is not None and (rest.request.path, rest.paginator.page_size) == ("/a", 10)


def test_mistakes_name_the_entry_and_the_field() -> None:
    with pytest.raises(ConfigError, match=r"sources\[0\] \(d1\): kind: Input should be"):
        registry.parse(
            {"sources": [{"name": "d1", "title": "D1", "kind": "ftp", "dialect": "x", "conn_id": "c"}]}
        )
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        registry.parse({"sources": [{"name": "d1", "profile": "nope"}]})
    entry = {"name": "d1", "title": "D1", "kind": "rest", "dialect": "x", "conn_id": "c", "rest": REST}
    with pytest.raises(ConfigError, match="appears twice"):
        registry.parse({"sources": [entry, entry]})
    with pytest.raises(ConfigError, match=r"sources\[0\] \(d1\): lookback: .*at least 1s"):
        registry.parse({"sources": [entry | {"lookback": "0s"}]})


def test_top_level_blocks_are_read_and_an_unknown_one_is_refused() -> None:
    source = {"name": "d1", "title": "D1", "conn_id": "c1", "kind": "rest", "dialect": "igate", "rest": REST}
    reg = registry.parse(
        {"breakers": {"cooldown": "2s"}, "portal": {"retry_backoff": "1s"}, "sources": [source]}
    )
    assert reg.breakers.cooldown == timedelta(seconds=2) and reg.portal.retry_backoff == timedelta(seconds=1)
    with pytest.raises(ConfigError, match=r"breakerz.*did you mean breakers\?"):
        registry.parse({"breakerz": {}, "sources": [source]})


def test_the_keys_read_before_the_model_get_a_suggestion_too() -> None:
    profiles = {"igate": {"kind": "rest", "dialect": "igate", "rest": REST}}
    entry = {"name": "d1", "title": "D1", "conn_id": "c"}
    with pytest.raises(
        ConfigError, match=r"sources\[0\] \(d1\): prfile: .*\(did you mean profile or title\?\)"
    ):
        registry.parse({"profiles": profiles, "sources": [entry | {"prfile": "igate"}]})
    with pytest.raises(
        ConfigError, match=r"sources\[0\] \(d1\): unknown profile 'igat' \(did you mean igate\?\)"
    ):
        registry.parse({"profiles": profiles, "sources": [entry | {"profile": "igat"}]})
    with pytest.raises(ConfigError, match=r"defualts: .*\(did you mean defaults or alerts\?\)"):
        registry.parse({"defualts": {}, "profiles": profiles, "sources": [entry | {"profile": "igate"}]})


@pytest.mark.parametrize("schedule", ["every 30 minutes", "61 * * * *", ""])
def test_a_schedule_airflow_would_refuse_is_refused_naming_the_source(schedule: str) -> None:
    entry = {"name": "d1", "title": "D1", "kind": "rest", "dialect": "igate", "conn_id": "c", "rest": REST}
    with pytest.raises(ConfigError, match=r"sources\[0\] \(d1\): schedule: .* is not a cron expression"):
        registry.parse({"sources": [entry | {"schedule": schedule}]})
    assert registry.parse({"sources": [entry | {"schedule": "@daily"}]}).source("d1").schedule == "@daily"


@pytest.mark.parametrize("conn_id", ["", "onestop src", "a\0b", "a\ud800b", "c" * 251])
def test_a_connection_id_airflow_would_refuse_is_refused_naming_the_source(conn_id: str) -> None:
    """Not a warning that the connection is not defined: it never could be (and config check looked it up)."""
    entry = {
        "name": "d1",
        "title": "D1",
        "kind": "rest",
        "dialect": "igate",
        "conn_id": conn_id,
        "rest": REST,
    }
    with pytest.raises(ConfigError, match=r"sources\[0\] \(d1\): conn_id: "):
        registry.parse({"sources": [entry]})
    with pytest.raises(ConfigError, match=r"portal.conn_id: "):
        registry.parse({"portal": {"conn_id": conn_id}, "sources": [entry | {"conn_id": "c"}]})


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        registry.read(path)
    return str(caught.value).replace(str(path), "sources.yaml").splitlines()


def test_a_misspelt_key_and_a_misspelt_value_get_file_line_and_a_suggestion(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """\
sources:
  - name: d1
    title: D1
    kind: rest
    dialect: igate
    conn_id: c
    rest:
      request:
        path: /search
        metod: POST
        query: {p: "{page}"}
      records: data
      paginator: {type: page_numbr}
""",
    )
    assert problems == [
        "sources.yaml:10: sources[0] (d1): rest.request.metod: Extra inputs are not permitted (did you mean method?)",
        "sources.yaml:13: sources[0] (d1): rest.paginator.type: Input should be 'page_number', 'offset', "
        "'cursor', 'next_link' or 'single' (did you mean page_number?)",
    ]


def test_a_mistake_in_a_profile_is_reported_at_the_profile_s_line(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """\
profiles:
  vendor:
    kind: rest
    dialect: igate
    rest:
      request: {path: /search, query: {p: "{pag}"}}
      records: data
      paginator: {type: page_number}
sources:
  - {name: d1, title: D1, profile: vendor, conn_id: c}
""",
    )
    assert problems == [
        "sources.yaml:5: sources[0] (d1): rest: unknown placeholder {pag} in request (did you mean {page}?); "
        "known: ['cursor', 'end', 'last', 'login', 'offset', 'page', 'page_size', 'password', 'start', 'token']"
    ]


@pytest.mark.parametrize(
    ("paginator", "says"),
    [
        ({"type": "page_number", "stop": "total_count"}, "stop: total_count needs `total_path`"),
        ({"type": "page_number", "stop": "total_pages"}, "stop: total_pages needs `total_pages_path`"),
        ({"type": "page_number", "stop": "has_more"}, "stop: has_more needs `has_more_path`"),
        ({"type": "cursor"}, "needs `cursor_path` or `cursor_header`"),
        ({"type": "next_link"}, "needs `next_path` or `link_header: true`"),
        ({"type": "offset", "stop": "total_pages", "total_pages_path": "p"}, "offset paging stops on"),
    ],
)
def test_a_stop_rule_that_needs_a_path_cannot_be_written_without_it(paginator: dict, says: str) -> None:
    rest = {**REST, "paginator": paginator}
    with pytest.raises(ConfigError, match=r"rest.paginator: .*" + says.replace("(", r"\(")):
        registry.parse({"sources": [{"name": "d1", "title": "D1", "kind": "rest", "dialect": "x", "conn_id": "c", "rest": rest}]})  # fmt: skip


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"paginator": {"type": "offset"}}, r"a offset paginator needs \{offset\}"),
        ({"incremental": {"format": "iso"}}, r"never sends \{start\} or \{end\}"),
        ({"request": {"path": "/a", "query": {"p": "{page}", "f": "{start}"}}}, "declare `incremental:`"),
        ({"incremental": {"format": "MM/yyyy"}}, "names no day"),
        ({"incremental": {"format": "dd-MMM-yyy"}}, r"'dd-MMM-yyy': yyy is no token \(a year is yyyy or yy\)"),
        ({"charset": "windows-9999"}, "unknown charset"),
        ({"request": {"path": "/a", "json": {"p": "{page}"}}}, "a GET request has no body"),
        ({"request": {"path": "/q", "graphql": {"query": "{ a }", "variables": {"p": "{page}"}}}},
         "a GET request has no body"),
        ({"request": {"method": "POST", "path": "/q", "json": {}, "graphql": {"query": "{ a }"}}},
         "one body: json, form, xml, graphql or xmlrpc"),
        ({"request": {"method": "POST", "path": "/q", "graphql": {"query": "query($p: Int) { a(p: $p) }"}}},
         r"needs \{page\}"),
        ({"request": {"path": "/a", "query": {"p": "{page}", "mat_khau": "{password}"}}},
         "never in the path or the query"),
        ({"request": {"path": "/a/{password}", "query": {"p": "{page}"}}}, "never in the path or the query"),
    ],
)  # fmt: skip
def test_requests_that_cannot_work_are_refused_before_any_call(change: dict, says: str) -> None:
    rest = {**REST, **change}
    with pytest.raises(ConfigError, match=says):
        registry.parse({"sources": [{"name": "d1", "title": "D1", "kind": "rest", "dialect": "x", "conn_id": "c", "rest": rest}]})  # fmt: skip
