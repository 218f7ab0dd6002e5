"""The administrator's evening, continued (issue 17): a re-drive from a record's page says its outcome on that
page without any further navigation, the record's errors and last-seen time move with it, viewers are offered no
action, and the list names sources by their titles."""

from __future__ import annotations

import re

import psycopg
import pytest

from onestop import registry
from onestop.simulators import ui
from tests.ui.conftest import CHROMIUM, log_in, names_no_source, wait_idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]


def tab_for(browser, console: ui.ConsoleStack, user: str, width: int = 1366):
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    tab.goto(f"{console.url}/onestop/")
    log_in(tab, user)
    return context, tab


@pytest.mark.parametrize(("user", "width", "nth"), [("admin", 1366, 0), ("operator", 390, 1)])
def test_a_redrive_from_a_record_says_its_outcome_in_place(
    browser, console: ui.ConsoleStack, user, width, nth
) -> None:
    with psycopg.connect(console.db_url, autocommit=True) as conn:
        key, seen_before = conn.execute(
            "SELECT 'q' || id, last_seen_at FROM onestop.quarantine WHERE state = 'open' AND latest"
            " AND error_class = 'MissingField' ORDER BY id LIMIT 1 OFFSET %s",
            (nth,),
        ).fetchone()  # a record no mapping change fixes: it still fails
    context, tab = tab_for(browser, console, user, width)
    try:
        tab.goto(f"{console.url}/onestop/failures/{key}")
        tab.get_by_role("button", name="Chạy lại", exact=True).click()
        tab.locator("#redrive-outcome").wait_for()
        landed = tab.url
        assert f"/onestop/failures/{key}?" in landed  # back on the record, not the list
        moves: list[str] = []
        tab.on("framenavigated", lambda frame: moves.append(frame.url) if frame == tab.main_frame else None)
        outcome = tab.locator("#redrive-outcome [data-outcome]")
        outcome.filter(has_text=re.compile("vẫn lỗi|đã được nạp")).wait_for(timeout=240_000)
        text = outcome.inner_text()
        assert "vẫn lỗi" in text and "Thiếu trường bắt buộc" in text, text
        assert moves == [] and tab.url == landed
    finally:
        context.close()
        wait_idle(console)
    with psycopg.connect(console.db_url, autocommit=True) as conn:
        seen_after, result = conn.execute(
            "SELECT q.last_seen_at, a.result FROM onestop.quarantine q, onestop.admin_action a"
            " WHERE q.id = %s AND %s = ANY(a.keys) AND a.action = 'redrive' ORDER BY a.id DESC LIMIT 1",
            (int(key[1:]), key),
        ).fetchone()
    assert seen_after > seen_before
    assert result["outcome"][key]["state"] == "quarantined"


def test_a_viewer_is_offered_no_action_and_the_list_names_sources_by_title(browser, console) -> None:
    titles = {s.name: s.title for s in registry.load().sources}
    context, tab = tab_for(browser, console, "viewer")
    try:
        tab.goto(f"{console.url}/onestop/failures")
        assert tab.locator("tr[data-key]").count() > 0
        assert tab.locator("input[type=checkbox], form.actions, button:has-text('Chạy lại')").count() == 0
        sources = tab.locator("tr[data-key] td:nth-child(2)").all_inner_texts()
        stages = tab.locator("tr[data-key] td:nth-child(3)").all_inner_texts()
        named = {s for s, stage in zip(sources, stages, strict=True) if not names_no_source(s, stage)}
        assert named <= set(titles.values()), named - set(titles.values())
        key = tab.locator("tr[data-key]").first.get_attribute("data-key")
        tab.goto(f"{console.url}/onestop/failures/{key}")
        assert tab.locator("form.actions").count() == 0
    finally:
        context.close()


def test_an_operator_may_act_as_airflow_lets_an_op_trigger_runs(browser, console) -> None:
    context, tab = tab_for(browser, console, "operator", width=390)
    try:
        tab.goto(f"{console.url}/onestop/failures")
        assert tab.locator("tr[data-key] input[type=checkbox]").count() > 0
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
