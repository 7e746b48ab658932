"""Configuration fails fast, with one line naming the variable."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "DATABASE_URL",
        "FACILITATOR_IDS",
        "TELEGRAM_API_BASE_URL",
        "TELEGRAM_HTTP_CLIENT",
        "DEFAULT_COUNTRY",
        "MIN_GROUP_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORGANISATION_NAME", "Care Together")
    monkeypatch.setenv("ORGANISATION_CONTACT", "team@care.example")
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]


def test_reads_ids_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("FACILITATOR_IDS", " 11, 22 ,")
    settings = load_settings()
    assert settings.facilitator_ids == frozenset({11, 22})
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.telegram_http_client == "aiohttp"
    assert settings.organisation_name == "Care Together"
    assert settings.default_country == "BE" and settings.retention_months == 12
    assert settings.min_group_size == 5


def test_export_and_desk_commands_need_no_organisation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORGANISATION_NAME")
    assert load_settings(require_token=False).organisation_name == ""


def test_env_file_is_read(tmp_path: object) -> None:
    from pathlib import Path

    Path(".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nFACILITATOR_IDS=5\n")
    assert load_settings().facilitator_ids == frozenset({5})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TELEGRAM_BOT_TOKEN", None, "TELEGRAM_BOT_TOKEN is not set"),
        ("TELEGRAM_BOT_TOKEN", "nonsense", "TELEGRAM_BOT_TOKEN must look like"),
        ("FACILITATOR_IDS", "12,@alice", "FACILITATOR_IDS '@alice' is not a numeric"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must start with"),
        ("TELEGRAM_API_BASE_URL", "ftp://x", "TELEGRAM_API_BASE_URL must start with"),
        ("TELEGRAM_HTTP_CLIENT", "requests", "TELEGRAM_HTTP_CLIENT "),
        ("ORGANISATION_NAME", None, "ORGANISATION_NAME is not set (people must know who"),
        ("ORGANISATION_CONTACT", " ", "ORGANISATION_CONTACT is not set"),
        ("DEFAULT_COUNTRY", "XX", "DEFAULT_COUNTRY 'XX' is not a country with a known helpline"),
        ("MIN_GROUP_SIZE", "0", "MIN_GROUP_SIZE must be a whole number of at least 1"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str | None, expected: str
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(expected)


def test_cli_prints_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["configuration error: TELEGRAM_BOT_TOKEN is not set"]
