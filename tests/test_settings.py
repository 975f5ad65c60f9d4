"""Settings, the command line's answers, and the text catalogs."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from handlers.i18n import LANGUAGES, catalog, pick_language

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty working folder and no Terrain setting in the environment."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


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
    ("name", "value", "message"),
    [
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS is invalid"),
        ("TIMEZONE", "Europe/Atlantis", "TIMEZONE is invalid"),
        ("DEFAULT_LANGUAGE", "de", "DEFAULT_LANGUAGE is invalid"),
        ("TELEGRAM_API_URL", "api.telegram.org", "TELEGRAM_API_URL is invalid"),
        ("OFFICE_CHAT_ID", "le bureau", "OFFICE_CHAT_ID is invalid"),
    ],
)
def test_a_malformed_setting_is_named(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_a_missing_token_ends_with_one_line_and_status_2(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err == "terrain: BOT_TOKEN is not set (see .env.example)\n"


def test_an_empty_token_in_dotenv_is_reported_as_not_set(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / ".env").write_text("BOT_TOKEN=\nDATA_DIR=./data\n")
    assert main([]) == 2
    assert capsys.readouterr().err == "terrain: BOT_TOKEN is not set (see .env.example)\n"


def test_an_unreachable_database_ends_with_one_line_and_status_2(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "1:abc")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://terrain:secret@127.0.0.1:1/terrain")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is unreachable" in err
    assert "secret" not in err


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


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_texts_and_placeholders() -> None:
    french, english = catalog("fr"), catalog("en")
    assert set(french) == set(english)
    for key in french:
        assert _placeholders(french[key]) == _placeholders(english[key]), key


def test_language_follows_choice_then_telegram_then_default() -> None:
    assert LANGUAGES == ("fr", "en")
    assert pick_language("en", "fr", "fr") == "en"
    assert pick_language(None, "en-US", "fr") == "en"
    assert pick_language(None, "de", "fr") == "fr"
    assert pick_language(None, None, "en") == "en"
