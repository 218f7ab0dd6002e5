"""What can go wrong when talking to the outside, as a small hierarchy callers can act on."""

from __future__ import annotations


class ConnectorError(Exception):
    """A call to a district system or the portal failed; names the endpoint (source name or `portal`)."""

    retryable = False

    def __init__(self, endpoint: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(f"{endpoint}: {message}")
        self.endpoint = endpoint
        self.http_status = http_status

    @property
    def error_class(self) -> str:
        return type(self).__name__


class Cancelled(ConnectorError):
    """The read this call belongs to was stopped (its consumer failed or stopped early): no call is made, no
    retry waited for, nothing recorded."""


class TransientError(ConnectorError):
    """Timeouts, resets, 5xx, 429: worth another try after a pause."""

    retryable = True

    def __init__(
        self,
        endpoint: str,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
        maybe_applied: bool = False,
    ) -> None:
        super().__init__(endpoint, message, http_status=http_status)
        self.retry_after = retry_after
        # The request went out and its answer was lost (read timeout, reset, truncated body): the server may
        # have applied it, so sending it again is a resend, counted as such.
        self.maybe_applied = maybe_applied


class AuthError(ConnectorError):
    """Credentials refused, or a token the server no longer accepts."""


class ProtocolError(ConnectorError):
    """An answer we cannot use: wrong shape, an error inside HTTP 200, a body over the size cap."""


class RefusedAnswer(ProtocolError):
    """An answer refused as a whole for what it is (not JSON or XML, nested too deep, over the cap, a DTD, a SOAP
    Fault): `excerpt` is its beginning, for the administrator; `offset` the byte where reading stopped; `charset`
    the one its bytes were read in (declared by the system or its source), when not UTF-8 or unknown: the excerpt
    is quoted in it (schemas.personal_data.answer_text; a BOM or the NULs of UTF-16/32 still win)."""

    def __init__(
        self,
        endpoint: str,
        message: str,
        *,
        excerpt: bytes | None = None,
        offset: int | None = None,
        http_status: int | None = None,
        charset: str | None = None,
    ) -> None:
        super().__init__(endpoint, message, http_status=http_status)
        self.message, self.excerpt, self.offset, self.charset = message, excerpt, offset, charset
        self.page: int | None = None

    def on_page(self, page: int) -> RefusedAnswer:
        """The same refusal, saying which page of the run it was."""
        if self.page is not None:
            return self
        said = self.message.removeprefix("page: ")  # the operation a connector named: the page, now numbered
        again = RefusedAnswer(
            self.endpoint,
            f"page {page}: {said}",
            excerpt=self.excerpt,
            offset=self.offset,
            http_status=self.http_status,
            charset=self.charset,
        )
        again.page = page
        return again


class ConfigError(Exception):
    """The registry or a connection is wrong; says which entry and which field."""
