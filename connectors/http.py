"""One HTTP client for every connector: timeouts, bounded bodies, retries with backoff honouring Retry-After,
and every failed call reported (so faults absorbed by a retry are visible to administrators too)."""

from __future__ import annotations

import email.utils
import io
import random
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
import tenacity

from connectors.base import EXCERPT, unguarded
from connectors.errors import (
    AuthError,
    Cancelled,
    ConnectorError,
    ProtocolError,
    RefusedAnswer,
    TransientError,
)
from connectors.transport import NotingAdapter, answer_deadline
from schemas import jsontext
from schemas.personal_data import quote_answer

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# RFC 6749 §5.2: a token endpoint refuses credentials with HTTP 400 and one of these codes.
OAUTH_REFUSALS = (b"invalid_client", b"invalid_grant", b"unauthorized_client")
_CHARSET = re.compile(r"charset=\"?([\w.:-]+)", re.IGNORECASE)
SPOOL_BYTES = 4 << 20  # an answer's body stays in memory up to this size, then goes to a temporary file
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read to its end (within the byte cap): its body as bytes, or spooled (in memory up to
    SPOOL_BYTES, then in a temporary file) so that a big page is parsed as a stream (`stream()`), never held
    as one bytes object."""

    status: int
    headers: Mapping[str, str]
    content: bytes | IO[bytes]
    url: str

    @property
    def body(self) -> bytes:
        """The whole body (a JSON page, a token, an error answer): a spooled body is read into memory."""
        if isinstance(self.content, bytes):
            return self.content
        self.content.seek(0)
        return self.content.read()

    def head(self, size: int) -> bytes:
        """The body's first `size` bytes (to quote it)."""
        if isinstance(self.content, bytes):
            return self.content[:size]
        self.content.seek(0)
        return self.content.read(size)

    def stream(self) -> IO[bytes]:
        """The body as a file, at its start."""
        if isinstance(self.content, bytes):
            return io.BytesIO(self.content)
        self.content.seek(0)
        return self.content

    @property
    def charset(self) -> str | None:
        """The charset the answer declares in its Content-Type, if it declares one."""
        match = _CHARSET.search(self.headers.get("Content-Type", "")) if self.headers else None
        return match[1] if match else None

    @property
    def other_charset(self) -> str | None:
        """The declared charset when it is not UTF-8 (UTF-8, or UTF-16/32 by their first bytes, need none)."""
        declared = self.charset
        return declared if declared and declared.lower() not in ("utf-8", "utf8") else None


Accept = Callable[[Answer], bool]  # an HTTP error answer that `read` judges itself


class RequestTrace(Protocol):
    """Told each request just before it goes out (`onestop source preview` shows them, secrets masked)."""

    def __call__(self, method: str, url: str, kwargs: dict[str, Any]) -> None: ...


class Breaker(Protocol):
    """A circuit breaker around one endpoint (connectors.store.breaker.DatabaseBreaker)."""

    def before(self) -> None: ...
    def success(self) -> None: ...
    def failure(self, error: BaseException) -> None: ...


class FailureRecorder(Protocol):
    def __call__(
        self, *, endpoint: str, operation: str, error_class: str, message: str, http_status: int | None
    ) -> None: ...


@dataclass(frozen=True)
class HttpSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_bytes: int = 64 * 1024 * 1024  # no answer may be larger: a page, a token, a portal reply
    # The whole answer, headers and body (read_timeout bounds each wait for bytes): connectors.transport.
    answer_timeout: float = 600.0


# What a retry may cure: no connection, no answer in time, an answer cut short or garbled on its way (a body that
# its Content-Encoding does not decode: a proxy's doing, as often as the server's).
TRANSPORT_FAULTS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


# A URL quoted in a transport error ("Max retries exceeded with url: /ds?p=1&api_key=…"): its query may carry an
# api key, and the error goes to the run, the attempts table, the logs and the console.
_QUOTED_QUERY = re.compile(r"""((?:url: |https?://)[^\s?'"]*)\?[^\s'")]*""")


# OpenSSL's words for a server older than its defaults allow: a protocol before TLS 1.2, a key, digest or cipher
# below security level 2, renegotiation without RFC 5746. What the connection's `tls_legacy` lets through.
OLD_TLS = (
    "UNSUPPORTED_PROTOCOL",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "DH_KEY_TOO_SMALL",
    "EE_KEY_TOO_SMALL",
    "CA_KEY_TOO_SMALL",
    "CA_MD_TOO_WEAK",
    "NO_CIPHERS_AVAILABLE",
    "SSLV3_ALERT_HANDSHAKE_FAILURE",
    "LEGACY_SIGALG_DISALLOWED",
    "UNSAFE_LEGACY_RENEGOTIATION_DISABLED",
)
OLD_TLS_HINT = "(an old server's TLS: `tls_legacy: true` on its connection accepts it)"


def _said(exc: BaseException) -> str:
    """A transport exception's words, without the query of any URL they quote."""
    return _QUOTED_QUERY.sub(r"\1?…", str(exc))


def _maybe_applied(exc: requests.RequestException) -> bool:
    """False only when the request surely never reached the server (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    text = repr(exc)
    return not any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError"))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = http_date(value)  # an HTTP date, or garbage from an unknown vendor: no retry hint
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


def http_date(value: str | None) -> datetime | None:
    """An HTTP `Date` (RFC 7231 §7.1.1.1, IMF-fixdate or the obsolete forms) as an aware datetime; None when
    absent or unreadable. A date without a zone (-0000) is taken as UTC, as RFC 7231 says GMT."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class Pacer:
    """At most `rate` calls per second from this client (the source's pool caps concurrency across workers)."""

    def __init__(self, rate: float) -> None:
        self.interval, self.next_at, self.lock = 1.0 / rate, 0.0, threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            delay, self.next_at = max(self.next_at - now, 0.0), max(self.next_at, now) + self.interval
        if delay:
            time.sleep(delay)


# The headers a request keeps when redirected to another host: requests takes off Authorization only, and an
# api key, a login's token, a signature or a password in a header of our own would follow to wherever the Location
# points.
_ACROSS_HOSTS = frozenset(
    {"user-agent", "accept", "accept-encoding", "connection", "content-type", "content-length"}
)


class _CarriedAway(Exception):
    """A redirect to another host that keeps the request's body (307, 308): the body may hold credentials."""


class _Session(requests.Session):
    """A session whose redirected request is signed again for where it now goes (an `auth: hmac` signature covers
    its method and URL); to another host it goes bare — no header of ours, no body — or not at all. Its connections
    are noted by the call that uses them (connectors.transport: a whole answer's time limit)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.legacy = ssl_context  # an old server's TLS settings (connectors.connection.tls_context)
        self.mount("https://", NotingAdapter(ssl_context))
        self.mount("http://", NotingAdapter())

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)
        if self.should_strip_auth(response.request.url or "", prepared_request.url or ""):
            if prepared_request.body:
                raise _CarriedAway(urlsplit(prepared_request.url or "").netloc)
            for name in [n for n in prepared_request.headers if n.lower() not in _ACROSS_HOSTS]:
                del prepared_request.headers[name]
            return
        signer = getattr(response.request, "signed_by", None)
        if signer is not None:
            signer(prepared_request)


class HttpClient:
    """A requests.Session bound to one endpoint (a district system or the portal)."""

    def __init__(
        self,
        endpoint: str,
        base_url: str,
        settings: HttpSettings | None = None,
        on_failure: FailureRecorder | None = None,
        rate_limit: float | None = None,
        breaker: Breaker | None = None,
        transport: dict[str, Any] | None = None,
        charset: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.pacer = Pacer(rate_limit) if rate_limit else None
        self.breaker = breaker
        self.endpoint = endpoint
        self.base_url = base_url.rstrip("/")
        self.settings = settings or HttpSettings()
        self.on_failure = on_failure
        self.session = _Session(ssl_context)
        self.session.headers["User-Agent"] = "onestop-esb"
        # connectors.connection.transport_options, given on every request: requests lets REQUESTS_CA_BUNDLE and
        # CURL_CA_BUNDLE override a session's `verify`, not a request's.
        self.transport = transport or {}
        self.charset = charset  # what the system writes in, when it does not say (the source's `charset`)
        self.trace: RequestTrace | None = None
        # The source's own clock: the `Date` of its last successful answer, and our clock when it came.
        self.clock: tuple[datetime, datetime] | None = None
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        """Stop every call of this client: the one in flight loses its connection, a retry's wait ends, no other
        call is made (each raises Cancelled). For a read stopped early, whose fetching thread must not go on."""
        self.cancelled.set()
        self.session.close()

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def on_own_host(self, url: str) -> str:
        """A URL the system gave (a next link, a WSDL's soap:address), kept on the connection's host: credentials
        go only where we were told. Systems behind a proxy often publish an internal host name; its path is taken
        relative to the connection's base URL, like any path the registry writes."""
        base, where = urlsplit(self.base_url), urlsplit(url)
        if (where.scheme, where.netloc) == (base.scheme, base.netloc):
            return url
        return self.base_url + urlunsplit(("", "", where.path or "/", where.query, ""))

    def _once(
        self, method: str, path: str, operation: str, accept: Accept | None = None, **kwargs: Any
    ) -> Answer:
        url = self.url(path)
        s = self.settings
        if self.pacer is not None:
            self.pacer.wait()
        if self.trace is not None:
            self.trace(method, url, kwargs)
        try:
            with (
                answer_deadline(s.answer_timeout) as deadline,
                self.session.request(
                    method,
                    url,
                    timeout=(s.connect_timeout, s.read_timeout),
                    stream=True,
                    **self.transport,
                    **kwargs,
                ) as resp,
            ):
                content = self._read_capped(resp)
            # Read to its end as the socket was shut: cut short, whatever it says.
            if deadline.passed.is_set():
                raise requests.ConnectionError("cut off")
        except _CarriedAway as exc:
            raise ProtocolError(
                self.endpoint,
                f"{operation}: redirected with its body to another host ({exc}): not followed, the body may carry "
                "credentials",
            ) from None
        except requests.exceptions.InvalidHeader:  # its text quotes the header: a token, a password
            raise ProtocolError(
                self.endpoint,
                f"{operation}: a header holds what HTTP cannot carry (a line break, a control character): not sent",
            ) from None
        except requests.exceptions.SSLError as exc:  # a certificate refused is not cured by waiting
            said = _said(exc)
            if self.session.legacy is None and any(reason in said for reason in OLD_TLS):
                said += f" {OLD_TLS_HINT}"
            raise ProtocolError(self.endpoint, f"{operation}: TLS: {said}") from None
        except TRANSPORT_FAULTS as exc:
            if deadline.passed.is_set():
                raise TransientError(
                    self.endpoint,
                    f"{operation}: the answer was still coming after {s.answer_timeout:g} s: cut off",
                    maybe_applied=True,
                ) from None
            raise TransientError(
                self.endpoint,
                f"{operation}: {type(exc).__name__}: {_said(exc)}",
                maybe_applied=_maybe_applied(exc),
            ) from None
        # Any other: a redirect loop, a Location that is no URL. Said, not retried.
        except requests.RequestException as exc:
            raise ProtocolError(self.endpoint, f"{operation}: {type(exc).__name__}: {_said(exc)}") from None
        answer = Answer(resp.status_code, resp.headers, content, resp.url)
        if resp.status_code < 400 or (accept is not None and accept(answer)):
            return answer
        raise self.refusal(operation, answer)

    def refusal(self, operation: str, answer: Answer) -> ConnectorError:
        """What an HTTP error answer means, with the system's own words (its body) verbatim: masked, capped at
        4 KiB. Also for an answer let through by `accept` that no rule of the source's explained."""
        body = answer.head(1 << 16)
        said = quote_answer(body, charset=answer.charset or self.charset or "utf-8")
        status = answer.status
        message = f"{operation}: HTTP {status}" + (f": {said}" if said else "")
        if status == 400 and operation == "token" and any(c in body for c in OAUTH_REFUSALS):
            return AuthError(self.endpoint, message, http_status=400)
        if status in RETRY_STATUSES:
            return TransientError(
                self.endpoint,
                message,
                http_status=status,
                retry_after=_retry_after(answer.headers.get("Retry-After")),
            )
        if status in (401, 403):
            return AuthError(self.endpoint, message, http_status=status)
        return ProtocolError(self.endpoint, message, http_status=status)

    def _read_capped(self, resp: requests.Response) -> bytes | IO[bytes]:
        """The body, counted against the cap as it comes: bytes when it is small, else the spooled file (at its
        start) that holds it."""
        cap = self.settings.max_bytes
        declared = resp.headers.get("Content-Length")
        if (
            declared and declared.isdigit() and int(declared) > cap
        ):  # refused unread: its beginning is unknown
            raise RefusedAnswer(self.endpoint, f"answer of {declared} bytes is over the {cap}-byte cap")
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the Answer
        try:
            size = 0
            for chunk in resp.iter_content(chunk_size=256 * 1024):
                size += len(chunk)
                if size > cap:
                    spool.seek(0)
                    said = _CHARSET.search(resp.headers.get("Content-Type", ""))
                    raise RefusedAnswer(
                        self.endpoint,
                        f"answer is over the {cap}-byte cap",
                        excerpt=spool.read(EXCERPT),
                        charset=said[1] if said else self.charset,
                    )
                spool.write(chunk)
            spool.seek(0)
            if size <= SPOOL_BYTES:
                with spool:
                    return spool.read()
        except BaseException:
            spool.close()
            raise
        return spool

    def record_failure(self, operation: str, exc: BaseException) -> None:
        """A failed call in the attempts table (`on_failure`): what the client raised, or what its caller found
        wrong in an answer read after the call returned."""
        if self.on_failure is None:
            return
        status = exc.http_status if isinstance(exc, ConnectorError) else None
        self.on_failure(
            endpoint=self.endpoint,
            operation=operation,
            error_class=type(exc).__name__,
            message=str(exc),
            http_status=status,
        )

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(exc.retry_after, self.settings.backoff_max)
        # Exponential backoff with full jitter: many workers retrying together do not stampede.
        ceiling = min(
            self.settings.backoff_initial * 2 ** (state.attempt_number - 1), self.settings.backoff_max
        )
        return random.uniform(ceiling / 2, ceiling)

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        read: Callable[[Answer], T],
        retry: bool = True,
        on_retry: Callable[[TransientError], None] | None = None,
        accept: Accept | None = None,
        **kwargs: Any,
    ) -> T:
        """What `read` makes of a successful answer. `read` may raise a ConnectorError (an error inside HTTP 200):
        like an HTTP failure it is recorded, counted by the breaker and, when transient, retried with backoff
        (each retry told to `on_retry`). `accept` lets an HTTP error answer through to `read` (a SOAP Fault
        comes with HTTP 500 or 400: its own words say what went wrong)."""
        attempts = self.settings.max_attempts if retry else 1

        def stopped() -> Cancelled:
            return Cancelled(self.endpoint, f"{operation}: the read was stopped")

        def once() -> T:
            if self.cancelled.is_set():
                raise stopped()
            if self.breaker is not None:
                self.breaker.before()  # an open circuit fails fast: the system is not hammered
            try:
                answer = self._once(method, path, operation, accept, **kwargs)
                result = read(answer)
            except ConnectorError as exc:
                if self.cancelled.is_set():  # the connection was closed under it: not the system's failure
                    raise stopped() from exc
                self.record_failure(operation, exc)
                if self.breaker is not None and exc.retryable:
                    self.breaker.failure(exc)
                raise
            if self.cancelled.is_set():  # answered after the read was stopped: nobody reads it, nothing noted
                raise stopped()
            said = http_date(answer.headers.get("Date")) if answer.headers else None
            if said is not None:
                self.clock = (said, datetime.now(UTC))
            if self.breaker is not None:
                self.breaker.success()
            return result

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(TransientError),
            before_sleep=(lambda state: on_retry(state.outcome.exception())) if on_retry else None,
            sleep=self.cancelled.wait,  # a backoff that ends when the read is stopped
            reraise=True,
        )
        started = time.monotonic()
        try:
            return retrying(once)
        except TransientError as exc:
            tried = retrying.statistics.get("attempt_number", 1)
            if tried > 1:  # the administrator reads that it was not one unlucky call
                exc.args = (f"{exc} {tries_said(tried, time.monotonic() - started)}",)
            raise

    def request(self, method: str, path: str, *, operation: str, **kwargs: Any) -> bytes:
        """The body of a successful answer (see call())."""
        return self.call(method, path, operation=operation, read=_body, **kwargs)

    def json(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        vet: Callable[[str, Answer], Answer] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The answer's JSON; `vet` looks at the answer first (an auth's: the login page in its place)."""
        return self.call(
            method,
            path,
            operation=operation,
            read=lambda a: parse_json(self.endpoint, operation, vet(operation, a) if vet else a),
            **kwargs,
        )


def tries_said(tried: int, seconds: float) -> str:
    """What a failure that retries did not cure adds to its text: how many calls, over how long."""
    return f"(after {tried} attempts over {round(seconds)} s)"


def _body(answer: Answer) -> bytes:
    return answer.body


def parse_json(endpoint: str, operation: str, answer: Answer, charset: str | None = None) -> Any:
    """An answer's JSON (decoded from `charset` when the system does not speak UTF-8), or a ProtocolError that
    says where the text stops being JSON and quotes it. An anti-XSSI prefix (`)]}',`) is taken off first."""
    body = unguarded(answer.body)
    try:
        if charset is not None:
            return jsontext.loads(body.decode(charset))
        return jsontext.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(
            endpoint,
            f"{operation}: answer is not JSON ({exc}): {quote_answer(body[:2048], 512, charset or 'utf-8')}",
        ) from exc
