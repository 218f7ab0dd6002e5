"""One HTTP request as a template (REST pages, a login call): method, path, query, headers, a JSON or form body."""

from __future__ import annotations

from typing import Any, Literal
from xml.sax.saxutils import escape as xml_escape

from pydantic import Field, model_validator

from connectors.spec.common import Spec
from connectors.templates import placeholders, render, render_text


class RequestSpec(Spec):
    method: Literal["GET", "POST"] = Field(default="GET", description="GET or POST")
    path: str = Field(description="relative to the connection's Base URL (a template)")
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

    @model_validator(mode="after")
    def _one_body(self) -> RequestSpec:
        if sum(b is not None for b in (self.json_body, self.form, self.xml_body)) > 1:
            raise ValueError("a request has one body: json, form or xml")
        if self.method == "GET" and (self.json_body is not None or self.form is not None or self.xml_body):
            raise ValueError("a GET request has no body: use method: POST, or put the values in query")
        return self

    def names(self) -> set[str]:
        """Every placeholder this request uses."""
        return placeholders([self.path, self.query, self.headers, self.json_body, self.form, self.xml_body])

    def rendered(self, values: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
        """(method, path, HttpClient.call() arguments) with `values` filled in; the path is None when it needs
        a value it does not have."""
        kwargs: dict[str, Any] = {
            "params": render(self.query, values) or None,
            "headers": render(self.headers, values) or None,
        }
        if self.json_body is not None:
            kwargs["json"] = render(self.json_body, values)
        if self.form is not None:
            kwargs["data"] = render(self.form, values)
        if self.xml_body is not None:
            escaped = {k: None if v is None else xml_escape(str(v)) for k, v in values.items()}
            kwargs["data"] = (render_text(self.xml_body, escaped) or "").encode()
            kwargs["headers"] = {"Content-Type": "text/xml; charset=utf-8", **(kwargs["headers"] or {})}
        return self.method, render_text(self.path, values), kwargs
