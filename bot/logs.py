"""Logging: one format, quiet HTTP libraries, and the bot token never written."""

from __future__ import annotations

import logging

HIDDEN = "<BOT_TOKEN>"


class HideToken(logging.Filter):
    """Replaces the bot token wherever it would appear in a log line, tracebacks
    included (aiohttp's errors name the URL, which holds the token)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token:
            return True
        if self.token in record.getMessage():
            record.msg = record.getMessage().replace(self.token, HIDDEN)
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatted here, once, so that the handler prints the cleaned text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, HIDDEN)
        if record.stack_info and self.token in record.stack_info:
            record.stack_info = record.stack_info.replace(self.token, HIDDEN)
        return True


def setup_logging(level: str, token: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(HideToken(token))
    # HTTP clients log full URLs, which contain the token.
    for noisy in ("aiohttp.access", "aiohttp.client", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # font subsetting, per report
