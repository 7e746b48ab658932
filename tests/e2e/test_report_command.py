"""`/report` over Telegram: the HTML file, its caption, and the nudge button under it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from storage.models import ScheduledJob
from tests.e2e.conftest import FACILITATOR_ID
from tests.e2e.harness import BotHarness, reply_to
from tests.fake_telegram import FakeUser
from tests.report_seed import LABELLED_SCOPE, labelled_workshop, seed_workshop

CODE = "REPORTE2E"
FIRST_USER = 500_000
# labelled_workshop(): users 0-4 are workers, 5-9 service users (5 has not finished), 10-14
# technologists.
UNFINISHED_SERVICE_USER = FIRST_USER + 5
DAYTIME = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def test_report_is_sent_as_one_html_file_with_a_nudge_for_thin_roles(
    bot: BotHarness,
) -> None:
    bot.clock.set(DAYTIME)  # nudges respect quiet hours
    people = labelled_workshop()
    # Technologists skipped h3 here: their voice on it is missing, so the report flags them
    # and offers the nudge; and one technologist has not finished, so it reaches someone.
    for index in range(10, 15):
        person = people[index]
        ratings = {rec: r for rec, r in person.ratings.items() if rec != "h3"}
        people[index] = replace(person, ratings=ratings, finished=index != 14)
    # No automatic nudges: whoever is reminded here was reminded by the report's button.
    await seed_workshop(
        bot.sessions(), CODE, LABELLED_SCOPE, people, first_user=FIRST_USER, nudge_hours=[]
    )
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay", language_code="en")
    stranger = bot.user("en", "Sam")

    stranger.send_command("/report", CODE)
    await reply_to(stranger, "only for workshop facilitators")
    assert not any(m.document for m in stranger.inbox)

    fay.send_command("/report", CODE)
    sent = await reply_to(fay, "Report of")
    assert sent.document is not None
    assert sent.document.filename == f"{CODE}-report.html"
    page = sent.document.data.decode("utf-8")
    rows = dict(re.findall(r'data-topic="(\w+)" data-label="(\w+)"', page))
    assert rows["h1"] == "consensus" and rows["h2"] == "divergence"
    assert "15 participants" in sent.text
    assert "consensus: 1" in sent.text.lower()
    assert sent.button_texts == ["🔔 Remind the under-represented groups"]

    fay.press("🔔 Remind the under-represented groups")
    done = await reply_to(fay, "A reminder goes now to")
    # Unfinished: service user 5 (service users are not flagged) and technologist 14.
    assert "have not finished (1)" in done.text and "Technologists" in done.text
    async with bot.sessions()() as session:
        jobs = (await session.scalars(select(ScheduledJob))).all()
    assert [(job.kind, job.payload["user_ids"]) for job in jobs] == [("nudge", [FIRST_USER + 14])]
    await bot.tick()
    technologist = FakeUser(bot.server, FIRST_USER + 14, first_name="Tom", language_code="fr")
    await reply_to(technologist, "sans le terminer")  # in their own language
    await bot.server.wait_idle(quiet=0.3)
    untouched = FakeUser(bot.server, UNFINISHED_SERVICE_USER, first_name="Sue")
    assert untouched.inbox == []
