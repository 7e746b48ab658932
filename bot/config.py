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
