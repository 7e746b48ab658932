"""The simulated participants: what each one types and taps, and how long each reply took.

A person sends one update, waits for the reply they expect (retrying after the bot's error
message, as it asks), and records the time to the first reply and to the awaited one. The
workshop journey and the echo bot's journey send the same number and kinds of updates, so the
two bots are compared on the same work; `typed_answers` is also what the stored answers are
checked against afterwards.
"""

from __future__ import annotations

import asyncio
import functools
import html
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.load.server import SENDS, LoadServer, Reply
from bot.flows.catalogue import load_catalogue
from locales import Translator
from tests.fake_telegram import FakeUser

if TYPE_CHECKING:
    from bench.load.runs import Options

FIRST_USER = 700_000
HEADLINE = load_catalogue().scope("headline")
ROLES = ("worker", "service_user", "technologist")
RETRIES = 2  # a person tries again this many times after the bot's error message
RETRY_PAUSE = 1.0
# The echo bot gets the workshop journey's sequence of update kinds, step for step.
ECHO_SCRIPT = (
    "command",
    "button",
    "button",
    *(("button", "text", "text") * 5),
    "button",
    "button",
)


@dataclass
class Timings:
    first: list[float] = field(default_factory=list)  # seconds to the first reply
    whole: list[float] = field(default_factory=list)  # seconds to the awaited message
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    apologies: int = 0  # replies that were the bot's error message

    @property
    def updates(self) -> int:
        return len(self.first)


class Person:
    def __init__(self, server: LoadServer, index: int, timings: Timings, options: Options) -> None:
        self.server = server
        self.index = index
        self.user = FakeUser(server, FIRST_USER + index, first_name=f"P{index}")
        self.timings = timings
        self.step_timeout = options.step_timeout
        self.think = options.think
        self.random = random.Random(index)
        self.steps = 0

    async def step(
        self, kind: str, push: Callable[[], object], expect: Callable[[Reply], bool]
    ) -> None:
        """Send one update and wait for the reply `expect`ed, as a person would.

        When the bot answers with its error message ("Sorry, something went wrong... try
        again in a moment") the person does what it says, up to RETRIES times, and each such
        answer is counted.
        """
        if self.think:
            # Reading and typing: 0.5 to 1.5 times --think, so people drift apart; before the
            # first update too, as people open the link within seconds of each other.
            await asyncio.sleep(self.think * self.random.uniform(0.5, 1.5))
        self.steps += 1
        chat = self.user.chat_id
        pushed = time.monotonic()
        first: Reply | None = None
        for attempt in range(RETRIES + 1):
            start = self.server.reply_count(chat)
            push()
            try:
                first_now, awaited = await self.server.wait_reply(
                    chat, start, lambda r: expect(r) or is_apology(r), self.step_timeout
                )
            except TimeoutError:
                seen = [m.describe()[:300] for m in self.user.inbox[-2:]]
                raise TimeoutError(
                    f"participant {self.index}: no reply to a {kind} within "
                    f"{self.step_timeout:.0f}s; {len(self.server.pending_updates)} updates "
                    f"not fetched; last messages: {seen}"
                ) from None
            first = first or first_now
            if not is_apology(awaited):
                break
            self.timings.apologies += 1
            if attempt == RETRIES:
                raise RuntimeError(
                    f"participant {self.index}: the bot answered a {kind} with its error "
                    f"message {RETRIES + 1} times"
                )
            await asyncio.sleep(RETRY_PAUSE)
        assert first is not None  # the loop ran at least once
        self.timings.first.append(first.time - pushed)
        self.timings.whole.append(awaited.time - pushed)
        self.timings.by_kind.setdefault(kind, []).append(first.time - pushed)


def is_apology(reply: Reply) -> bool:
    apology = words("error.try_again").split(".")[0]  # "Sorry, something went wrong..."
    return reply.shows_text and apology in (reply.text or "")


def containing(text: str) -> Callable[[Reply], bool]:
    return lambda reply: reply.shows_text and text in (reply.text or "")


def any_message(reply: Reply) -> bool:
    return reply.method in SENDS


@functools.cache
def words(key: str) -> str:
    """An English string of the bot as the person reads it (tags stripped)."""
    return html.unescape(re.sub(r"<[^>]+>", "", Translator().get("en", key)))


def typed_answers(index: int) -> dict[tuple[str, str], str]:
    """What participant `index` answers: (recommendation, question) -> value."""
    answers: dict[tuple[str, str], str] = {}
    for number, rec in enumerate(HEADLINE):
        answers[(rec, "priority")] = str((index + number) % 5 + 1)
        answers[(rec, "needs")] = f"P{index} {rec}: training & time for <staff>, ça compte"
        answers[(rec, "concerns")] = f"P{index} {rec}: bias, privacy and cost 😟"
    return answers


async def workshop_journey(person: Person) -> None:
    """/start, consent, role, then priority + needs + concerns for each recommendation, send."""
    user = person.user
    answers = typed_answers(person.index)
    total = len(HEADLINE)
    await person.step(
        "command", lambda: user.send_command("/start"), containing("Do you agree to take part?")
    )
    await person.step(
        "button",
        lambda: user.press("Yes, I agree"),
        containing("Which of these describes you best?"),
    )
    role = ROLES[person.index % len(ROLES)]
    await person.step(
        "button", lambda: user.press(words(f"role.{role}")), containing(f"1 of {total}")
    )
    needs_question = words("question.how_to_answer")
    concerns_question = words(f"question.concerns.{role}")
    for number, rec in enumerate(HEADLINE, start=1):
        priority, needs, concerns = (answers[(rec, q)] for q in ("priority", "needs", "concerns"))
        label = words(f"priority.label.{priority}")
        await person.step(
            "button", functools.partial(user.press, label), containing(needs_question)
        )
        await person.step(
            "text", functools.partial(user.send_text, needs), containing(concerns_question)
        )
        following = f"{number + 1} of {total}" if number < total else "Here are your answers."
        await person.step(
            "text", functools.partial(user.send_text, concerns), containing(following)
        )
    await person.step(
        "button", lambda: user.press(words("review.submit")), containing("May we share your words")
    )
    await person.step(
        "button", lambda: user.press("No, keep my words private"), containing("Thank you!")
    )


def echo_update(user: FakeUser, index: int, number: int, kind: str) -> None:
    if kind == "command":
        user.send_command("/start")
    elif kind == "text":
        user.send_text(f"P{index} says {number}: ça & <b>")
    else:
        user.press_data(f"b{number}", user.last_message)


async def echo_journey(person: Person) -> None:
    """The same number and kinds of updates, to the echo bot."""
    for number, kind in enumerate(ECHO_SCRIPT):
        push = functools.partial(echo_update, person.user, person.index, number, kind)
        await person.step(kind, push, any_message)


async def run_people(
    server: LoadServer,
    participants: int,
    journey: Callable[[Person], Awaitable[None]],
    options: Options,
) -> tuple[Timings, float]:
    timings = Timings()

    async def one(index: int) -> None:
        try:
            await journey(Person(server, index, timings, options))
        except Exception as error:  # one person stuck must not hide what the others did
            timings.failures.append(f"{type(error).__name__}: {str(error)[-400:]}")

    started = time.monotonic()
    await asyncio.gather(*(one(index) for index in range(participants)))
    return timings, time.monotonic() - started
