"""One line of parts: how each of its fields is read (typed alone, or all at once as
`REF; designation; quantity; price`), the line being typed (a draft kept on the
intervention), how a line is shown and recorded as an answer, and removing one
(kept aside for Undo)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from handlers.i18n import Translator
from handlers.technician import money
from handlers.technician.sections import preview
from handlers.technician.visit import Visit, figure
from reports.rules.reading import ParseError, clean_text, parse_money, parse_quantity
from reports.totals import line_total
from storage import answers
from storage.models import Part

#: The highest unit price accepted for one part, in euros (more is a typing slip).
MAX_UNIT_PRICE = Decimal(100_000)
REFERENCE_LIMIT = 100
DESIGNATION_LIMIT = 300

Draft = dict[str, Any]

#: The target of the answers given to the line being typed, until it is added.
DRAFT = "part:new:"
#: The fields of a line a message can give, each read as its question reads it.
FIELDS = ("reference", "designation", "quantity", "price")

#: What each stage expects when something else arrives.
EXPECTED = {
    None: "wizard.parts.expected",
    "reference": "wizard.parts.expected",
    "pick": "wizard.parts.expected_pick",
    "designation": "wizard.parts.expected_designation",
    "quantity": "wizard.parts.expected_quantity",
    "price": "wizard.parts.expected_price",
}


def read_reference(text: str) -> str:
    return clean_text(text, maximum=REFERENCE_LIMIT)


def read_designation(text: str) -> str:
    return clean_text(text, maximum=DESIGNATION_LIMIT)


def read_price(text: str) -> Decimal:
    return parse_money(text, maximum=MAX_UNIT_PRICE)


def read_field(field: str, text: str) -> str | Decimal:
    """One field of a line, read as the question asking it reads it."""
    if field == "reference":
        return read_reference(text)
    if field == "designation":
        return read_designation(text)
    if field == "quantity":
        return parse_quantity(text)
    return read_price(text)


class BadLine(Exception):
    """A line typed at once that cannot be read: which field (None: not four fields)."""

    def __init__(self, field: str | None = None, error: ParseError | None = None) -> None:
        super().__init__(field or "fields")
        self.field = field
        self.error = error

    def text(self, t: Translator) -> str:
        """What the step says about it."""
        if self.field is None or self.error is None:
            return t("wizard.parts.one_line")
        problem = t(self.error.key, **self.error.display_values(t.language))
        field = t(f"wizard.parts.field_{self.field}")
        return t("wizard.parts.field_error", field=field, error=problem)


def read_line(text: str) -> tuple[str | None, str, Decimal, Decimal]:
    """`REF; designation; quantity; price` (or without the reference)."""
    fields = [field.strip() for field in text.split(";")]
    if len(fields) == 3:
        fields.insert(0, "")
    if len(fields) != 4 or not fields[1]:
        raise BadLine()
    reference, designation, quantity_text, price_text = fields
    field = "reference"
    try:
        reference = read_reference(reference) if reference else ""
        field = "designation"
        designation = read_designation(designation)
        field = "quantity"
        quantity = parse_quantity(quantity_text)
        field = "price"
        price = read_price(price_text)
    except ParseError as error:
        raise BadLine(field, error) from None
    return reference or None, designation, quantity, price


def looks_like_reference(text: str) -> bool:
    """One word with a digit in it ("FLT-200", "6205ZZ"): a reference, not a designation."""
    return " " not in text.strip() and any(char.isdigit() for char in text)


def draft_of(visit: Visit) -> Draft:
    value = visit.data.get("draft")
    return dict(value) if isinstance(value, dict) else {}


def stage_of(visit: Visit) -> str | None:
    stage = visit.data.get("stage")
    return stage if isinstance(stage, str) and stage in EXPECTED else None


def part_name(reference: str | None, designation: str | None) -> str:
    """The reference and designation ("REF · designation"), escaped, for the texts."""
    shown = [preview(value, 60) for value in (reference, designation) if value]
    return " · ".join(shown) or "—"


def line_text(visit: Visit, part: Part) -> str:
    fmt = money.formatter(visit)
    return visit.t(
        "wizard.parts.line",
        name=part_name(part.reference, part.designation),
        quantity=fmt.number(part.quantity),
        price=fmt.money(part.unit_price),
        amount=fmt.money(line_total(part.quantity, part.unit_price)),
    )


def line_record(part: Part) -> str:
    """A line as the answers record it when one message gave it all."""
    values = (part.reference, part.designation, figure(part.quantity), figure(part.unit_price))
    return "; ".join(value or "" for value in values)


def field_record(value: str | Decimal | None) -> str | None:
    return figure(value) if isinstance(value, Decimal) else value


def remove_line(visit: Visit, part_id: str) -> str | None:
    """Removes the line (kept aside for Undo) and says which one it was; None when
    it is no longer there."""
    lines = visit.job.parts
    found = next(((n, p) for n, p in enumerate(lines, start=1) if str(p.id) == part_id), None)
    if found is None:
        return None
    number, part = found
    text = line_text(visit, part)
    visit.remember(
        removed={
            "id": part.id,
            "position": part.position,
            "reference": part.reference,
            "designation": part.designation,
            "quantity": str(part.quantity),
            "unit_price": str(part.unit_price),
        }
    )
    lines.remove(part)
    return visit.t("wizard.parts.removed", n=number, line=text)


async def restore_line(visit: Visit) -> str:
    """Puts the line removed last back where it was, and says which one it was."""
    kept = dict(visit.data["removed"])
    part = Part(
        position=int(kept["position"]),
        reference=kept.get("reference"),
        designation=str(kept["designation"]),
        quantity=Decimal(kept["quantity"]),
        unit_price=Decimal(kept["unit_price"]),
    )
    lines = visit.job.parts
    index = next((i for i, p in enumerate(lines) if p.position > part.position), len(lines))
    lines.insert(index, part)
    visit.remember(removed=None)
    if kept.get("id") is not None:
        await visit.session.flush()
        await answers.retarget(
            visit.session, visit.job.id, f"part:{kept['id']}:", f"part:{part.id}:"
        )
    return visit.t("wizard.parts.restored", line=line_text(visit, part))
