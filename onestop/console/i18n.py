"""The console's words: gettext catalogs (Babel) under locale/, English msgids in the code and the templates.

The console speaks Vietnamese whatever the browser asks; another language only by an explicit setting: the env
ONESTOP_CONSOLE_LANGUAGE, else Airflow's `[onestop] console_language`. ONESTOP_CONSOLE_LOCALE_DIR points at
another folder of catalogs (tests build a pseudo-locale there). Numbers and dates in the Vietnamese formats.
`make catalog` extracts, updates and compiles the catalogs (babel.cfg).
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "vi"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Marks a msgid for extraction where it is defined (a label table); translated where it is shown."""
    return message


def NP_(context: str, message: str) -> tuple[str, str]:
    """N_ with a context (make catalog's `-k NP_:1c,2`): the same English said otherwise in Vietnamese."""
    return context, message


def language() -> str:
    """The configured language: the env, else Airflow's config, else Vietnamese (never the browser's)."""
    chosen = os.environ.get("ONESTOP_CONSOLE_LANGUAGE", "").strip()
    if not chosen:
        try:
            from airflow.configuration import conf

            chosen = (conf.get("onestop", "console_language", fallback="") or "").strip()
        except Exception:  # no Airflow config (a tool, a test): the default
            chosen = ""
    return chosen or DEFAULT


def locale_dir() -> Path:
    return Path(os.environ.get("ONESTOP_CONSOLE_LOCALE_DIR") or LOCALE_DIR)


@cache
def _load(lang: str, folder: str) -> NullTranslations:
    found = Translations.load(folder, [lang], DOMAIN)
    return found if isinstance(found, Translations) else NullTranslations()


def translations(lang: str | None = None) -> NullTranslations:
    return _load(lang or language(), str(locale_dir()))


def gettext(message: str, /, **params: Any) -> str:
    """The translation of `message`, with `%(name)s` parameters filled in."""
    text = translations().gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> str:
    text = translations().ngettext(singular, plural, n)
    return text % {"num": number(n), **params}


def pgettext(context: str, message: str, /, **params: Any) -> str:
    """A msgid with a context (the same English words said differently in Vietnamese: the Airflow menu)."""
    text = translations().pgettext(context, message)
    return text % params if params else text


_ = gettext


def babel_locale() -> str:
    lang = language()
    return lang if lang in ("vi", "en") else DEFAULT


def number(value: int | float | None, fmt: str | None = None) -> str:
    """1.266 in Vietnamese (1,266 in English)."""
    if value is None:
        return "—"
    return format_decimal(value, format=fmt, locale=babel_locale())


def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    pattern = "0." + "0" * digits if digits else "0"
    return format_decimal(value * 100, format=pattern, locale=babel_locale()) + "%"


def date_time(value: datetime) -> str:
    """dd/MM/yyyy HH:mm: the Vietnamese way (the same in the English console: one way to read dates)."""
    return value.strftime("%d/%m/%Y %H:%M")


def install(env: Any) -> None:
    """jinja2.ext.i18n in a template environment, with the configured translations (newstyle: `_()` takes
    parameters and escapes them)."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(translations(), newstyle=True)
