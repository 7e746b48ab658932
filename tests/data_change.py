"""A question and a role added as data only, proven end to end in a separate process.

`write_fixture(directory)` copies the shipped topics and English catalogues and adds, as the
README says one would, a question ("What would help you trust it?", answered in words after
the worries) and a role ("I volunteer"). `python -m tests.data_change DIRECTORY` then runs
the real bot on them (CODESIGN_TOPICS_DIR and CODESIGN_LOCALES_DIR point there, so nothing
in the code changes) and takes a volunteer through a workshop: the new question is asked,
shown in the review, stored, counted in /stats and exported. It exits 0 when all of that
held (the test in tests/test_data_change.py runs it).
"""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
NEW_QUESTION = "trust"
NEW_ROLE = "volunteer"
FACILITATOR_ID = 900001

_PO_ENTRIES = {
    f"role.{NEW_ROLE}": "I volunteer",
    f"role.group.{NEW_ROLE}": "Volunteers",
    f"question.concerns.{NEW_ROLE}": "<b>What worries you about this in your volunteering?</b>",
    f"words.role.{NEW_ROLE}": "volunteer | i volunteer",
    f"review.{NEW_QUESTION}": "Trust: {answer}",
    f"mydata.question.{NEW_QUESTION}": "trust",
    f"announce.followup_{NEW_QUESTION}": "What would help trust: “{text}”",
}


def _po_entry(key: str, text: str) -> str:
    escaped = text.replace('"', '\\"')
    return f'\nmsgid "{key}"\nmsgstr "{escaped}"\n'


def write_fixture(directory: Path) -> tuple[Path, Path]:
    topics = directory / "topics"
    locales = directory / "locales"
    shutil.copytree(ROOT / "bot" / "flows" / "topics", topics)
    (locales / "easy").mkdir(parents=True)
    shutil.copy(ROOT / "locales" / "en.po", locales / "en.po")
    shutil.copy(ROOT / "locales" / "easy" / "en.po", locales / "easy" / "en.po")

    structure_path = topics / "structure.yaml"
    structure: dict[str, Any] = yaml.safe_load(structure_path.read_text(encoding="utf-8"))
    structure["languages"] = ["en"]
    structure["questions"].append(
        {"id": NEW_QUESTION, "short": "tr", "kind": "text", "wording": "locale"}
    )
    structure["roles"].insert(-1, NEW_ROLE)
    structure_path.write_text(yaml.safe_dump(structure, allow_unicode=True), encoding="utf-8")

    english_path = topics / "en.yaml"
    english: dict[str, Any] = yaml.safe_load(english_path.read_text(encoding="utf-8"))
    for topic in english["topics"].values():
        for table in (topic, topic["easy"]):
            table["question"][NEW_ROLE] = "What would you need to help with this as a volunteer?"
            table["more"][NEW_ROLE] = "Volunteers often support people at home."
    english_path.write_text(yaml.safe_dump(english, allow_unicode=True), encoding="utf-8")

    entries = dict(_PO_ENTRIES)
    roles = structure["roles"]
    for role in roles:
        entries[f"question.{NEW_QUESTION}.{role}"] = "<b>What would help you trust it?</b>"
    for path in (locales / "en.po", locales / "easy" / "en.po"):
        with path.open("a", encoding="utf-8") as handle:
            for key, text in entries.items():
                if path.parent.name == "easy" and key.startswith("words."):
                    continue
                handle.write(_po_entry(key, text))
    return topics, locales


async def _journey(directory: Path) -> None:
    # Imported here: the environment must point at the fixture before the bot loads data.
    import openpyxl

    from bot.exports.writers import SUMMARY_SHEET
    from storage.models import Answer
    from storage.repositories import workshops
    from tests.e2e.harness import join, reply_to, scratch_bot
    from tests.fake_telegram import FakeUser

    async with scratch_bot(directory, facilitator_ids=FACILITATOR_ID) as bot:
        server = bot.server
        async with bot.sessions()() as session, session.begin():
            code = (
                await workshops.create(
                    session,
                    title="Data change",
                    scope=["h1"],
                    languages=["en"],
                    created_by=FACILITATOR_ID,
                )
            ).code
        user = bot.user("en", "Vic")
        await join(bot, user, code, role="I volunteer", total=1)
        user.press("4 Important")
        needs = await reply_to(user, "Type your answer")
        assert "as a volunteer" in needs.text, needs.text
        user.send_text("Time to listen")
        await reply_to(user, "in your volunteering")
        user.send_text("Errors in the records")
        await reply_to(user, "What would help you trust it?")
        user.send_text("Knowing who made it")
        review = await reply_to(user, "Here are your answers")
        assert "Trust: Knowing who made it" in review.text, review.text
        user.press("✅ Finish")
        await reply_to(user, "May we share your words")
        user.press("No, keep my words private")
        await reply_to(user, "What happens next")

        stored = await bot.answers_of(user)
        assert stored[("h1", NEW_QUESTION)].value == "Knowing who made it"
        assert isinstance(stored[("h1", NEW_QUESTION)], Answer)
        participant = await bot.participant_of(user)
        assert participant is not None and participant.role == NEW_ROLE

        fay = FakeUser(server, FACILITATOR_ID, first_name="Fay", language_code="en")
        fay.send_command("/stats", code)
        figures = await reply_to(fay, "Volunteers", timeout=15)
        assert "trust: 1" in figures.text, figures.text
        before = len(fay.inbox)
        fay.send_command("/export", code)
        await server.wait_for(
            lambda s: sum(1 for m in s.messages_to(fay.chat_id)[before:] if m.document) >= 3,
            timeout=15,
        )
        documents = {
            m.document.filename.rsplit(".", 1)[-1]: m.document
            for m in fay.inbox[before:]
            if m.document
        }
        rows = list(csv.DictReader(io.StringIO(documents["csv"].data.decode("utf-8-sig"))))
        assert {row["role"] for row in rows} == {NEW_ROLE}
        assert [row["answer"] for row in rows if row["question"] == NEW_QUESTION] == [
            "Knowing who made it"
        ]
        book = openpyxl.load_workbook(io.BytesIO(documents["xlsx"].data), read_only=True)
        lines = list(book[SUMMARY_SHEET].iter_rows(values_only=True))
        header = list(lines[0])
        volunteer = next(line for line in lines[1:] if line[header.index("role")] == NEW_ROLE)
        assert volunteer[header.index(NEW_QUESTION)] == 1, (header, volunteer)


def main() -> None:
    directory = Path(sys.argv[1])
    asyncio.run(_journey(directory))
    print("data change: the new question and role went through the whole workshop")


if __name__ == "__main__":
    main()
