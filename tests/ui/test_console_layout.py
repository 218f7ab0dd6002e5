"""The console reads well on a laptop and on a phone, in a real browser (Debian's Chromium) against what `make ui`
starts: as an administrator, an operator and a viewer, at 1366 and at 390 px wide, every page (the overview, the failed
transfers, one failure with its payload, a dossier's trace, source health) stays within the screen's width (wide
tables scroll in their own box), the menu keeps to two lines, table headers do not wrap, the fonts shipped with
the plugin (Be Vietnam Pro, Noto Sans Mono for payloads) load and are used, and nothing breaks the
Content-Security-Policy.

ONESTOP_LAYOUT_SHOTS=<folder> keeps a full-page screenshot of each page there, to look at."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from onestop.simulators import ui
from tests.ui.conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]

TEXT_FONT, MONO_FONT = "Be Vietnam Pro", "Noto Sans Mono"
SHOTS = os.environ.get("ONESTOP_LAYOUT_SHOTS")

# What a page's layout measures, once its fonts have loaded.
MEASURE = """async () => {
  await document.fonts.ready;
  const nav = document.querySelector('nav.top'), style = getComputedStyle(nav);
  const link = getComputedStyle(nav.querySelector('a'));
  const pre = document.querySelector('pre.payload');
  return {
    width: window.innerWidth,
    scroll_width: document.documentElement.scrollWidth,
    nav_height: nav.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom),
    nav_line: parseFloat(link.lineHeight),
    nav_gap: parseFloat(style.rowGap) || 0,
    wrapped_headers: [...document.querySelectorAll('th')]
      .filter(th => th.textContent.trim() && th.getClientRects().length)
      .filter(th => th.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(th).lineHeight)
                    + parseFloat(getComputedStyle(th).paddingTop) + parseFloat(getComputedStyle(th).paddingBottom))
      .map(th => th.textContent.trim()),
    tallest_row: Math.max(0, ...[...document.querySelectorAll('tbody tr')].map(tr => tr.getBoundingClientRect().height))
      / parseFloat(getComputedStyle(document.body).lineHeight),
    body_font: getComputedStyle(document.body).fontFamily,
    pre_font: pre ? getComputedStyle(pre).fontFamily : null,
    loaded: [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family.replace(/"/g, '')),
    failed: [...document.fonts].filter(f => f.status === 'error').map(f => f.family.replace(/"/g, '')),
  };
}"""


def a_failure_with_a_payload(console: ui.ConsoleStack) -> str:
    """A quarantined record whose payload is kept, Vietnamese in it if any is."""
    with psycopg.connect(console.db_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT 'q' || id FROM onestop.quarantine WHERE payload IS NOT NULL AND state <> 'superseded'"
            " ORDER BY payload ~ '[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]' DESC, id LIMIT 1"
        ).fetchone()[0]


def a_ma_ho_so(console: ui.ConsoleStack) -> str | None:
    with psycopg.connect(console.db_url, autocommit=True) as conn:
        row = conn.execute("SELECT ma_ho_so FROM onestop.dossier ORDER BY ma_ho_so LIMIT 1").fetchone()
    return row[0] if row else None


def check_layout(tab, name: str, *, payload: bool = False) -> None:
    """The page now shown: within the screen, a two-line menu at most, the shipped fonts, no CSP violation."""
    tab.locator("main h1").wait_for()
    m = tab.evaluate(MEASURE)
    width = m["width"]
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"), full_page=True)
    assert m["scroll_width"] <= width, (name, width, m["scroll_width"])
    # Two lines of links, the gap between them and the current page's underline (2 px); three would not fit.
    assert m["nav_height"] <= 2 * m["nav_line"] + m["nav_gap"] + 4, (name, width, m)
    # A table squeezed into a phone's width scrolls instead: no column is crushed to a letter a line.
    assert m["tallest_row"] <= 16, (name, width, m["tallest_row"])
    if width >= 1366:
        assert m["wrapped_headers"] == [], (name, m["wrapped_headers"])
    assert m["body_font"].replace('"', "").startswith(TEXT_FONT), (name, m["body_font"])
    assert TEXT_FONT in m["loaded"] and m["failed"] == [], (name, m["loaded"], m["failed"])
    if payload:
        assert m["pre_font"].replace('"', "").startswith(MONO_FONT), (name, m["pre_font"])
        assert MONO_FONT in m["loaded"], (name, m["loaded"])
    # The Vietnamese letters come from the shipped files: loading them for Vietnamese text succeeds.
    faces = tab.evaluate(
        "async ([text, mono]) => [(await document.fonts.load(`600 14px \"${text}\"`, 'Tình trạng nguồn')).length,"
        " (await document.fonts.load(`12px \"${mono}\"`, 'Nguyễn Thị Hương')).length]",
        [TEXT_FONT, MONO_FONT],
    )
    assert all(n > 0 for n in faces), (name, faces)
    assert tab.evaluate("window.__csp") == [], (name, tab.evaluate("window.__csp"))


def test_every_page_fits_the_screen_with_the_shipped_fonts(tab, user, console: ui.ConsoleStack) -> None:
    key = a_failure_with_a_payload(console)
    for name, path in [
        ("home", "/onestop/"),
        ("failures", "/onestop/failures"),
        ("failures-all", "/onestop/failures?state=all"),
        ("failure", f"/onestop/failures/{key}"),
        ("trace", "/onestop/trace"),
        ("health", "/onestop/health"),
    ]:
        answer = tab.goto(f"{console.url}{path}")
        assert answer.status == 200, path
        check_layout(tab, f"{user}-{name}", payload=name == "failure")
        if name == "failure":
            assert tab.locator("pre.payload").count() == 1
    # A dossier's timeline (a search is a form posted from the trace page).
    ma_ho_so = a_ma_ho_so(console)
    if ma_ho_so:
        tab.goto(f"{console.url}/onestop/trace")
        tab.locator("input[name=q]").fill(ma_ho_so)
        tab.locator("form[role=search] button[type=submit]").click()
        tab.locator("section.trace").first.wait_for()
        check_layout(tab, f"{user}-trace-found")
