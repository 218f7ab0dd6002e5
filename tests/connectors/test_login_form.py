"""`auth: login` with `login_page`: a web application's login form (Laravel, Django) read first for its hidden
CSRF token, posted back with the cookie it set; a later answer that is the login page (a 302 to it, or the page
in place of JSON) is a session that ended, logged in again once, the same page asked again; the login answered
with the form again is a refusal said in the page's own alert, never with a secret."""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs

import pytest
from pydantic import ValidationError

from connectors.connection import Connection
from connectors.errors import AuthError
from connectors.spec.auth import AuthSpec
from tests.connectors.entries import opened
from tests.connectors.scripted_server import Answering, serving

HTML = {"Content-Type": "text/html; charset=UTF-8"}
JSON = {"Content-Type": "application/json"}
PAGES = 4


def form_page(token: str, alert: str = "") -> bytes:
    return (
        f'<html><head><title>Đăng nhập</title></head><body><div class="alert alert-danger">{alert}</div>'
        f'<form method="POST"><input type="hidden" name="_token" value="{token}">'
        '<label>Mật khẩu</label><input type="password" name="password"></form></body></html>'
    ).encode()


SPEC = {
    "request": {"method": "POST", "path": "/ds", "form": {"page": "{page}"}},
    "records": "items",
    "paginator": {"type": "page_number", "page_size": 1},
    "auth": {
        "type": "login",
        "login_page": {"path": "/login", "field": "_token", "header": "X-CSRF-TOKEN"},
        "request": {
            "method": "POST",
            "path": "/login",
            "form": {"_token": "{csrf}", "email": "{login}", "password": "{password}"},
        },
    },
}


def app(ended_as: str) -> tuple[type[Answering], list[str]]:
    """A form-login app: sessions by cookie, each with its CSRF token; the 2nd page finds its session gone once."""
    sessions: dict[str, dict[str, object]] = {}
    log: list[str] = []
    lock = threading.Lock()

    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            with lock:
                self.locked(body)

        def session(self) -> tuple[str, dict[str, object]]:
            cookie = (self.headers.get("Cookie") or "").partition("sid=")[2].split(";")[0]
            if cookie in sessions:
                return cookie, sessions[cookie]
            sid = f"s{len(sessions)}"
            sessions[sid] = {"csrf": f"csrf-{sid}", "user": False, "flash": ""}
            return sid, sessions[sid]

        def locked(self, body: bytes) -> None:
            sid, state = self.session()
            cookie = {"Set-Cookie": f"sid={sid}; Path=/; HttpOnly"}
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            log.append(f"{self.command} {self.path}")
            if self.path == "/login" and self.command == "GET":
                flash, state["flash"] = state["flash"], ""
                self.send(200, {**HTML, **cookie}, form_page(str(state["csrf"]), str(flash)))
            elif self.path == "/login":
                if form.get("_token") != state["csrf"]:
                    self.send(419, HTML, b"Page Expired")
                elif form.get("password") != "pw":
                    state["flash"] = "Thông tin đăng nhập không chính xác."
                    self.send(302, {"Location": "/login", "Content-Length": "0"}, b"")
                else:
                    state["user"] = True
                    self.send(302, {"Location": "/home", **cookie}, b"")
            elif self.path == "/home":
                self.send(200, HTML, b"<html><body>home</body></html>")
            elif self.path.startswith("/feed/"):
                self.feed(state, ended_as)
            elif not state["user"] or (form["page"] == "2" and log.count("POST /ds") == 2):
                sessions.clear()
                if ended_as == "redirect":
                    self.send(302, {"Location": "/login"}, b"")
                else:
                    self.send(200, HTML, form_page("csrf-anonymous"))
            elif self.headers.get("X-CSRF-TOKEN") != state["csrf"]:
                self.send(419, HTML, b"Page Expired")
            else:
                page = int(form["page"])
                self.send(200, JSON, json.dumps({"items": [{"id": page}] if page <= PAGES else []}).encode())

        def feed(self, state: dict[str, object], ended_as: str) -> None:
            """A change feed behind the same form login: one event per fetch, acknowledged at the end; the 2nd fetch
            and the first ack each find the session gone once."""
            ends = (self.path == "/feed/fetch" and log.count("POST /feed/fetch") == 2) or (
                self.path == "/feed/ack" and log.count("POST /feed/ack") == 1
            )
            if not state["user"] or ends:
                sessions.clear()
                if ended_as == "redirect":
                    self.send(302, {"Location": "/login"}, b"")
                else:
                    self.send(200, HTML, form_page("csrf-anonymous"))
            elif self.path == "/feed/fetch":
                handed = len([line for line in log if line == "handed"])
                events = [{"ack_id": f"a{handed + 1}", "id": handed + 1}] if handed < PAGES else []
                log.extend(["handed"] * len(events))
                self.send(200, JSON, json.dumps({"events": events}).encode())
            else:
                self.send(200, JSON, json.dumps({"acked": "all"}).encode())

    return Handler, log


@pytest.mark.parametrize("ended_as", ["redirect", "page"])
def test_the_form_token_is_posted_back_and_an_ended_session_is_one_new_login(ended_as: str) -> None:
    handler, log = app(ended_as)
    with serving(handler) as url:
        reader = opened("rest", SPEC, Connection("c", url, "u@x.vn", "pw"))
        ids = [r.record["id"] for page in reader.pages(None, None) for r in page]

    assert ids == list(range(1, PAGES + 1))  # page 2, refused once, asked again: nothing lost
    assert log.count("POST /login") == 2 and log.count("POST /ds") == PAGES + 2


@pytest.mark.parametrize("ended_as", ["redirect", "page"])
def test_a_feed_behind_the_form_logs_in_again_when_its_session_ends_and_loses_nothing(ended_as: str) -> None:
    handler, log = app(ended_as)
    feed = {
        "fetch": {"method": "POST", "path": "/feed/fetch", "json": {"max": "{batch_size}"}},
        "items": "events",
        "ack_id": "ack_id",
        "ack": {"method": "POST", "path": "/feed/ack", "json": {"ack_ids": "{ack_ids}"}},
        "batch_size": 1,
        "auth": SPEC["auth"],
    }
    with serving(handler) as url:
        reader = opened("feed", feed, Connection("c", url, "u@x.vn", "pw"))
        events = [r for page in reader.pages(None, None) for r in page]
        reader.acknowledge([r.ack_id for r in events])

    assert [r.record["id"] for r in events] == list(range(1, PAGES + 1))  # the refused fetch asked again
    assert log.count("POST /feed/ack") == 2 and log.count("POST /login") == 3  # each ended session: one login


def test_the_form_again_after_the_login_is_a_refusal_in_the_pages_own_words() -> None:
    handler, log = app("redirect")
    with serving(handler) as url:
        reader = opened("rest", SPEC, Connection("c", url, "u@x.vn", "wrong-pw"))
        with pytest.raises(AuthError) as failure:
            list(reader.pages(None, None))

    said = str(failure.value)
    assert "login: refused, the login page again: Thông tin đăng nhập không chính xác." in said
    assert "wrong-pw" not in said and "csrf-" not in said and "Mật khẩu" not in said
    assert log.count("POST /login") == 2  # one more login at most


def test_csrf_in_a_login_request_needs_the_login_page() -> None:
    login = {"method": "POST", "path": "/login", "form": {"_token": "{csrf}", "password": "{password}"}}
    with pytest.raises(ValidationError, match="needs `login_page`"):
        AuthSpec.model_validate({"type": "login", "request": login})
    with pytest.raises(ValidationError, match="login_page is for `type: login`"):
        AuthSpec.model_validate({"type": "basic", "login_page": {"path": "/login"}})


# -- a login form without a CSRF token: Lotus Domino's names.nsf?Login, Java EE's j_security_check --------------
def domino_form(reason: str = "") -> bytes:
    return (
        '<html><head><title>Server Login</title></head><body><form method="post" action="/names.nsf?Login">'
        f'<input type="hidden" name="RedirectTo" value="/"><table><tr><td><b>{reason}</b></td></tr>'
        '<tr><td>User name:</td><td><input name="Username"></td></tr>'
        '<tr><td>Password:</td><td><input name="Password" type="password"></td></tr></table></form></body></html>'
    ).encode()


def tokenless_app(login_path: str) -> tuple[type[Answering], list[str]]:
    """Domino's session login: a form POST answered 302 with DomAuthSessId, or 200 with the form again and its
    reason; a request without a live session answered 200 with the form (Domino's default, no 401). The second
    page finds its session gone once."""
    sessions: set[str] = set()
    log: list[str] = []
    lock = threading.Lock()

    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            with lock:
                self.locked(body)

        def locked(self, body: bytes) -> None:
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            sid = (self.headers.get("Cookie") or "").partition("DomAuthSessId=")[2].split(";")[0]
            log.append(f"{self.command} {self.path}")
            if self.path == login_path and self.command == "POST":
                if form.get("Password") != "pw":
                    self.send(200, HTML, domino_form("You provided an invalid username or password."))
                    return
                sid = f"S{len(log)}"
                sessions.add(sid)
                self.send(302, {"Location": "/", "Set-Cookie": f"DomAuthSessId={sid}; path=/; HttpOnly"}, b"")
            elif self.path == "/":
                self.send(200, HTML, b"<html><body>Domino</body></html>")
            elif sid not in sessions or (form["page"] == "2" and log.count("POST /ds") == 2):
                sessions.clear()
                self.send(200, HTML, domino_form())
            else:
                page = int(form["page"])
                self.send(200, JSON, json.dumps({"items": [{"id": page}] if page <= PAGES else []}).encode())

    return Handler, log


def tokenless_spec(page_path: str, login_path: str) -> dict[str, object]:
    return {
        **SPEC,
        "auth": {
            "type": "login",
            "login_page": {"path": page_path, "field": "Username", "csrf": False},
            "request": {
                "method": "POST",
                "path": login_path,
                "form": {"Username": "{login}", "Password": "{password}", "RedirectTo": "/"},
            },
        },
    }


@pytest.mark.parametrize(
    ("page_path", "login_path"),
    [("/names.nsf?Login", "/names.nsf?Login"), ("/login.jsp", "/j_security_check")],
    ids=["domino", "j_security_check"],
)
def test_a_form_without_a_token_is_not_read_first_and_an_ended_session_is_one_new_login(
    page_path: str, login_path: str
) -> None:
    handler, log = tokenless_app(login_path)
    with serving(handler) as url:
        reader = opened("rest", tokenless_spec(page_path, login_path), Connection("c", url, "motcua", "pw"))
        ids = [r.record["id"] for page in reader.pages(None, None) for r in page]

    assert ids == list(range(1, PAGES + 1))
    assert not [line for line in log if line.startswith("GET /names.nsf") or line == "GET /login.jsp"]
    assert log.count(f"POST {login_path}") == 2 and log.count("POST /ds") == PAGES + 2


@pytest.mark.parametrize(
    ("page_path", "login_path"),
    [("/names.nsf?Login", "/names.nsf?Login"), ("/login.jsp", "/j_security_check")],
    ids=["domino", "j_security_check"],
)
def test_a_form_without_a_token_answered_again_to_the_login_is_a_refusal_in_its_words(
    page_path: str, login_path: str
) -> None:
    """The form again (200, no cookie) at the login's own address: refused, said as the page says it."""
    handler, log = tokenless_app(login_path)
    with serving(handler) as url:
        reader = opened("rest", tokenless_spec(page_path, login_path), Connection("c", url, "motcua", "sai"))
        with pytest.raises(AuthError) as failure:
            list(reader.pages(None, None))

    said = str(failure.value)
    assert "login: refused, the login page again: You provided an invalid username or password." in said
    assert "sai" not in said.split("again:")[1] and log.count(f"POST {login_path}") == 2


def test_a_form_without_a_token_says_how_it_is_known_and_offers_no_csrf() -> None:
    login = {
        "method": "POST",
        "path": "/names.nsf?Login",
        "form": {"Username": "{login}", "Password": "{password}"},
    }
    with pytest.raises(ValidationError, match="csrf: false needs `field`: an input of the login form"):
        AuthSpec.model_validate(
            {"type": "login", "request": login, "login_page": {"path": "/x", "csrf": False}}
        )
    tokenless = {"path": "/names.nsf?Login", "field": "Username", "csrf": False}
    with pytest.raises(ValidationError, match="csrf: false: the form has no token for a `header` to carry"):
        AuthSpec.model_validate(
            {"type": "login", "request": login, "login_page": {**tokenless, "header": "X"}}
        )
    posted = {**login, "form": {**login["form"], "t": "{csrf}"}}
    with pytest.raises(ValidationError, match=r"not \['csrf'\] \(\{csrf\} needs `login_page` with a token\)"):
        AuthSpec.model_validate({"type": "login", "request": posted, "login_page": tokenless})
