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


class ConfigError(Exception):
    """The registry or a connection is wrong; says which entry and which field."""
