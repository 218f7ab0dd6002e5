"""The console's catalogs (onestop/console/locale): every msgid of the code and templates is in the vi and en
catalogs, translated, not fuzzy, with the same parameters, and each .mo says what its .po says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
LOCALES = ROOT / "onestop" / "console" / "locale"
PARAM = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set:
    """The msgids of the code and the templates now (the catalog target's extract, into a temporary .pot)."""
    pot = tmp_path_factory.mktemp("catalog") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "N_", "-k",
         "NP_:1c,2", "-k", "pgettext:1c,2", "--no-location", "--omit-header", "-o", str(pot), "onestop/console",
         "plugins/onestop_console.py"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        return {(m.context, m.id) for m in read_po(f) if m.id}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_catalog_complete(lang: str, extracted: set) -> None:
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    assert not catalog.fuzzy, f"{lang}: the catalog's header is fuzzy"
    entries = {(m.context, m.id): m for m in catalog if m.id}
    missing = extracted - set(entries)
    assert not missing, f"{lang}: not in the catalog (make catalog): {sorted(map(str, missing))[:10]}"
    for key, m in entries.items():
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(strings), f"{lang}: untranslated {key}"
        assert "fuzzy" not in m.flags, f"{lang}: fuzzy {key}"
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        assert set(PARAM.findall(" ".join(ids))) >= set(PARAM.findall(" ".join(strings))), (
            f"{lang}: {key} names a parameter its msgid does not give"
        )
        assert set(PARAM.findall(ids[-1])) - {"num"} <= set(PARAM.findall(" ".join(strings))), (
            f"{lang}: {key} drops a parameter"
        )
    stale = set(entries) - extracted
    assert not stale, f"{lang}: in the catalog but no longer in the code: {sorted(map(str, stale))[:10]}"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_mo_matches_po(lang: str) -> None:
    folder = LOCALES / lang / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as f:
        po = {_key(m): _text(m.string) for m in read_po(f, locale=lang) if m.id}
    with (folder / "messages.mo").open("rb") as f:
        mo = {_key(m): _text(m.string) for m in read_mo(f) if m.id}
    assert po == mo, f"{lang}: messages.mo is older than messages.po: run make catalog"


def _key(m) -> tuple:
    context = m.context.decode() if isinstance(m.context, bytes) else m.context  # read_mo keeps bytes
    return context, tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id


def _text(s) -> tuple:
    return tuple(s) if isinstance(s, (list, tuple)) else (s,)


def test_vietnamese_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from onestop.console import i18n

    monkeypatch.delenv("ONESTOP_CONSOLE_LANGUAGE", raising=False)
    monkeypatch.delenv("ONESTOP_CONSOLE_LOCALE_DIR", raising=False)
    monkeypatch.setenv("AIRFLOW__ONESTOP__CONSOLE_LANGUAGE", "")
    assert i18n.language() == "vi"
    assert i18n.gettext("Mark as resolved") == "Đánh dấu đã xử lý"
    assert i18n.number(1266) == "1.266" and i18n.percent(0.125) == "12,5%"
    assert i18n.ngettext("%(num)s day", "%(num)s days", 3) == "3 ngày"
    monkeypatch.setenv("AIRFLOW__ONESTOP__CONSOLE_LANGUAGE", "en")  # Airflow's [onestop] console_language
    assert i18n.language() == "en" and i18n.gettext("Mark as resolved") == "Mark as resolved"
    monkeypatch.setenv("ONESTOP_CONSOLE_LANGUAGE", "en")
    assert i18n.ngettext("%(num)s day", "%(num)s days", 1266) == "1,266 days"
