"""English and Spanish: message catalogs, and numbers and dates per language (Babel)."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from importlib import resources

from babel.dates import format_date
from babel.numbers import format_decimal

LANGUAGES = ("en", "es")
_LOCALES = {"en": "en_US", "es": "es"}


@cache
def catalog(lang: str) -> dict[str, str]:
    """The messages of one language (``web/locales/<lang>.json``)."""
    text = resources.files("g287.web").joinpath("locales", f"{lang}.json").read_text(encoding="utf-8")
    return json.loads(text)


class Translator:
    """Strings, numbers and dates for one language; English fills any gap."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self.locale = _LOCALES[self.lang]

    def __call__(self, key: str, **values: object) -> str:
        text = catalog(self.lang).get(key) or catalog("en").get(key) or key
        return text.format(**values) if values else text

    def number(self, value: float | int | None) -> str:
        if value is None:
            return "—"
        return format_decimal(value, locale=self.locale)

    def date(self, value: str | dt.date | None, style: str = "long") -> str:
        if not value:
            return "—"
        day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_date(day, style, locale=self.locale)

    def path(self, path: str) -> str:
        """A site path in this language (Spanish pages live under ``/es``)."""
        return path if self.lang == "en" else "/es" + (path if path != "/" else "")
