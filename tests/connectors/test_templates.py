"""Request templates put the window, the page and the token wherever a vendor wants them."""

from __future__ import annotations

from connectors.spec.request import RequestSpec
from connectors.templates import placeholders, render, render_text


def test_a_whole_placeholder_keeps_its_type_and_an_embedded_one_becomes_text() -> None:
    template = {"paging": {"page": "{page}", "size": "{page_size}"}, "filter": "updated >= '{start}'"}
    assert render(template, {"page": 2, "page_size": 50, "start": "2025-03-01 00:00:00"}) == {
        "paging": {"page": 2, "size": 50},
        "filter": "updated >= '2025-03-01 00:00:00'",
    }


def test_a_key_whose_placeholder_has_no_value_is_left_out() -> None:
    template = {"cursor": "{cursor}", "to": "{end}", "q": ["a", "{cursor}"], "size": "{page_size}"}
    assert render(template, {"cursor": None, "end": None, "page_size": 10}) == {"q": ["a"], "size": 10}


def test_braces_can_be_written_and_placeholders_are_listed() -> None:
    assert render_text("{{literal}} {page}", {"page": 3}) == "{literal} 3"
    assert placeholders({"a": ["{start}", {"b": "x{token}y"}], "{page}": 1}) == {"start", "token", "page"}
    assert render_text("/records/{cursor}", {}) is None


def test_a_graphql_operation_is_sent_as_written_with_its_variables_filled() -> None:
    query = "query Page($first: Int!, $after: String) { list(first: $first, after: $after) { nodes { id } }}"
    spec = RequestSpec.model_validate(
        {"method": "POST", "path": "/graphql", "graphql": {"query": query, "operation_name": "Page",
         "variables": {"first": "{page_size}", "after": "{cursor}", "where": {"from": "{start}"}}}}
    )  # fmt: skip
    assert spec.names() == {"page_size", "cursor", "start"}
    method, path, call = spec.rendered(
        {"page_size": 50, "cursor": None, "start": "2025-03-01T00:00:00+07:00"}
    )
    assert (method, path) == ("POST", "/graphql")
    assert call["json"] == {
        "query": query,  # braces and all: `}}` stays two braces, no placeholder is looked for in it
        "variables": {"first": 50, "where": {"from": "2025-03-01T00:00:00+07:00"}},  # no cursor yet: left out
        "operationName": "Page",
    }


def test_a_structured_cursor_stays_a_value_in_a_body_and_is_json_text_in_a_query_or_inside_text() -> None:
    after = [1735700000000, "hs-0042"]  # Elasticsearch's sort values of the last hit
    spec = RequestSpec.model_validate(
        {"method": "POST", "path": "/ho-so/_search", "query": {"after": "{cursor}", "trang_thai": [1, 2]},
         "headers": {"X-Cursor": "{cursor}"}, "json": {"size": 50, "search_after": "{cursor}", "note": "sau {cursor}"}}
    )  # fmt: skip
    _, _, call = spec.rendered({"cursor": after})
    assert call["json"] == {"size": 50, "search_after": after, "note": 'sau [1735700000000,"hs-0042"]'}
    assert call["params"] == {
        "after": '[1735700000000,"hs-0042"]',
        "trang_thai": [1, 2],
    }  # a written list stays one
    assert call["headers"] == {"X-Cursor": '[1735700000000,"hs-0042"]'}


def test_a_value_written_in_the_path_is_one_segment_whatever_it_holds() -> None:
    """A session token or a batch id the system gave is data: "/", "?", "#" or ".." in it must not move the call
    elsewhere; the query and the body take it as it is."""
    spec = RequestSpec.model_validate(
        {"path": "/api/{token}/ho-so/{batch_id}", "query": {"lo": "{batch_id}"}}
    )
    for token, batch, path in [
        ("aB+/9x==", "a/b?c=1#d", "/api/aB%2B%2F9x%3D%3D/ho-so/a%2Fb%3Fc%3D1%23d"),
        ("..", ".", "/api/%2E%2E/ho-so/%2E"),
        ("t", "Lô 1", "/api/t/ho-so/L%C3%B4%201"),
    ]:
        _, rendered, kwargs = spec.rendered({"token": token, "batch_id": batch})
        assert rendered == path and kwargs["params"] == {"lo": batch}
    assert spec.rendered({"token": None, "batch_id": "x"})[1] is None  # a value it does not have yet
