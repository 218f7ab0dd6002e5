"""One HTTP request as a template (REST pages, a login call): method, path, query, headers, a JSON, form, XML,
GraphQL or XML-RPC body."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from pydantic import Field, model_validator

from connectors.spec.common import Spec
from connectors.templates import as_text, placeholders, render, render_text


def _texts(template: dict[str, Any], values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters and headers are text: a placeholder's list or object (a structured cursor) is sent as its
    JSON, never spread into repeated parameters (a list written in the template still is)."""
    if not values:
        return values
    return {
        k: as_text(v) if isinstance(v, list | dict) and isinstance(template.get(k), str) else v
        for k, v in values.items()
    }


class GraphQLSpec(Spec):
    """A GraphQL operation, sent as GraphQL over HTTP writes it: `{"query", "variables", "operationName"}`."""

    query: str = Field(
        description="the GraphQL document, sent as written: not a template (its braces are GraphQL's); the window, "
        "page and cursor go in `variables`"
    )
    variables: dict[str, Any] = Field(
        default={},
        description="the operation's variables; values are templates (one without a value is left out)",
    )
    operation_name: str | None = Field(
        default=None,
        description="operationName: which operation of the document to run, when it holds several",
    )

    def body(self, values: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"query": self.query, "variables": render(self.variables, values) or {}}
        if self.operation_name:
            body["operationName"] = self.operation_name
        return body


class XmlRpcSpec(Spec):
    """An XML-RPC call (Odoo's /xmlrpc/2, WordPress's xmlrpc.php): its method and its parameters."""

    method: str = Field(description="the methodName (`execute_kw`, `wp.getPosts`)")
    params: list[Any] = Field(
        default=[],
        description="the parameters in order, any nesting (a struct is a mapping); values are templates",
    )


class RequestSpec(Spec):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field(
        default="GET",
        description="GET or POST; PUT, PATCH or DELETE where the system's contract says so (a feed's commit)",
    )
    path: str = Field(
        description="relative to the connection's Base URL (a template: each value is one segment, percent-encoded)"
    )
    query: dict[str, Any] = Field(default={}, description="query parameters; values are templates")
    headers: dict[str, str] = Field(default={}, description="request headers; values are templates")
    json_body: Any = Field(
        default=None, alias="json", description="a JSON body, any nesting; values are templates"
    )
    form: dict[str, Any] | None = Field(
        default=None, description="a form body (application/x-www-form-urlencoded); values are templates"
    )
    xml_body: str | None = Field(
        default=None, alias="xml", description="an XML body (a template: values are XML-escaped), as text/xml"
    )
    graphql: GraphQLSpec | None = Field(
        default=None, description="a GraphQL operation (POST): its document, and its variables as templates"
    )
    xmlrpc: XmlRpcSpec | None = Field(
        default=None, description="an XML-RPC call (POST, text/xml): its method and parameters as templates"
    )

    @model_validator(mode="after")
    def _one_body(self) -> RequestSpec:
        bodies = (self.json_body, self.form, self.xml_body, self.graphql, self.xmlrpc)
        if sum(b is not None for b in bodies) > 1:
            raise ValueError("a request has one body: json, form, xml, graphql or xmlrpc")
        if self.method == "GET" and any(b is not None for b in bodies):
            raise ValueError("a GET request has no body: use method: POST, or put the values in query")
        return self

    def names(self) -> set[str]:
        """Every placeholder this request uses."""
        variables = self.graphql.variables if self.graphql else None
        params = self.xmlrpc.params if self.xmlrpc else None
        return placeholders(
            [self.path, self.query, self.headers, self.json_body, self.form, self.xml_body, variables, params]
        )

    def rendered(self, values: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
        """(method, path, HttpClient.call() arguments) with `values` filled in; the path is None when it needs
        a value it does not have."""
        kwargs: dict[str, Any] = {
            "params": _texts(self.query, render(self.query, values)) or None,
            "headers": _texts(self.headers, render(self.headers, values)) or None,
        }
        if self.json_body is not None:
            kwargs["json"] = render(self.json_body, values)
        if self.graphql is not None:
            kwargs["json"] = self.graphql.body(values)
        if self.xmlrpc is not None:
            from connectors.xmlrpc import call_body

            kwargs["data"] = call_body(self.xmlrpc.method, render(self.xmlrpc.params, values) or [])
            kwargs["headers"] = {"Content-Type": "text/xml; charset=utf-8", **(kwargs["headers"] or {})}
        if self.form is not None:
            kwargs["data"] = render(self.form, values)
        if self.xml_body is not None:
            escaped = {k: None if v is None else xml_escape(str(v)) for k, v in values.items()}
            kwargs["data"] = (render_text(self.xml_body, escaped) or "").encode()
            kwargs["headers"] = {"Content-Type": "text/xml; charset=utf-8", **(kwargs["headers"] or {})}
        # A value is one path segment whatever it holds (a cursor, an id the system gave): "/", "?", "#" and ".."
        # percent-encoded, as a detail call's are.
        segments = {k: None if v is None else _segment(as_text(v)) for k, v in values.items()}
        return self.method, render_text(self.path, segments), kwargs


def _segment(text: str) -> str:
    """A value as one path segment: percent-encoded, and "." or ".." too (a server would climb a level)."""
    return quote(text, safe="") if text.strip(".") else text.replace(".", "%2E")
