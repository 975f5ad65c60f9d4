"""Helpers shared by several test modules that need no fixture: reading a PDF's text,
moments on the company's clock, settings for the command line on a test database
and for the bot's own session against the fake Bot API.
Fixtures, and the helpers that work on them (the harness, the database), are in
tests/conftest.py."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from bot.config import Settings
from storage.db import Database
from tests.fakeapi import FakeBotAPI

PARIS = ZoneInfo("Europe/Paris")


def pdf_text(pdf: bytes) -> str:
    """The text of every page, with the various spaces made plain."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A moment of the company's wall clock, as an aware datetime."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


def cli_settings(database: Database, tmp_path: Path, **more: object) -> Settings:
    """Settings for a command-line command run on `database` (French, Paris time)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token="1:unused",
        database_url=database.url,
        data_dir=tmp_path / "data",
        timezone="Europe/Paris",
        default_language="fr",
        **more,
    )


def fake_api_settings(api: FakeBotAPI, tmp_path: Path) -> Settings:
    """Settings pointing the bot's own session (bot.app.build_bot) at the fake Bot API."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=api.token,
        telegram_api_url=api.base_url,
        data_dir=tmp_path / "data",
    )
