"""Random and malformed updates of every kind, mixed with people who really take part.

`run(bot, seed=..., strangers=..., updates_each=..., participants=...)` drives the real bot
(through the e2e harness) and returns what happened; tests/e2e/test_fuzz.py runs a short round
in CI and bench/fuzz.py a long one that prints the counts. Everything random comes from one
seeded generator, so a failure can be replayed.
"""

from __future__ import annotations

import asyncio
import random
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from storage.repositories import workshops
from tests.e2e.harness import BotHarness, reply_to
from tests.fake_telegram import FakeUser

JSONDict = dict[str, Any]

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_RTL = "שלום عربى \u202e\u202b"
_EMOJI = "😟👍🏽👨‍👩‍👧‍👦🇪🇺"
_MARKUP = "<b>&lt;</b> & < > &amp; \" ' \\ `"
_CONTROL = "".join(chr(c) for c in range(0, 32) if c not in (10,))
_CALLBACKS = (
    "prio:q.h1.pr:4",
    "prio:q.h9.pr:4",
    "prio:q.h1.pr:9",
    "skip:",
    "edit:zz",
    "qt:h1:nd:1:y",
    "qt:h1:xx:7:q",
    "easy:1:NOPE:xx:0",
    "ok:NOPE:en:0",
    "cl:",
    "fu",
    "sg:1:show",
    "qa:1:a",
    "fac:x",
    "stop",
    "forget:ws",
    "",
    "\n2026-01-01 00:00:00,000 CRITICAL forged",
    "x" * 64,
)

KINDS = (
    "text",
    "long_text",
    "odd_text",
    "command",
    "unknown_command",
    "sticker",
    "photo",
    "document",
    "location",
    "voice",
    "contact",
    "poll",
    "dice",
    "edited",
    "callback",
    "group_message",
    "group_callback",
    "inline_callback",
    "channel_post",
    "my_chat_member",
    "inline_query",
    "no_from",
)
# Updates that may pass in silence: edits, button presses (a toast is their answer), and
# whatever does not come from a private chat. Every other kind deserves a reply.
_SILENT_KINDS = frozenset(
    (
        "poll",
        "edited",
        "callback",
        "group_message",
        "group_callback",
        "inline_callback",
        "channel_post",
        "my_chat_member",
        "inline_query",
        "no_from",
    )
)
_PRIVATE_REPLY_KINDS = frozenset(KINDS) - _SILENT_KINDS


@dataclass
class FuzzReport:
    sent: Counter[str] = field(default_factory=Counter)
    strangers_without_reply: list[int] = field(default_factory=list)
    unanswered_callbacks: list[str] = field(default_factory=list)
    refused_calls: list[str] = field(default_factory=list)
    participants_finished: int = 0
    answers_expected: int = 0
    answers_stored: int = 0


def _random_text(rng: random.Random) -> str:
    length = rng.choice((1, 3, 20, 200, 1500))
    alphabet = string.ascii_letters + string.digits + " .,!?'" + "éèçàßñü" + _EMOJI
    return "".join(rng.choice(alphabet) for _ in range(length)).strip() or "x"


def _odd_text(rng: random.Random) -> str:
    parts = [_ZERO_WIDTH, _RTL, _MARKUP, _CONTROL, "/", "@", "12345", "very important", "👍"]
    return "".join(rng.sample(parts, rng.randint(1, len(parts)))) or "\u200b"


def _send(rng: random.Random, user: FakeUser, group: FakeUser, kind: str, sent: list[Any]) -> None:
    server = user.server
    if kind == "text":
        sent.append(user.send_text(_random_text(rng)))
    elif kind == "long_text":
        user.send_text("ü" * rng.choice((2001, 4096, 4097, 10_000)))
    elif kind == "odd_text":
        user.send_text(_odd_text(rng))
    elif kind == "command":
        user.send_command(rng.choice(("/start", "/help", "/review", "/mydata", "/language")))
    elif kind == "unknown_command":
        user.send_text("/" + "".join(rng.choice(string.ascii_lowercase) for _ in range(8)))
    elif kind == "sticker":
        user.send_sticker()
    elif kind == "photo":
        user.send_photo(caption=rng.choice((None, _odd_text(rng))))
    elif kind == "document":
        user.send_document()
    elif kind == "location":
        user.send_location()
    elif kind == "voice":
        user.send_voice(duration=rng.randint(0, 600))
    elif kind == "contact":
        user._push_message(contact={"phone_number": "+3200000000", "first_name": "X"})
    elif kind == "poll":
        # A poll option without the field python-telegram-bot expects: an unreadable update.
        poll = {"id": "1", "question": "Q?", "options": [{"voter_count": 0}], "is_closed": False}
        user._push_message(poll=poll)
    elif kind == "dice":
        user._push_message(dice={"emoji": "🎲", "value": rng.randint(1, 6)})
    elif kind == "edited":
        if sent:
            user.edit_text(rng.choice(sent), _random_text(rng))
        else:
            user.send_text(_random_text(rng))
    elif kind == "callback":
        user.press_data(rng.choice(_CALLBACKS)) if user.inbox else user.send_command("/start")
    elif kind in ("group_message", "group_callback"):
        chat = {"id": -100_000 - group.user_id, "type": "supergroup", "title": "Team"}
        message = {
            "message_id": server.next_message_id(chat["id"]),
            "from": group.user,
            "chat": chat,
            "date": 0,
            "text": _random_text(rng),
        }
        if kind == "group_message":
            server.push_update({"message": message})
        else:
            server.push_update(
                {
                    "callback_query": {
                        "id": server.new_callback_query_id(),
                        "from": group.user,
                        "chat_instance": "g",
                        "data": rng.choice(_CALLBACKS),
                        "message": message,
                    }
                }
            )
    elif kind == "inline_callback":
        server.push_update(
            {
                "callback_query": {
                    "id": server.new_callback_query_id(),
                    "from": user.user,
                    "chat_instance": "i",
                    "data": rng.choice(_CALLBACKS),
                    "inline_message_id": "AAAA",
                }
            }
        )
    elif kind == "channel_post":
        channel = {"id": -200_000, "type": "channel", "title": "News"}
        server.push_update(
            {"channel_post": {"message_id": 1, "chat": channel, "date": 0, "text": "post"}}
        )
    elif kind == "my_chat_member":
        user.block_bot()
        user.unblock_bot()
    elif kind == "inline_query":
        server.push_update(
            {"inline_query": {"id": "1", "from": user.user, "query": "x", "offset": ""}}
        )
    elif kind == "no_from":
        server.push_update(
            {"message": {"message_id": 1, "chat": user.chat, "date": 0, "text": "no sender"}}
        )


async def _participant(bot: BotHarness, user: FakeUser, code: str, topics: int) -> int:
    """A person who really takes part, among the noise; returns the answers they gave."""
    user.send_command("/start", code)
    await reply_to(user, "Do you agree to take part?", timeout=60)
    user.press("Yes, I agree")
    await reply_to(user, "Which of these describes you best?", timeout=60)
    user.press("I work in social services")
    await reply_to(user, f"1 of {topics}", timeout=60)
    for number in range(1, topics + 1):
        user.press("4 Important")
        await reply_to(user, "Type your answer", timeout=60)
        user.send_text(f"{user.first_name} needs {number}")
        await reply_to(user, "What worries you", timeout=60)
        user.send_text(f"{user.first_name} worries {number}")
        following = f"{number + 1} of {topics}" if number < topics else "Here are your answers"
        await reply_to(user, following, timeout=60)
    user.press("✅ Finish")
    await reply_to(user, "May we share your words", timeout=60)
    user.press("No, keep my words private")
    await reply_to(user, "What happens next", timeout=60)
    return topics * 3


async def run(
    bot: BotHarness,
    *,
    seed: int = 1,
    strangers: int = 6,
    updates_each: int = 15,
    participants: int = 2,
) -> FuzzReport:
    rng = random.Random(seed)
    report = FuzzReport()
    scope = ["h1", "h2"]
    async with bot.sessions()() as session, session.begin():
        code = (await workshops.create(session, title="Fuzz", scope=scope, languages=["en"])).code
    people = [bot.user("en", f"Real{n}") for n in range(participants)]
    noisy = [bot.user(rng.choice(("en", "fr", "de", "xx", "")), f"S{n}") for n in range(strangers)]
    group = bot.user("en", "Grouper")
    replied_to: set[int] = set()

    async def noise(user: FakeUser) -> None:
        sent: list[Any] = []
        if rng.random() < 0.5:  # some join the workshop first, some never do
            user.send_command("/start", code)
        for _ in range(updates_each):
            kind = rng.choice(KINDS)
            report.sent[kind] += 1
            if kind in _PRIVATE_REPLY_KINDS:
                replied_to.add(user.user_id)
            _send(rng, user, group, kind, sent)
            await asyncio.sleep(rng.choice((0, 0, 0.01)))

    results = await asyncio.gather(
        *(_participant(bot, person, code, len(scope)) for person in people),
        *(noise(user) for user in noisy),
    )
    await bot.server.wait_for(lambda s: not s.unanswered_callback_queries(), timeout=60)
    await bot.server.wait_idle(quiet=0.5, timeout=60)
    report.answers_expected = sum(result or 0 for result in results[: len(people)])
    for person in people:
        stored = await bot.answers_of(person)
        report.answers_stored += sum(
            1 for (rec, question), answer in stored.items() if answer.value and rec in scope
        )
        participant = await bot.participant_of(person)
        report.participants_finished += bool(participant and participant.finished_at)
    report.strangers_without_reply = [
        user.user_id
        for user in noisy
        if user.user_id in replied_to and not bot.server.messages_to(user.chat_id)
    ]
    report.unanswered_callbacks = bot.server.unanswered_callback_queries()
    report.refused_calls = [
        f"{request.method} {request.status} {(request.response or {}).get('description')}"
        for request in bot.server.requests
        if request.status not in (None, 200) and request.method != "getUpdates"
    ]
    return report
