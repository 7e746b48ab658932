"""The participant conversation as a pure state machine.

`handle(snapshot, event)` decides what an input means at the participant's current position
and returns the changes to store and the screens to show. It touches neither Telegram nor the
database, so every position can be tested against every kind of input in microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from bot.flows import screens
from bot.flows.callbacks import Callback, Verb, decode
from bot.flows.catalogue import ROLES
from bot.flows.parsing import (
    NOT_SURE,
    PRIORITY_VALUES,
    asks_for_help,
    is_no,
    is_skip,
    is_withdrawal,
    is_yes,
    parse_match,
    parse_priority,
    parse_role,
)
from bot.flows.positions import (
    DONE,
    FREE_TEXT_QUESTIONS,
    QUESTIONS,
    REVIEW,
    ROLE,
    ROLE_OTHER,
    Position,
    Question,
    Step,
    next_followup,
    next_position,
    previous_followup,
    previous_position,
)
from bot.flows.safeguarding import screening
from bot.flows.state import (
    Action,
    AnswerInfo,
    ButtonPress,
    Change,
    Command,
    ConsentOffer,
    EditedText,
    EndRelay,
    Event,
    Finish,
    Forget,
    ForwardToTeam,
    Join,
    Move,
    OtherInput,
    Outcome,
    ParticipantInfo,
    RequestContact,
    SaveAnswer,
    SetEasyRead,
    SetLanguage,
    SetMayQuote,
    SetQuoteConsent,
    SetReminders,
    SetRole,
    Snapshot,
    SwitchWorkshop,
    TextInput,
    VoiceInput,
    WorkshopInfo,
)
from bot.flows.views import Lines, Literal, Msg, View, text_view

MAX_ANSWER_CHARS = 2000
MAX_ROLE_OTHER_CHARS = 100


def pick_language(
    person_language: str | None, telegram_language: str | None, available: tuple[str, ...]
) -> str:
    """The stored choice, else Telegram's language if we have it, else English."""
    if person_language in available:
        assert person_language is not None
        return person_language
    telegram = (telegram_language or "").split("-")[0].lower()
    if telegram in available:
        return telegram
    return "en" if "en" in available else available[0]


def choose_language(snapshot: Snapshot) -> str:
    return pick_language(
        snapshot.person_language, snapshot.telegram_language, snapshot.available_languages
    )


def workshop_code_in(event: Event) -> str | None:
    """The workshop code an input names, which the handler must look up before `handle`."""
    if isinstance(event, Command) and event.name == "start" and event.args:
        return event.args[0].strip().upper()
    if isinstance(event, ButtonPress):
        parsed = decode(event.data)
        return _code_of(parsed) if parsed else None
    return None


_CONSENT_VERBS = (Verb.CONSENT, Verb.DECLINE, Verb.CONSENT_LANGUAGE, Verb.CONSENT_MORE)


def _code_of(pressed: Callback) -> str | None:
    if pressed.verb in _CONSENT_VERBS:
        return (pressed.arg(0) or "").upper() or None
    if pressed.verb is Verb.EASY_READ:  # easy:<1|0>:<code>:<lang>:<details> before joining
        return (pressed.arg(1) or "").upper() or None
    return None


def handle(snapshot: Snapshot, event: Event) -> Outcome:
    outcome = _dispatch(snapshot, event)
    if outcome.easy is None:
        outcome.easy = snapshot.easy_read
        for change in outcome.changes:
            if isinstance(change, SetEasyRead):
                outcome.easy = change.enabled
    return outcome


@dataclass(frozen=True)
class ButtonAnswers:
    """A question answered with buttons, and what typed words mean on it."""

    parse: Callable[[str], str | None]
    use_buttons: str
    """Said when nothing was typed that could be kept."""
    then: str
    """Said after words were kept as a note, before the question is asked again."""


BUTTON_QUESTIONS: Mapping[Question, ButtonAnswers] = {
    Question.PRIORITY: ButtonAnswers(
        parse_priority, "priority.use_buttons", "answer.now_tap_number"
    ),
    Question.MATCH: ButtonAnswers(parse_match, "match.use_buttons", "answer.now_tap_match"),
}


def where_now(snapshot: Snapshot, event: Event) -> Outcome:
    """For an input already stored whose reply may never have gone out (the bot stopped in
    between): where the person is now, so their newest message is the current step.

    Nothing is changed: the input's effect is stored already. A participant sees their current
    step with its buttons; someone who has not joined (nothing of theirs is stored) gets the
    input's own answer again, the consent screen after /start say, unless it would change
    something, which it then already has.
    """
    participant = snapshot.participant
    if participant is not None and participant.workshop.is_active:
        view = screens.current_step(participant, followup_date=snapshot.followup_date)
        return Outcome(choose_language(snapshot), [view], easy=snapshot.easy_read)
    outcome = handle(snapshot, event)
    if outcome.changes or outcome.actions:
        return Outcome(outcome.language, easy=outcome.easy)
    return outcome


def _dispatch(snapshot: Snapshot, event: Event) -> Outcome:
    language = choose_language(snapshot)
    if isinstance(event, Command):
        command = _COMMANDS.get(event.name)
        if command is None:
            view = screens.help_view(unknown=f"/{event.name}", facilitator=snapshot.is_facilitator)
            return Outcome(language, [view])
        return command(snapshot, event, language)
    if isinstance(event, ButtonPress):
        parsed = decode(event.data)
        if parsed is None:
            return Outcome(language, toast=Msg("stale_button"))
        button = _BUTTONS.get(parsed.verb)
        if button is None:  # a facilitator's or a lead's verb: not a participant's button
            return _stale(snapshot, language)
        return button(snapshot, parsed, language)
    participant = snapshot.participant
    if participant is None:
        languages = _typed_in(snapshot, snapshot.target)
        if isinstance(event, TextInput) and screening.shows_distress(event.text, languages):
            # Nothing may be stored before consent, so no alert: the way to a human only.
            return Outcome(
                language, [screening.safety_reply(snapshot.target, can_ask_contact=False)]
            )
        if isinstance(event, TextInput):
            return _before_joining(snapshot, event.text, language)
        if isinstance(event, EditedText):  # a facilitator or lead fixing a typo, say
            return Outcome(language, [text_view("answer.edit_not_answer")])
        return Outcome(language, [screens.not_joined()])
    if isinstance(event, EditedText):
        return _on_edit(snapshot, participant, event, language)
    if isinstance(event, TextInput) and is_withdrawal(event.text):
        view = screens.withdraw_choice(several_workshops=snapshot.workshops_joined > 1)
        return Outcome(language, [view])
    if isinstance(event, TextInput) and participant.relay_open:
        return Outcome(language, [text_view("relay.sent")], [ForwardToTeam(event.text)])
    if not participant.workshop.is_active:
        return Outcome(language, [text_view("workshop.ended")])
    if isinstance(event, TextInput):
        outcome = _on_text(participant, event.text, language, event.message_id)
        languages = _typed_in(snapshot, participant.workshop)
        return screening.screen(participant, participant.position, event.text, outcome, languages)
    if isinstance(event, VoiceInput):
        return _on_voice(participant, event, language)
    return _on_other(participant, event, language)


def _typed_in(snapshot: Snapshot, workshop: WorkshopInfo | None) -> tuple[str, ...] | None:
    """The languages someone probably types in: the workshop's, theirs and Telegram's."""
    if workshop is None:
        return None
    telegram = (snapshot.telegram_language or "").split("-")[0].lower()
    return tuple(dict.fromkeys((*workshop.languages, snapshot.person_language or "", telegram)))


# ---- commands ------------------------------------------------------------------------------

CommandHandler = Callable[[Snapshot, Command, str], Outcome]


def _start(snapshot: Snapshot, command: Command, language: str) -> Outcome:
    current = snapshot.participant
    if not command.args and current is not None:
        return _resume_view(current, language, welcome_back=True)
    target = snapshot.target
    if target is None:
        return Outcome(language, [text_view("start.unknown_code")])
    if not target.is_active:
        return Outcome(language, [text_view("workshop.ended")])
    existing = snapshot.target_participant
    if existing is not None:
        outcome = _resume_view(existing, language, welcome_back=True)
        if current is None or current.workshop.id != target.id:
            outcome.changes.insert(0, SwitchWorkshop(target.id))
        return outcome
    if not target.is_open:
        return Outcome(language, [text_view("workshop.closed")])
    consent_language = language if language in target.languages else target.languages[0]
    return _offer_consent(target, consent_language, snapshot.easy_read)


def _offer_consent(
    target: WorkshopInfo,
    language: str,
    easy: bool,
    *,
    details: bool = False,
    replace: bool = False,
) -> Outcome:
    """The consent screen, remembered (in memory) so a typed "yes" can answer it."""
    return Outcome(
        language,
        [screens.consent(target, language, details=details, easy=easy)],
        easy=easy,
        consent_offer=ConsentOffer(target.code, language, easy),
        replace_origin=replace,
    )


def _help(snapshot: Snapshot, command: Command, language: str) -> Outcome:
    workshop = snapshot.participant.workshop if snapshot.participant else snapshot.target
    view = screens.help_view(facilitator=snapshot.is_facilitator, workshop=workshop)
    return Outcome(language, [view])


def _language(snapshot: Snapshot, command: Command, language: str) -> Outcome:
    languages = (
        snapshot.participant.workshop.languages
        if snapshot.participant
        else snapshot.available_languages
    )
    return Outcome(language, [screens.language_choice(languages, language)])


def _role(snapshot: Snapshot, command: Command, language: str) -> Outcome:
    if snapshot.participant is None:
        return Outcome(language, [screens.not_joined()])
    return Outcome(language, [screens.role_question(snapshot.participant.role)])


def _review(snapshot: Snapshot, command: Command, language: str) -> Outcome:
    if snapshot.participant is None:
        return Outcome(language, [screens.not_joined()])
    return Outcome(language, [screens.review(snapshot.participant)])


def _reminders(snapshot: Snapshot, command: Command, language: str) -> Outcome:
    participant = snapshot.participant
    if participant is None:
        return Outcome(language, [screens.not_joined()])
    wanted = command.args[0].lower() if command.args else ""
    if wanted not in ("on", "off"):
        notice = Msg("reminders.usage")
        return Outcome(language, [screens.reminders(participant.reminders_enabled, notice)])
    enabled = wanted == "on"
    return Outcome(
        language,
        [screens.reminders(enabled, Msg("reminders.saved"))],
        [SetReminders(enabled)],
    )


def _easy_read_command(snapshot: Snapshot, command: Command, language: str) -> Outcome:
    """/easyread switches; /easyread on|off sets. Before joining: the consent screen, easy."""
    wanted = not snapshot.easy_read
    if command.args and command.args[0].lower() in ("on", "off"):
        wanted = command.args[0].lower() == "on"
    if snapshot.person_language is None:
        target = snapshot.target
        if target is None or not target.is_active or not target.is_open:
            return Outcome(language, [screens.not_joined()], easy=wanted)
        chosen = language if language in target.languages else target.languages[0]
        return _offer_consent(target, chosen, wanted)
    return _set_easy_read(snapshot, wanted, language)


def _my_data(snapshot: Snapshot, command: Command, language: str) -> Outcome:
    return Outcome(language, actions=[Action.SEND_MY_DATA])


def _forget(snapshot: Snapshot, command: Command, language: str) -> Outcome:
    if snapshot.person_language is None:
        return Outcome(language, [text_view("mydata.none")])
    view = screens.withdraw_choice(several_workshops=snapshot.workshops_joined > 1)
    return Outcome(language, [view])


def starts_followup(event: Event) -> bool:
    """The follow-up button: only valid once the follow-up round reached this person."""
    if not isinstance(event, ButtonPress):
        return False
    parsed = decode(event.data)
    return parsed is not None and parsed.verb is Verb.FOLLOWUP


def may_finish(event: Event) -> bool:
    """Inputs that can end the first round (the thank-you then names the follow-up date)."""
    if not isinstance(event, ButtonPress):
        return False
    parsed = decode(event.data)
    return parsed is not None and parsed.verb in (Verb.SUBMIT, Verb.QUOTE_CONSENT)


def asks_to_withdraw(event: Event) -> bool:
    """Inputs whose answer depends on how many workshops the person is in."""
    if isinstance(event, Command):
        return event.name == "forget"
    if isinstance(event, ButtonPress):
        parsed = decode(event.data)
        return parsed is not None and parsed.verb is Verb.WITHDRAW
    return isinstance(event, TextInput) and is_withdrawal(event.text)


_COMMANDS: dict[str, CommandHandler] = {
    "start": _start,
    "help": _help,
    "language": _language,
    "role": _role,
    "review": _review,
    "reminders": _reminders,
    "mydata": _my_data,
    "forget": _forget,
    "easyread": _easy_read_command,
}

# ---- buttons -------------------------------------------------------------------------------

ButtonHandler = Callable[[Snapshot, Callback, str], Outcome]


def _stale(snapshot: Snapshot, language: str) -> Outcome:
    """A button from an earlier message: say so, then show where they are now, with its
    buttons, so nobody is left wondering which message counts."""
    participant = snapshot.participant
    if participant is None or not participant.workshop.is_active:
        return Outcome(language, toast=Msg("stale_button"))
    view = screens.current_step(participant, Msg("stale_button"))
    return Outcome(language, [view], toast=Msg("stale_button"))


def _consent(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    return _join(snapshot, pressed.arg(1) or language, pressed.arg(2) == "1")


def _join(snapshot: Snapshot, chosen: str, easy: bool) -> Outcome:
    """They agreed (a tap, or a typed "yes" to the consent screen they saw last)."""
    target = snapshot.target
    if target is None or not target.is_active:
        return Outcome(chosen, [text_view("workshop.ended")], clear_origin_keyboard=True)
    if snapshot.target_participant is not None:
        outcome = _resume_view(snapshot.target_participant, chosen, welcome_back=False)
        outcome.clear_origin_keyboard = True
        return outcome
    if not target.is_open:
        return Outcome(chosen, [text_view("workshop.closed")], clear_origin_keyboard=True)
    if chosen not in target.languages:
        chosen = target.languages[0]
    return Outcome(
        chosen,
        [screens.role_question()],
        [Join(target.id, chosen), SetEasyRead(easy)],
        toast=Msg("consent.thanks"),
        clear_origin_keyboard=True,
        easy=easy,
    )


def _decline(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    chosen = pressed.arg(1) or language
    easy = pressed.arg(2) == "1"
    return Outcome(chosen, [text_view("consent.declined")], clear_origin_keyboard=True, easy=easy)


def _consent_screen(snapshot: Snapshot, chosen: str, easy: bool, details: bool) -> Outcome:
    """The consent screen again, in another language, easy-read or with every detail."""
    target = snapshot.target
    if target is None or not target.is_active or chosen not in target.languages:
        return _stale(snapshot, chosen)
    return _offer_consent(target, chosen, easy, details=details, replace=True)


def _consent_language(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    chosen = pressed.arg(1) or language
    return _consent_screen(snapshot, chosen, pressed.arg(3) == "1", pressed.arg(2) == "1")


def _consent_more(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    return _consent_screen(snapshot, pressed.arg(1) or language, pressed.arg(2) == "1", True)


def _easy_read(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    wanted = pressed.arg(0) == "1"
    if pressed.arg(1):  # on the consent screen: nothing is stored before they agree
        return _consent_screen(snapshot, pressed.arg(2) or language, wanted, pressed.arg(3) == "1")
    if snapshot.person_language is None:
        return _stale(snapshot, language)
    outcome = _set_easy_read(snapshot, wanted, language)
    outcome.clear_origin_keyboard = True
    return outcome


def _set_easy_read(snapshot: Snapshot, wanted: bool, language: str) -> Outcome:
    notice = Msg("easyread.on" if wanted else "easyread.off")
    participant = snapshot.participant
    view = screens.current_step(participant, notice) if participant else View((notice,))
    return Outcome(language, [view], [SetEasyRead(wanted)], easy=wanted)


def _set_language(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    chosen = pressed.arg(0) or ""
    if chosen not in snapshot.available_languages:
        return _stale(snapshot, language)
    if snapshot.person_language is None:
        # Nothing is stored before consent; the choice shows in the reply only.
        return Outcome(chosen, [screens.not_joined()], clear_origin_keyboard=True)
    participant = snapshot.participant
    notice = Msg("language.changed")
    views = [screens.current_step(participant, notice)] if participant else [View((notice,))]
    return Outcome(chosen, views, [SetLanguage(chosen)], clear_origin_keyboard=True)


def _set_role(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    participant = snapshot.participant
    role = pressed.arg(0) or ""
    if participant is None or role not in ROLES:
        return _stale(snapshot, language)
    if not participant.workshop.is_active:
        return Outcome(language, [text_view("workshop.ended")])
    return _choose_role(participant, role, language, clear=True)


def _choose_role(
    participant: ParticipantInfo, role: str, language: str, *, clear: bool = False
) -> Outcome:
    position = participant.position
    in_role_step = position.step in (Step.ROLE, Step.ROLE_OTHER)
    if role == "other":
        return_to = participant.return_to if in_role_step else position
        return Outcome(
            language,
            [screens.role_other_prompt()],
            [Move(ROLE_OTHER, return_to)],
            clear_origin_keyboard=clear,
        )
    changes: list[Change] = [SetRole(role)]
    updated = replace(participant, role=role, role_other=None)
    if in_role_step:
        target = participant.return_to or next_position(ROLE, participant.workshop.scope)
        changes.append(Move(target, None))
        updated = replace(updated, position=target, return_to=None)
    notice = Msg("role.changed", {"role": Msg(f"role.{role}")})
    return Outcome(
        language,
        [screens.current_step(updated, notice)],
        changes,
        clear_origin_keyboard=clear,
    )


def _active_question(
    snapshot: Snapshot, pressed: Callback, language: str
) -> tuple[ParticipantInfo, Position] | Outcome:
    """The participant and position a question button belongs to, or why it does not count."""
    participant = snapshot.participant
    if participant is None:
        return _stale(snapshot, language)
    if not participant.workshop.is_active:
        return Outcome(language, [text_view("workshop.ended")])
    if pressed.arg(0) != participant.position.encode():
        return _stale(snapshot, language)
    return participant, participant.position


def _priority(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    found = _active_question(snapshot, pressed, language)
    if isinstance(found, Outcome):
        return found
    participant, position = found
    raw = pressed.arg(1)
    value = NOT_SURE if raw == "u" else raw
    if position.question != Question.PRIORITY or value not in PRIORITY_VALUES:
        return _stale(snapshot, language)
    assert value is not None and position.rec is not None
    save = SaveAnswer(position.rec, position.question, value, round=position.round)
    outcome = _save_and_advance(participant, position, save, language)
    outcome.toast = Msg("answer.saved_short")
    outcome.clear_origin_keyboard = True
    return outcome


def _match(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    """The member check's buttons: does what others wrote match what they think?"""
    found = _active_question(snapshot, pressed, language)
    if isinstance(found, Outcome):
        return found
    participant, position = found
    value = {"y": "yes", "p": "partly", "n": "no"}.get(pressed.arg(1) or "")
    if position.question != Question.MATCH or value is None:
        return _stale(snapshot, language)
    assert position.rec is not None
    save = SaveAnswer(position.rec, Question.MATCH, value, round=position.round)
    outcome = _save_and_advance(participant, position, save, language)
    outcome.toast = Msg("answer.saved_short")
    outcome.clear_origin_keyboard = True
    return outcome


def _skip(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    found = _active_question(snapshot, pressed, language)
    if isinstance(found, Outcome):
        return found
    participant, position = found
    outcome = _skip_or_keep(participant, position, language)
    outcome.clear_origin_keyboard = True
    return outcome


def _back(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    found = _active_question(snapshot, pressed, language)
    if isinstance(found, Outcome):
        return found
    participant, position = found
    if position.step is Step.FOLLOWUP:
        target = previous_followup(
            position, participant.followup_scope(), participant.checked_topics()
        )
    else:
        target = previous_position(position, participant.workshop.scope)
    updated = replace(participant, position=target)
    return Outcome(
        language,
        [screens.current_step(updated)],
        [Move(target, participant.return_to)],
        clear_origin_keyboard=True,
    )


def _pause(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    found = _active_question(snapshot, pressed, language)
    if isinstance(found, Outcome):
        return found
    return Outcome(language, [screens.paused()], clear_origin_keyboard=True)


def _more(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    found = _active_question(snapshot, pressed, language)
    if isinstance(found, Outcome):
        return found
    participant, position = found
    if position.step is not Step.QUESTION:
        return _stale(snapshot, language)
    view = screens.question(participant, position, expanded=True)
    return Outcome(language, [view], replace_origin=True)


def _resume(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    if snapshot.participant is None:
        return _stale(snapshot, language)
    outcome = _resume_view(snapshot.participant, language, welcome_back=False)
    outcome.clear_origin_keyboard = True
    return outcome


def _edit(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    participant = snapshot.participant
    rec = pressed.arg(0)
    if participant is None or rec not in participant.workshop.scope:
        return _stale(snapshot, language)
    if not participant.workshop.is_active:
        return Outcome(language, [text_view("workshop.ended")])
    current = participant.position
    if current.step in (Step.REVIEW, Step.DONE):
        return_to: Position | None = REVIEW
    elif current.step is Step.QUESTION:
        return_to = participant.return_to or current
    else:
        return_to = participant.return_to
    target = Position.question_at(rec, Question.PRIORITY)
    updated = replace(participant, position=target, return_to=return_to)
    return Outcome(
        language,
        [screens.current_step(updated)],
        [Move(target, return_to)],
        clear_origin_keyboard=True,
    )


def _submit(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    participant = snapshot.participant
    if participant is None:
        return _stale(snapshot, language)
    if participant.position.step is Step.DONE:
        return Outcome(language, toast=Msg("done.already"), clear_origin_keyboard=True)
    if participant.position.step is not Step.REVIEW:
        return _stale(snapshot, language)
    if not participant.workshop.is_active:
        return Outcome(language, [text_view("workshop.ended")])
    if participant.role is None:
        # Reached the review without a role (through /review and edits): every answer is
        # read by role, so ask now and come back here.
        view = screens.role_question()
        view = View((Msg("role.needed_to_send"), *view.blocks), view.keyboard)
        return Outcome(language, [view], [Move(ROLE, REVIEW)], clear_origin_keyboard=True)
    if participant.quote_consent is None and screens.typed_answers(participant):
        return Outcome(language, [screens.quote_question()], clear_origin_keyboard=True)
    return _finish(snapshot, participant, language)


def _finish(
    snapshot: Snapshot, participant: ParticipantInfo, language: str, *first: Change
) -> Outcome:
    changes: list[Change] = [*first, Move(Position(Step.DONE))]
    if participant.finished:
        views = [text_view("done.changes_saved")]
    else:
        changes.insert(len(first), Finish())
        views = [screens.thanks(followup_date=snapshot.followup_date)]
    return Outcome(language, views, changes, clear_origin_keyboard=True)


def _quote_consent(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    participant = snapshot.participant
    answer = pressed.arg(0)
    if participant is None or answer not in ("y", "n"):
        return _stale(snapshot, language)
    change = SetQuoteConsent(answer == "y")
    notice = Msg("quote.saved_yes" if change.allowed else "quote.saved_no")
    if participant.position.step is Step.REVIEW and participant.workshop.is_active:
        outcome = _finish(snapshot, participant, language, change)
        outcome.views.insert(0, View((notice,)))
        return outcome
    return Outcome(language, [View((notice,))], [change], clear_origin_keyboard=True)


def _sharing(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    if snapshot.participant is None:
        return _stale(snapshot, language)
    return Outcome(language, [screens.sharing(snapshot.participant)], clear_origin_keyboard=True)


def _quote_toggle(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    participant = snapshot.participant
    if participant is None:
        return _stale(snapshot, language)
    rec, short, round_text, flip = (pressed.arg(i) or "" for i in range(4))
    question = Question.from_short(short) if short else None
    round = 2 if round_text == "2" else 1
    answer = participant.answers_in(round).get((rec, question)) if question else None
    if question is None or answer is None or not answer.is_typed or flip not in ("y", "n"):
        return _stale(snapshot, language)
    allowed = flip == "y"
    stored = dict(participant.answers_in(round))
    stored[(rec, question)] = replace(answer, may_quote=allowed)
    if round == 2:
        updated = replace(participant, followup=stored)
    else:
        updated = replace(participant, answers=stored)
    notice = Msg("sharing.changed")
    return Outcome(
        language,
        [screens.sharing(updated, notice)],
        [SetMayQuote(rec, question, round, allowed)],
        replace_origin=True,
    )


def _withdraw(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    if snapshot.person_language is None:
        return Outcome(language, [text_view("mydata.none")], clear_origin_keyboard=True)
    view = screens.withdraw_choice(several_workshops=snapshot.workshops_joined > 1)
    return Outcome(language, [view])


def _reminders_off(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    if snapshot.person_language is None:
        return _stale(snapshot, language)
    view = screens.reminders(False, Msg("reminders.saved"))
    return Outcome(language, [view], [SetReminders(False)], clear_origin_keyboard=True)


def _start_followup(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    participant = snapshot.participant
    if participant is None:
        return _stale(snapshot, language)
    if not participant.workshop.is_active:
        return Outcome(language, [text_view("workshop.ended")])
    if participant.position.step is Step.FOLLOWUP:
        return _resume_view(participant, language, welcome_back=False)
    if not snapshot.followup_offered:
        return _stale(snapshot, language)  # a forged button: no follow-up was sent to them yet
    scope = participant.followup_scope()
    if not scope:
        return Outcome(language, [text_view("followup.nothing")], clear_origin_keyboard=True)
    target = Position.followup_at(scope[0], Question.PRIORITY)
    updated = replace(participant, position=target, return_to=participant.position)
    return Outcome(
        language,
        [screens.current_step(updated, Msg("followup.intro"))],
        [Move(target, participant.position)],
        clear_origin_keyboard=True,
    )


def _forget_answer(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    choice = pressed.arg(0)
    if choice == "yes":
        return Outcome(
            language, [text_view("forget.done")], [Forget()], clear_origin_keyboard=True
        )
    if choice == "ws" and snapshot.participant is not None:
        title = Literal(snapshot.participant.workshop.title)
        return Outcome(
            language,
            [text_view("forget.done_workshop", title=title)],
            [Forget(workshop_only=True)],
            clear_origin_keyboard=True,
        )
    return Outcome(language, [text_view("forget.kept")], clear_origin_keyboard=True)


def _contact_me(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    participant = snapshot.participant
    if participant is None:
        return _stale(snapshot, language)
    return Outcome(
        language,
        [screening.contact_requested(participant.workshop)],
        [RequestContact()],
        clear_origin_keyboard=True,
    )


def _end_relay(snapshot: Snapshot, pressed: Callback, language: str) -> Outcome:
    participant = snapshot.participant
    if participant is None or not participant.relay_open:
        return Outcome(language, toast=Msg("relay.not_open"), clear_origin_keyboard=True)
    return Outcome(
        language,
        [screens.current_step(participant, Msg("relay.ended"))],
        [EndRelay()],
        clear_origin_keyboard=True,
    )


_BUTTONS: dict[Verb, ButtonHandler] = {
    Verb.CONSENT: _consent,
    Verb.DECLINE: _decline,
    Verb.CONSENT_LANGUAGE: _consent_language,
    Verb.CONSENT_MORE: _consent_more,
    Verb.LANGUAGE: _set_language,
    Verb.ROLE: _set_role,
    Verb.PRIORITY: _priority,
    Verb.MATCH: _match,
    Verb.SKIP: _skip,
    Verb.BACK: _back,
    Verb.PAUSE: _pause,
    Verb.MORE: _more,
    Verb.RESUME: _resume,
    Verb.EDIT: _edit,
    Verb.SUBMIT: _submit,
    Verb.FORGET: _forget_answer,
    Verb.FOLLOWUP: _start_followup,
    Verb.CONTACT_ME: _contact_me,
    Verb.QUOTE_CONSENT: _quote_consent,
    Verb.SHARING: _sharing,
    Verb.QUOTE_TOGGLE: _quote_toggle,
    Verb.WITHDRAW: _withdraw,
    Verb.REMINDERS_OFF: _reminders_off,
    Verb.END_RELAY: _end_relay,
    Verb.EASY_READ: _easy_read,
}

# ---- typed and recorded input --------------------------------------------------------------


def _before_joining(snapshot: Snapshot, raw: str, language: str) -> Outcome:
    """Typed words before they agreed: a "yes" to the consent screen they saw, help, or the
    way in."""
    target, offer = snapshot.target, snapshot.consent_offer
    if asks_for_help(raw):
        return Outcome(language, [screens.help_view(workshop=target)])
    if offer is None or target is None or target.code != offer.code:
        return Outcome(language, [screens.not_joined()])
    if is_yes(raw):
        return _join(snapshot, offer.language, offer.easy)
    if is_no(raw):
        return Outcome(offer.language, [text_view("consent.declined")], easy=offer.easy)
    view = screens.consent_reminder(target, offer.language, easy=offer.easy)
    return Outcome(offer.language, [view], easy=offer.easy, consent_offer=offer)


def _on_edit(
    snapshot: Snapshot, participant: ParticipantInfo, event: EditedText, language: str
) -> Outcome:
    """An edited message replaces the answer it gave, under the rules of /review."""
    edited = snapshot.edited_answer
    text = event.text.strip()
    if edited is None or not text or is_skip(text):
        return Outcome(language, [text_view("answer.edit_not_answer")])
    if not participant.workshop.is_active:
        return Outcome(language, [text_view("answer.edit_closed")])
    if len(text) > MAX_ANSWER_CHARS:
        return _too_long(language, len(text), MAX_ANSWER_CHARS)
    save = _typed_answer(
        participant, edited.rec, edited.question, edited.round, text, event.message_id
    )
    outcome = Outcome(language, [text_view("answer.updated")], [save])
    where = Position(
        Step.FOLLOWUP if edited.round == 2 else Step.QUESTION, edited.rec, edited.question
    )
    languages = _typed_in(snapshot, participant.workshop)
    return screening.screen(participant, where, text, outcome, languages)


def _on_text(
    participant: ParticipantInfo, raw: str, language: str, message_id: int | None = None
) -> Outcome:
    position = participant.position
    text = raw.strip()
    if asks_for_help(text):
        help_screen = screens.help_view(workshop=participant.workshop)
        return Outcome(language, [help_screen, screens.current_step(participant)])
    if position.step is Step.ROLE:
        role = parse_role(text)
        if role is not None:
            return _choose_role(participant, role, language)
        if not _describes_someone(text):
            return _again(participant, language, "role.use_buttons")
        # "I am a mum caring for my son": their own words are how they describe themselves
        # (kept as "Something else"; /role changes it).
    if position.step in (Step.ROLE, Step.ROLE_OTHER):
        if not text:
            return _again(participant, language, "answer.empty")
        if len(text) > MAX_ROLE_OTHER_CHARS:
            return _again(participant, language, "role.too_long", limit=MAX_ROLE_OTHER_CHARS)
        target = participant.return_to or next_position(ROLE, participant.workshop.scope)
        updated = replace(
            participant, role="other", role_other=text, position=target, return_to=None
        )
        return Outcome(
            language,
            [screens.current_step(updated, Msg("role.other_saved"))],
            [SetRole("other", text), Move(target, None)],
        )
    if position.asks:
        assert position.rec is not None and position.question is not None
        if is_skip(text):
            return _skip_or_keep(participant, position, language)
        if position.question in BUTTON_QUESTIONS:
            answers = BUTTON_QUESTIONS[position.question]
            value = answers.parse(text)
            if value is None:
                return _keep_as_note(participant, position, text, language, answers)
            save = SaveAnswer(position.rec, position.question, value, round=position.round)
            return _save_and_advance(participant, position, save, language)
        if not text:
            return Outcome(language, [text_view("answer.empty")])
        if len(text) > MAX_ANSWER_CHARS:
            return _too_long(language, len(text), MAX_ANSWER_CHARS)
        save = _typed_answer(
            participant, position.rec, position.question, position.round, text, message_id
        )
        return _save_and_advance(participant, position, save, language, Msg("answer.saved"))
    if position.step is Step.REVIEW:
        return _again(participant, language, "review.use_buttons")
    return Outcome(language, [screens.thanks(again=True)])


def _on_voice(participant: ParticipantInfo, voice: VoiceInput, language: str) -> Outcome:
    position = participant.position
    if position.asks and position.question in FREE_TEXT_QUESTIONS:
        assert position.rec is not None and position.question is not None
        save = SaveAnswer(
            position.rec,
            position.question,
            None,
            voice_file_id=voice.file_id,
            voice_duration=voice.duration,
            round=position.round,
        )
        return _save_and_advance(participant, position, save, language, Msg("answer.voice_saved"))
    if position.asks and position.question in BUTTON_QUESTIONS:
        assert position.rec is not None and position.question is not None
        then = BUTTON_QUESTIONS[position.question].then
        existing = participant.answers_in(position.round).get((position.rec, Question.NOTE))
        if existing is None or existing.voice_duration is None:
            note = SaveAnswer(
                position.rec,
                Question.NOTE,
                existing.value if existing else None,
                voice_file_id=voice.file_id,
                voice_duration=voice.duration,
                round=position.round,
            )
            return _noted(participant, note, language, "answer.voice_note_kept", then)
    return _again(participant, language, "voice.not_here")


def _typed_answer(
    participant: ParticipantInfo,
    rec: str,
    question: Question,
    round: int,
    text: str,
    message_id: int | None,
) -> SaveAnswer:
    """Words someone typed as an answer: shareable if they said yes, tied to their message so
    editing it edits the answer."""
    return SaveAnswer(
        rec,
        question,
        text,
        round=round,
        may_quote=participant.quote_consent is True,
        message_id=message_id,
    )


def _too_long(language: str, length: int, limit: int) -> Outcome:
    """Nothing is cut: they are told the length, and their message stays there to copy."""
    return Outcome(language, [text_view("answer.too_long", length=length, limit=limit)])


def _describes_someone(text: str) -> bool:
    """Words typed on the role question that could be a description ("I care for my son"),
    not a stray "ok" or "?", and short enough to be one."""
    return len(text.split()) >= 3 and len(text) <= MAX_ROLE_OTHER_CHARS


def _keep_as_note(
    participant: ParticipantInfo,
    position: Position,
    text: str,
    language: str,
    answers: ButtonAnswers,
) -> Outcome:
    """Words typed where a button was expected are theirs: kept as a note on the topic (added
    to any earlier note), and the question asked again."""
    assert position.rec is not None
    if not text:
        return _again(participant, language, answers.use_buttons)
    existing = participant.answers_in(position.round).get((position.rec, Question.NOTE))
    earlier = existing.value if existing and existing.value else ""
    value = f"{earlier}\n{text}" if earlier else text
    if len(value) > MAX_ANSWER_CHARS:
        return _too_long(language, len(text), MAX_ANSWER_CHARS - len(earlier))
    note = SaveAnswer(
        position.rec,
        Question.NOTE,
        value,
        round=position.round,
        may_quote=participant.quote_consent is True,
        keep_voice=True,
    )
    return _noted(participant, note, language, "answer.note_kept", answers.then)


def _noted(
    participant: ParticipantInfo, note: SaveAnswer, language: str, key: str, then: str
) -> Outcome:
    stored = dict(participant.answers_in(note.round))
    stored[(note.rec, Question.NOTE)] = AnswerInfo(note.value, False, note.voice_duration)
    updated = (
        replace(participant, followup=stored)
        if note.round == 2
        else replace(participant, answers=stored)
    )
    view = screens.current_step(updated, Lines((Msg(key), Msg(then))))
    return Outcome(language, [view], [note])


def _on_other(participant: ParticipantInfo, other: OtherInput, language: str) -> Outcome:
    position = participant.position
    if position.asks and position.question in FREE_TEXT_QUESTIONS:
        return Outcome(language, [text_view("other.free_text")])
    return _again(participant, language, "other.use_buttons")


# ---- shared steps --------------------------------------------------------------------------


def _again(participant: ParticipantInfo, language: str, key: str, **params: int) -> Outcome:
    """Explain what we expected, then show the current screen again with its buttons."""
    return Outcome(language, [screens.current_step(participant, Msg(key, dict(params)))])


def _resume_view(participant: ParticipantInfo, language: str, *, welcome_back: bool) -> Outcome:
    notice = (
        Msg("welcome_back", {"title": Literal(participant.workshop.title)})
        if welcome_back
        else None
    )
    return Outcome(language, [screens.current_step(participant, notice)])


def _skip_or_keep(participant: ParticipantInfo, position: Position, language: str) -> Outcome:
    """Skipping a question that already has an answer keeps that answer: nothing is lost."""
    assert position.rec is not None and position.question is not None
    key = (position.rec, position.question)
    existing = participant.answers_in(position.round).get(key)
    if existing is not None and not existing.skipped:
        return _save_and_advance(participant, position, None, language)
    first = participant.answers.get(key)
    if position.round == 2 and first is not None and not first.skipped:
        # "Keep my answer" in the follow-up: the first priority still stands, say so in round 2.
        kept = SaveAnswer(position.rec, position.question, first.value, round=2)
        return _save_and_advance(participant, position, kept, language)
    save = SaveAnswer(position.rec, position.question, None, skipped=True, round=position.round)
    return _save_and_advance(participant, position, save, language)


def _save_and_advance(
    participant: ParticipantInfo,
    position: Position,
    save: SaveAnswer | None,
    language: str,
    notice: Msg | None = None,
) -> Outcome:
    return_to = participant.return_to
    if position.step is Step.FOLLOWUP:
        following = next_followup(
            position, participant.followup_scope(), participant.checked_topics()
        )
        if following is None:
            target, return_to = return_to or DONE, None
            notice = Msg("followup.thanks")
        else:
            target = following
    else:
        target = next_position(position, participant.workshop.scope)
        if position.question == QUESTIONS[-1] and return_to is not None:
            target, return_to = return_to, None
    answers = dict(participant.answers)
    followup = dict(participant.followup)
    changes: list[Change] = []
    if save is not None:
        changes.append(save)
        stored = followup if save.round == 2 else answers
        stored[(save.rec, save.question)] = AnswerInfo(
            save.value, save.skipped, save.voice_duration
        )
    changes.append(Move(target, return_to))
    updated = replace(
        participant, position=target, return_to=return_to, answers=answers, followup=followup
    )
    return Outcome(language, [screens.current_step(updated, notice)], changes)
