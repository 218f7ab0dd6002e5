"""One stack as `make ui` starts it (`ui.running()`), shared by every module of this package: the browser tests
and the check of what it listens on. It takes 2–3 minutes to start."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mappings import mapping_path
from onestop.console.i18n import gettext as _
from onestop.simulators import ui

USERS = {"admin": ("admin", "admin-pw"), "operator": ("op", "operator-pw"), "viewer": ("viewer", "viewer-pw")}
CHROMIUM = Path(os.environ.get("ONESTOP_CHROMIUM", "/usr/bin/chromium"))
# Every violation the page reports (an init script runs outside the page's CSP, before its own scripts).
WATCH_CSP = "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"


def names_no_source(source: str, stage: str) -> bool:
    """A failure list row that concerns no source: a failed task of the province-wide delivery DAG, a dash."""
    return (source, stage) == ("—", _("Airflow task failed"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `after_all` (what the whole run left behind: its logs) run last."""
    items.sort(key=lambda item: item.get_closest_marker("after_all") is not None)


def wait_idle(console: ui.ConsoleStack, timeout: float = 300) -> None:
    """Until no DAG run is queued or running (a re-drive and the delivery it triggers): the next test gets the
    stack's two cores to itself."""

    def idle() -> bool:
        runs = console.cluster.api(
            "GET", "/dags/~/dagRuns", params={"state": ["queued", "running"], "limit": 5}
        )
        return runs["total_entries"] == 0

    console.cluster.wait_until(idle, timeout, "the stack's DAG runs to finish", every=3)


def log_in(tab, user: str) -> None:
    """Airflow's login form, on the tab that shows it; waits until it has gone."""
    import re

    tab.locator("input[name=username]").fill(user)
    tab.locator("input[type=password]").fill(USERS[user][1])
    tab.locator("button[type=submit]").click()
    tab.wait_for_url(re.compile(r"^(?!.*auth/login).*$"))


@pytest.fixture(scope="package")
def mappings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mappings the running Airflow reads: a copy, so a test can fix one the way an engineer would."""
    folder = tmp_path_factory.mktemp("mappings")
    for path in mapping_path("igate").parent.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="package")
def console(mappings_dir: Path) -> Iterator[ui.ConsoleStack]:
    saved = os.environ.get("ONESTOP_MAPPINGS_DIR")
    os.environ["ONESTOP_MAPPINGS_DIR"] = str(mappings_dir)
    try:
        with ui.running(users=USERS, bad_rate=0.05) as stack:
            yield stack
    finally:
        os.environ.pop("ONESTOP_MAPPINGS_DIR", None)
        if saved:
            os.environ["ONESTOP_MAPPINGS_DIR"] = saved


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync", "--disable-quic"],
        )  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture(params=["admin", "operator", "viewer"])
def user(request) -> str:
    return request.param


@pytest.fixture(params=[1366, 390], ids=["1366px", "390px"])
def tab(request, browser, console: ui.ConsoleStack, user: str) -> Iterator:
    """A tab logged in as `user`, `request.param` px wide, watching for CSP violations."""
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.goto(f"{console.url}/onestop/")
    log_in(page, user)
    yield page
    context.close()
