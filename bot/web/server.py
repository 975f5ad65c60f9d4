"""The application and its life: routes registered by each module, a listening
socket from `start` to `stop`."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from aiogram import Bot
from aiohttp import web

from bot.web import health, pad, pages, webhook
from bot.web.context import CONTEXT, WebContext, WebProblem

log = logging.getLogger(__name__)

#: Each module's routes, registered in this order. A new page or API is one more module.
ROUTES: tuple[Callable[[web.Application], None], ...] = (
    pages.setup,
    health.setup,
    webhook.setup,
    pad.setup,
)
#: How long a stop waits for the requests under way (a webhook's update being stored).
SHUTDOWN_GRACE = 5.0

__all__ = ["CONTEXT", "ROUTES", "WebContext", "WebFace", "WebProblem", "build_app"]


def build_app(context: WebContext) -> web.Application:
    """The application with every module's routes, `context` under CONTEXT."""
    app = web.Application()
    app[CONTEXT] = context
    app.on_response_prepare.append(_plain_headers)
    for setup in ROUTES:
        setup(app)
    return app


async def _plain_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """What every answer says about itself: no guessing of types, no referrer sent on."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")


class WebFace:
    """The web server in the bot's process: it listens from `start` to `stop`."""

    def __init__(self, context: WebContext) -> None:
        self.context = context
        self.app = build_app(context)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on WEB_HOST:WEB_PORT, or raise WebProblem saying why not."""
        settings = self.context.settings
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, settings.web_host, settings.web_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise WebProblem(
                f"the web server cannot listen on {settings.web_host}:{settings.web_port} "
                f"({reason}); change WEB_HOST or WEB_PORT in .env"
            ) from None
        self._runner = runner
        log.info(
            "web server on %s:%s, served as %s",
            settings.web_host,
            settings.web_port,
            settings.public_url,
        )

    async def stop(self) -> None:
        """Stop accepting, let the requests under way finish (up to SHUTDOWN_GRACE),
        and close. Does nothing when not listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def set_webhook(self, bot: Bot) -> None:
        """With UPDATES=webhook: tell Telegram where to post updates (see webhook)."""
        await webhook.register(self.app, bot)
