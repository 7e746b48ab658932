"""The baseline of the load benchmark: a minimal python-telegram-bot echo bot.

    python -m bench.echo_bot --base-url http://127.0.0.1:PORT/bot [--token 123:ABC...]
                             [--http httpx|aiohttp]

It does what any bot on python-telegram-bot does at the least, and nothing else: long polling,
one reply per text (the same text), and for a button press an answer to the callback query
and one reply. Every reply carries one inline button, as the workshop bot's questions do, so
the simulated people in `bench/load/` have something to press. No database, no rendering,
no per-person ordering.

It processes up to 64 updates at once, like the workshop bot (`PerUserUpdateProcessor(64)`),
so the comparison is between two bots given the same room for concurrency; PTB's default of
one update at a time would make the baseline slower and the ratio flattering.

`--http aiohttp` swaps in the workshop bot's own HTTP client (bot/aiohttp_request.py), so
bench/load/ can also compare the two bots on the same transport.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.aiohttp_request import AiohttpRequest

DEFAULT_TOKEN = "123456:ECHO-TOKEN-abcdefghijklmnop"
AGAIN = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])


async def echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    await message.reply_text(message.text, reply_markup=AGAIN)


async def echo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    await context.bot.send_message(query.from_user.id, query.data or "?", reply_markup=AGAIN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_bot", description=__doc__)
    parser.add_argument(
        "--base-url",
        default=os.environ.get("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot"),
        help="Bot API base URL (default: $TELEGRAM_API_BASE_URL)",
    )
    parser.add_argument(
        "--token", default=os.environ.get("TELEGRAM_BOT_TOKEN", DEFAULT_TOKEN), help="bot token"
    )
    parser.add_argument(
        "--http",
        choices=("httpx", "aiohttp"),
        default="httpx",
        help="httpx: python-telegram-bot as it comes (default); aiohttp: the workshop bot's "
        "own HTTP client (bot/aiohttp_request.py), to compare like with like",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    builder = ApplicationBuilder().token(args.token).base_url(args.base_url)
    if args.http == "aiohttp":
        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=1)
        )
    application = builder.concurrent_updates(64).build()
    application.add_handler(MessageHandler(filters.TEXT, echo_text))
    application.add_handler(CallbackQueryHandler(echo_button))
    application.run_polling(allowed_updates=["message", "callback_query"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
