"""Just enough HTTP/1.1 for the fault proxy (onestop/chaos/proxy.py): reading a request or an answer whole
(Content-Length, chunked, read until close) and writing an answer back, optionally cut short.

Messages are read whole because an 'after' fault needs the complete answer and a truncation needs its length;
so chunked answers reach the client de-chunked, with a Content-Length. Standard library only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

SMALL_BODY = 1 << 16  # bodies below this go out in the same write as the head
RESPONSE_DROP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "trailer", "content-length"}
)


class HttpError(Exception):
    """A malformed or cut-short HTTP message."""


@dataclass
class Message:
    """A request or an answer: start line, headers in order (latin-1, so any byte round-trips), body."""

    start: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def tokens(self, name: str) -> set[str]:
        """The comma-separated tokens of every `name` header, lower-cased (Connection, Transfer-Encoding)."""
        return {
            t.strip().lower() for k, v in self.headers if k.lower() == name for t in v.split(",") if t.strip()
        }

    @property
    def framed(self) -> bool:
        """Whether the sender declared a body (so an empty one still needs Content-Length: 0 upstream)."""
        return self.header("content-length") is not None or self.header("transfer-encoding") is not None


@dataclass
class Request(Message):
    method: str = ""
    target: str = ""  # origin form: /path?query
    version: str = "HTTP/1.1"

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        if self.version == "HTTP/1.0":
            return "keep-alive" in self.tokens("connection")
        return "close" not in self.tokens("connection")


@dataclass
class Answer(Message):
    status: int = 200
    reason: str = "OK"
    from_upstream: bool = True  # False for the proxy's own answers (502, injected status)

    @property
    def bodiless(self) -> bool:
        return 100 <= self.status < 200 or self.status in (204, 304)


def synthetic(status: int, payload: bytes, extra: list[tuple[str, str]] | None = None) -> Answer:
    headers = [("Content-Type", "application/json"), *(extra or [])]
    return Answer("", headers, payload, status, _reason(status), from_upstream=False)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def render_head(start: str, headers: list[tuple[str, str]]) -> bytes:
    return "\r\n".join([start, *(f"{k}: {v}" for k, v in headers), "", ""]).encode("latin-1")


async def read_head(reader: asyncio.StreamReader) -> Message | None:
    """The start line and headers, or None at a clean end of stream between messages."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError("connection closed inside a message head") from None
    except asyncio.LimitOverrunError:
        raise HttpError("message head too long") from None
    lines = raw.decode("latin-1").lstrip("\r\n").split("\r\n")
    headers = []
    for line in filter(None, lines[1:]):
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(f"bad header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return Message(lines[0], headers)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await read_head(reader)
    if head is None:
        return None
    parts = head.start.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(f"bad request line {head.start[:80]!r}")
    method, target, version = parts
    if not target.startswith("/"):  # absolute form (a client configured to use us as a proxy)
        split = urlsplit(target)
        target = split._replace(scheme="", netloc="").geturl() or "/"
        target = target if target.startswith("/") else "/" + target
    return Request(head.start, head.headers, method=method, target=target, version=version)


async def read_answer(reader: asyncio.StreamReader, method: str) -> Answer:
    """The upstream's final answer (interim 1xx ones are skipped), body included."""
    while True:
        head = await read_head(reader)
        if head is None:
            raise HttpError("upstream closed without answering")
        parts = head.start.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise HttpError(f"bad status line {head.start[:80]!r}")
        answer = Answer(head.start, head.headers, status=int(parts[1]), reason=(parts[2:] or [""])[0])
        if not 100 <= answer.status < 200 or answer.status == 101:
            break
    if method != "HEAD" and not answer.bodiless:
        answer.body = await read_body(reader, answer, until_close=True)
    return answer


async def read_body(reader: asyncio.StreamReader, message: Message, *, until_close: bool) -> bytes:
    """The body by chunked encoding, Content-Length or (answers only) end of stream; de-chunked."""
    try:
        if "chunked" in message.tokens("transfer-encoding"):
            return await read_chunked(reader)
        length = message.header("content-length")
        if length is not None:
            if not length.isdigit():
                raise HttpError(f"bad Content-Length {length[:40]!r}")
            return await reader.readexactly(int(length))
        return await reader.read() if until_close else b""
    except asyncio.IncompleteReadError:
        raise HttpError("connection closed inside a body") from None
    except asyncio.LimitOverrunError:
        raise HttpError("chunk size line too long") from None


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []  # joined once at the end: no quadratic copying on large bodies
    while True:
        size_field = (await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise HttpError(f"bad chunk size {size_field[:20]!r}") from None
        if size < 0:
            raise HttpError("negative chunk size")
        if size == 0:
            break
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError("chunk data not followed by CRLF")
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers: dropped
        pass
    return b"".join(parts)


async def send(
    writer: asyncio.StreamWriter, answer: Answer, request: Request, keep_alive: bool, cut: int | None = None
) -> None:
    """Relays `answer` with a Content-Length; `cut` sends only that many body bytes (the header still
    announces them all, so the client can tell the answer is incomplete)."""
    headers = [(k, v) for k, v in answer.headers if k.lower() not in RESPONSE_DROP]
    if request.method == "HEAD":  # no body was read: the upstream's length stays as information
        length = answer.header("content-length")
        headers += [("Content-Length", length)] if length is not None else []
    elif not answer.bodiless:
        headers.append(("Content-Length", str(len(answer.body))))
    headers.append(("Connection", "keep-alive" if keep_alive else "close"))
    head = render_head(f"HTTP/1.1 {answer.status} {answer.reason}".rstrip(), headers)
    body = memoryview(answer.body)[:cut]  # a view: no copy of a large body
    if len(body) < SMALL_BODY:
        writer.write(head + body)
    else:
        writer.write(head)
        writer.write(body)
    await writer.drain()
