"""The technician's area: finding an intervention, opening one on the spot, and the
report wizard with all its sections."""

from __future__ import annotations

from aiogram import Router

from handlers.provide import provide
from handlers.technician import entry, new, wizard
from handlers.technician.desk import Desk


def router() -> Router:
    """The technician's routers, in the order they are tried, sharing the desk. /new
    comes first: while it is under way it takes text, and it lets another command or
    button end it before entry's handlers run."""
    area = Router(name="technician")
    provide(area, "desk", Desk.from_data)
    area.include_routers(new.router, entry.router, wizard.router)
    return area
