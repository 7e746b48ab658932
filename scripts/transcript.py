"""What a service user sees, written down from the real bot: docs/participant-transcript.md.

    python -m scripts.transcript            # rewrite the transcript, print the figures
    python -m scripts.transcript --check    # exit 1 if the transcript is out of date

It runs the production Application against the test suite's fake Bot API server (nothing
leaves the machine), takes a service user through two topics in standard and in easy-read
English, and records every message and button exactly as sent. It also counts the taps,
typed messages and bot messages a person needs to finish the five headline topics.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from locales import catalogue
from storage.repositories import workshops
from tests.e2e.harness import BotHarness, reply_to, scratch_bot
from tests.fake_telegram import BotMessage, FakeUser


def label(key: str, easy: bool = False) -> str:
    """A button's label as the person sees it, in standard or easy-read English."""
    table = dict(catalogue("en"))
    if easy:
        table.update(catalogue("en", easy=True))
    return table[key]


def first_line(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text).split("\n")[0].split(":")[0]


OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "participant-transcript.md"
TOPICS = ["h1", "h2"]


@dataclass
class Recorder:
    user: FakeUser
    lines: list[str] = field(default_factory=list)
    taps: int = 0
    typed: int = 0

    def show(self, message: BotMessage) -> None:
        text = re.sub(r"<[^>]+>", "", message.text or "").strip()
        self.lines.append("> " + text.replace("\n", "\n> ") if text else "> (no text)")
        if message.button_texts:
            self.lines.append(">\n> " + " · ".join(f"[{label}]" for label in message.button_texts))
        self.lines.append("")

    def tap(self, label: str) -> None:
        self.lines.append(f"**You tap:** {label}\n")
        self.taps += 1
        self.user.press(label)

    def type(self, text: str) -> None:
        self.lines.append(f"**You type:** {text}\n")
        self.typed += 1
        self.user.send_text(text)

    async def expect(self, bot: BotHarness, words: str) -> None:
        """Wait for the reply, then record every message the bot sent since the last one."""
        before = self._seen
        found = await reply_to(self.user, words)
        await bot.server.wait_idle(quiet=0.2)
        messages = bot.server.messages_to(self.user.chat_id)
        fresh = messages[before:]
        if all(message.message_id != found.message_id for message in fresh):
            self.lines.append("*(the message changes in place)*\n")
            self.show(found)  # an earlier message, edited ("Tell me more")
        for message in fresh:
            self.show(message)
        self._seen = len(messages)

    _seen: int = 0


async def _conversation(bot: BotHarness, code: str, easy: bool) -> Recorder:
    user = bot.user("en", "Sam")
    record = Recorder(user)
    user.send_command("/start", code)
    record.lines.append("**You open the invite link.**\n")
    await record.expect(bot, "Do you agree")
    if easy:
        record.tap(label("easyread.button"))
        await record.expect(bot, label("consent.question", easy).split("?")[0])
    record.tap(label("consent.agree", easy))
    await record.expect(bot, label("role.question", easy).split("?")[0])
    record.tap(label("role.service_user", easy))
    await record.expect(bot, "1 of 2")
    record.type("It matters because nobody asks me")
    await record.expect(bot, "nobody asks me")
    record.tap(label("priority.label.5", easy))
    await record.expect(bot, label("button.skip", easy))
    record.type("Someone should ask me before they use it")
    await record.expect(bot, label("button.skip", easy))
    record.tap(label("button.skip", easy))
    await record.expect(bot, "2 of 2")
    record.tap(label("button.more", easy))
    await record.expect(bot, "Invest in digital literacy")
    record.tap(label("priority.label.3", easy))
    await record.expect(bot, label("button.skip", easy))
    record.tap(label("button.skip", easy))
    await record.expect(bot, label("button.skip", easy))
    record.type("That the staff have no time to learn it")
    await record.expect(bot, first_line(label("review.intro", easy)))
    record.tap(label("review.submit", easy))
    await record.expect(bot, first_line(label("quote.question", easy)))
    record.tap(label("quote.no", easy))
    await record.expect(bot, first_line(label("done.next_team", easy)))
    return record


async def _five_topics(bot: BotHarness, code: str) -> Recorder:
    """The shortest honest path: a number and a typed answer for every question."""
    user = bot.user("en", "Kim")
    record = Recorder(user)
    user.send_command("/start", code)
    await record.expect(bot, "Do you agree")
    record.tap(label("consent.agree"))
    await record.expect(bot, "describes you")
    record.tap(label("role.service_user"))
    for number in range(1, 6):
        await record.expect(bot, f"{number} of 5")
        record.tap("4 Important")
        await record.expect(bot, "Type your answer")
        record.type("More time with people")
        await record.expect(bot, "worr")
        record.type("Mistakes nobody can correct")
    await record.expect(bot, "Here are your answers")
    record.tap(label("review.submit"))
    await record.expect(bot, "May we share")
    record.tap(label("quote.no"))
    await record.expect(bot, "What happens next")
    return record


async def build() -> tuple[str, str]:
    with tempfile.TemporaryDirectory() as directory:
        async with scratch_bot(Path(directory)) as bot:
            async with bot.sessions()() as session, session.begin():
                code = (
                    await workshops.create(
                        session, title="Our services and AI", scope=TOPICS, languages=["en"]
                    )
                ).code
                five = (
                    await workshops.create(
                        session,
                        title="Five topics",
                        scope=["h1", "h2", "h3", "h4", "h5"],
                        languages=["en"],
                    )
                ).code
            standard = await _conversation(bot, code, easy=False)
            easy = await _conversation(bot, code, easy=True)
            counted = await _five_topics(bot, five)
    body = "\n".join(
        [
            "# What a service user sees",
            "",
            "Written by `python -m scripts.transcript` from the real bot (the production",
            "Application against the test suite's fake Telegram server); a test fails when it is",
            "out of date. Two topics, once in standard English and once in easy read. Typed words",
            "where a number is expected are kept as a note.",
            "",
            "## Standard English",
            "",
            *standard.lines,
            "## Easy read",
            "",
            *easy.lines,
        ]
    )
    messages = counted._seen
    figures = (
        f"five topics: {counted.taps} taps, {counted.typed} typed answers, {messages} bot messages"
    )
    return body.rstrip() + "\n", figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    body, figures = asyncio.run(build())
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != body:
            print(f"{OUTPUT} is out of date: run python -m scripts.transcript", file=sys.stderr)
            sys.exit(1)
        return
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(body, encoding="utf-8")
    print(f"wrote {OUTPUT}; {figures}")


if __name__ == "__main__":
    main()
