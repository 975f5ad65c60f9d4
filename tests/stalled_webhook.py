"""`python -m bot`, except that its webhook stands still once an update is stored.

`python -m tests.stalled_webhook [ARGS...]` runs the real command line with one
change: after the webhook has stored (and committed) an update, its answer to
Telegram never comes, so a test can kill the bot in exactly that instant: stored,
not acknowledged. With TERRAIN_TEST_STALL=pending in the environment, the update
is also left unhandled (stored, not given to a worker): the bot dies before
handling what it stored.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from bot import cli
from bot.ingest import Ingest

STALL = 3600.0


def stall_after_storing(*, handle: bool) -> None:
    store = Ingest.store

    async def store_then_stall(self: Ingest, payloads: list[dict[str, Any]]) -> list[int]:
        if not handle:
            self.schedule = lambda update_id, chat_id: None  # type: ignore[method-assign]
        fresh = await store(self, payloads)
        await asyncio.sleep(STALL)
        return fresh

    Ingest.store = store_then_stall  # type: ignore[method-assign]


if __name__ == "__main__":
    stall_after_storing(handle=os.environ.get("TERRAIN_TEST_STALL") != "pending")
    raise SystemExit(cli.main())
