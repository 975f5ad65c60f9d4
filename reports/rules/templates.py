"""The wizard as data: the table of report sections, and the templates that choose
which sections a report has, which are required, and the checklist.

Templates are TOML files: the four shipped in `default_templates/`, plus those of the
company's TEMPLATES_DIR, which add to them or replace one of the same name.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Any


class Kind(StrEnum):
    """What a step asks for, which decides how its answers are read."""

    TEXT = "text"
    CHECKLIST = "checklist"
    PARTS = "parts"
    PHOTOS = "photos"
    RESULTS = "results"
    TIMES = "times"
    PRICING = "pricing"
    REVIEW = "review"
    ACCEPTANCE = "acceptance"
    SUBMIT = "submit"


@dataclass(frozen=True)
class Step:
    """One section of the report.

    `key` names its texts in the catalogs (wizard.<key>.title / .prompt); `field` is
    the Intervention column a text answer goes to; `closing` steps end every report
    and cannot be skipped or left out by a template.
    """

    key: str
    kind: Kind
    field: str | None = None
    closing: bool = False


#: Every section, in the default order.
STEPS: tuple[Step, ...] = (
    Step("context", Kind.TEXT, "context"),
    Step("objective", Kind.TEXT, "objective"),
    Step("methods", Kind.CHECKLIST, "methods"),
    Step("work_done", Kind.TEXT, "work_done"),
    Step("parts", Kind.PARTS),
    Step("photos", Kind.PHOTOS),
    Step("results", Kind.RESULTS),
    Step("remarks", Kind.TEXT, "remarks"),
    Step("times", Kind.TIMES),
    Step("pricing", Kind.PRICING),
    Step("review", Kind.REVIEW, closing=True),
    Step("acceptance", Kind.ACCEPTANCE, closing=True),
    Step("submit", Kind.SUBMIT, closing=True),
)
BY_KEY = {step.key: step for step in STEPS}
SECTION_KEYS = tuple(step.key for step in STEPS if not step.closing)


class TemplateError(ValueError):
    """A template file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Template:
    """A kind of report: its sections in order (key -> required), checklist, labour rate."""

    name: str
    kind: str
    titles: dict[str, str]
    sections: tuple[tuple[str, bool], ...]
    checklist: tuple[dict[str, str], ...]
    labour_rate: Decimal | None

    def title(self, language: str) -> str:
        return self.titles.get(language) or next(iter(self.titles.values()), self.name)

    def steps(self) -> list[Step]:
        """The steps of a report of this kind, closing steps last."""
        chosen = [BY_KEY[key] for key, _ in self.sections]
        return chosen + [step for step in STEPS if step.closing]

    def required(self, key: str) -> bool:
        return BY_KEY[key].closing or dict(self.sections).get(key, False)

    def checklist_labels(self, language: str) -> list[str]:
        return [item.get(language) or next(iter(item.values())) for item in self.checklist]


#: A template's name (its file name) travels in button data, which Telegram caps.
NAME_PATTERN = re.compile(r"[a-z0-9_-]{1,32}")


def _parse(name: str, data: dict[str, Any], origin: str) -> Template:
    def fail(problem: str) -> TemplateError:
        return TemplateError(f"template {origin}: {problem}")

    if not NAME_PATTERN.fullmatch(name):
        raise fail("the file name must be 1 to 32 lowercase letters, digits, - or _")

    sections_table = data.get("sections")
    if not isinstance(sections_table, dict):
        raise fail("a [sections] table is required")
    checklist_raw = sections_table.pop("checklist", data.get("checklist", []))
    sections: list[tuple[str, bool]] = []
    for key, value in sections_table.items():
        if key not in SECTION_KEYS:
            raise fail(f"unknown section {key!r} (known: {', '.join(SECTION_KEYS)})")
        if value not in ("required", "optional"):
            raise fail(f'section {key!r} must be "required" or "optional"')
        sections.append((key, value == "required"))
    if not sections:
        raise fail("no section is listed")
    checklist: list[dict[str, str]] = []
    for item in checklist_raw:
        if isinstance(item, str) and item.strip():
            checklist.append({"fr": item.strip(), "en": item.strip()})
        elif isinstance(item, dict) and item and all(isinstance(v, str) for v in item.values()):
            checklist.append({str(k): str(v).strip() for k, v in item.items()})
        else:
            raise fail(f"checklist item {item!r} must be text or {{ fr = ..., en = ... }}")
    title = data.get("title", name)
    titles = dict(title) if isinstance(title, dict) else {"fr": str(title), "en": str(title)}
    rate = data.get("labour_rate")
    try:
        labour_rate = Decimal(str(rate)) if rate is not None else None
    except InvalidOperation:
        raise fail(f"labour_rate {rate!r} is not a number") from None
    return Template(
        name=name,
        kind=str(data.get("kind", name)),
        titles={str(k): str(v) for k, v in titles.items()},
        sections=tuple(sections),
        checklist=tuple(checklist),
        labour_rate=labour_rate,
    )


def load_templates(folder: Path | None = None) -> dict[str, Template]:
    """The shipped templates, then those of `folder` (same name replaces), by name."""
    found: dict[str, Template] = {}
    shipped = files("reports.rules") / "default_templates"
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            name = entry.name.removesuffix(".toml")
            found[name] = _parse(name, tomllib.loads(entry.read_text("utf-8")), entry.name)
    if folder is not None:
        if not folder.is_dir():
            raise TemplateError(f"TEMPLATES_DIR {folder} is not a folder")
        for path in sorted(folder.glob("*.toml")):
            try:
                data = tomllib.loads(path.read_text("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise TemplateError(f"template {path.name}: {exc}") from None
            found[path.stem] = _parse(path.stem, data, path.name)
    return found
