"""The shared HTTP client: retries what is transient, honours Retry-After, caps bodies, reports every failure."""

from __future__ import annotations

import json
import re
import time
import tracemalloc
import zlib

import pytest

from connectors.connection import Connection
from connectors.errors import AuthError, ProtocolError, TransientError
from connectors.http import HttpClient, HttpSettings
from tests.connectors.entries import opened
from tests.connectors.scripted_server import Answering, Dripping, routed_server, scripted_server, serving

FAST = HttpSettings(max_attempts=4, backoff_initial=0.01, backoff_max=2)


class Failures(list):
    def __call__(self, **kwargs) -> None:
        self.append(kwargs)


def test_transient_faults_are_retried_and_each_one_is_reported() -> None:
    failures = Failures()
    answers = [(503, {}, b"busy"), (500, {}, b"oops"), (200, {}, b'{"ok": true}')]
    with scripted_server(answers) as (url, log):
        client = HttpClient("district_x", url, FAST, on_failure=failures)
        assert client.json("GET", "/x", operation="page") == {"ok": True}
    assert len(log) == 3
    assert [(f["endpoint"], f["error_class"], f["http_status"]) for f in failures] == [
        ("district_x", "TransientError", 503),
        ("district_x", "TransientError", 500),
    ]


def test_retry_after_is_honoured() -> None:
    answers = [(429, {"Retry-After": "1"}, b""), (200, {}, b"[]")]
    with scripted_server(answers) as (url, _):
        started = time.monotonic()
        HttpClient("d", url, FAST).json("GET", "/", operation="page")
        assert time.monotonic() - started >= 0.95


def test_a_retry_after_that_is_no_date_is_ignored_not_a_crash() -> None:
    answers = [(503, {"Retry-After": "soon, maybe"}, b""), (200, {}, b"[]")]  # a vendor's own idea of a hint
    with scripted_server(answers) as (url, log):
        assert HttpClient("d", url, FAST).json("GET", "/", operation="page") == []
    assert len(log) == 2


def test_gives_up_after_max_attempts_with_a_clear_error_that_says_how_many() -> None:
    with scripted_server([(502, {}, b"")]) as (url, log):
        with pytest.raises(TransientError) as caught:
            HttpClient("district_y", url, FAST).request("GET", "/", operation="page")
    assert len(log) == 4
    assert re.fullmatch(r"district_y: page: HTTP 502 \(after 4 attempts over \d+ s\)", str(caught.value))


def test_a_failure_without_retries_says_no_count() -> None:
    """One call made: nothing to add (an AuthError, a source with max_attempts 1)."""
    one = HttpSettings(max_attempts=1)
    with scripted_server([(503, {}, b"")]) as (url, _), pytest.raises(TransientError) as caught:
        HttpClient("d", url, one).request("GET", "/", operation="page")
    assert str(caught.value) == "d: page: HTTP 503"


def test_auth_and_client_errors_are_not_retried() -> None:
    with scripted_server([(401, {}, b"")]) as (url, log), pytest.raises(AuthError):
        HttpClient("d", url, FAST).request("GET", "/", operation="page")
    assert len(log) == 1


def test_a_body_over_the_cap_is_refused() -> None:
    settings = HttpSettings(max_attempts=1, max_bytes=1000)
    with scripted_server([(200, {}, b"x" * 5000)]) as (url, _), pytest.raises(ProtocolError, match="cap"):
        HttpClient("d", url, settings).request("GET", "/", operation="page")


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_answer_is_capped_as_it_unpacks_never_unpacked_whole(encoding: str) -> None:
    """A decompression bomb: 256 KiB on the wire that unpacks to 256 MiB. The cap counts the unpacked bytes, and they
    are unpacked a chunk at a time: the reader never holds more than a few chunks."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
    zeros = bytes(1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush()
    assert len(bomb) < 1 << 20
    settings = HttpSettings(max_attempts=1, max_bytes=64 << 20)
    tracemalloc.start()
    try:
        with scripted_server([(200, {"Content-Encoding": encoding}, bomb)]) as (url, _):
            with pytest.raises(ProtocolError, match="over the 67108864-byte cap"):
                HttpClient("d", url, settings).request("GET", "/", operation="page")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(bomb) + (16 << 20), f"{peak:,} bytes held at once"


def test_a_body_its_content_encoding_does_not_decode_is_retried_then_said() -> None:
    with scripted_server([(200, {"Content-Encoding": "gzip"}, b"not gzip at all")]) as (url, log):
        with pytest.raises(TransientError, match=r"page: ContentDecodingError: .*failed to decode it"):
            HttpClient("d", url, FAST).request("GET", "/", operation="page")
    assert len(log) == FAST.max_attempts


def test_a_redirect_loop_is_said_and_not_retried() -> None:
    with scripted_server([(302, {"Location": "/dang-nhap?ReturnUrl=%2F"}, b"")]) as (url, log):
        with pytest.raises(ProtocolError, match="page: TooManyRedirects: Exceeded 30 redirects"):
            HttpClient("d", url, FAST).request("GET", "/", operation="page")
    assert len(log) == 31  # the first call and its 30 redirects, once


def test_a_transport_error_never_quotes_a_credential() -> None:
    """An api key in the query rides in the URL urllib3 quotes ("Max retries exceeded with url: /ds?api_key=…"); a
    token with a line break is quoted by requests' refusal to send it. The error goes to the run, the attempts
    table, the logs and the console: neither is in it, nor in an exception it was raised from."""
    spec = {"request": {"path": "/ds", "query": {"trang": "{page}"}}, "records": "items",
            "paginator": {"type": "single"}, "auth": {"type": "api_key", "in": "query", "name": "api_key"}}  # fmt: skip
    reader = opened("rest", spec, Connection("c", host="http://127.0.0.1:9", password="KHOA-BI-MAT-456"))
    with pytest.raises(TransientError, match=r"with url: /ds\?… \(Caused by NewConnectionError") as refused:
        list(reader.pages(None, None))
    assert "KHOA-BI-MAT" not in str(refused.value) and refused.value.__cause__ is None

    def route(path: str, _body: bytes) -> tuple[int, dict[str, str], bytes]:
        token = {"token": "MA-PHIEN-789\r\nX-Chen: 1"}
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps(token if path == "/dang-nhap" else {}).encode(),
        )

    login = {"type": "login", "request": {"method": "POST", "path": "/dang-nhap", "json": {"u": "{login}"}},
             "token_path": "token", "header": "Authorization", "prefix": "Bearer "}  # fmt: skip
    with routed_server(route) as (url, log):
        reader = opened("rest", {**spec, "auth": login}, Connection("c", host=url, login="u", password="p"))
        with pytest.raises(ProtocolError, match="a header holds what HTTP cannot carry") as refused:
            list(reader.pages(None, None))
    assert (
        "MA-PHIEN" not in str(refused.value)
        and refused.value.__cause__ is None
        and log == ["POST /dang-nhap"]
    )


def test_a_connection_refused_is_transient() -> None:
    with pytest.raises(TransientError, match="ConnectionError"):
        HttpClient("d", "http://127.0.0.1:9", HttpSettings(max_attempts=2, backoff_initial=0.01)).request(
            "GET", "/", operation="page"
        )


def test_an_http_error_keeps_the_system_s_own_words_masked_and_capped() -> None:
    failures = Failures()
    explanation = "Phương thức GET không được hỗ trợ; dùng POST. Liên hệ 0912 345 678. "
    body = ("<!DOCTYPE HTML><html><body>" + explanation * 200 + "</body></html>").encode()
    with scripted_server([(501, {"Content-Type": "text/html; charset=utf-8"}, body)]) as (url, _):
        with pytest.raises(ProtocolError) as caught:
            HttpClient("district_z", url, FAST, on_failure=failures).request("GET", "/", operation="page")
    message = str(caught.value)
    assert message.startswith("district_z: page: HTTP 501: <!DOCTYPE HTML><html><body>Phương thức GET không")
    assert "0912 345 678" not in message and "**** *** 678" in message  # personal data masked
    kept, _, rest = message.partition("…(+")
    assert len(kept.split("HTTP 501: ", 1)[1].encode()) <= 4096 and rest.endswith(" bytes)")
    assert failures[0]["message"] == message  # the attempt row keeps the same words


def test_a_declared_charset_decodes_an_error_body() -> None:
    body = '{"THONGBAO": "Khóa không hơ\u0323p lê\u0323"}'.encode("cp1258")  # tones as combining marks
    with scripted_server([(403, {}, body)]) as (url, _), pytest.raises(AuthError) as caught:
        HttpClient("d", url, FAST, charset="windows-1258").request("GET", "/", operation="page")
    assert "Khóa không hợp lệ" in str(caught.value)  # decoded and composed (NFC)


def test_a_token_endpoint_s_invalid_grant_is_credentials_refused() -> None:
    with scripted_server([(400, {}, b'{"error": "invalid_grant"}')]) as (url, log), pytest.raises(AuthError):
        HttpClient("d", url, FAST).request("POST", "/token", operation="token")
    assert len(log) == 1


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers"])
def test_an_answer_that_comes_a_few_bytes_at_a_time_is_cut_off_at_its_whole_time_limit(
    drip_headers: bool,
) -> None:
    """The read timeout (1 s) never passes: each wait is 0.2 s. The whole answer's limit does, each attempt."""
    settings = HttpSettings(read_timeout=1, max_attempts=2, backoff_initial=0.01, answer_timeout=1.5)
    handler = type("Drips", (Dripping,), {"drip_headers": drip_headers})
    failures = Failures()
    with serving(handler) as url:
        started = time.monotonic()
        with pytest.raises(TransientError) as caught:
            HttpClient("d", url, settings, on_failure=failures).json("GET", "/ds", operation="page")
        took = time.monotonic() - started
    assert re.fullmatch(
        r"d: page: the answer was still coming after 1.5 s: cut off \(after 2 attempts over \d+ s\)",
        str(caught.value),
    )
    assert 3.0 <= took < 5, took  # two attempts of 1.5 s, not the ~100 s the drip would take
    assert [f["message"] for f in failures] == [
        "d: page: the answer was still coming after 1.5 s: cut off"
    ] * 2


def test_answers_within_the_limit_are_read_and_a_kept_alive_connection_serves_each_call_in_its_own_limit() -> (
    None
):
    settings = HttpSettings(max_attempts=1, answer_timeout=0.5)
    with routed_server(lambda _p, _b: (200, {}, b'{"ok": true}')) as (url, log):
        client = HttpClient("d", url, settings)
        for _ in range(3):
            assert client.json("GET", "/", operation="page") == {"ok": True}
            time.sleep(0.3)  # 0.9 s on one connection in all: each call had its own 0.5 s
    assert len(log) == 3


class Hinting(Answering):
    """A server (or the CDN before it) that sends `103 Early Hints`, or `102 Processing`, before each answer, on a
    kept-alive connection: each answer names the call it answers."""

    def answer(self, body: bytes) -> None:
        self.wfile.write(b"HTTP/1.1 102 Processing\r\n\r\n")
        self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        self.send(200, {"Content-Type": "application/json"}, json.dumps({"answers": self.path}).encode())


def test_interim_answers_are_skipped_and_each_call_reads_its_own_answer() -> None:
    """http.client took the 103 for the answer (empty) and left the real one to be read by the next call."""
    with serving(Hinting) as url:
        client = HttpClient("d", url, HttpSettings(max_attempts=1))
        assert [client.json("GET", f"/page/{n}", operation="page") for n in (1, 2, 3)] == [
            {"answers": f"/page/{n}"} for n in (1, 2, 3)
        ]
