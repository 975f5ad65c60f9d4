"""The words the report prints, from the catalogs in `reports/locales/` (French, English).

Same shape as the chat catalogs (`handlers/i18n.py`): one TOML file per language,
keys flattened to "section.key", `{name}` placeholders filled with `str.format`.
Values are plain text (the PDF needs no escaping).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

from reports.data import Language


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


@cache
def catalog(language: Language) -> dict[str, str]:
    """Every label of `language`, keys flattened to "section.key"."""
    text = (files("reports") / "locales" / f"{language}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(text))


class Labels:
    """The labels of one language: `labels("pricing.vat", rate="20 %", base="…")`."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._catalog = catalog(language)

    def __call__(self, key: str, /, **values: object) -> str:
        text = self._catalog[key]
        return text.format(**values) if values else text
