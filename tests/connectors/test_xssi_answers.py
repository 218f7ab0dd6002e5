"""JSON behind an anti-XSSI prefix (AngularJS's `)]}',` and a newline, `while(1);`): read as the JSON it guards,
in login answers, pages and details alike. And a login answer that cannot be read, or lacks the token where the
registry says, is never quoted with the token it may hold."""

from __future__ import annotations

import json
import unicodedata

import pytest

from connectors.base import unguarded
from connectors.connection import Connection
from connectors.errors import AuthError, ProtocolError
from tests.connectors.entries import opened
from tests.connectors.scripted_server import Answering, serving

JSON = {"Content-Type": "application/json;charset=UTF-8"}
SECRET = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig"


def test_the_guards_come_off_and_json_stays_as_it_is() -> None:
    for guarded in (b")]}',\n{}", b")]}'\n{}", b"\xef\xbb\xbf)]}',\r\n{}", b"while(1);{}", b"for(;;);\n{}",
                    b"  )]}', {}"):  # fmt: skip
        assert unguarded(guarded).strip() == b"{}", guarded
    for plain in (b"{}", b"[1]", b'")]}\'"', b"", b")]", b"true", b"null", b"nulls(1)x", b"cb(", b"cb)"):
        assert unguarded(plain) == plain


def test_a_jsonp_call_is_read_as_the_json_it_wraps() -> None:
    for wrapped in (
        b'cb({"a": 1});',
        b'jQuery3510_1700({"a": 1})\n',
        b'/**/ cb ({"a": 1});  ',
        b"window.x.y([1]);",
    ):
        assert json.loads(unguarded(wrapped)) in ({"a": 1}, [1]), wrapped


def login_spec(token_path: str) -> dict[str, object]:
    return {
        "request": {"path": "/ds", "query": {"page": "{page}"}},
        "records": "",
        "paginator": {"type": "page_number", "page_size": 1},
        "auth": {"type": "login", "token_path": token_path, "header": "Authorization", "prefix": "Bearer ",
                 "request": {"method": "POST", "path": "/auth", "json": {"u": "{login}", "p": "{password}"}}},
    }  # fmt: skip


def app(login_answer: bytes) -> type[Answering]:
    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            if self.path == "/auth":
                self.send(200, JSON, login_answer)
            elif self.headers.get("Authorization") != f"Bearer {SECRET}":
                self.send(401, JSON, b')]}\',\n{"detail": "Unauthorized"}')
            else:
                page = int(self.path.rsplit("=", 1)[1])
                self.send(200, JSON, b")]}',\n" + json.dumps([{"id": page}] if page <= 3 else []).encode())

    return Handler


def test_a_guarded_login_and_guarded_pages_are_read() -> None:
    with serving(app(b")]}',\n" + json.dumps({"id_token": SECRET}).encode())) as url:
        reader = opened("rest", login_spec("id_token"), Connection("c", url, "u", "p"))
        assert [r.record["id"] for page in reader.pages(None, None) for r in page] == [1, 2, 3]


@pytest.mark.parametrize(
    ("answer", "path", "error", "says"),
    [
        (f'{{"id_token": "{SECRET}"'.encode(), "id_token", ProtocolError, "login: answer is not JSON"),
        (
            json.dumps({"data": {"jwt": SECRET}}).encode(),
            "data.token",
            AuthError,
            'in the answer: {"data": {"jwt": "…"}}',
        ),
        (  # the vendor's words and codes still show: only what may be a token is hidden
            json.dumps(
                {"ok": False, "loi": {"ma": 1002, "thongBao": "Sai mật khẩu", "phien": SECRET}}
            ).encode(),
            "token",
            AuthError,
            '{"ok": false, "loi": {"ma": 1002, "thongBao": "Sai mật khẩu", "phien": "…"}}',
        ),
    ],
)
def test_a_login_answer_that_fails_is_never_quoted_with_its_token(
    answer: bytes, path: str, error: type[Exception], says: str
) -> None:
    with serving(app(answer)) as url:
        reader = opened("rest", login_spec(path), Connection("c", url, "u", "p"))
        with pytest.raises(error) as failure:
            list(reader.pages(None, None))
    assert says in str(failure.value) and SECRET not in str(failure.value)


def test_a_login_refusal_in_the_charset_the_answer_declares_is_the_systems_own_words() -> None:
    refusal = "Tài khoản bị khóa"
    body = json.dumps({"ok": False, "msg": unicodedata.normalize("NFD", refusal)}, ensure_ascii=False)

    class Handler(Answering):
        def answer(self, _: bytes) -> None:
            self.send(200, {"Content-Type": "application/json; charset=windows-1258"}, body.encode("cp1258"))

    spec = login_spec("token") | {
        "errors": [{"when": {"path": "ok", "equals": False}, "message": "msg", "means": "auth"}]
    }
    with serving(Handler) as url:
        reader = opened("rest", spec, Connection("c", url, "u", "p"))
        with pytest.raises(AuthError) as failure:
            list(reader.pages(None, None))
    assert refusal in unicodedata.normalize("NFC", str(failure.value))
