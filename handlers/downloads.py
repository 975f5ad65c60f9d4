"""Fetching a file a person sent from Telegram's file server, whole or not at all.

A download that fails on the way (a 5xx, a connection lost, a timeout) raises
aiogram's network errors, so the update is handled again once Telegram answers.
A file that arrives shorter than Telegram announced is such a failure too, never
a file to keep. What retrying cannot fix is said to the person: a file over the
download limit (TooBig), or one Telegram no longer serves (Gone), which they must
send again.
"""

from __future__ import annotations

import io

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramNotFound
from aiogram.methods import GetFile

#: What Telegram's own Bot API server hands a bot at most (a self-hosted one, more).
TELEGRAM_LIMIT = 20 * 1024 * 1024
MEGABYTE = 1024 * 1024


class TooBig(Exception):
    """The file is over the download limit: the one given, known from the size Telegram
    announced before anything is downloaded, or Telegram's, which refuses to hand the
    file to a bot. `megabytes` is the limit it is over."""

    def __init__(self, megabytes: int, reason: str = "") -> None:
        super().__init__(reason or f"over {megabytes} MB")
        self.megabytes = megabytes


class Gone(Exception):
    """Telegram no longer has the file, or refuses it: the person must send it again."""


async def fetch(
    bot: Bot, file_id: str, *, size: int | None, timeout: int, limit: int | None = None
) -> bytes:
    """The file's bytes; `size` is the length Telegram announced for it, if any. A file
    announced over `limit` bytes is refused before anything is downloaded."""
    if limit is not None and size is not None and size > limit:
        raise TooBig(limit // MEGABYTE)
    buffer = io.BytesIO()
    try:
        await bot.download(file_id, destination=buffer, timeout=timeout)
    except (TelegramBadRequest, TelegramNotFound) as exc:
        if "too big" in exc.message.lower():
            raise TooBig(TELEGRAM_LIMIT // MEGABYTE, exc.message) from None
        raise Gone(exc.message) from None
    data = buffer.getvalue()
    if size is not None and len(data) < size:
        raise TelegramNetworkError(
            method=GetFile(file_id=file_id),
            message=f"file download: {len(data)} of the {size} bytes announced arrived",
        )
    return data
