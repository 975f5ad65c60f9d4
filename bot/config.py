"""Settings: read once, from the environment and `.env`, and nowhere else.

Every setting is listed in `.env.example` with a comment. A missing or malformed
setting raises `ConfigError` with one line that names it in plain words and says
where to fix it (`ADMIN_IDS is invalid: 'alice' is not a Telegram user id (a whole
number); edit .env`); the command line turns that into exit status 2. Settings are
checked deeply enough that nothing the operator can fix shows up later as a
traceback: the token's shape, a DATA_DIR that can be a folder we write in.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from decimal import Decimal
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from reports.rules.reading import ParseError, parse_time

PUBLIC_BOT_API = "https://api.telegram.org"
#: Telegram ids (users, chats) are signed 64-bit integers.
ID_MAX = 2**63 - 1
#: A bot token as BotFather gives it: the bot's id, a colon, then the secret key.
TOKEN_PATTERN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
#: Settings whose value is never repeated in a message.
SECRET = frozenset({"bot_token", "smtp_password"})
#: Settings read as amounts or rates, where a French decimal comma is accepted.
DECIMALS = ("labour_rate", "vat_rate", "travel_flat", "travel_km_rate")
#: The languages of the texts a company sets for its reports (NAME_FR, NAME_EN).
LANGUAGES = ("fr", "en")
#: Hosts a PUBLIC_URL may name with plain http:// (a test on this machine; Telegram itself
#: only talks to HTTPS addresses).
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class Settings(BaseSettings):
    """Everything Terrain needs to run, with the defaults a newcomer gets."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: str = Field(min_length=1)
    telegram_api_url: str = PUBLIC_BOT_API
    data_dir: Path = Field(default=Path("data"), validate_default=True)
    database_url: str = ""
    office_chat_id: int | None = None
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    default_language: Literal["fr", "en"] = "fr"
    timezone: str = "Europe/Paris"
    invite_days: int = Field(default=7, ge=1, le=365)
    polling_timeout: int = Field(default=30, ge=0, le=50)
    workers: int = Field(default=16, ge=1, le=200)
    # Telegram's sending limits, kept for every message (raise them only against a Bot
    # API server that does not impose them, such as the benchmark's).
    send_per_chat: float = Field(default=1.0, gt=0, le=1000)
    send_per_group: int = Field(default=20, ge=1, le=100_000)
    send_total: int = Field(default=30, ge=1, le=100_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    labour_rate: Decimal = Field(default=Decimal("55.00"), ge=0, le=10_000)
    vat_rate: Decimal = Field(default=Decimal("20"), ge=0, le=100)
    travel_mode: Literal["flat", "km"] = "flat"
    travel_flat: Decimal = Field(default=Decimal("30.00"), ge=0, le=10_000)
    travel_km_rate: Decimal = Field(default=Decimal("0.60"), ge=0, le=100)
    # Texts printed on reports, one per language (empty: the catalog's default for it).
    payment_terms_fr: str = ""
    payment_terms_en: str = ""
    # From before there were two: the terms in DEFAULT_LANGUAGE (PAYMENT_TERMS_<lang> wins).
    payment_terms: str = ""
    templates_dir: Path | None = None
    photo_max_side: int = Field(default=1600, ge=320, le=6000)

    company_name: str = "Terrain"
    company_address: str = ""
    company_phone: str = ""
    company_email: str = ""
    company_siret: str = ""
    company_vat_number: str = ""
    company_logo: Path | None = None

    # Email, the second channel for validated reports: off while SMTP_HOST is empty.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = Field(default="", validate_default=True)
    smtp_timeout: float = Field(default=30.0, gt=0, le=600)

    # Reminders and the office's daily digest, on the company's clock (TIMEZONE). An
    # empty time or a 0 turns one off.
    remind_evening: dt.time | None = dt.time(18, 0)
    remind_before_minutes: int = Field(default=60, ge=0, le=1440)
    remind_idle_hours: int = Field(default=3, ge=0, le=72)
    digest_at: dt.time | None = dt.time(18, 0)

    # The web face (webhook, health, Mini App pages): served while PUBLIC_URL is set.
    public_url: str = ""
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    # Declared after PUBLIC_URL, which its check reads.
    updates: Literal["polling", "webhook"] = "polling"
    health_delivery_minutes: int = Field(default=15, ge=1, le=1440)

    @field_validator("bot_token", mode="before")
    @classmethod
    def _blank_token(cls, value: object) -> object:
        """Only spaces is no token at all (reported as not set)."""
        return "" if isinstance(value, str) and not value.strip() else value

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: str) -> str:
        """BOT_TOKEN: shaped as BotFather gives it (the value is never repeated)."""
        if any(char.isspace() for char in value):
            raise ValueError(
                "it contains a space; copy it again from BotFather, as one word (123456789:AAF…)"
            )
        if not TOKEN_PATTERN.fullmatch(value):
            raise ValueError(
                "a token is the bot's number, a colon and a key (123456789:AAF…), "
                "as BotFather gives it"
            )
        return value

    @field_validator("data_dir")
    @classmethod
    def _check_folder(cls, value: Path) -> Path:
        """DATA_DIR: a folder we can write in, or one we can create (nothing is created here)."""
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file, not a folder")
        existing = value
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise ValueError(f"{value} cannot be a folder: {existing} is a file")
        try:
            tempfile.TemporaryDirectory(dir=existing, prefix=".terrain-check-").cleanup()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if existing == value:
                raise ValueError(f"nothing can be written in {value} ({reason})") from None
            raise ValueError(
                f"{value} cannot be created: nothing can be written in {existing} ({reason})"
            ) from None
        return value

    @field_validator(*DECIMALS, mode="before")
    @classmethod
    def _decimal_comma(cls, value: object) -> object:
        """ "55,50", "55.50", "55,50 €" and "20 %" are all read; a thousands separator is not."""
        if not isinstance(value, str):
            return value
        text = re.sub(r"\s", "", value).removesuffix("€").removesuffix("%")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        return text

    @field_validator(
        "default_language", "travel_mode", "smtp_security", "log_level", "updates", mode="before"
    )
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        """A choice in any case ("EN", "info"); a wrong one is reported as written."""
        if not isinstance(value, str) or info.field_name is None:
            return value
        choices = {
            str(c).casefold(): c for c in get_args(cls.model_fields[info.field_name].annotation)
        }
        return choices.get(value.strip().casefold(), value)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """ADMIN_IDS: Telegram user ids separated by commas (or semicolons)."""
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return tuple(parse_user_id(p) for p in parts if p)
        if isinstance(value, int):
            return (parse_user_id(str(value)),)
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("company_logo", "templates_dir", mode="before")
    @classmethod
    def _empty_path(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("company_logo")
    @classmethod
    def _logo_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @field_validator("remind_evening", "digest_at", mode="before")
    @classmethod
    def _time_of_day(cls, value: object) -> object:
        """A time of day as people write it ("18:00", "18h", "18h30"); empty for none."""
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        try:
            return parse_time(value)
        except ParseError:
            raise ValueError(
                f"{value.strip()!r} is not a time of day (write it as 18:00, or leave it "
                "empty to turn it off)"
            ) from None

    @field_validator("office_chat_id", mode="before")
    @classmethod
    def _chat_id(cls, value: object) -> object:
        """OFFICE_CHAT_ID: empty for none, else a Telegram chat id."""
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        if not re.fullmatch(r"-?[0-9]{1,19}", text) or not 0 < abs(int(text)) <= ID_MAX:
            raise ValueError(
                f"{text!r} is not a Telegram chat id (a whole number; a group's is "
                "negative, such as -1001234567890)"
            )
        return int(text)

    @field_validator("smtp_host", "smtp_user", mode="after")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("smtp_from")
    @classmethod
    def _check_sender(cls, value: str, info: ValidationInfo) -> str:
        """SMTP_FROM: required once SMTP_HOST is set, and an address when given."""
        value = value.strip()
        if not value:
            if info.data.get("smtp_host"):
                raise ValueError("must be set when SMTP_HOST is set")
            return value
        local, at, domain = parseaddr(value)[1].rpartition("@")
        if not (local and at and domain):
            raise ValueError(f"not an email address: {value!r}")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        """PUBLIC_URL: empty (no web face), or the HTTPS address Terrain is served under."""
        value = value.strip().rstrip("/")
        if not value:
            return ""
        example = "such as https://terrain.example.fr"
        try:
            parts = urlsplit(value)
            host, _port = parts.hostname, parts.port
        except ValueError:
            raise ValueError(f"{value!r} is not a web address ({example})") from None
        if parts.scheme not in ("http", "https") or not host:
            raise ValueError(f"{value!r} is not a web address ({example})")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError(
                f"{value!r} must be a plain address, without a login, '?' or '#' ({example})"
            )
        if parts.scheme == "http" and host not in LOCAL_HOSTS:
            raise ValueError(
                f"{value!r} must start with https:// (Telegram sends updates and opens "
                "Mini Apps over HTTPS only; http:// is for 127.0.0.1 and localhost, in tests)"
            )
        return value

    @field_validator("web_host")
    @classmethod
    def _check_web_host(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("it is empty; give the address to listen on, such as 127.0.0.1")
        return value

    @field_validator("updates")
    @classmethod
    def _webhook_needs_address(cls, value: str, info: ValidationInfo) -> str:
        """UPDATES=webhook: Telegram needs PUBLIC_URL to send the updates to."""
        if value == "webhook" and info.data.get("public_url") == "":
            raise ValueError(
                "webhook needs PUBLIC_URL, the HTTPS address Telegram sends the updates to; "
                "set PUBLIC_URL, or use UPDATES=polling"
            )
        return value

    def company_text_origin(self, name: str, language: str) -> str | None:
        """The setting that gives `name` in `language` (NAME_FR, or the bare NAME for
        DEFAULT_LANGUAGE), or None when the catalog's default is used."""
        if str(getattr(self, f"{name}_{language}")).strip():
            return f"{name}_{language}".upper()
        if language == self.default_language and str(getattr(self, name)).strip():
            return name.upper()
        return None

    def company_texts(self, name: str) -> dict[str, str]:
        """A text the company sets for its reports, by language, where it is set:
        NAME_FR and NAME_EN, and the bare NAME (one value for all, from before there
        were two) for DEFAULT_LANGUAGE when its own is empty. A language left out takes
        its catalog's default."""
        found = {}
        for language in LANGUAGES:
            origin = self.company_text_origin(name, language)
            if origin is not None:
                found[language] = str(getattr(self, origin.lower())).strip()
        return found

    @property
    def email_enabled(self) -> bool:
        """True when SMTP_HOST is set: validated reports also go by email."""
        return bool(self.smtp_host)

    @property
    def db_url(self) -> str:
        """The database to use: DATABASE_URL, or a SQLite file under DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'terrain.sqlite3').resolve()}"

    @property
    def web_enabled(self) -> bool:
        """True when PUBLIC_URL is set: the web server runs beside the bot."""
        return bool(self.public_url)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def public_bot_api(self) -> bool:
        """True on Telegram's own Bot API server, which serves files of 20 MB at most."""
        return self.telegram_api_url == PUBLIC_BOT_API


def parse_user_id(text: str) -> int:
    """A Telegram user id as an operator writes it (a setting, the command line), or
    ValueError in plain words: ids are whole numbers from 1 to 2^63 - 1."""
    text = text.strip()
    if not re.fullmatch(r"\+?[0-9]+", text):
        raise ValueError(f"{text!r} is not a Telegram user id (a whole number)")
    if not 0 < int(text) <= ID_MAX:
        raise ValueError(f"{text!r} is not a Telegram user id (a whole number from 1 to {ID_MAX})")
    return int(text)


def _number(value: object) -> str:
    """A bound as people write it: 0, 10000, 0.5 (never 0.0 or 1E+4)."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _range(field: str) -> str:
    """The bounds of a numeric setting, in words: "from 1 to 365", "more than 0, at most 600"."""
    bounds: dict[str, Any] = {}
    for rule in Settings.model_fields[field].metadata:
        for kind in ("ge", "gt", "le", "lt"):
            if getattr(rule, kind, None) is not None:
                bounds[kind] = getattr(rule, kind)
    if "ge" in bounds and "le" in bounds:
        return f"from {_number(bounds['ge'])} to {_number(bounds['le'])}"
    words = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
    return ", ".join(f"{words[kind]} {_number(value)}" for kind, value in bounds.items())


def _choices(field: str) -> str:
    """The accepted values of a setting with a fixed list: "fr or en"."""
    options = [str(option) for option in get_args(Settings.model_fields[field].annotation)]
    return ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else options[0]


def describe(error: ErrorDetails) -> str:
    """What is wrong with one setting, in an operator's words (without the name)."""
    field = str(error["loc"][0]) if error["loc"] else ""
    shown = "it" if field in SECRET else repr(error.get("input"))
    kind = error["type"]
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"{shown} is not a whole number"
    if kind == "int_parsing_size":
        return f"{shown} is far too large a number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{shown} is not a number"
    if kind in ("decimal_parsing", "decimal_type"):
        return f"{shown} is not a number (write it as 55.50 or 55,50)"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"{shown} is out of range ({_range(field)})"
    if kind == "literal_error":
        return f"{shown} is not one of the choices ({_choices(field)})"
    if kind == "string_too_short":
        return "it is empty"
    return f"{shown} is not accepted ({error['msg']})"


def _from_environment(name: str) -> bool:
    """Whether the environment sets `name` (it then overrides .env)."""
    return any(key.upper() == name for key in os.environ)


def _fix_hint(name: str) -> str:
    """Where the operator changes a setting: .env, unless the environment sets it."""
    if _from_environment(name):
        return "fix it in the environment, which overrides .env"
    return "edit .env"


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read the settings, or raise ConfigError naming the first bad one in plain words."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        errors = exc.errors()
        names = list(dict.fromkeys(str(e["loc"][0]).upper() for e in errors if e["loc"]))
        error = errors[0]
        name = names[0] if names else "a setting"
        others = names[1:]
        also = ""
        if others:
            verb = "is" if len(others) == 1 else "are"
            also = f" ({', '.join(others)} {verb} wrong too)"
        empty = error["type"] == "string_too_short" and not str(error.get("input", "")).strip()
        if error["type"] == "missing" or empty:
            if _from_environment(name):
                problem = f"{name} is not set: the environment gives it empty, which overrides .env"
            else:
                problem = f"{name} is not set; edit .env (see .env.example)"
            raise ConfigError(problem + also) from None
        raise ConfigError(
            f"{name} is invalid: {describe(error)}; {_fix_hint(name)}{also}"
        ) from None
