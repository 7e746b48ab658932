"""Safeguarding: noticing distress in what people type, and what the bot does about it."""
