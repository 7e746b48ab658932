"""Six languages and easy read, end to end: what a person reads is in their language and mode.

Every expectation is read from the locale catalogues and the topic files of that language, so
the test checks that the bot shows the right language's text (an English fallback fails it).
"""

from __future__ import annotations

import html
import re

import pytest

from bot.flows.catalogue import load_catalogue
from locales import catalogue, reading
from storage.repositories import workshops
from tests.e2e.harness import BotHarness, reply_to

LANGUAGES = ("en", "fr", "de", "es", "it", "nl")
CATALOGUE = load_catalogue()
TOPICS = CATALOGUE.scope("detailed")[:2]


def say(language: str, key: str, easy: bool = False) -> str:
    """The first line of a text as a person sees it (tags gone, placeholders cut off)."""
    table = dict(catalogue(language))
    if easy:
        table.update(catalogue(language, easy=True))
    text = html.unescape(re.sub(r"<[^>]+>", "", table[key]))
    return re.split(r"\{|\n", text)[0].strip()


def topic(rec: str, field: str, language: str, easy: bool = False, role: str | None = None) -> str:
    code = reading(language, easy)
    rec_texts = CATALOGUE.get(rec)
    text = rec_texts.for_role(field, role, code) if role else rec_texts.text(field, code)
    return text[:40]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_service_user_finishes_in_their_own_language(
    bot: BotHarness, language: str
) -> None:
    async with bot.sessions()() as session, session.begin():
        ws = await workshops.create(
            session, title="Atelier", scope=list(TOPICS), languages=list(LANGUAGES)
        )
        code = ws.code
    user = bot.user(language)
    user.send_command("/start", code)
    consent = await reply_to(user, say(language, "consent.question"))
    assert say(language, "consent.agree") in consent.button_texts
    user.press(say(language, "consent.agree"))
    await reply_to(user, say(language, "role.question"))
    user.press(say(language, "role.service_user"))
    first = await reply_to(user, topic(TOPICS[0], "plain_title", language))
    assert topic(TOPICS[0], "summary", language) in first.text
    assert say(language, "question.priority") in first.text
    # One question per message: the open question waits for the next step.
    assert topic(TOPICS[0], "question", language, role="service_user") not in first.text
    user.press(say(language, "priority.label.4"))
    needs = await reply_to(user, topic(TOPICS[0], "question", language, role="service_user"))
    assert say(language, "question.how_to_answer") in needs.text
    user.send_text("Que me pregunten / Qu'on me demande / Mich fragen")
    await reply_to(user, say(language, "question.concerns.service_user"))
    user.press(say(language, "button.skip"))
    await reply_to(user, topic(TOPICS[1], "plain_title", language))
    user.press(say(language, "priority.unsure"))
    await reply_to(user, topic(TOPICS[1], "question", language, role="service_user"))
    user.press(say(language, "button.skip"))
    await reply_to(user, say(language, "question.concerns.service_user"))
    user.press(say(language, "button.skip"))
    review = await reply_to(user, say(language, "review.intro"))
    assert topic(TOPICS[0], "plain_title", language) in review.text
    user.press(say(language, "review.submit"))
    await reply_to(user, say(language, "quote.question"))
    user.press(say(language, "quote.no"))
    thanks = await reply_to(user, say(language, "done.thanks"))
    assert say(language, "done.next_team") in thanks.text
    user.send_command("/mydata")
    mine = await reply_to(user, say(language, "mydata.intro"))
    assert "Que me pregunten" in mine.text

    stored = await bot.answers_of(user)
    assert stored[(TOPICS[0], "priority")].value == "4"
    assert stored[(TOPICS[0], "needs")].value.startswith("Que me pregunten")
    assert stored[(TOPICS[1], "priority")].value == "unsure"
    person = await bot.person_of(user)
    assert person is not None and person.language == language and not person.easy_read
    participant = await bot.participant_of(user)
    assert participant is not None and participant.consent_language == language
    assert participant.finished_at is not None


async def test_easy_read_from_the_first_screen_to_the_end(bot: BotHarness) -> None:
    async with bot.sessions()() as session, session.begin():
        ws = await workshops.create(
            session, title="Easy", scope=list(TOPICS), languages=["en", "fr"]
        )
        code = ws.code
    user = bot.user("en")
    user.send_command("/start", code)
    await reply_to(user, say("en", "consent.question"))
    user.press(say("en", "easyread.button"))
    consent = await reply_to(user, say("en", "consent.question", easy=True))
    assert say("en", "consent.body", easy=True) in consent.text
    assert await bot.person_of(user) is None  # nothing stored before they agree
    user.press(say("en", "consent.agree", easy=True))
    await reply_to(user, say("en", "role.question", easy=True))
    user.press(say("en", "role.service_user", easy=True))
    first = await reply_to(user, topic(TOPICS[0], "summary", "en", easy=True))
    assert say("en", "priority.label.5", easy=True) in first.button_texts
    user.press(say("en", "button.more", easy=True))
    more = await reply_to(user, topic(TOPICS[0], "more", "en", easy=True, role="service_user"))
    assert CATALOGUE.get(TOPICS[0]).text("title", "en") in more.text  # the official title
    user.press(say("en", "priority.label.5", easy=True))
    await reply_to(user, topic(TOPICS[0], "question", "en", easy=True, role="service_user"))
    person = await bot.person_of(user)
    assert person is not None and person.easy_read
    user.send_command("/mydata")
    await reply_to(user, "Easy read: on")

    user.send_command("/easyread")
    back = await reply_to(user, say("en", "easyread.off"))
    assert topic(TOPICS[0], "question", "en", role="service_user") in back.text
    person = await bot.person_of(user)
    assert person is not None and not person.easy_read
