"""What the web face's routes share: one typed object in the application, and the
error that stops the bot at start with one line."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aiogram import Bot
from aiohttp import web

from bot.config import Settings
from bot.ingest import Ingest
from handlers.context import Options
from reports.rules.templates import Template
from storage.db import Database
from storage.files import FileStore
from storage.models import Delivery


class WebProblem(Exception):
    """The web face cannot run as set up (its address is taken, Telegram refuses the
    webhook); the message is one line for the operator."""


@dataclass(frozen=True)
class WebContext:
    """The running bot's parts that a route may use."""

    settings: Settings
    db: Database
    bot: Bot
    #: What the handlers know about the deployment (company, languages, time zone...).
    options: Options
    files: FileStore
    templates: Mapping[str, Template]
    #: The inbox: where an update posted by Telegram is stored, then handled.
    ingest: Ingest
    #: Hands the deliveries a unit of work committed to the outbox sender.
    after_commit: Callable[[Sequence[Delivery]], None]


CONTEXT = web.AppKey("context", WebContext)
