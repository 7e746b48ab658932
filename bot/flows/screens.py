"""Screen builders: each function returns the View for one screen of the conversation.

Screens are table-driven: the questions, roles and languages come from tuples and the
catalogue, so adding one is a data change.
"""

from __future__ import annotations

from bot.flows.callbacks import Verb, callback
from bot.flows.catalogue import ROLES
from bot.flows.parsing import NOT_SURE
from bot.flows.positions import (
    FREE_TEXT_QUESTIONS,
    MATCH_VALUES,
    QUESTIONS,
    Position,
    Question,
    Step,
)
from bot.flows.state import AnswerInfo, ParticipantInfo, WorkshopInfo
from bot.flows.views import Button, CatalogueText, Lines, Literal, Msg, Part, View, text_view

PREVIEW_CHARS = 150
PARTICIPANT_COMMANDS = (
    "start",
    "help",
    "review",
    "language",
    "easyread",
    "role",
    "reminders",
    "mydata",
    "forget",
)


def language_buttons(
    languages: tuple[str, ...], make_data: str, current: str | None = None
) -> tuple[Button, ...]:
    """One button per language; `make_data` is a format string with `{lang}`."""
    return tuple(
        Button(
            Msg(
                "language.current" if lang == current else "language.option",
                {"name": Msg(f"language.name.{lang}")},
            ),
            make_data.format(lang=lang),
        )
        for lang in languages
    )


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _answer_buttons(workshop: WorkshopInfo, language: str, easy: bool) -> list[tuple[Button, ...]]:
    code, flag = workshop.code, _flag(easy)
    return [
        (Button(Msg("consent.agree"), callback(Verb.CONSENT, code, language, flag)),),
        (Button(Msg("consent.decline"), callback(Verb.DECLINE, code, language, flag)),),
    ]


def consent(
    workshop: WorkshopInfo, language: str, *, details: bool = False, easy: bool = False
) -> View:
    """Short and plain first; everything else one tap away, with the same buttons. Easy read
    is offered here, before anything else, and the choice travels in the buttons: nothing
    about the person is stored before they agree."""
    code = workshop.code
    others = tuple(lang for lang in workshop.languages if lang != language)
    keyboard = _answer_buttons(workshop, language, easy)
    if not details:
        more = callback(Verb.CONSENT_MORE, code, language, _flag(easy))
        keyboard.append((Button(Msg("consent.more"), more),))
    switch_mode = callback(Verb.EASY_READ, _flag(not easy), code, language, _flag(details))
    label = "easyread.standard_button" if easy else "easyread.button"
    keyboard.append((Button(Msg(label), switch_mode),))
    if others:
        switch = callback(Verb.CONSENT_LANGUAGE, code, "{lang}", _flag(details), _flag(easy))
        keyboard.append(language_buttons(others, switch))
    organisation = Literal(workshop.organisation)
    blocks: list[Part] = [
        Msg("consent.welcome", {"title": Literal(workshop.title)}),
        Msg(
            "consent.body", {"organisation": organisation, "retention": workshop.retention_months}
        ),
    ]
    if details:
        blocks.append(
            Msg(
                "consent.details",
                {
                    "organisation": organisation,
                    "contact": Literal(workshop.contact),
                    "retention": workshop.retention_months,
                },
            )
        )
        if workshop.privacy_url:
            blocks.append(Msg("consent.privacy", {"url": Literal(workshop.privacy_url)}))
    blocks.append(Msg("consent.question"))
    return View(tuple(blocks), tuple(keyboard))


def consent_reminder(workshop: WorkshopInfo, language: str, *, easy: bool) -> View:
    """Typed words on the consent screen that are neither yes nor no: the two buttons again."""
    blocks: tuple[Part, ...] = (Msg("consent.use_buttons"), Msg("consent.question"))
    return View(blocks, tuple(_answer_buttons(workshop, language, easy)))


def role_question(current: str | None = None) -> View:
    rows = tuple((Button(Msg(f"role.{role}"), callback(Verb.ROLE, role)),) for role in ROLES)
    blocks: tuple[Part, ...] = (Msg("role.question"),)
    if current:
        blocks += (Msg("role.current", {"role": Msg(f"role.{current}")}),)
    return View(blocks, rows)


def role_other_prompt() -> View:
    return View((Msg("role.other_prompt"),))


def _heading(participant: ParticipantInfo, rec: str) -> Msg:
    scope = participant.workshop.scope
    return Msg(
        "question.heading",
        {
            "n": scope.index(rec) + 1,
            "total": len(scope),
            "title": CatalogueText(rec, "plain_title"),
        },
    )


def _priority_rows(pos: str) -> list[tuple[Button, ...]]:
    """One button a line, each with its words ("5 Very important"), so a screen reader says
    more than a number; "not sure" last. The same buttons in both rounds."""
    return [
        *(
            (Button(Msg(f"priority.label.{value}"), callback(Verb.PRIORITY, pos, value)),)
            for value in ("1", "2", "3", "4", "5")
        ),
        (Button(Msg("priority.unsure"), callback(Verb.PRIORITY, pos, "u")),),
    ]


def _match_rows(pos: str) -> list[tuple[Button, ...]]:
    """Yes / Partly / No, one a line like the rating buttons."""
    return [
        (Button(Msg(f"match.{value}"), callback(Verb.MATCH, pos, value[0])),)
        for value in MATCH_VALUES
    ]


def _member_check(participant: ParticipantInfo, rec: str) -> list[Part]:
    """What others wrote about the topic, as the keyword groups a facilitator approved: those
    with answers from the person's own role first, then the others; then one question."""
    check = participant.member_check.get(rec)
    blocks: list[Part] = [Msg("followup.match.intro")]
    if check is not None and check.own:
        role = participant.role or "other"
        blocks.append(
            Lines(
                (
                    Msg("followup.match.yours", {"role": Msg(f"role.group.{role}")}),
                    *(Literal(f"• {words}") for words in check.own),
                )
            )
        )
    if check is not None and check.others:
        blocks.append(
            Lines(
                (
                    Msg("followup.match.others"),
                    *(Literal(f"• {words}") for words in check.others),
                )
            )
        )
    blocks.append(Msg("followup.match.question"))
    return blocks


def _navigation(
    position: Position, existing: AnswerInfo | None, *, keep: bool = False
) -> tuple[Button, ...]:
    pos = position.encode()
    keep = keep or (existing is not None and not existing.skipped)
    return (
        Button(Msg("button.back"), callback(Verb.BACK, pos)),
        Button(Msg("button.keep" if keep else "button.skip"), callback(Verb.SKIP, pos)),
        Button(Msg("button.pause"), callback(Verb.PAUSE, pos)),
    )


def question(
    participant: ParticipantInfo,
    position: Position,
    *,
    expanded: bool = False,
    notice: Part | None = None,
) -> View:
    assert position.rec is not None and position.question is not None
    rec, kind = position.rec, position.question
    pos = position.encode()
    existing = participant.answers.get((rec, kind))
    blocks: list[Part] = []
    if notice is not None:
        blocks.append(notice)
    blocks.append(_heading(participant, rec))
    keyboard: list[tuple[Button, ...]] = []
    if kind == Question.PRIORITY:
        # One question per message: the topic, what it means, and only "how important?".
        blocks.append(CatalogueText(rec, "summary"))
        if expanded:
            blocks.append(CatalogueText(rec, "more", participant.role))
            blocks.append(Msg("more.official", {"title": CatalogueText(rec, "title")}))
        note = participant.answers.get((rec, Question.NOTE))
        if note is not None:
            blocks.append(Msg("review.notes", {"answer": answer_text(Question.NOTE, note)}))
        blocks.append(Msg("question.priority"))
        keyboard += _priority_rows(pos)
        if not expanded:
            keyboard.append((Button(Msg("button.more"), callback(Verb.MORE, pos)),))
    else:
        if kind.asks_topic_question:
            blocks.append(CatalogueText(rec, "question", participant.role))
        else:
            role = participant.role or "other"
            blocks.append(Msg(f"question.{kind.value}.{role}"))
        blocks.append(Msg("question.how_to_answer"))
    if existing is not None and not existing.skipped:
        blocks.append(Msg("question.current_answer", {"answer": answer_text(kind, existing)}))
    keyboard.append(_navigation(position, existing))
    return View(tuple(blocks), tuple(keyboard))


def followup_question(participant: ParticipantInfo, position: Position) -> View:
    """Round two: the first answer, then a chance to change it or add something."""
    assert position.rec is not None and position.question is not None
    rec, kind = position.rec, position.question
    scope = participant.followup_scope()
    pos = position.encode()
    blocks: list[Part] = [
        Msg(
            "followup.heading",
            {
                "n": scope.index(rec) + 1,
                "total": len(scope),
                "title": CatalogueText(rec, "plain_title"),
            },
        )
    ]
    keyboard: list[tuple[Button, ...]] = []
    first = participant.answers.get((rec, Question.PRIORITY))
    keep = False
    if kind == Question.PRIORITY:
        keep = first is not None and not first.skipped
        blocks.append(Msg("followup.priority", {"answer": answer_text(Question.PRIORITY, first)}))
        note = participant.followup.get((rec, Question.NOTE))
        if note is not None:
            blocks.append(Msg("review.notes", {"answer": answer_text(Question.NOTE, note)}))
        keyboard += _priority_rows(pos)
    elif kind == Question.MATCH:
        blocks += _member_check(participant, rec)
        keyboard += _match_rows(pos)
    else:
        blocks += [Msg("followup.addition"), Msg("question.how_to_answer")]
    existing = participant.followup.get((rec, kind))
    if existing is not None and not existing.skipped:
        blocks.append(Msg("question.current_answer", {"answer": answer_text(kind, existing)}))
    keyboard.append(_navigation(position, existing, keep=keep))
    return View(tuple(blocks), tuple(keyboard))


def reminders(enabled: bool, notice: Msg | None = None) -> View:
    blocks: list[Part] = [notice] if notice else []
    blocks.append(Msg("reminders.on" if enabled else "reminders.off"))
    return View(tuple(blocks))


def answer_text(kind: Question, answer: AnswerInfo | None, *, preview: bool = True) -> Part:
    if answer is None:
        return Msg("answer.missing")
    if answer.skipped:
        return Msg("answer.skipped")
    if answer.voice_duration is not None and answer.value is None:
        minutes, seconds = divmod(answer.voice_duration, 60)
        return Msg("answer.voice", {"duration": f"{minutes}:{seconds:02d}"})
    value = answer.value or ""
    if kind == Question.PRIORITY:
        if value == NOT_SURE:
            return Msg("priority.unsure")
        return Msg("answer.priority", {"value": value})
    if kind == Question.MATCH and value in MATCH_VALUES:
        return Msg(f"match.{value}")
    if preview and len(value) > PREVIEW_CHARS:
        value = value[: PREVIEW_CHARS - 1].rstrip() + "…"
    return Literal(value)


def review(participant: ParticipantInfo) -> View:
    scope = participant.workshop.scope
    at_end = participant.position.step in (Step.REVIEW, Step.DONE)
    intro = "review.intro_done" if participant.finished else "review.intro"
    blocks: list[Part] = [Msg(intro if at_end else "review.intro_unfinished")]
    keyboard: list[tuple[Button, ...]] = []
    for number, rec in enumerate(scope, start=1):
        lines: list[Part] = [
            Msg(
                "review.item_title",
                {"n": number, "title": CatalogueText(rec, "plain_title")},
            )
        ]
        for kind in QUESTIONS:
            lines.append(
                Msg(
                    f"review.{kind.value}",
                    {"answer": answer_text(kind, participant.answers.get((rec, kind)))},
                )
            )
        note = participant.answers.get((rec, Question.NOTE))
        if note is not None:
            lines.append(Msg("review.notes", {"answer": answer_text(Question.NOTE, note)}))
        blocks.append(Lines(tuple(lines)))
        keyboard.append(
            (
                Button(
                    Msg("review.edit", {"n": number, "title": CatalogueText(rec, "plain_title")}),
                    callback(Verb.EDIT, rec),
                ),
            )
        )
    if not at_end:
        keyboard.append((Button(Msg("button.continue"), callback(Verb.RESUME)),))
    elif participant.finished:
        keyboard.append((Button(Msg("review.finished_button"), callback(Verb.SUBMIT)),))
    else:
        keyboard.append((Button(Msg("review.submit"), callback(Verb.SUBMIT)),))
    if participant.quote_consent is not None and typed_answers(participant):
        keyboard.append((Button(Msg("sharing.button"), callback(Verb.SHARING)),))
    keyboard.append(withdraw_button())
    return View(tuple(blocks), tuple(keyboard))


def current_step(
    participant: ParticipantInfo, notice: Part | None = None, *, followup_date: str | None = None
) -> View:
    """The screen for wherever the participant is now."""
    position = participant.position
    if position.step is Step.QUESTION:
        return question(participant, position, notice=notice)
    if position.step is Step.FOLLOWUP:
        view = followup_question(participant, position)
        return View((notice, *view.blocks), view.keyboard) if notice else view
    if position.step is Step.ROLE:
        view = role_question(participant.role)
    elif position.step is Step.ROLE_OTHER:
        view = role_other_prompt()
    elif position.step is Step.REVIEW:
        view = review(participant)
    else:
        view = thanks(again=True, followup_date=followup_date)
    if notice is not None:
        view = View((notice, *view.blocks), view.keyboard)
    return view


def withdraw_button() -> tuple[Button, ...]:
    """One tap from every screen that ends a step: withdrawing is as easy as agreeing."""
    return (Button(Msg("withdraw.button"), callback(Verb.WITHDRAW)),)


def thanks(*, again: bool = False, followup_date: str | None = None) -> View:
    """Thanks, and what happens next: the follow-up round's date when one is planned."""
    blocks: list[Part] = [Msg("done.again" if again else "done.thanks")]
    if not again:
        if followup_date:
            blocks.append(Msg("done.next_followup", {"date": Literal(followup_date)}))
        else:
            blocks.append(Msg("done.next_team"))
    return View(tuple(blocks), (withdraw_button(),))


def paused() -> View:
    return View(
        (Msg("paused"),),
        ((Button(Msg("button.continue"), callback(Verb.RESUME)),), withdraw_button()),
    )


def quote_question() -> View:
    """Asked once, before they finish: nothing they wrote reaches others without a yes."""
    return View(
        (Msg("quote.question"),),
        (
            (Button(Msg("quote.yes"), callback(Verb.QUOTE_CONSENT, "y")),),
            (Button(Msg("quote.no"), callback(Verb.QUOTE_CONSENT, "n")),),
        ),
    )


def typed_answers(participant: ParticipantInfo) -> list[tuple[str, Question, int, AnswerInfo]]:
    """Words they wrote that could be shared: not numbers, skips, recordings or words of
    distress (those stay with the workshop team whatever they choose)."""
    found = []
    for round in (1, 2):
        for (rec, kind), answer in participant.answers_in(round).items():
            if kind in FREE_TEXT_QUESTIONS and answer.is_typed and not answer.sensitive:
                found.append((rec, kind, round, answer))
    order = {rec: n for n, rec in enumerate(participant.workshop.scope)}
    return sorted(found, key=lambda item: (item[2], order.get(item[0], 99)))


def sharing(participant: ParticipantInfo, notice: Msg | None = None) -> View:
    """Each typed answer with a button that shares it or keeps it private."""
    blocks: list[Part] = [notice] if notice else []
    blocks.append(Msg("sharing.intro"))
    rows: list[tuple[Button, ...]] = []
    for rec, kind, round, answer in typed_answers(participant):
        title = CatalogueText(rec, "plain_title")
        label = Msg(
            "sharing.shared" if answer.may_quote else "sharing.private",
            {"title": title, "question": Msg(f"mydata.question.{kind.value}")},
        )
        blocks.append(Lines((label, answer_text(kind, answer))))
        flip = "n" if answer.may_quote else "y"
        data = callback(Verb.QUOTE_TOGGLE, rec, kind.short, str(round), flip)
        toggle = Msg(
            "sharing.make_private" if answer.may_quote else "sharing.make_shared",
            {"title": title, "question": Msg(f"mydata.question.{kind.value}")},
        )
        rows.append((Button(toggle, data),))
    if not rows:
        blocks.append(Msg("sharing.nothing"))
    rows.append((Button(Msg("sharing.done"), callback(Verb.RESUME)),))
    return View(tuple(blocks), tuple(rows))


def withdraw_choice(*, several_workshops: bool) -> View:
    """One confirmation tap; people in several workshops choose this one or all."""
    if several_workshops:
        rows: tuple[tuple[Button, ...], ...] = (
            (Button(Msg("forget.this_workshop"), callback(Verb.FORGET, "ws")),),
            (Button(Msg("forget.yes"), callback(Verb.FORGET, "yes")),),
            (Button(Msg("forget.no"), callback(Verb.FORGET, "no")),),
        )
        return View((Msg("forget.question_several"),), rows)
    return forget_confirm()


def help_view(
    *, unknown: str | None = None, facilitator: bool = False, workshop: WorkshopInfo | None = None
) -> View:
    lines = tuple(Msg(f"help.{name}") for name in PARTICIPANT_COMMANDS)
    blocks: list[Part] = []
    if unknown is not None:
        blocks.append(Msg("unknown_command", {"command": Literal(unknown)}))
    blocks += [Msg("help.intro"), Lines(lines)]
    if workshop is not None and workshop.contact:
        blocks.append(
            Msg(
                "help.contact",
                {
                    "organisation": Literal(workshop.organisation),
                    "contact": Literal(workshop.contact),
                },
            )
        )
    if facilitator:
        blocks += [Msg("fac.help.heading"), facilitator_help_lines()]
    return View(tuple(blocks))


def facilitator_help_lines() -> Lines:
    from bot.flows.facilitator import FACILITATOR_HELP_COMMANDS

    return Lines(tuple(Msg(f"fac.help.{name}") for name in FACILITATOR_HELP_COMMANDS))


def language_choice(languages: tuple[str, ...], current: str | None) -> View:
    buttons = language_buttons(languages, callback(Verb.LANGUAGE, "{lang}"), current)
    return View((Msg("language.question"),), (buttons,))


def forget_confirm() -> View:
    return View(
        (Msg("forget.question"),),
        (
            (Button(Msg("forget.yes"), callback(Verb.FORGET, "yes")),),
            (Button(Msg("forget.no"), callback(Verb.FORGET, "no")),),
        ),
    )


def not_joined() -> View:
    return text_view("not_joined")
