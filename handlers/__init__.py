"""The conversations: one Router per area, assembled here in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    access,
    client,
    common,
    exports,
    fallback,
    lookup,
    office,
    planning,
    stats,
    technician,
    validation,
    verify,
)


def setup_routers() -> list[Router]:
    """The routers, in order: greetings and invites, the gate for unknown people,
    checking a PDF sent back, the office's validations and tools, the client's
    side, the technician's area, then the fallback that answers whatever nobody
    else took."""
    return [
        common.router,
        access.router,
        verify.router,
        validation.router,
        office.router,
        planning.router,
        lookup.router,
        exports.router,
        stats.router,
        client.router,
        technician.router(),
        fallback.router,
    ]
