"""A SOAP district system in the registry: an operation of the served WSDL, its request as a nested template
(zeep writes the envelope), SOAP header elements, a login operation or WS-Security, faults by code; records,
paging, the window and error envelopes as in the REST language (connectors.spec.rest.PagedSpec)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from connectors.spec.auth import LOGIN_PLACEHOLDERS
from connectors.spec.common import Duration, Spec, check_path
from connectors.spec.rest import DetailRules, PagedSpec
from connectors.templates import placeholders

_MEANS = Literal["auth", "transient", "error"]


class SoapLoginSpec(Spec):
    """A login operation whose answer holds the session token ({token} in `request` or `headers`)."""

    operation: str = Field(description="the WSDL operation that logs in")
    request: dict[str, Any] = Field(
        default={},
        description="its parameters, a nested template: {login} and {password} are the connection's",
    )
    token_path: str = Field(description="where the session token is in its answer (below the answer element)")
    ttl: Duration | None = Field(
        default=None, description="the session's lifetime (renewed before it ends); default 5m"
    )

    @model_validator(mode="after")
    def _complete(self) -> SoapLoginSpec:
        check_path(self.token_path, "token_path")
        if unknown := placeholders(self.request) - LOGIN_PLACEHOLDERS:
            raise ValueError(f"the login request can use {{login}} and {{password}}, not {sorted(unknown)}")
        return self


class FaultRule(Spec):
    """A SOAP Fault the system declares: matched on its code's local name (faultcode, SOAP 1.2 Code and Subcode
    values, a code in its detail, or the name of an element in its detail)."""

    code: list[str] = Field(
        description="one code or a list (`InvalidCredentials`, `1002`), or the fault element its detail holds "
        "(a JAX-WS service's declared exception: `AuthException`)"
    )
    contains: str | None = Field(
        default=None,
        description="and the fault's text contains this (a system with one code for every error, as Apache "
        "Axis's Server.userException, names the exception there: `AuthException`)",
    )
    means: _MEANS = Field(
        default="error",
        description="auth: credentials refused (or, with a login, the session ended: log in again once); "
        "transient: retried with backoff; error: the run fails",
    )

    @field_validator("code", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | int) else value

    @field_validator("code")
    @classmethod
    def _local(cls, value: list[Any]) -> list[str]:
        return [str(code).rsplit(":", 1)[-1] for code in value]


class SoapDetailSpec(DetailRules):
    operation: str = Field(description="the WSDL operation that gives one dossier")
    request: dict[str, Any] = Field(
        description='its parameters, a nested template of the names in `values`: `{maHoSo: "{ma}"}`'
    )


class SoapSpec(PagedSpec):
    """zeep builds every envelope from the served WSDL (SOAP 1.1 or 1.2, as its binding says); answers are
    read streaming with lxml. Paths (`records`, totals, `errors`, `token_path`) start below the answer element
    (the SOAP Body's child), in local names, attributes as `@name`."""

    wsdl: str = Field(
        description="where the WSDL is served, relative to the connection's Base URL; schemas and WSDLs it "
        "imports are read from the same host only"
    )
    operation: str = Field(description="the WSDL operation that lists dossiers")
    port: str | None = Field(
        default=None,
        description="the WSDL port to use when it has several (default: the first with the operation)",
    )
    request: dict[str, Any] = Field(
        default={},
        description='the operation\'s parameters, a nested template: `{request: {Filter: {FromDate: "{start}"}}}`',
    )
    headers: dict[str, Any] = Field(
        default={},
        description="SOAP header elements by element name, nested templates: `{AuthHeader: {SessionToken: "
        '"{token}"}}`, or credentials sent with every call: `{AuthHeader: {Username: "{login}", Password: '
        '"{password}"}}` (declared in the WSDL\'s schemas)',
    )
    ws_security: bool = Field(
        default=False,
        description="a WS-Security UsernameToken (PasswordText) from the connection's login/password",
    )
    ws_password: Literal["text", "digest"] = Field(
        default="text",
        description="how ws_security sends the password: text (PasswordText), or digest (PasswordDigest: "
        "Base64(SHA-1(nonce + created + password)) with a fresh Nonce and Created, as WSS4J's "
        "passwordType=PasswordDigest wants)",
    )
    ws_timestamp: bool = Field(
        default=False,
        description="a wsu:Timestamp (valid 5 minutes, made for each call) first in the WS-Security header: a "
        "policy with IncludeTimestamp, as WCF's wsHttpBinding with TransportWithMessageCredential has",
    )
    http_auth: Literal["none", "basic", "digest", "ntlm"] = Field(
        default="none",
        description="HTTP authentication of the service's host, for its WSDL and every call, from the "
        "connection's login/password: basic, digest, or ntlm (an ASMX or WCF service on IIS with Windows "
        "authentication)",
    )
    login: SoapLoginSpec | None = Field(
        default=None, description="a login operation whose answer is the session token ({token})"
    )
    faults: list[FaultRule] = Field(
        default=[],
        description="the system's fault codes and what they mean; others: WS-Security's codes mean auth, "
        "Server/Receiver faults transient, the rest error",
    )
    detail: SoapDetailSpec | None = Field(
        default=None,
        description="an operation per listed record for its whole dossier (the list gives summaries); it is "
        "sent the source's `headers` too",
    )

    @property
    def credentials(self) -> frozenset[str]:
        """Which of {login}/{password} the request or a header sends: a service that takes them with every call."""
        return frozenset(placeholders([self.request, self.headers]) & LOGIN_PLACEHOLDERS)

    @model_validator(mode="after")
    def _consistent(self) -> SoapSpec:
        used = placeholders([self.request, self.headers])
        self.check_placeholders(used - LOGIN_PLACEHOLDERS, "the request or headers")
        nested = [
            *(self.embedded.errors if self.embedded else []),
            *(self.detail.errors if self.detail else []),
        ]
        if any(rule.status for rule in [*self.errors, *nested]):
            raise ValueError(
                "errors[].status reads a REST source's HTTP error answers: a SOAP service says `faults`"
            )
        if self.paginator.requests():
            raise ValueError(
                f"paginator.{next(iter(self.paginator.requests()))} is a REST request: a SOAP operation's pages "
                "are all asked by `operation`"
            )
        if self.embedded is None and not self.records.path:
            raise ValueError(
                "`records` is the record element's path below the answer element (Result.Items.Item)"
            )
        if self.records.record_errors is not None and (
            self.embedded is None or self.embedded.format != "json"
        ):
            raise ValueError("records.record_errors reads errors beside the records of a JSON document")
        if self.records.rows is not None and (self.embedded is None or self.embedded.format != "json"):
            raise ValueError(
                "records.rows reads rows of cells in a JSON document (`embedded: {format: json}`)"
            )
        if "token" in used and self.login is None:
            raise ValueError("{token} is the session token of a `login` operation: declare `login:`")
        if self.login is not None and "token" not in used:
            raise ValueError("login: say where the session token goes ({token} in `request` or `headers`)")
        if self.detail is not None:
            sent = placeholders(self.detail.request)
            self.detail.check_sent(sent, LOGIN_PLACEHOLDERS | ({"token"} if self.login else set()))
        return self
