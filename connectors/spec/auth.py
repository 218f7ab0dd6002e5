"""How a source proves who we are. Secrets are never here: they come from the source's Airflow connection."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, model_validator

from connectors.spec.common import Duration, Spec, check_path
from connectors.spec.request import RequestSpec

AuthType = Literal[
    "none",
    "basic",
    "digest",
    "ntlm",
    "bearer",
    "api_key",
    "oauth2_client_credentials",
    "oauth2_password",
    "login",
    "hmac",
]
LOGIN_PLACEHOLDERS = frozenset({"login", "password"})
SIGNED = frozenset({"method", "path", "query", "body", "body_sha256", "timestamp", "nonce", "login"})


class SignatureSpec(Spec):
    """Each request signed with an HMAC keyed by the connection's password (a gateway that checks every call
    and its time: the provincial LGSP's, a bank-style API), the key id its login."""

    message: str = Field(
        description="what is signed, a template: {method}, {path} (without the query), {query} (as sent), {body}, "
        "{body_sha256} (hex), {timestamp}, {nonce}, {login}"
    )
    algorithm: Literal["sha1", "sha256", "sha512"] = Field(default="sha256", description="the HMAC's hash")
    encoding: Literal["hex", "base64"] = Field(default="hex", description="how the signature is written")
    header: str = Field(default="X-Signature", description="the header that carries the signature")
    prefix: str = Field(default="", description="written before the signature in that header")
    timestamp: Literal["epoch_s", "epoch_ms", "iso"] = Field(
        default="epoch_s", description="{timestamp}: seconds or milliseconds since 1970, or ISO 8601 in UTC"
    )
    headers: dict[str, str] = Field(
        default={},
        description="other headers sent with the signature, templates of the same values: "
        '`{X-Timestamp: "{timestamp}", X-Key-Id: "{login}", X-Nonce: "{nonce}"}`',
    )

    @model_validator(mode="after")
    def _known(self) -> SignatureSpec:
        from connectors.templates import placeholders

        unknown = placeholders([self.message, *self.headers.values()]) - SIGNED
        if unknown:
            raise ValueError(f"a signature can use {sorted(SIGNED)}, not {sorted(unknown)}")
        return self


class LoginPageSpec(Spec):
    """A web application's login form (Laravel, Django, Rails, ASP.NET MVC): read before each login for the CSRF
    token it hides, and recognized when an answer is that page again. A form without a token (Lotus Domino's
    names.nsf?Login, Java EE's j_security_check) is only recognized (`csrf: false`)."""

    path: str = Field(
        description="the form's page, relative to the Base URL: read (GET) before each login, its cookies kept"
    )
    field: str = Field(
        default="_token",
        description="the hidden input holding the CSRF token, {csrf} in the login request: Laravel's `_token`, "
        "Django's `csrfmiddlewaretoken`, Rails' `authenticity_token`, ASP.NET's `__RequestVerificationToken`; "
        "with `csrf: false`, an input of the form by which a page is known to be it (`Username`, `j_username`)",
    )
    header: str | None = Field(
        default=None,
        description="the header that carries that token on every later call, as the app's own script sends it "
        "(Laravel's `X-CSRF-TOKEN`, Django's `X-CSRFToken`)",
    )
    csrf: bool = Field(
        default=True,
        description="false: the form hides no CSRF token (Lotus Domino's `names.nsf?Login`, a Java EE "
        "`j_security_check` form): its page is not read before the login and there is no {csrf}; an answer, the "
        "login call's too, that holds the form's `field` is the login page (the session ended, or the "
        "credentials were refused: said in the page's words), as an answer redirected to its path is",
    )

    @model_validator(mode="after")
    def _tokenless(self) -> LoginPageSpec:
        if not self.csrf and "field" not in self.model_fields_set:
            raise ValueError(
                "csrf: false needs `field`: an input of the login form that tells the page (Domino's `Username`)"
            )
        if not self.csrf and self.header:
            raise ValueError("csrf: false: the form has no token for a `header` to carry")
        return self


class AuthSpec(Spec):
    type: AuthType = Field(
        default="none",
        description="none; basic (connection login/password); digest (HTTP Digest, the same); ntlm (IIS Windows authentication: login "
        "DOMAIN\\user or user@domain, and password); bearer (the connection password is the token); "
        "api_key (the password is the key); oauth2_client_credentials (client id/secret = login/password); "
        "oauth2_password (user = login/password, client_id/client_secret in the connection extra); "
        "login (a login call whose token or cookie is then sent); hmac (each request signed with the "
        "connection password, see `signature`)",
    )
    # api_key
    in_: Literal["header", "query"] = Field(
        default="header", alias="in", description="api_key: where the key goes"
    )
    name: str | None = Field(
        default=None, description="api_key: the header or query parameter that carries it"
    )
    # oauth2
    token_url: str | None = Field(
        default=None, description="oauth2: the token endpoint, relative to the Base URL"
    )
    scope: str | None = Field(
        default=None, description="oauth2: the scope asked for, if the server wants one"
    )
    # login
    request: RequestSpec | None = Field(
        default=None,
        description="login: the login call; {login} and {password} are the connection's, {csrf} the "
        "login page's token (`login_page`)",
    )
    token_path: str | None = Field(
        default=None, description="login: where the token is in the answer; absent: a cookie session"
    )
    expires_in_path: str | None = Field(default=None, description="login: where the token's lifetime (s) is")
    ttl: Duration | None = Field(
        default=None, description="login: the token's lifetime when the answer does not say"
    )
    login_page: LoginPageSpec | None = Field(
        default=None,
        description="login, a web application's form: its page, read first for the CSRF token ({csrf}; a form "
        "without one: `csrf: false`). An HTML answer that is that page (redirected to its path, or holding its token input) means the session "
        "ended: logged in again once; the login call answered with it means the credentials were refused, said "
        "in the page's own words (its alert)",
    )
    # where a token goes (login; bearer and oauth2 use Authorization: Bearer)
    header: str | None = Field(default=None, description="login: the header that carries the token")
    prefix: str = Field(default="", description="login: written before the token in that header")
    signature: SignatureSpec | None = Field(
        default=None, description="hmac: what is signed, and how it is sent"
    )

    @model_validator(mode="after")
    def _complete(self) -> AuthSpec:
        kind = self.type
        if kind == "api_key" and not self.name:
            raise ValueError("api_key needs `name`: the header or query parameter that carries the key")
        if kind == "hmac" and self.signature is None:
            raise ValueError("hmac needs `signature`: the message signed (a template) and where it goes")
        if kind.startswith("oauth2") and not self.token_url:
            raise ValueError(f"{kind} needs `token_url` (relative to the connection's Base URL)")
        if kind == "login":
            if self.request is None:
                raise ValueError("login needs `request`: the login call (method, path, json/form/query)")
            tokened = self.login_page is not None and self.login_page.csrf
            allowed = LOGIN_PLACEHOLDERS | ({"csrf"} if tokened else set())
            unknown = self.request.names() - allowed
            if unknown:
                needs = " ({csrf} needs `login_page` with a token)" if "csrf" in unknown else ""
                raise ValueError(f"the login request can use {sorted(allowed)}, not {sorted(unknown)}{needs}")
        if self.login_page is not None and kind != "login":
            raise ValueError("login_page is for `type: login`")
        for path in (self.token_path, self.expires_in_path):
            if path:
                check_path(path, "path")
        return self

    @property
    def cookie_session(self) -> bool:
        return self.type == "login" and not self.token_path

    @property
    def lifetime(self) -> timedelta | None:
        return self.ttl
