"""Every text a person reads, in French (the default) and English.

Catalogs are TOML files in `handlers/locales/<language>/`, one file per area of
the product, merged; both languages have the same keys, and `{name}` placeholders
are filled with `str.format`. Values are HTML-ready:
whatever a person typed must be escaped by the caller before it is passed in.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(language: str) -> dict[str, str]:
    """The catalog of `language`, keys flattened to "section.key"."""
    merged: dict[str, str] = {}
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


def gettext(language: str, key: str, **values: Any) -> str:
    """The text for `key` in `language` (French when the language lacks it)."""
    text = catalog(language).get(key)
    if text is None:
        text = catalog(DEFAULT_LANGUAGE)[key]
    return text.format(**values) if values else text


class Translator:
    """`t("start.welcome", name=...)`: the texts of one language, handed to handlers."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, key: str, **values: Any) -> str:
        return gettext(self.language, key, **values)


def kind_label(language: str, kind: str) -> str:
    """A kind of intervention as a reader says it ("Dépannage"); unknown kinds as they are."""
    key = f"kinds.{kind}"
    return gettext(language, key) if key in catalog(language) else kind
