"""English and Spanish: Babel message catalogs, plural forms, numbers and dates per language.

Catalogs are gettext ``.po`` files under ``web/locales/<lang>/LC_MESSAGES/messages.po``
(package data) with symbolic message ids ("nav.map"); they are compiled in memory by
Babel the first time a language is used, so a plain ``pip install`` needs no build step.
Plural messages use each language's CLDR plural rule (``Plural-Forms`` of the catalog).
"""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Callable
from functools import cache
from importlib import resources

from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from g287.normalize import STATES

LANGUAGES = ("en", "es")
_LOCALES = {"en": "en_US", "es": "es"}


@cache
def _babel_catalog(lang: str) -> Catalog:
    path = resources.files("g287.web").joinpath("locales", lang, "LC_MESSAGES", "messages.po")
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


@cache
def catalog(lang: str) -> dict[str, str | tuple[str, ...]]:
    """The messages of one language: id -> text (a tuple of plural forms for plural messages)."""
    return {m.id if isinstance(m.id, str) else m.id[0]: m.string if isinstance(m.string, str) else tuple(m.string)
            for m in _babel_catalog(lang) if m.id and m.string}


_strings = catalog


@cache
def _plural_rule(lang: str) -> Callable[[int], int]:
    return gettext.c2py(_babel_catalog(lang).plural_expr)


class Translator:
    """Strings, numbers and dates for one language; English fills any gap."""

    def __init__(self, lang: str, root: str = "") -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self.locale = _LOCALES[self.lang]
        self.root = root

    def _lookup(self, key: str) -> str | tuple[str, ...]:
        return _strings(self.lang).get(key) or _strings("en").get(key) or key

    def __call__(self, key: str, **values: object) -> str:
        text = self._lookup(key)
        if isinstance(text, tuple):
            text = text[-1]
        return text.format(**values) if values else text

    def plural(self, key: str, count: int, **values: object) -> str:
        """A message in the plural form ``count`` asks for; ``{n}`` is ``count`` formatted."""
        forms = self._lookup(key)
        if isinstance(forms, tuple):
            lang = self.lang if key in _strings(self.lang) else "en"
            text = forms[min(_plural_rule(lang)(count), len(forms) - 1)]
        else:
            text = forms
        return text.format(**{"n": self.number(count), **values})

    def has(self, key: str) -> bool:
        return key in _strings(self.lang)

    def term(self, prefix: str, value: str | None) -> str:
        """A value from the data (an agency type) in this language when the catalog names it."""
        if not value:
            return "—"
        return self(f"{prefix}.{value}") if f"{prefix}.{value}" in _strings("en") else value

    def state(self, code: str) -> str:
        """A state's name in this language."""
        return self(f"state.{code}") if code in STATES else code

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
        """A site path in this language (Spanish pages live under ``/es``), under the
        site's root (``/g287`` when it is published at ``https://org.github.io/g287/``)."""
        return self.root + (path if self.lang == "en" else "/es" + (path if path != "/" else ""))

    def url(self, path: str) -> str:
        """A language-neutral path (API, files, static assets) under the site's root."""
        return self.root + path
