"""Texts that count: "1 photo enregistrée", "12 photos enregistrées", "0 intervention".

A text that counts something has one form per plural category of its language, as
the Unicode CLDR names them (`zero`, `one`, `two`, `few`, `many`, `other`), and
Babel says which category a number falls in: French puts 0 and 1 in `one`, English
only 1. `other` is required; a category a text does not give falls back to `other`
(French `many`, for round millions, reads well with the `other` form).

In a catalog (TOML), a plural text is a table of those keys only:

    saved.one = "📷 {count} photo enregistrée pour {number}."
    saved.other = "📷 {count} photos enregistrées pour {number}."

and it is filled with a `count` argument, which picks the form and is written as
the language writes numbers ("1 234" in French).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import format_decimal

#: The plural categories of CLDR, in its order.
CATEGORIES = ("zero", "one", "two", "few", "many", "other")

_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(_LOCALES.get(language, language))


def category(language: str, count: int | Decimal) -> str:
    """The plural category of `count` in `language`: "one" for 0 and 1 in French."""
    return str(_locale(language).plural_form(count))


def written(language: str, count: int | Decimal) -> str:
    """`count` as `language` writes it: "1 234" in French, "1,234" in English."""
    return format_decimal(count, format="#,##0.###", locale=_locale(language))


def is_plural_table(table: Mapping[str, object]) -> bool:
    """Whether a catalog table is one plural text: only category keys, `other` among them."""
    return "other" in table and set(table) <= set(CATEGORIES)


@dataclass(frozen=True)
class Plural:
    """One text in the forms its language counts with."""

    forms: Mapping[str, str]

    def __post_init__(self) -> None:
        if "other" not in self.forms or not set(self.forms) <= set(CATEGORIES):
            raise ValueError(f"a plural text needs 'other' and only {CATEGORIES}: {self.forms}")

    def pick(self, language: str, count: int | Decimal) -> str:
        """The form `count` asks for in `language` (not filled in)."""
        return self.forms.get(category(language, count), self.forms["other"])

    def fill(self, language: str, count: int | Decimal, **values: object) -> str:
        """The form for `count`, its `{count}` written the language's way."""
        return self.pick(language, count).format(count=written(language, count), **values)
