"""Settings, the command line's answers, and the text catalogs."""

from __future__ import annotations

import re
import string
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from handlers.i18n import LANGUAGES, Text, catalog, pick_language
from reports.plurals import Plural

ROOT = Path(__file__).resolve().parent.parent


def test_settings_have_the_documented_defaults(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    settings = load_settings()
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.default_language == "fr" and settings.timezone == "Europe/Paris"
    assert settings.db_url == f"sqlite+aiosqlite:///{clean_env / 'data' / 'terrain.sqlite3'}"
    assert settings.office_chat_id is None and settings.admin_ids == ()


def test_settings_are_read_from_a_dotenv_file(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "BOT_TOKEN=9:xyz\nADMIN_IDS=11, 22\nOFFICE_CHAT_ID=-1001\n"
        "TELEGRAM_API_URL=http://127.0.0.1:8081/\nDEFAULT_LANGUAGE=en\n"
    )
    settings = load_settings()
    assert settings.admin_ids == (11, 22) and settings.office_chat_id == -1001
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.default_language == "en"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "ADMIN_IDS=12,alice",
            "ADMIN_IDS is invalid: 'alice' is not a Telegram user id (a whole number)",
        ),
        (
            "ADMIN_IDS=99999999999999999999",
            "ADMIN_IDS is invalid: '99999999999999999999' is not a Telegram user id "
            "(a whole number from 1 to 9223372036854775807)",
        ),
        ("TIMEZONE=Europe/Atlantis", "TIMEZONE is invalid: unknown time zone 'Europe/Atlantis'"),
        (
            "DEFAULT_LANGUAGE=de",
            "DEFAULT_LANGUAGE is invalid: 'de' is not one of the choices (fr or en)",
        ),
        (
            "LOG_LEVEL=loud",
            "LOG_LEVEL is invalid: 'loud' is not one of the choices "
            "(DEBUG, INFO, WARNING or ERROR)",
        ),
        (
            "TELEGRAM_API_URL=api.telegram.org",
            "TELEGRAM_API_URL is invalid: must start with http:// or https://",
        ),
        (
            "OFFICE_CHAT_ID=le bureau",
            "OFFICE_CHAT_ID is invalid: 'le bureau' is not a Telegram chat id (a whole "
            "number; a group's is negative, such as -1001234567890)",
        ),
        ("INVITE_DAYS=0", "INVITE_DAYS is invalid: '0' is out of range (from 1 to 365)"),
        ("WORKERS=huit", "WORKERS is invalid: 'huit' is not a whole number"),
        ("WORKERS=2.5", "WORKERS is invalid: '2.5' is not a whole number"),
        ("POLLING_TIMEOUT=90", "POLLING_TIMEOUT is invalid: '90' is out of range (from 0 to 50)"),
        (
            "LABOUR_RATE=cinquante",
            "LABOUR_RATE is invalid: 'cinquante' is not a number (write it as 55.50 or 55,50)",
        ),
        (
            "LABOUR_RATE=1.200,50",
            "LABOUR_RATE is invalid: '1.200,50' is not a number (write it as 55.50 or 55,50)",
        ),
        ("VAT_RATE=nan", "VAT_RATE is invalid: 'nan' is not a number"),
        ("VAT_RATE=120", "VAT_RATE is invalid: '120' is out of range (from 0 to 100)"),
        (
            "TRAVEL_MODE=train",
            "TRAVEL_MODE is invalid: 'train' is not one of the choices (flat or km)",
        ),
        (
            "SMTP_TIMEOUT=0",
            "SMTP_TIMEOUT is invalid: '0' is out of range (more than 0, at most 600)",
        ),
        ("SMTP_TIMEOUT=vite", "SMTP_TIMEOUT is invalid: 'vite' is not a number"),
        ("SMTP_PORT=70000", "SMTP_PORT is invalid: '70000' is out of range (from 1 to 65535)"),
        ("COMPANY_LOGO=absent.png", "COMPANY_LOGO is invalid: no such file: absent.png"),
        (
            "UPDATES=webhook",
            "UPDATES is invalid: webhook needs PUBLIC_URL, the HTTPS address Telegram sends "
            "the updates to; set PUBLIC_URL, or use UPDATES=polling",
        ),
        (
            "UPDATES=push",
            "UPDATES is invalid: 'push' is not one of the choices (polling or webhook)",
        ),
        (
            "PUBLIC_URL=http://terrain.example.fr",
            "PUBLIC_URL is invalid: 'http://terrain.example.fr' must start with https:// "
            "(Telegram sends updates and opens Mini Apps over HTTPS only; http:// is for "
            "127.0.0.1 and localhost, in tests)",
        ),
        (
            "PUBLIC_URL=terrain.example.fr",
            "PUBLIC_URL is invalid: 'terrain.example.fr' is not a web address "
            "(such as https://terrain.example.fr)",
        ),
        (
            "PUBLIC_URL=https://terrain.example.fr/?from=bot",
            "PUBLIC_URL is invalid: 'https://terrain.example.fr/?from=bot' must be a plain "
            "address, without a login, '?' or '#' (such as https://terrain.example.fr)",
        ),
        ("WEB_PORT=70000", "WEB_PORT is invalid: '70000' is out of range (from 1 to 65535)"),
        (
            "WEB_HOST=' '",
            "WEB_HOST is invalid: it is empty; give the address to listen on, such as 127.0.0.1",
        ),
        (
            "HEALTH_DELIVERY_MINUTES=0",
            "HEALTH_DELIVERY_MINUTES is invalid: '0' is out of range (from 1 to 1440)",
        ),
        (
            "BOT_TOKEN=garbage",
            "BOT_TOKEN is invalid: a token is the bot's number, a colon and a key "
            "(123456789:AAF…), as BotFather gives it",
        ),
        (
            "BOT_TOKEN='123456:AAF-secret '",
            "BOT_TOKEN is invalid: it contains a space; copy it again from BotFather, "
            "as one word (123456789:AAF…)",
        ),
    ],
)
def test_a_malformed_setting_is_named_in_plain_words_with_where_to_fix_it(
    clean_env: Path, line: str, message: str
) -> None:
    token = "" if line.startswith("BOT_TOKEN=") else "BOT_TOKEN=1:abc\n"
    (clean_env / ".env").write_text(f"{token}{line}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value) == f"{message}; edit .env"
    assert "secret" not in str(raised.value) and "Value error" not in str(raised.value)


def test_the_web_face_is_off_until_public_url_is_set(clean_env: Path) -> None:
    (clean_env / ".env").write_text("BOT_TOKEN=1:abc\n")
    settings = load_settings()
    assert not settings.web_enabled and settings.updates == "polling"
    assert (settings.web_host, settings.web_port, settings.health_delivery_minutes) == (
        "127.0.0.1",
        8080,
        15,
    )
    (clean_env / ".env").write_text(
        "BOT_TOKEN=1:abc\nPUBLIC_URL=https://bons.example.fr/terrain/\nUPDATES=Webhook\n"
    )
    settings = load_settings()
    assert settings.web_enabled and settings.updates == "webhook"
    assert settings.public_url == "https://bons.example.fr/terrain"
    (clean_env / ".env").write_text("BOT_TOKEN=1:abc\nPUBLIC_URL=http://localhost:8443\n")
    assert load_settings().public_url == "http://localhost:8443"


def test_a_setting_from_the_environment_is_fixed_there(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text("BOT_TOKEN=1:abc\nWORKERS=8\n")
    monkeypatch.setenv("WORKERS", "0")
    monkeypatch.setenv("VAT_RATE", "beaucoup")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert str(raised.value) == (
        "WORKERS is invalid: '0' is out of range (from 1 to 200); "
        "fix it in the environment, which overrides .env (VAT_RATE is wrong too)"
    )


def test_choices_are_read_in_any_case(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "BOT_TOKEN=1:abc\nDEFAULT_LANGUAGE=EN\nLOG_LEVEL=debug\nTRAVEL_MODE=Km\nSMTP_SECURITY=SSL\n"
    )
    settings = load_settings()
    assert (settings.default_language, settings.log_level) == ("en", "DEBUG")
    assert (settings.travel_mode, settings.smtp_security) == ("km", "ssl")


def test_amounts_and_rates_take_a_french_decimal_comma(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "BOT_TOKEN=1:abc\nLABOUR_RATE=55,50\nVAT_RATE=5,5 %\nTRAVEL_FLAT=30 €\n"
        "TRAVEL_KM_RATE=0,45\n"
    )
    settings = load_settings()
    assert settings.labour_rate == Decimal("55.50") and settings.vat_rate == Decimal("5.5")
    assert settings.travel_flat == Decimal("30") and settings.travel_km_rate == Decimal("0.45")


@pytest.mark.parametrize("command", [[], ["run"], ["check"], ["migrate"], ["users", "list"]])
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("DATA_DIR=afile", "DATA_DIR is invalid: afile is a file, not a folder; edit .env"),
        (
            "DATA_DIR=afile/data",
            "DATA_DIR is invalid: afile/data cannot be a folder: afile is a file; edit .env",
        ),
        (
            "DATA_DIR=/proc/terrain",
            "DATA_DIR is invalid: /proc/terrain cannot be created: nothing can be written "
            "in /proc (*); edit .env",
        ),
        (
            "BOT_TOKEN=garbage",
            "BOT_TOKEN is invalid: a token is the bot's number, a colon and a key "
            "(123456789:AAF…), as BotFather gives it; edit .env",
        ),
        (
            "BOT_TOKEN='123456:AAF-key '",
            "BOT_TOKEN is invalid: it contains a space; copy it again from BotFather, "
            "as one word (123456789:AAF…); edit .env",
        ),
    ],
)
def test_an_unusable_data_dir_or_token_is_one_line_and_status_2_in_every_command(
    clean_env: Path,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    line: str,
    message: str,
) -> None:
    (clean_env / "afile").write_text("not a folder")
    token = "" if line.startswith("BOT_TOKEN=") else "BOT_TOKEN=1:abc\n"
    (clean_env / ".env").write_text(f"{token}{line}\n")
    assert main(command) == 2
    captured = capsys.readouterr()
    assert fnmatchcase(captured.err, f"terrain: {message}\n"), captured.err  # (*): the OS's reason
    assert captured.out == ""
    assert sorted(p.name for p in clean_env.iterdir()) == [".env", "afile"]  # nothing made


def test_a_missing_token_ends_with_one_line_and_status_2(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err == "terrain: BOT_TOKEN is not set; edit .env (see .env.example)\n"


def test_an_empty_token_in_dotenv_is_reported_as_not_set(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / ".env").write_text("BOT_TOKEN=\nDATA_DIR=./data\n")
    assert main([]) == 2
    assert (
        capsys.readouterr().err == "terrain: BOT_TOKEN is not set; edit .env (see .env.example)\n"
    )


def test_an_empty_token_in_the_environment_says_so(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / ".env").write_text("BOT_TOKEN=1:abc\n")
    monkeypatch.setenv("BOT_TOKEN", "  ")
    assert main(["check"]) == 2
    assert capsys.readouterr().err == (
        "terrain: BOT_TOKEN is not set: the environment gives it empty, which overrides .env\n"
    )


def test_an_unreachable_database_ends_with_one_line_and_status_2(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://terrain:secret@127.0.0.1:1/terrain")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is unreachable" in err
    assert "secret" not in err


def test_a_sqlite_file_whose_folder_cannot_be_made_is_one_line_and_status_2(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / "afile").write_text("not a folder")
    url = f"sqlite+aiosqlite:///{clean_env / 'afile' / 'terrain.sqlite3'}"
    (clean_env / ".env").write_text(f"BOT_TOKEN=1:abc\nDATABASE_URL={url}\n")
    for command in (["migrate"], ["users", "list"], []):
        assert main(command) == 2
        assert capsys.readouterr().err == (
            f"terrain: database {url} cannot be created: its folder {clean_env / 'afile'} "
            "cannot be made (File exists)\n"
        )


def test_users_are_added_listed_and_disabled_from_the_command_line(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    args = ["users", "add", "--telegram-id", "42", "--role", "technician", "--name", "Zoé Lefèvre"]
    assert main(args) == 0
    assert "Zoé Lefèvre (Telegram id 42) is registered as technician" in capsys.readouterr().out
    assert main(["users", "list"]) == 0
    assert re.search(r"42\s+technician\s+active\s+Zoé Lefèvre", capsys.readouterr().out)
    assert main(["users", "disable", "--telegram-id", "42"]) == 0
    assert main(["users", "list"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert main(["users", "disable", "--telegram-id", "999"]) == 2
    assert "nobody is registered with Telegram id 999" in capsys.readouterr().err


def test_env_example_lists_every_setting() -> None:
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    expected = {name.upper() for name in Settings.model_fields}
    assert expected <= documented, expected - documented


def _placeholders(text: Text) -> set[str]:
    """The names a text is filled with (a plural text: those of all its forms, and the count)."""
    if isinstance(text, Plural):
        return {"count"}.union(*(_placeholders(form) for form in text.forms.values()))
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_texts_and_placeholders() -> None:
    french, english = catalog("fr"), catalog("en")
    assert set(french) == set(english)
    for key in french:
        assert isinstance(french[key], Plural) == isinstance(english[key], Plural), key
        assert _placeholders(french[key]) == _placeholders(english[key]), key


def test_language_follows_choice_then_telegram_then_default() -> None:
    assert LANGUAGES == ("fr", "en")
    assert pick_language("en", "fr", "fr") == "en"
    assert pick_language(None, "en-US", "fr") == "en"
    assert pick_language(None, "de", "fr") == "fr"
    assert pick_language(None, None, "en") == "en"
