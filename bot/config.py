"""Settings: read once, from the environment and `.env`, and nowhere else.

Every setting is listed in `.env.example` with a comment. A missing or malformed
setting raises `ConfigError` with one line that names it; the command line turns
that into exit status 2.
"""

from __future__ import annotations

from decimal import Decimal
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PUBLIC_BOT_API = "https://api.telegram.org"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class Settings(BaseSettings):
    """Everything Terrain needs to run, with the defaults a newcomer gets."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    bot_token: str = Field(min_length=1)
    telegram_api_url: str = PUBLIC_BOT_API
    data_dir: Path = Path("data")
    database_url: str = ""
    office_chat_id: int | None = None
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    default_language: Literal["fr", "en"] = "fr"
    timezone: str = "Europe/Paris"
    invite_days: int = Field(default=7, ge=1, le=365)
    polling_timeout: int = Field(default=30, ge=0, le=50)
    workers: int = Field(default=16, ge=1, le=200)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    labour_rate: Decimal = Field(default=Decimal("55.00"), ge=0, le=10_000)
    vat_rate: Decimal = Field(default=Decimal("20"), ge=0, le=100)
    travel_mode: Literal["flat", "km"] = "flat"
    travel_flat: Decimal = Field(default=Decimal("30.00"), ge=0, le=10_000)
    travel_km_rate: Decimal = Field(default=Decimal("0.60"), ge=0, le=100)
    payment_terms: str = "Paiement à réception de facture, sous 30 jours."
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

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return tuple(int(p) for p in parts if p)
        if isinstance(value, int):
            return (value,)
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

    @field_validator("office_chat_id", mode="before")
    @classmethod
    def _empty_chat(cls, value: object) -> object:
        return None if value == "" else value

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
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def public_bot_api(self) -> bool:
        """True on Telegram's own Bot API server, which serves files of 20 MB at most."""
        return self.telegram_api_url == PUBLIC_BOT_API


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read the settings, or raise ConfigError naming the first bad one."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        empty = error["type"] == "string_too_short" and not error.get("input")
        if error["type"] == "missing" or empty:
            raise ConfigError(f"{name} is not set (see .env.example)") from None
        raise ConfigError(f"{name} is invalid: {error['msg']}") from None
