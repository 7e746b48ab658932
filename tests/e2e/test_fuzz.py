"""A short fuzz round in CI (bench/fuzz.py runs long ones): malformed and random updates of
every kind, with real participants among them."""

from __future__ import annotations

import logging

import pytest

from tests import fuzz
from tests.e2e.harness import BotHarness


@pytest.mark.parametrize("seed", [7])
async def test_random_updates_break_nothing_and_real_people_finish(
    bot: BotHarness, caplog: pytest.LogCaptureFixture, seed: int
) -> None:
    caplog.set_level(logging.INFO)
    report = await fuzz.run(bot, seed=seed, strangers=6, updates_each=15, participants=2)
    assert set(report.sent) >= {"text", "callback", "edited", "group_callback"}, report.sent
    assert report.participants_finished == 2
    assert report.answers_stored == report.answers_expected == 12
    assert report.strangers_without_reply == []
    assert report.unanswered_callbacks == []
    refused = [call for call in report.refused_calls if " 403 " not in call]  # blocked, then back
    assert refused == []
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
