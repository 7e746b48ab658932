"""Repositories: plain async functions that take an AsyncSession and know nothing of Telegram."""
