"""An administrator's evening, in a real browser (Debian's Chromium driven by Playwright) against what `make ui`
starts: Airflow with the console plugin, the simulators, a province with failures. They log in, reach each page
from Airflow's menu, filter the failed transfers, open one, fix its cause, re-drive it, watch it leave the list
and reach the portal, and trace the dossier by its MaHoSo. The screenshots go to the README."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
import requests

from onestop import registry
from onestop.simulators import ui
from onestop.simulators.igate_records import HOSTILE_NAMES
from tests.ui.conftest import CHROMIUM, log_in

# Skipped before any fixture: the package's stack (tests/ui/conftest.py) would start first, being package-scoped.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
IGATE_SOURCES = ("hd_thanh_pho_hai_duong", "hd_chi_linh", "hd_kinh_mon", "hd_nam_sach")
MENU = {
    "failures": "Hồ sơ lỗi — Failed transfers",
    "trace": "Tra cứu hồ sơ — Dossier trace",
    "health": "Tình trạng nguồn — Source health",
}


@pytest.fixture
def page(browser, console: ui.ConsoleStack):
    """A logged-in admin's tab. Any script that runs an alert() fails the test (markup must stay text)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.goto(console.url)
    log_in(tab, "admin")
    yield tab
    context.close()
    assert dialogs == [], f"a script ran in the console: {dialogs}"


def open_from_menu(page, name: str):
    """Browse → the page; returns the frame the console renders in (Airflow shows plugins in an iframe)."""
    page.get_by_role("button", name=re.compile("Browse")).click()
    page.get_by_role("menuitem", name=MENU[name]).click()
    page.wait_for_url(re.compile(f"/plugin/onestop-{name}"))
    frame = page.frame_locator("iframe").first
    frame.locator("main h1").wait_for()
    return frame


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_an_admin_fixes_a_quarantined_record_redrives_it_and_it_reaches_the_portal(
    page, console: ui.ConsoleStack, mappings_dir: Path
) -> None:
    from playwright.sync_api import expect

    with psycopg.connect(console.db_url, autocommit=True) as conn:  # an iGate district with such a record
        source = conn.execute(
            "SELECT source FROM onestop.quarantine WHERE state = 'open' AND source = ANY(%s)"
            ' AND errors @> \'[{"field": "status"}]\' ORDER BY id LIMIT 1',
            (list(IGATE_SOURCES),),
        ).fetchone()[0]
    frame = open_from_menu(page, "failures")
    assert frame.locator("tr[data-key]").count() > 0
    shot(page, "failures")

    # Filter: one district's quarantined records whose status code is unknown.
    frame.locator("form.filters select[name=source]").select_option(source)
    frame.locator("form.filters select[name=kind]").select_option("quarantine")
    frame.locator("form.filters input[name=error_class]").fill("UnknownCode")
    frame.get_by_role("button", name="Lọc").click()
    rows = frame.locator("tr[data-key]")
    expect(rows.first.locator("td:nth-child(5)")).to_have_text("Mã không có trong danh mục")  # UnknownCode
    title = registry.load().source(source).title  # the list names sources as the filter does
    assert set(frame.locator("tr[data-key] td:nth-child(3)").all_inner_texts()) == {title}
    key = rows.first.get_attribute("data-key")
    record_id = rows.first.locator("td:nth-child(6)").inner_text()

    # Open it: the failing field and the raw payload, masked.
    rows.first.locator("td:nth-child(6) a").click()
    frame.locator("table.errors").wait_for()
    assert "status" in frame.locator("table.errors").inner_text()
    assert frame.locator("pre.payload").count() == 1
    shot(page, "failure-detail")

    # Fix its cause: the district's new status code 99 means "processing" (an engineer's mapping change).
    igate = mappings_dir / "igate.yaml"
    text = igate.read_text()
    assert "    values: {0: 1," in text
    igate.write_text(text.replace("    values: {0: 1,", "    values: {99: 4, 0: 1,", 1))

    # Re-drive it from the list.
    frame.get_by_role("link", name="« Hồ sơ lỗi").click()
    frame.locator("form.filters select[name=source]").select_option(source)
    frame.locator("form.filters input[name=error_class]").fill("UnknownCode")
    frame.get_by_role("button", name="Lọc").click()
    frame.locator(f'tr[data-key="{key}"] input[type=checkbox]').check()
    frame.get_by_role("button", name="Chạy lại mục đã chọn").click()
    frame.locator(".flash").first.wait_for()
    assert "Đã yêu cầu chạy lại" in frame.locator(".flash").first.inner_text(), frame.locator(
        "main"
    ).inner_text()

    with psycopg.connect(console.db_url, autocommit=True) as conn:

        def redriven() -> bool:
            row = conn.execute(
                "SELECT state FROM onestop.quarantine WHERE id = %s", (int(key[1:]),)
            ).fetchone()
            return row[0] == "redriven"

        console.cluster.wait_until(redriven, 240, f"the onestop_redrive run to load {record_id}", every=3)
        ma_ho_so = conn.execute(
            "SELECT ma_ho_so FROM onestop.dossier WHERE source = %s AND source_record_id = %s",
            (source, record_id),
        ).fetchone()[0]
        action = conn.execute(
            "SELECT actor, state, dag_run_id FROM onestop.admin_action WHERE %s = ANY(keys)", (key,)
        ).fetchone()
    assert action[0] == "admin" and action[1] == "done" and action[2]

    # It left the open list …
    page.reload()
    frame = page.frame_locator("iframe").first
    frame.locator("main h1").wait_for()
    assert frame.locator(f'tr[data-key="{key}"]').count() == 0

    # … and reached the portal (the delivery DAG runs after the re-drive, on the Asset it updates).
    def at_portal() -> bool:
        return (
            requests.get(f"{console.portal.url}/_inspect/dossiers/{ma_ho_so}", timeout=10).status_code == 200
        )

    console.cluster.wait_until(at_portal, 240, f"{ma_ho_so} at the portal", every=3)

    # Its trace, by MaHoSo: quarantined, re-driven, loaded, delivered.
    frame = open_from_menu(page, "trace")
    frame.locator("input[name=q]").fill(ma_ho_so)
    frame.get_by_role("button", name="Tra cứu").click()
    frame.locator("ol.timeline").wait_for()
    timeline = frame.locator("ol.timeline").inner_text()
    for label in ("Bị cách ly", "Đã nạp vào CSDL", "Cổng DVC đã nhận"):
        assert label in timeline, timeline
    shot(page, "trace")


def test_source_health_and_markup_in_names_rendered_as_text(page, console: ui.ConsoleStack) -> None:
    frame = open_from_menu(page, "health")
    assert frame.locator("table.health tr[data-source]").count() == 13
    assert frame.locator("svg.chart").count() >= 13
    shot(page, "health")

    with psycopg.connect(console.db_url, autocommit=True) as conn:
        ma_ho_so = conn.execute(
            "SELECT ma_ho_so FROM onestop.dossier WHERE record #>> '{applicant,name}' = %s LIMIT 1",
            (HOSTILE_NAMES[0],),
        ).fetchone()[0]
    frame = open_from_menu(page, "trace")
    frame.locator("input[name=q]").fill(ma_ho_so)
    frame.get_by_role("button", name="Tra cứu").click()
    frame.locator("ol.timeline").wait_for()
    assert frame.get_by_text(HOSTILE_NAMES[0], exact=True).count() == 1  # the name, shown as text
    assert frame.locator("script").count() == 0
