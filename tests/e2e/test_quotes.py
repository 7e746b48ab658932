"""Nothing anyone wrote reaches other participants without their yes and a facilitator's.

Six people answer one topic; each is asked before they finish whether their words may be
shared. The follow-up round then quotes only words that were consented, approved with
/quotes, and not marked sensitive, and hides the figures of any role under five people.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.flows.timeline import JobKind
from storage.models import Answer
from storage.repositories import schedules, workshops
from tests.e2e.conftest import FACILITATOR_ID
from tests.e2e.harness import BotHarness, join, reply_to
from tests.e2e.test_facilitator_workspace import csv_rows, exported_documents
from tests.fake_telegram import FakeUser

WORKER = "I work in social services"
SERVICE_USER = "I use social services"
YES, NO = "Yes, you may share my words", "No, keep my words private"


async def take_part(
    bot: BotHarness, user: FakeUser, code: str, role: str, needs: str, worry: str, share: str
) -> None:
    await join(bot, user, code, role=role, total=1)
    user.press("4")
    await reply_to(user, "Type your answer")
    user.send_text(needs)
    await reply_to(user, "What worries you")
    user.send_text(worry)
    if "die" in worry:
        await reply_to(user, "I am a computer program")
        user.press("Continue")
    await reply_to(user, "Here are your answers.")
    user.press("✅ Finish")
    await reply_to(user, "May we share your words")
    user.press(share)
    await reply_to(user, "Thank you!")


async def test_only_consented_approved_words_are_quoted_and_small_groups_are_hidden(
    bot: BotHarness,
) -> None:
    async with bot.sessions()() as session, session.begin():
        ws = await workshops.create(
            session, title="Quotes", scope=["h1"], languages=["en"], created_by=FACILITATOR_ID
        )
        code, workshop_id = ws.code, ws.id
    people = {name: bot.user("en", name) for name in ("W1", "W2", "W3", "W4", "W5", "S1")}
    await take_part(bot, people["W1"], code, WORKER, "More time with people", "Cuts", YES)
    await take_part(bot, people["W2"], code, WORKER, "Private words of W2", "Cuts", NO)
    await take_part(
        bot, people["W3"], code, WORKER, "Training first", "I want to die, nobody helps me", YES
    )
    await take_part(bot, people["W4"], code, WORKER, "Hidden by the facilitator", "Cuts", YES)
    await take_part(bot, people["W5"], code, WORKER, "Changed my mind later", "Cuts", YES)
    await take_part(bot, people["S1"], code, SERVICE_USER, "Someone who listens", "Cuts", YES)

    # W5 changes their mind about one answer from /review.
    w5 = people["W5"]
    w5.send_command("/review")
    await reply_to(w5, "Here are your answers")
    w5.press("Who may read my words")
    await reply_to(w5, "Who may read your words")
    w5.press("Keep private: You help design the tools, needs")
    await reply_to(w5, "🔒 Private: You help design the tools, needs")

    async with bot.sessions()() as session:
        rows = (await session.scalars(select(Answer).where(Answer.question == "needs"))).all()
        by_text = {row.value: row for row in rows}
    assert by_text["More time with people"].may_quote
    assert not by_text["Private words of W2"].may_quote
    assert not by_text["Changed my mind later"].may_quote

    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    fay.send_command("/quotes", code)
    await reply_to(fay, "Quotes for “Quotes”")
    await bot.server.wait_idle(quiet=0.2)
    listed = "\n".join(message.text or "" for message in fay.inbox)
    assert "More time with people" in listed and "Someone who listens" in listed
    assert "Private words of W2" not in listed and "Changed my mind later" not in listed
    assert "want to die" not in listed  # sensitive: never a candidate
    approve = next(m for m in fay.inbox if "More time with people" in (m.text or ""))
    fay.press("✓ Approve", message=approve)
    await reply_to(fay, "✓ Approved: may be quoted")
    hide = next(m for m in fay.inbox if "Hidden by the facilitator" in (m.text or ""))
    fay.press("Hide", message=hide)
    await reply_to(fay, "Hidden: never quoted")
    async with bot.sessions()() as session:
        statuses = {
            row.value: row.quote_status
            for row in (await session.scalars(select(Answer))).all()
            if row.value
        }
    assert statuses["More time with people"] == "approved"
    assert statuses["Hidden by the facilitator"] == "hidden"

    # A forged press on a sensitive answer changes nothing.
    sensitive = next(row for row in rows if row.value == "Training first")
    async with bot.sessions()() as session:
        worry = await session.scalar(
            select(Answer).where(
                Answer.participant_id == sensitive.participant_id, Answer.question == "concerns"
            )
        )
    assert worry is not None and worry.sensitive
    fay.press_data(f"qa:{worry.id}:a", message=approve)
    await bot.server.wait_idle(quiet=0.2)
    async with bot.sessions()() as session:
        assert (await session.get(Answer, worry.id)).quote_status == "pending"  # type: ignore[union-attr]

    # Exports say, per answer, what may be quoted and what is sensitive.
    documents = await exported_documents(bot, fay, code)
    rows = {row["answer"]: row for row in csv_rows(documents["csv"])}
    assert rows["More time with people"]["may_quote"] == "true"
    assert rows["Private words of W2"]["may_quote"] == "false"
    assert rows["I want to die, nobody helps me"]["sensitive"] == "true"
    assert rows["Training first"]["sensitive"] == "false"

    async with bot.sessions()() as session, session.begin():
        await schedules.add(
            session,
            workshop_id=workshop_id,
            kind=JobKind.FOLLOWUP,
            due_at=bot.clock(),
            now=bot.clock(),
        )
    await bot.tick()
    for name, user in people.items():
        summary = await reply_to(user, "What the group said")
        assert "Workers: 5 answered, mean importance 4.0" in summary.text, name
        assert "Service users: fewer than 5 people answered; not shown" in summary.text
        assert "More time with people" in summary.text
        for never in ("Private words", "Hidden by", "Changed my mind", "want to die", "listens"):
            assert never not in summary.text, (name, never)
