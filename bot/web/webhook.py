"""Webhook mode (UPDATES=webhook): Telegram posts each update to PUBLIC_URL + PATH.

At each start the bot draws a new secret token and registers the webhook with it
(setWebhook, asking for the same kinds of update as polling does); Telegram sends
the token back in a header with every post, and a post without it is refused (401)
before its body is read. An update is stored in the inbox and committed *before*
the 200 that tells Telegram it arrived, and nothing is handled before that answer:
the per-chat workers take it from there, as for polling. Telegram posts again
what was not answered with 200 (the bot died, the database was unavailable); an
update it posts again is recognised by its update_id and answered 200 without
being stored or handled twice.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.ingest import ALLOWED_UPDATES, chat_of
from bot.web.context import CONTEXT, WebProblem

log = logging.getLogger(__name__)

#: Where Telegram posts, under PUBLIC_URL.
PATH = "/telegram/webhook"
#: The header in which Telegram repeats the secret token given to setWebhook.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: An update is a few kilobytes (a message of 4096 characters, its entities, the
#: message it answers); anything larger than this is not one.
MAX_BYTES = 1024 * 1024
#: update_id is kept as a signed 64-bit integer.
UPDATE_ID_MAX = 2**63 - 1

#: The secret token of this run, drawn when the routes are set up.
SECRET = web.AppKey("webhook_secret", str)


def setup(app: web.Application) -> None:
    """The webhook's route, in webhook mode only (polling leaves no door open)."""
    if app[CONTEXT].settings.updates != "webhook":
        return
    # Telegram accepts 1 to 256 characters among A-Z, a-z, 0-9, "_" and "-".
    app[SECRET] = secrets.token_urlsafe(48)
    app.router.add_post(PATH, receive)


def webhook_url(app: web.Application) -> str:
    return app[CONTEXT].settings.public_url + PATH


async def register(app: web.Application, bot: Bot) -> None:
    """setWebhook with this run's secret token; a refusal is a WebProblem (Telegram's
    trouble, a 5xx or no answer, is raised as it comes, for the caller to try again)."""
    url = webhook_url(app)
    try:
        await bot.set_webhook(
            url=url,
            secret_token=app[SECRET],
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
    except TelegramBadRequest as exc:
        raise WebProblem(
            f"Telegram refused the webhook {url} ({exc.message}); check PUBLIC_URL in .env"
        ) from None
    log.info("webhook set: Telegram posts updates to %s", url)


async def receive(request: web.Request) -> web.Response:
    """One update from Telegram: checked, stored and committed, then answered 200."""
    given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, request.app[SECRET].encode()):
        log.warning("webhook: a request without the right secret token was refused")
        return web.Response(status=401, text="wrong or missing secret token\n")
    if request.content_length is not None and request.content_length > MAX_BYTES:
        return _refused(413, "the body is too large for an update")
    body = await _read(request)
    if body is None:
        return _refused(413, "the body is too large for an update")
    try:
        payload = json.loads(body)
    except ValueError:
        return _refused(400, "the body is not JSON")
    problem = _not_an_update(payload)
    if problem:
        return _refused(400, problem)
    try:
        fresh = await request.app[CONTEXT].ingest.receive(payload)
    except (SQLAlchemyError, OSError) as exc:
        # Not acknowledged: Telegram posts it again later.
        log.error("webhook: update %s could not be stored (%s)", payload["update_id"], exc)
        return web.Response(status=503, text="the update could not be stored; send it again\n")
    if not fresh:
        log.info("webhook: update %s was received before", payload["update_id"])
    return web.Response(status=200)


async def _read(request: web.Request) -> bytes | None:
    """The body, or None once it grows past MAX_BYTES (the rest is not read)."""
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_BYTES:
            return None
    return bytes(body)


def _not_an_update(payload: Any) -> str:
    """Why `payload` cannot be stored as an update ("" when it can)."""
    if not isinstance(payload, dict):
        return "the body is not a JSON object"
    update_id = payload.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        return "the update has no update_id"
    if not 0 <= update_id <= UPDATE_ID_MAX:
        return "the update_id is out of range"
    try:
        chat_of(payload)
    except (KeyError, TypeError, ValueError):
        return "the update names its chat in a way Telegram does not"
    return ""


def _refused(status: int, reason: str) -> web.Response:
    log.warning("webhook: a request was refused (%s): %s", status, reason)
    return web.Response(status=status, text=reason + "\n")
