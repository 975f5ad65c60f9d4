"""Parts: the references the company has already used, to suggest them when a
technician types the beginning of one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Part

#: How many recent matching lines are read to find the distinct parts among them.
SCAN = 300


@dataclass(frozen=True)
class KnownPart:
    """A part used before: its reference (if it had one), and the designation and
    unit price of the last line that used it."""

    reference: str | None
    designation: str
    unit_price: Decimal


def _like(text: str) -> str:
    """A LIKE pattern finding `text` anywhere, its wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _key(part: Part) -> str:
    """One suggestion per reference (or per designation for lines without one)."""
    if part.reference:
        return "ref:" + part.reference.strip().lower()
    return "des:" + part.designation.strip().lower()


async def known(session: AsyncSession, text: str, *, limit: int = 6) -> list[KnownPart]:
    """Parts of any intervention whose reference or designation contains `text`
    (case-insensitive), those starting with it first, the most recently used first.

    Portable SQL (lower() and LIKE): SQLite lowers ASCII letters only, so an
    accented capital matches only when typed as stored.
    """
    text = text.strip()
    if not text:
        return []
    pattern = _like(text)
    query = (
        select(Part)
        .where(
            or_(
                func.lower(Part.reference).like(pattern, escape="\\"),
                func.lower(Part.designation).like(pattern, escape="\\"),
            )
        )
        .order_by(Part.id.desc())
        .limit(SCAN)
    )
    latest: dict[str, Part] = {}
    for part in (await session.scalars(query)).all():
        latest.setdefault(_key(part), part)
    folded = text.lower()

    def starts(part: Part) -> bool:
        names = (part.reference or "", part.designation)
        return any(name.lower().startswith(folded) for name in names)

    ordered = sorted(latest.values(), key=lambda part: not starts(part))
    return [
        KnownPart(part.reference, part.designation, part.unit_price) for part in ordered[:limit]
    ]
