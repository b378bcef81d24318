"""One translation system for the pages, the API's messages and the command line.

Text is written in zh-CN, the product's first language, in the code (``msg("…")``, ``N_("…")``)
and in the templates (``{{ _("…") }}``); gettext catalogues give the other languages:
``mediation/translations/en/LC_MESSAGES/messages.po`` holds the English of every text. Placeholders are
Python's ``%(name)s`` everywhere (the form Flask-Babel and Jinja's gettext use), so Babel checks
them when it reads the catalogue.

Catalogues are read from their ``.po`` text on first use, in any process (web, CLI, worker):
there is no compiled ``.mo`` to keep in step. ``tests/test_i18n.py`` fails on a text without a
translation and on a translation that no code or template uses any more
(``make translations`` brings the catalogue up to date).

Labels written in workflow definitions and the document catalogue are data, not code: they
carry both languages themselves (:class:`Label`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

DEFAULT_LANG = "zh-CN"
LANGS = ("zh-CN", "en")
DOMAIN = "messages"
CATALOGUES = Path(__file__).resolve().parent / "translations"
# Babel's name of each language's catalogue folder.
LOCALES = {"zh-CN": "zh_CN", "en": "en"}


def normalise(lang: str | None) -> str:
    """``en-GB`` → ``en``; anything not English → ``zh-CN`` (the default)."""
    return "en" if lang and lang.lower().startswith("en") else DEFAULT_LANG


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The catalogue of ``lang``, read from its ``.po`` once per process; the source language
    (zh-CN) translates to itself."""
    lang = normalise(lang)
    if lang == DEFAULT_LANG:
        return NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = CATALOGUES / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=LOCALES[lang], domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def gettext(text: str, lang: str = DEFAULT_LANG) -> str:
    """``text`` (zh-CN source) in ``lang``; the source itself when no translation exists."""
    return translations(lang).gettext(text)


def ngettext(singular: str, plural: str, n: int, lang: str = DEFAULT_LANG) -> str:
    """The singular or plural form of a text for ``n``, in ``lang``."""
    return translations(lang).ngettext(singular, plural, n)


class Lazy:
    """A text marked for translation in code and translated when shown (``N_("网格")``)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def get(self, lang: str = DEFAULT_LANG) -> str:
        """The text in ``lang``."""
        return gettext(self.text, lang)

    @property
    def zh(self) -> str:
        """The source text (zh-CN)."""
        return self.text

    @property
    def en(self) -> str:
        """The English text."""
        return self.get("en")

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"N_({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lazy) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def N_(text: str) -> Lazy:
    """Mark ``text`` for translation; it is translated when shown."""
    return Lazy(text)


@dataclass(frozen=True)
class Label:
    """A text given in both languages by data (definitions, the document catalogue), or
    composed at run time from translated parts."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` (``zh-CN`` or ``en``)."""
        return self.en if lang.startswith("en") else self.zh


def negotiate(header: str | None) -> str:
    """Pick ``zh-CN`` or ``en`` from an ``Accept-Language`` header (zh-CN when absent)."""
    if not header:
        return DEFAULT_LANG
    best, best_q = DEFAULT_LANG, -1.0
    for part in header.split(","):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower()
        q = 1.0
        for b in bits[1:]:
            if b.strip().startswith("q="):
                try:
                    q = float(b.strip()[2:])
                except ValueError:
                    q = 0.0
        lang = "en" if tag.startswith("en") else "zh-CN" if tag.startswith("zh") else None
        if lang and q > best_q:
            best, best_q = lang, q
    return best


def _shown(value: Any, lang: str) -> Any:
    """A message parameter as shown in ``lang`` (labels and nested messages translated)."""
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, Lazy | Label):
        return value.get(lang)
    return value


@dataclass(frozen=True)
class Msg:
    """A text with its parameters, translated when shown: operations raise these so that the
    API, the pages and the CLI can each say it in their user's language."""

    text: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str = DEFAULT_LANG) -> str:
        """The message in ``lang``."""
        template = gettext(self.text, lang)
        if not self.params:
            return template
        return template % {k: _shown(v, lang) for k, v in self.params.items()}

    def both(self) -> dict[str, str]:
        """The message in every language (stored in events and logs)."""
        return {lang: self.render(lang) for lang in LANGS}

    def __str__(self) -> str:
        return self.render()


def msg(text: str, **params: Any) -> Msg:
    """A message: ``msg("网格“%(code)s”不存在", code="G9")``."""
    return Msg(text, params)
