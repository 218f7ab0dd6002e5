"""One HTTP request as a template (REST pages, a login call): method, path, query, headers, a JSON or form body."""

from __future__ import annotations

from typing import Any, Literal

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

    @model_validator(mode="after")
    def _one_body(self) -> RequestSpec:
        if self.json_body is not None and self.form is not None:
            raise ValueError("a request has a json body or a form body, not both")
        if self.method == "GET" and (self.json_body is not None or self.form is not None):
            raise ValueError("a GET request has no body: use method: POST, or put the values in query")
        return self

    def names(self) -> set[str]:
        """Every placeholder this request uses."""
        return placeholders([self.path, self.query, self.headers, self.json_body, self.form])

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
        return self.method, render_text(self.path, values), kwargs
