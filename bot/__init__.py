"""CoDesign bot: Telegram co-design workshops about AI in social services."""

import os

# Opt in now to python-telegram-bot's future `timedelta` durations (voice length), so a later
# major version does not change types under us; bot.handlers.events accepts both.
os.environ.setdefault("PTB_TIMEDELTA", "1")
