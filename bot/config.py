"""Settings read once from the environment (and a `.env` file).

The bot must refuse to start on a bad setting with one line that names the variable, so a
facilitator setting it up is not left reading a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
_TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{10,}$")
# Telegram's own rule for setWebhook's secret_token.
_WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    telegram_bot_token: str = ""
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    database_url: str = "sqlite+aiosqlite:///data/codesign.db"
    facilitator_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    data_dir: Path = Path("data")
    default_workshop_title: str = "AI in Social Services"
    log_level: str = "INFO"
    # Messages per second across all chats (Telegram allows about 30); 0 turns the limiter off.
    telegram_rate_limit: float = 29.0
    # How the bot talks HTTP to Telegram: aiohttp (bot/aiohttp_request.py, several times less
    # CPU per call) or python-telegram-bot's stock httpx (for SOCKS proxies or HTTP/2).
    telegram_http_client: Literal["aiohttp", "httpx"] = "aiohttp"
    # How often the scheduler looks for due reminders, prompts and broadcasts; 0 turns it off.
    scheduler_interval_seconds: float = 20.0
    # Webhook mode only: Telegram sends it back in a header, so a stranger who finds the URL
    # cannot post forged updates. Never echoed in errors or logs.
    telegram_webhook_secret: str = ""
    # Who runs the workshops and how people reach a human: named in the consent, in /help and
    # in the safety reply. Required to run (a workshop can override them).
    organisation_name: str = ""
    organisation_contact: str = ""
    privacy_notice_url: str = ""
    # Whose national helpline the safety reply names (bot/flows/safeguarding/helplines.yaml).
    default_country: str = "BE"
    # How long personal data is kept after a workshop closes or goes quiet.
    retention_months: int = 12
    # Group figures shown to participants hide any role with fewer people than this.
    min_group_size: int = 5

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        if value.strip() and not _TOKEN_PATTERN.match(value.strip()):
            raise ValueError("must look like 123456:ABC-DEF... (the token @BotFather gave you)")
        return value.strip()

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_shape(cls, value: str) -> str:
        if value.strip() and not _WEBHOOK_SECRET_PATTERN.match(value.strip()):
            raise ValueError(
                "must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)"
            )
        return value.strip()

    @field_validator("organisation_name", "organisation_contact", "privacy_notice_url")
    @classmethod
    def _short_text(cls, value: str) -> str:
        value = value.strip()
        if len(value) > 200:
            raise ValueError("must be at most 200 characters")
        return value

    @field_validator("default_country")
    @classmethod
    def _country(cls, value: str) -> str:
        from bot.flows.safeguarding.helplines import known_countries

        code = value.strip().upper()
        if code not in known_countries():
            raise ValueError(
                f"{value!r} is not a country with a known helpline "
                f"({', '.join(sorted(known_countries()))})"
            )
        return code

    @field_validator("retention_months", "min_group_size")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a whole number of at least 1")
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_shape(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
                "(the bot talks to its database asynchronously)"
            )
        return value

    @field_validator("facilitator_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> frozenset[int]:
        if isinstance(value, frozenset | set | list | tuple):
            return frozenset(int(v) for v in value)
        if value is None or not str(value).strip():
            return frozenset()
        ids: set[int] = set()
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if not part.lstrip("-").isdigit():
                raise ValueError(
                    f"{part!r} is not a numeric Telegram user id (use ids, not usernames)"
                )
            ids.add(int(part))
        return frozenset(ids)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level


def load_settings(
    *, require_token: bool = True, require_webhook_secret: bool = False, **overrides: object
) -> Settings:
    """Read settings, turning pydantic's report into one line per bad variable.

    `require_webhook_secret` is for webhook mode: without the secret anyone who learns the
    URL could post updates as any participant, so the bot must not start.
    """
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        if require_token and not settings.telegram_bot_token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
        if require_token:
            # Running the bot means talking with people: they must know who is responsible.
            for name in ("organisation_name", "organisation_contact"):
                if not getattr(settings, name):
                    raise ConfigError(
                        f"{name.upper()} is not set (people must know who runs the workshop "
                        "and how to reach a person; see README, Safeguarding and personal data)"
                    )
        if require_webhook_secret and not settings.telegram_webhook_secret:
            raise ConfigError(
                "TELEGRAM_WEBHOOK_SECRET is not set (webhook mode needs it: 1 to 256 "
                "characters of A-Z, a-z, 0-9, _ and -)"
            )
        return settings
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "configuration"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "missing":
                message = "is not set"
            problems.append(f"{name} {message}")
        raise ConfigError("; ".join(problems)) from None
