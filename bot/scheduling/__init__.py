"""Sending what is due: the outbox sender that scheduled jobs (reminders, broadcasts...) use.

The tables (`ScheduledJob`, `Delivery`) are the source of truth; timers only wake the sender.
"""

from bot.scheduling.outbox import (
    Compose,
    DeliveryReport,
    Outbox,
    Progress,
    Recipients,
    summary_of,
)

__all__ = ["Compose", "DeliveryReport", "Outbox", "Progress", "Recipients", "summary_of"]
