"""The conversations: one Router per area, assembled here in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from handlers import access, common, fallback, office, technician, verify


def setup_routers() -> list[Router]:
    """The routers, in order: greetings and invites, the gate for unknown people,
    checking a PDF sent back, the office, the technician's area, then the fallback
    that answers whatever nobody else took."""
    return [
        common.router,
        access.router,
        verify.router,
        office.router,
        technician.router(),
        fallback.router,
    ]
