"""The member check: a facilitator approves keyword groups with /themes, and in the follow-up
round a participant sees them and says whether they match what they think."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from bot.flows.timeline import JobKind
from storage.models import Theme, Workshop
from storage.repositories import schedules
from tests.e2e.conftest import FACILITATOR_ID
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import FakeUser
from tests.report_seed import LABELLED_SCOPE, labelled_workshop, seed_workshop

CODE = "MEMBERCHK"
DAYTIME = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def start_followup(bot: BotHarness) -> None:
    async with bot.sessions()() as session, session.begin():
        workshop = (await session.scalars(select(Workshop).where(Workshop.code == CODE))).one()
        await schedules.add(
            session, workshop_id=workshop.id, kind=JobKind.FOLLOWUP, due_at=DAYTIME, now=DAYTIME
        )
    await bot.tick()


async def test_approved_groups_are_checked_in_the_followup_and_reported(bot: BotHarness) -> None:
    bot.clock.set(DAYTIME)
    await seed_workshop(bot.sessions(), CODE, LABELLED_SCOPE, labelled_workshop())
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay", language_code="en")
    ana = bot.user("en", "Ana")
    await join(bot, ana, CODE, total=3)
    ana.press("4")
    await reply_to(ana, "Type your answer")
    ana.send_text("Proper training for the whole team")
    await reply_to(ana, "What worries you")
    ana.send_text("Nobody asks us before buying it")
    await reply_to(ana, "2 of 3")

    # Nobody else may decide; the facilitator sees the groups and approves the training one.
    ana.send_command("/themes", CODE)
    await reply_to(ana, "only for workshop facilitators")
    fay.send_command("/themes", CODE)
    await reply_to(fay, "Groups of answers:")
    await bot.server.wait_idle(quiet=0.3)
    training = next(m for m in fay.inbox if "Words: training" in m.text)
    assert "✅ Show in the follow-up" in training.button_texts
    fay.press("✅ Show in the follow-up", message=training)
    await reply_to(fay, "✅ Shown in the follow-up")
    async with bot.sessions()() as session:
        stored = (await session.scalars(select(Theme))).all()
    approved = [theme for theme in stored if theme.status == "approved"]
    assert len(approved) == 1 and approved[0].recommendation_id == "h1"
    assert approved[0].decided_by == FACILITATOR_ID
    assert "formation" in approved[0].words["fr"]  # named in every language

    await start_followup(bot)
    summary = await reply_to(ana, "What the group said")
    ana.press("Revisit my answers", message=summary)
    await reply_to(ana, "Follow-up 1 of 1")
    ana.press("2")
    check = await reply_to(ana, "Does this match what you think?")
    assert "People like you (Workers) wrote about:" in check.text
    assert re.search(r"• training", check.text)
    assert [b for b in check.button_texts if b in ("Yes", "Partly", "No")] == [
        "Yes",
        "Partly",
        "No",
    ]
    ana.send_text("Hmm, they say training but I mean time")  # kept, then asked again
    await reply_to(ana, "Now please tap “Yes”, “Partly” or “No”.")
    ana.send_text("a little")  # typed words for "Partly"
    await reply_to(ana, "anything you would like to add")
    ana.send_text("Time to learn matters more")
    await reply_to(ana, "follow-up answers are saved")

    rows = await bot.answer_rows(ana)
    by_round = {(a.round, a.recommendation_id, a.question): a.value for a in rows}
    assert by_round[(2, "h1", "match")] == "partly"
    assert by_round[(2, "h1", "note")] == "Hmm, they say training but I mean time"
    assert by_round[(2, "h1", "addition")] == "Time to learn matters more"

    fay.send_command("/report", CODE)
    sent = await reply_to(fay, "Report of")
    assert sent.document is not None
    page = sent.document.data.decode("utf-8")
    table = page[page.index('id="member-check"') :]
    workers = re.search(
        r"Workers</th>\s*<td class=\"num\">(\d+)</td>\s*<td class=\"num\">(\d+)", table
    )
    assert workers is not None and workers.groups() == ("0", "1")
