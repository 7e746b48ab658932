"""Facilitators create a workshop, people join by its link, and exports match what was typed."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

from openpyxl import load_workbook
from sqlalchemy import func, select

from storage.models import Facilitator, Workshop
from tests.e2e.conftest import FACILITATOR_ID
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import BotMessage, FakeUser

ANSWERS = {
    # role label -> (role key, priorities, needs, concerns) for recommendations h1, h2
    "I work in social services": (
        "worker",
        ("4", "5"),
        ("=SUM(A1:A9)", "Time, in work hours"),
        ("+33 6 12", "Job cuts"),
    ),
    "I use social services": (
        "service_user",
        ("2", "unsure"),
        ("Être écouté·e 😊", "@home support"),
        ("-no human", 'Quotes "and", commas'),
    ),
    "I build or deploy AI": (
        "technologist",
        ("3", "1"),
        ("Clear\nrules", '=HYPERLINK("http://x")'),
        ("-5 degrees\tinside", "Bias in data"),
    ),
}


def facilitator(bot: BotHarness) -> FakeUser:
    return FakeUser(bot.server, FACILITATOR_ID, first_name="Fay", language_code="en")


async def create_workshop(bot: BotHarness, fay: FakeUser) -> str:
    fay.send_command("/newworkshop", "Lyon", "pilot")
    settings = await reply_to(fay, "Invite link: https://t.me/codesign_test_bot?start=")
    code = re.search(r"start=([A-Z0-9]+)", settings.text)
    assert code is not None and len(code.group(1)) >= 8
    fay.press("Pick…")
    await reply_to(fay, "Tap the recommendations this workshop should cover")
    for title in (
        "Strong rules and checks",
        "Working together as partners",
        "Treat people with respect",
    ):
        fay.press(f"✓ {title}")
        await bot.server.wait_for(
            lambda s, t=title: (
                any(t in b for m in s.messages_to(fay.chat_id) for b in m.button_texts)
                and not any(
                    f"✓ {t}" in b for m in s.messages_to(fay.chat_id) for b in m.button_texts
                )
            )
        )
    fay.press("Done")
    await reply_to(fay, "a picked set of 2")
    return code.group(1)


async def take_part(bot: BotHarness, user: FakeUser, code: str, role_label: str) -> None:
    _, priorities, needs, concerns = ANSWERS[role_label]
    await join(bot, user, code, role=role_label, total=2)
    for n in range(2):
        if n:
            await reply_to(user, f"{n + 1} of 2")
        user.press("Not sure" if priorities[n] == "unsure" else priorities[n])
        await reply_to(user, "Type your answer")
        user.send_text(needs[n])
        await reply_to(user, "What worries you")
        user.send_text(concerns[n])
    await reply_to(user, "Here are your answers.")
    user.press("✅ Finish")
    await reply_to(user, "May we share your words")
    user.press("No, keep my words private")
    await reply_to(user, "Thank you!")


async def exported_documents(bot: BotHarness, fay: FakeUser, code: str) -> dict[str, BotMessage]:
    before = len(fay.inbox)
    fay.send_command("/export", code)
    await bot.server.wait_for(
        lambda s: sum(1 for m in s.messages_to(fay.chat_id)[before:] if m.document) >= 3,
        timeout=15,
    )
    await bot.server.wait_idle(quiet=0.3)
    docs = [m for m in fay.inbox[before:] if m.document]
    return {m.document.filename.rsplit(".", 1)[-1]: m for m in docs if m.document}


def csv_rows(doc: BotMessage) -> list[dict[str, str]]:
    assert doc.document is not None
    text = doc.document.data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def neutralised(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def test_workshop_from_creation_to_export(bot: BotHarness) -> None:
    fay = facilitator(bot)
    code = await create_workshop(bot, fay)
    people = {label: bot.user("en", label.split()[1]) for label in ANSWERS}
    for label, user in people.items():
        await take_part(bot, user, code, label)

    docs = await exported_documents(bot, fay, code)
    assert set(docs) == {"csv", "xlsx", "json"}

    rows = csv_rows(docs["csv"])
    assert len(rows) == 3 * 2 * 3
    pseudonyms = {row["participant"] for row in rows}
    assert len(pseudonyms) == 3 and all(p.startswith("P-") for p in pseudonyms)
    for user in people.values():
        assert str(user.user_id) not in docs["csv"].document.data.decode()  # type: ignore[union-attr]
    for role, priorities, needs, concerns in ANSWERS.values():
        mine = [row for row in rows if row["role"] == role]
        assert len(mine) == 6
        for n, rec in enumerate(("h1", "h2")):
            by_question = {r["question"]: r for r in mine if r["recommendation_id"] == rec}
            assert by_question["priority"]["answer"] == priorities[n]
            assert by_question["needs"]["answer"] == neutralised(needs[n])
            assert by_question["concerns"]["answer"] == neutralised(concerns[n])
            assert by_question["needs"]["workshop_code"] == code
    typed = [text for _, _, needs, concerns in ANSWERS.values() for text in (*needs, *concerns)]
    for text in typed:
        assert sum(row["answer"] == neutralised(text) for row in rows) == 1, text

    assert docs["xlsx"].document is not None
    book = load_workbook(io.BytesIO(docs["xlsx"].document.data))
    assert {"Responses", "Participants", "Summary"} <= set(book.sheetnames)
    sheet = book["Responses"]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    answer_column = header.index("answer")
    cells = [row[answer_column] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    values = [cell.value for cell in cells]
    for text in typed:
        assert values.count(neutralised(text)) == 1, text

    assert docs["json"].document is not None
    data = json.loads(docs["json"].document.data)
    originals = [r["answer"] for r in data["responses"] if r["question"] != "priority"]
    assert sorted(originals) == sorted(typed)


async def test_stats_workshops_and_forget_shape_the_next_export(bot: BotHarness) -> None:
    fay = facilitator(bot)
    code = await create_workshop(bot, fay)
    people = {label: bot.user("en", label.split()[1]) for label in ANSWERS}
    for label, user in list(people.items())[:2]:
        await take_part(bot, user, code, label)

    fay.send_command("/stats", code)
    summary = await reply_to(fay, "Workers", timeout=15)
    assert "Lyon pilot" in summary.text
    charts = [m for m in fay.inbox if m.photo]
    assert charts and charts[-1].photo is not None and charts[-1].photo.startswith(b"\x89PNG")

    fay.send_command("/workshops")
    listing = await reply_to(fay, "Started: 2, finished: 2")
    assert "I work in social services: 1" in listing.text

    leaver = people["I use social services"]
    leaver.send_command("/forget")
    await reply_to(leaver, "Delete everything?")
    leaver.press("Yes, delete everything")
    await reply_to(leaver, "I have deleted everything")

    rows = csv_rows((await exported_documents(bot, fay, code))["csv"])
    assert {row["role"] for row in rows} == {"worker"}
    assert len(rows) == 6


async def test_everyone_else_is_not_allowed(bot: BotHarness) -> None:
    mallory = bot.user("en", "Mallory")
    commands = [
        ("/newworkshop", "Mine"),
        ("/workshops",),
        ("/stats",),
        ("/export",),
        ("/addfacilitator", str(mallory.user_id)),
    ]
    for command in commands:
        mallory.send_command(*command)
        await reply_to(mallory, "only for workshop facilitators")
    async with bot.sessions()() as session:
        assert await session.scalar(select(func.count()).select_from(Facilitator)) == 0
        titles = (await session.scalars(select(Workshop.title))).all()
    assert "Mine" not in titles
    assert not any(m.document for m in mallory.inbox)


async def test_a_promoted_facilitator_can_work(bot: BotHarness) -> None:
    fay = facilitator(bot)
    helper = bot.user("en", "Hugo")
    fay.send_command("/addfacilitator", str(helper.user_id))
    await reply_to(fay, f"{helper.user_id} is now a facilitator")
    helper.send_command("/newworkshop", "Hugo's", "workshop")
    await reply_to(helper, "Invite link:")
    async with bot.sessions()() as session:
        created = await session.scalar(select(Workshop).where(Workshop.title == "Hugo's workshop"))
    assert created is not None and created.created_by == helper.user_id
    # Facilitators are kept in memory; a restart reads the promoted ones back from the table.
    await bot.restart()
    helper.send_command("/workshops")
    await reply_to(helper, "Hugo's workshop")


async def test_voice_answers_are_stored_and_exported_in_a_zip(bot: BotHarness) -> None:
    fay = facilitator(bot)
    code = await create_workshop(bot, fay)
    user = bot.user("en")
    await join(bot, user, code, role="I use social services", total=2)
    user.press("4")
    await reply_to(user, "Type your answer")
    user.send_voice(duration=5, data=b"OggS-recording-bytes")
    await reply_to(user, "voice message is saved")

    async def stored_path() -> str | None:
        answer = (await bot.answers_of(user))[("h1", "needs")]
        return answer.voice_path

    for _ in range(50):
        if await stored_path():
            break
        await bot.server.wait_idle(quiet=0.05)
    path = await stored_path()
    assert (
        path is not None and (bot.settings.data_dir / path).read_bytes() == b"OggS-recording-bytes"
    )

    docs = await exported_documents(bot, fay, code)
    assert "zip" in docs and docs["zip"].document is not None
    with zipfile.ZipFile(io.BytesIO(docs["zip"].document.data)) as archive:
        assert archive.read(path) == b"OggS-recording-bytes"
    rows = csv_rows(docs["csv"])
    voice = next(r for r in rows if r["question"] == "needs")
    assert voice["voice"] == "true" and voice["voice_file"] == path and voice["answer"] == ""

    user.send_command("/forget")
    await reply_to(user, "Delete everything?")
    user.press("Yes, delete everything")
    await reply_to(user, "I have deleted everything")
    assert not (bot.settings.data_dir / path).exists()
