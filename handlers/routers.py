"""The conversations' routers, one per area, assembled here in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    access,
    board,
    change,
    client,
    common,
    exports,
    fallback,
    groups,
    lookup,
    office,
    plan,
    rating,
    stats,
    technician,
    validation,
    verify,
    visit_requests,
)


def setup_routers() -> list[Router]:
    """The routers, in order: greetings and invites, the bot joining a group and
    /chatid, the gate for unknown people, checking a PDF sent back, the office's
    validations and tools (the board, then /change, then /plan, which leaves either
    conversation for any other command), the client's side (the reports, then a
    rating's comment and a visit request, which let /reports run), the technician's
    area, then the fallback that answers whatever nobody else took."""
    return [
        common.router,
        groups.router,
        access.router,
        verify.router,
        validation.router,
        office.router,
        board.router,
        change.router,
        plan.router,
        lookup.router,
        exports.router,
        stats.router,
        client.router,
        rating.router,
        visit_requests.router,
        technician.router(),
        fallback.router,
    ]
