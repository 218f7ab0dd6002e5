"""The console's defences in a real browser (Debian's Chromium) against what `make ui` starts: a citizen ID never
enters a URL or the history, a form posted from another site is refused even with a valid token, no inline
script runs under the Content-Security-Policy while every page still works, and an anonymous visitor comes back
to the page asked for after logging in (and nowhere else). Last, every log the stack wrote is searched for the
citizens' IDs and phones."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from onestop import embedded_db
from onestop.simulators import ui
from tests.ui.conftest import CHROMIUM, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]

TYPED_PHONE, TYPED_CITIZEN_ID = "0987654321", "079203001122"  # what an administrator types into a comment
# Every violation the page reports (an init script runs outside the page's CSP, before its own scripts).
WATCH_CSP = "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective));"


@pytest.fixture
def admin(browser, console: ui.ConsoleStack) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH_CSP)
    tab = context.new_page()
    tab.goto(f"{console.url}/onestop/")
    log_in(tab, "admin")
    yield tab
    context.close()


def a_citizen_id(console: ui.ConsoleStack) -> str:
    with psycopg.connect(console.db_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT record #>> '{applicant,id_number}' FROM onestop.dossier"
            " WHERE record #>> '{applicant,id_number}' ~ '^[0-9]{12}$' LIMIT 1"
        ).fetchone()[0]


def test_a_search_by_citizen_id_leaves_the_id_out_of_the_url_and_the_history(admin, console) -> None:
    citizen_id = a_citizen_id(console)
    admin.goto(f"{console.url}/onestop/trace")
    admin.locator("input[name=q]").fill(citizen_id)
    admin.get_by_role("button", name="Tra cứu").click()
    admin.locator("section.trace").first.wait_for()
    assert citizen_id not in admin.content()
    assert f"*********{citizen_id[-3:]}" in admin.content()
    history = admin.context.new_cdp_session(admin).send("Page.getNavigationHistory")["entries"]
    assert len(history) >= 3
    assert not [e["url"] for e in history if citizen_id in e["url"]]
    assert admin.url.endswith("/onestop/trace")
    assert admin.locator("input[name=q]").input_value() == ""


class _Elsewhere(BaseHTTPRequestHandler):
    """Another site (another origin: another port) whose page posts the console's resolve form on load."""

    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: object) -> None:
        pass


def test_a_form_from_another_site_is_refused_even_with_a_valid_token(admin, console) -> None:
    with psycopg.connect(console.db_url, autocommit=True) as conn:
        key = conn.execute(
            "SELECT key FROM onestop.failure WHERE open AND kind = 'quarantine' LIMIT 1"
        ).fetchone()[0]
    admin.goto(f"{console.url}/onestop/failures")
    token = admin.locator("input[name=csrf]").first.get_attribute("value")  # stolen, say
    _Elsewhere.page = (
        f'<form id="f" method="post" action="{console.url}/onestop/failures/resolve">'
        f'<input name="csrf" value="{token}"><input name="keys" value="{key}"><input name="comment" value="x">'
        "</form><script>document.getElementById('f').submit()</script>"
    ).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Elsewhere)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with admin.expect_response(re.compile(r"/onestop/failures/resolve$")) as answer:
            admin.goto(f"http://127.0.0.1:{server.server_port}/")
        assert answer.value.status == 403
        assert "không đến từ trang của bảng điều khiển" in admin.content()
    finally:
        server.shutdown()
    with psycopg.connect(console.db_url, autocommit=True) as conn:
        assert conn.execute("SELECT open FROM onestop.failure WHERE key = %s", (key,)).fetchone()[0]

    # The same form from the console's own page goes through.
    admin.goto(f"{console.url}/onestop/failures/{key}")
    admin.locator("form.actions input[name=comment]").fill(f"Đã gọi {TYPED_PHONE}, CCCD {TYPED_CITIZEN_ID}")
    admin.get_by_role("button", name="Đánh dấu đã xử lý").click()
    admin.locator(".flash.ok").wait_for()
    admin.goto(f"{console.url}/onestop/failures/{key}")
    shown = admin.locator("main").inner_text()
    assert (
        TYPED_PHONE not in shown and TYPED_CITIZEN_ID not in shown and f"*******{TYPED_PHONE[-3:]}" in shown
    )


def test_no_inline_script_runs_under_the_csp_and_every_page_still_works(admin, console) -> None:
    with psycopg.connect(console.db_url, autocommit=True) as conn:
        key = conn.execute("SELECT key FROM onestop.failure WHERE open LIMIT 1").fetchone()[0]
    for path, heading in [
        ("/onestop/", "Tổng quan"),
        ("/onestop/failures", "Hồ sơ lỗi"),
        (f"/onestop/failures/{key}", ""),
        ("/onestop/trace", "Tra cứu hồ sơ"),
        ("/onestop/health", "Tình trạng nguồn"),
    ]:
        answer = admin.goto(f"{console.url}{path}")
        assert answer.status == 200, path
        assert heading in admin.locator("main h1").inner_text(), path
        assert admin.evaluate("getComputedStyle(document.querySelector('nav.top')).display") == "flex", path
        assert admin.evaluate("window.__csp") == [], (path, admin.evaluate("window.__csp"))
        # An inline script that made it into the page (a stored XSS, say) does not run.
        admin.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
            " document.body.appendChild(s); }"
        )
        assert admin.evaluate("window.__ran") is None, path
        assert "script-src-elem" in admin.evaluate("window.__csp") or "script-src" in admin.evaluate(
            "window.__csp"
        )
    # The filters still work: a form submitted, a list shown.
    admin.goto(f"{console.url}/onestop/failures")
    admin.locator("form.filters select[name=kind]").select_option("quarantine")
    admin.get_by_role("button", name="Lọc").click()
    admin.wait_for_url(re.compile(r"kind=quarantine"))
    assert admin.locator("tr[data-key]").count() > 0


def test_an_anonymous_visitor_logs_in_and_comes_back_to_the_page_asked_for(browser, console) -> None:
    context = browser.new_context()
    tab = context.new_page()
    try:
        tab.goto(f"{console.url}/onestop/failures?kind=delivery&state=all")
        tab.locator("input[name=username]").wait_for()
        log_in(tab, "viewer")
        tab.wait_for_url(re.compile(r"/onestop/failures\?kind=delivery&state=all$"))
        assert "Hồ sơ lỗi" in tab.locator("main h1").inner_text()
    finally:
        context.close()


def test_a_foreign_next_is_refused(browser, console) -> None:
    context = browser.new_context()
    tab = context.new_page()
    try:
        for foreign in ("http://evil.example/", "//evil.example/x", "/\\evil.example"):
            answer = tab.goto(f"{console.url}/api/v2/auth/login?next={quote(foreign, safe='')}")
            assert answer.status == 400, foreign
        # Through the login page itself: after logging in the visitor stays on this site.
        tab.goto(f"{console.url}/auth/login?next={quote('http://evil.example/', safe='')}")
        log_in(tab, "viewer")
        tab.wait_for_load_state()
        assert tab.url.startswith(console.url), tab.url
    finally:
        context.close()


# A personal field's value in a district's JSON or XML, whatever its vendor's name for it.
PERSONAL_FIELD = re.compile(
    r"(?i)[\"<](?:identityNumber|\w*phone\w*|SoDienThoai|CCCD|CMND|SoGiayTo\w*)[\">]\s*:?\s*\"?([^\"<,}]{9,40})"
)


def personal_numbers(console: ui.ConsoleStack) -> set[str]:
    """The digits of every citizen ID and phone the province holds (loaded or quarantined), and those typed."""
    with psycopg.connect(console.db_url, autocommit=True) as conn:
        loaded = conn.execute(
            "SELECT record #>> '{applicant,id_number}', record #>> '{applicant,phone}' FROM onestop.dossier"
        ).fetchall()
        raw = [r[0] for r in conn.execute("SELECT payload FROM onestop.quarantine WHERE payload IS NOT NULL")]
    values = {v for row in loaded for v in row if v}
    for payload in raw:  # the IDs and phones of records that never loaded, as the district wrote them
        values |= set(PERSONAL_FIELD.findall(payload))
    digits = {"".join(c for c in v if c.isdigit()) for v in values}
    return {d for d in digits if len(d) >= 9} | {TYPED_PHONE, TYPED_CITIZEN_ID}


def stack_logs(console: ui.ConsoleStack) -> list[Path]:
    home = Path(console.cluster.home)
    return [
        *home.glob(
            "*.log"
        ),  # api-server (its access log, the console's own lines), scheduler, dag-processor, triggerer
        *(home / "logs").rglob("*.log"),  # task logs
        embedded_db.data_dir() / "log",  # the embedded PostgreSQL
    ]


@pytest.mark.after_all
def test_after_the_whole_run_no_log_of_the_stack_holds_a_citizens_id_or_phone(console) -> None:
    numbers = personal_numbers(console)
    assert len(numbers) > 100
    logs = [p for p in stack_logs(console) if p.is_file()]
    names = {p.name for p in logs}
    assert {"api-server.log", "scheduler.log", "dag-processor.log", "triggerer.log", "log"} <= names, names
    assert any(p.parent != Path(console.cluster.home) and p.suffix == ".log" for p in logs), "task logs"
    leaks = {}
    for path in logs:
        text = re.sub(r"(?<=\d)[ .\-()](?=\d)", "", path.read_text(errors="replace"))  # 0912 345 678 too
        if found := numbers & set(re.findall(r"\d+", text)):
            leaks[str(path)] = sorted(f"…{n[-3:]}" for n in found)
    assert not leaks, leaks
