"""Every text a person reads, in French (the default) and English.

Catalogs are TOML files in `handlers/locales/<language>/`, one file per area of
the product, merged; both languages have the same keys, and `{name}` placeholders
are filled with `str.format`. Values are HTML-ready:
whatever a person typed must be escaped by the caller before it is passed in.

A text that counts something is a plural text (`reports/plurals.py`): a table of
the forms its language counts with, `one` and `other` for French and English,

    saved.one = "📷 {count} photo enregistrée pour {number}."
    saved.other = "📷 {count} photos enregistrées pour {number}."

filled with a `count` argument that picks the form: `t("photos.saved", count=12,
number=...)`. A text counting two things is made of counted pieces (`[counts]`):
`t("photos.total", photos=t("counts.photos", count=4), documents=...)`. Nothing
writes "photo(s)". Texts whose number is a fixed limit of several ("100
characters at most") are plain texts.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

from reports.plurals import Plural, is_plural_table

#: A catalog text: plain, or one form per plural category.
Text = str | Plural

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Text]:
    flat: dict[str, Text] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and is_plural_table(value):
            flat[name] = Plural({category: str(form) for category, form in value.items()})
        elif isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(language: str) -> dict[str, Text]:
    """The catalog of `language`, keys flattened to "section.key"."""
    merged: dict[str, Text] = {}
    folder = files("handlers") / "locales" / language
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            texts = _flatten(tomllib.loads(entry.read_text(encoding="utf-8")))
            clash = merged.keys() & texts.keys()
            if clash:
                raise ValueError(f"{language}/{entry.name} repeats {sorted(clash)}")
            merged.update(texts)
    return merged


def pick_language(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The language to speak: the one chosen with /lang, else Telegram's, else the default."""
    if chosen in LANGUAGES:
        return chosen
    if telegram_code:
        base = telegram_code.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return default if default in LANGUAGES else DEFAULT_LANGUAGE


def _found(language: str, key: str) -> tuple[str, Text]:
    """The language the text for `key` is in (French when `language` lacks it), and the text."""
    text = catalog(language).get(key)
    if text is None:
        return DEFAULT_LANGUAGE, catalog(DEFAULT_LANGUAGE)[key]
    return language, text


def gettext(language: str, key: str, **values: Any) -> str:
    """The text for `key` in `language` (French when the language lacks it); a plural
    text takes the form its `count` asks for."""
    written_in, text = _found(language, key)
    if isinstance(text, Plural):
        if "count" not in values:
            raise TypeError(f"{key} counts something: pass count=")
        return text.fill(written_in, **values)
    return text.format(**values) if values else text


def forms(language: str, key: str) -> Text:
    """The text for `key` as the catalog holds it, not filled in: a plural text comes
    with all its forms."""
    return _found(language, key)[1]


class Translator:
    """`t("start.welcome", name=...)`: the texts of one language, handed to handlers."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, key: str, **values: Any) -> str:
        return gettext(self.language, key, **values)

    def forms(self, key: str) -> Text:
        """The text for `key` not filled in, plural forms included (for a text that
        something else fills, such as the chart's line per technician)."""
        return forms(self.language, key)


def kind_label(language: str, kind: str) -> str:
    """A kind of intervention as a reader says it ("Dépannage"); unknown kinds as they are."""
    key = f"kinds.{kind}"
    return gettext(language, key) if key in catalog(language) else kind
