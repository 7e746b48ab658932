"""Between the pure flow and the database: load a Snapshot, apply an Outcome's changes.

No Telegram here either; the handler calls these inside the one transaction of an update.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot import voice_files
from bot.flows.participant import (
    asks_to_withdraw,
    may_finish,
    starts_followup,
    workshop_code_in,
)
from bot.flows.positions import FREE_TEXT_QUESTIONS, REVIEW, ROLE, Position, Question, Step
from bot.flows.state import (
    AnswerInfo,
    Change,
    Command,
    ConsentOffer,
    EditedAnswer,
    EditedText,
    EndRelay,
    Event,
    Finish,
    Forget,
    ForwardToTeam,
    Join,
    MemberCheck,
    Move,
    ParticipantInfo,
    RaiseAlert,
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
    WorkshopInfo,
)
from bot.flows.themes import member_checks
from bot.flows.timeline import JobKind
from locales import REFERENCE_LANGUAGE
from storage.models import Answer, Participant, Person, SafeguardingAlert, Workshop
from storage.repositories import (
    answers,
    deliveries,
    people,
    safeguarding,
    schedules,
    themes,
    workshops,
)

_QUOTABLE = tuple(question.value for question in FREE_TEXT_QUESTIONS)


@dataclass(frozen=True)
class Forward:
    """Words for the lead in an open conversation, sent after the commit."""

    alert_id: int
    lead_id: int
    pseudonym: str
    text: str


@dataclass(frozen=True)
class VoiceFetch:
    """A recording to download after the commit and attach to its answer."""

    answer_id: int
    file_id: str
    relative_path: str


@dataclass
class Applied:
    voice_to_fetch: list[VoiceFetch]
    files_to_delete: list[str]
    # Who and where, for log lines: the participant's pseudonym and workshop code, if any.
    pseudonym: str | None = None
    workshop_code: str | None = None
    # Safeguarding: alerts the leads must hear about, after the commit.
    alerts: list[int] = field(default_factory=list)
    contact_requests: list[int] = field(default_factory=list)
    forward: Forward | None = None
    # A conversation the person ended: (lead, alert) to tell the lead.
    relay_ended: tuple[int, int] | None = None


@dataclass
class Loaded:
    """The snapshot plus the rows it came from, so changes can be applied without reloading.

    Holding the rows also keeps them in the session's identity map (which only holds rows
    something refers to), so looking the workshop up again costs no query.
    """

    snapshot: Snapshot
    person: Person | None
    participant: Participant | None
    workshop: Workshop | None = None
    # The active participant's answers: row ids, and rows this update added.
    answer_rows: dict[answers.AnswerKey, int | Answer] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkshopDefaults:
    """The settings' organisation, contact, privacy notice and country, for workshops that
    set none of their own (resolved when read, so a corrected setting reaches every one)."""

    organisation: str = ""
    contact: str = ""
    privacy_url: str | None = None
    country: str | None = None


NO_DEFAULTS = WorkshopDefaults()


def workshop_info(workshop: Workshop, defaults: WorkshopDefaults = NO_DEFAULTS) -> WorkshopInfo:
    return WorkshopInfo(
        id=workshop.id,
        code=workshop.code,
        title=workshop.title,
        scope=tuple(workshop.scope),
        languages=tuple(workshop.languages),
        is_open=workshop.is_open,
        is_active=workshop.status == "active",
        is_default=workshop.is_default,
        organisation=workshop.organisation or defaults.organisation,
        contact=workshop.contact or defaults.contact,
        privacy_url=workshop.privacy_url or defaults.privacy_url,
        country=workshop.country or defaults.country,
        helpline=workshop.helpline,
        retention_months=workshop.retention_months,
    )


def _position(raw: str | None, scope: tuple[str, ...]) -> Position | None:
    if raw is None:
        return None
    try:
        position = Position.decode(raw)
    except ValueError:
        return ROLE
    if position.step is Step.QUESTION and position.rec not in scope:
        return REVIEW  # the workshop's scope changed under this participant
    return position


def _info(
    participant: Participant,
    person: Person | None,
    workshop: Workshop,
    rows: Iterable[answers.Brief],
    defaults: WorkshopDefaults = NO_DEFAULTS,
    member_check: Mapping[str, MemberCheck] | None = None,
) -> ParticipantInfo:
    info = workshop_info(workshop, defaults)
    rounds: dict[int, dict[tuple[str, Question], AnswerInfo]] = {1: {}, 2: {}}
    for row in rows:
        question = Question.known(row.question)
        if question is None:
            continue
        rounds.setdefault(row.round, {})[(row.recommendation_id, question)] = AnswerInfo(
            row.value, row.skipped, row.voice_duration, row.may_quote, row.sensitive
        )
    return ParticipantInfo(
        workshop=info,
        role=participant.role,
        role_other=participant.role_other,
        position=_position(participant.position, info.scope) or ROLE,
        return_to=_position(participant.return_to, info.scope),
        finished=participant.finished_at is not None,
        answers=rounds[1],
        followup=rounds[2],
        reminders_enabled=person.reminders_enabled if person else True,
        relay_open=person is not None and person.relay_alert_id is not None,
        quote_consent=participant.quote_consent,
        member_check=member_check or {},
    )


async def _member_check(
    session: AsyncSession, participant: Participant, person: Person | None
) -> dict[str, MemberCheck]:
    """The approved keyword groups, read only during the follow-up round (the one place they
    are shown): every other update costs no query for them."""
    if not participant.position.startswith(f"{Step.FOLLOWUP.value}."):
        return {}
    rows = await themes.approved(session, participant.workshop_id)
    language = person.language if person is not None else REFERENCE_LANGUAGE
    return member_checks(rows, participant.role, language)


async def participant_info(
    session: AsyncSession,
    participant: Participant,
    person: Person | None = None,
    defaults: WorkshopDefaults = NO_DEFAULTS,
) -> ParticipantInfo:
    workshop = await workshops.get(session, participant.workshop_id)
    assert workshop is not None
    briefs = await answers.briefs(session, participant.id)
    checks = await _member_check(session, participant, person)
    return _info(participant, person, workshop, briefs, defaults, checks)


async def load(
    session: AsyncSession,
    *,
    user_id: int,
    telegram_language: str | None,
    event: Event,
    languages: tuple[str, ...],
    is_facilitator: bool = False,
    defaults: WorkshopDefaults = NO_DEFAULTS,
    consent_offer: ConsentOffer | None = None,
) -> Loaded:
    person: Person | None = None
    participant: Participant | None = None
    workshop: Workshop | None = None
    info: ParticipantInfo | None = None
    rows: dict[answers.AnswerKey, int | Answer] = {}
    found = await people.with_active_participation(session, user_id)
    if found is not None:
        person, participant, workshop = found
    if participant is not None and workshop is not None:
        briefs = await answers.briefs(session, participant.id)
        rows = {brief.key: brief.id for brief in briefs}
        checks = await _member_check(session, participant, person)
        info = _info(participant, person, workshop, briefs, defaults, checks)
    code = workshop_code_in(event)
    if code is None and participant is None and isinstance(event, TextInput) and consent_offer:
        code = consent_offer.code  # a typed "yes" answers the consent screen they saw last
    target: Workshop | None = None
    if code is not None:
        target = await workshops.get_by_code(session, code)
    elif (isinstance(event, Command) and event.name in ("start", "help", "easyread")) or (
        participant is None and isinstance(event, TextInput)
    ):
        # /start joins it; /help and the safety reply of someone not yet in a workshop
        # name its contact and helpline.
        target = await workshops.get_default(session)
    target_participant: Participant | None = None
    if target is not None and person is not None:
        target_participant = await people.get_participant(session, user_id, target.id)
    joined = 1
    if person is not None and asks_to_withdraw(event):
        joined = await people.count_participations(session, user_id)
    offered = False
    if participant is not None and starts_followup(event):
        offered = await deliveries.was_sent(
            session, user_id, participant.workshop_id, JobKind.FOLLOWUP
        )
    edited: EditedAnswer | None = None
    if participant is not None and isinstance(event, EditedText):
        found_answer = await answers.by_message(session, participant.id, event.message_id)
        if found_answer is not None:
            rec, stored_question, round = found_answer
            known = Question.known(stored_question)
            edited = EditedAnswer(rec, known, round) if known else None
    followup_date: str | None = None
    if participant is not None and may_finish(event):
        due = await schedules.next_due(session, participant.workshop_id, JobKind.FOLLOWUP)
        if due is not None:
            language = person.language if person else "en"
            followup_date = format_date(due, "d MMMM", locale=language)
    snapshot = Snapshot(
        edited_answer=edited,
        followup_date=followup_date,
        easy_read=person.easy_read if person else False,
        consent_offer=consent_offer if person is None else None,
        workshops_joined=joined,
        followup_offered=offered,
        telegram_language=telegram_language,
        person_language=person.language if person else None,
        participant=info,
        target=workshop_info(target, defaults) if target else None,
        target_participant=(
            await participant_info(session, target_participant, person, defaults)
            if target_participant
            else None
        ),
        available_languages=languages,
        is_facilitator=is_facilitator,
    )
    return Loaded(snapshot, person, participant, workshop, rows)


async def apply(
    session: AsyncSession,
    loaded: Loaded,
    *,
    user_id: int,
    changes: list[Change],
    now: datetime,
    consent_version: str | None = None,
) -> Applied:
    """Write every change of one outcome; the caller commits them together."""
    person, participant = loaded.person, loaded.participant
    applied = Applied([], [])
    recordings: list[tuple[Answer, str, str]] = []
    new_alerts: list[SafeguardingAlert] = []
    contacted: list[SafeguardingAlert] = []
    if person is not None and person.unreachable:
        person.unreachable = False  # they wrote to us, so they unblocked the bot
    for change in changes:
        if isinstance(change, Join):
            person = await people.upsert_person(session, user_id, language=change.language)
            participant = await people.get_participant(session, user_id, change.workshop_id)
            if participant is None:
                participant = await people.create_participant(
                    session,
                    user_id=user_id,
                    workshop_id=change.workshop_id,
                    position=ROLE.encode(),
                    now=now,
                )
            person.active_workshop_id = change.workshop_id
            participant.consent_version = consent_version
            participant.consent_language = change.language
        elif isinstance(change, SwitchWorkshop):
            assert person is not None
            person.active_workshop_id = change.workshop_id
            participant = await people.get_participant(session, user_id, change.workshop_id)
        elif isinstance(change, SetLanguage):
            assert person is not None
            person.language = change.language
        elif isinstance(change, SetReminders):
            assert person is not None
            person.reminders_enabled = change.enabled
        elif isinstance(change, SetEasyRead):
            assert person is not None
            person.easy_read = change.enabled
        elif isinstance(change, Forget) and change.workshop_only:
            assert participant is not None
            applied.files_to_delete += await people.participation_voice_paths(
                session, participant.id
            )
            workshop_id = participant.workshop_id
            participant = None
            if await people.delete_participation(session, user_id, workshop_id):
                person = None
        elif isinstance(change, Forget):
            applied.files_to_delete += await people.voice_paths(session, user_id)
            await people.delete_everything(session, user_id)
            person = participant = None
        elif isinstance(change, ForwardToTeam):
            assert person is not None and person.relay_alert_id is not None
            found = await safeguarding.context(session, person.relay_alert_id)
            if found is None or found.alert.relay_ended_at is not None:
                person.relay_alert_id = None
            else:
                assert found.alert.relay_lead_id is not None
                applied.forward = Forward(
                    found.alert.id,
                    found.alert.relay_lead_id,
                    found.participant.pseudonym,
                    change.text,
                )
        elif isinstance(change, EndRelay):
            assert person is not None and person.relay_alert_id is not None
            ended = await safeguarding.close_relay(session, person.relay_alert_id, now)
            person.relay_alert_id = None
            if ended is not None and ended.alert.relay_lead_id is not None:
                applied.relay_ended = (ended.alert.relay_lead_id, ended.alert.id)
        else:
            assert participant is not None, f"{change} needs a participant"
            participant.last_active_at = now
            if isinstance(change, SetRole):
                participant.role = change.role
                participant.role_other = change.other
            elif isinstance(change, Move):
                participant.position = change.position.encode()
                participant.return_to = change.return_to.encode() if change.return_to else None
            elif isinstance(change, SaveAnswer):
                saved = await answers.save(
                    session,
                    participant_id=participant.id,
                    recommendation_id=change.rec,
                    question=change.question.value,
                    value=change.value,
                    skipped=change.skipped,
                    voice_file_id=change.voice_file_id,
                    voice_duration=change.voice_duration,
                    now=now,
                    round=change.round,
                    known=loaded.answer_rows if participant is loaded.participant else None,
                    sensitive=change.sensitive,
                    may_quote=change.may_quote,
                    message_id=change.message_id,
                    keep_voice=change.keep_voice,
                )
                if saved.replaced_voice_path:
                    applied.files_to_delete.append(saved.replaced_voice_path)
                if change.voice_file_id is not None and saved.answer.voice_path is None:
                    path = voice_files.relative_path(
                        participant.pseudonym, change.rec, change.question.value, change.round
                    )
                    recordings.append((saved.answer, change.voice_file_id, path))
            elif isinstance(change, Finish):
                participant.finished_at = now
            elif isinstance(change, SetQuoteConsent):
                participant.quote_consent = change.allowed
                await session.flush()  # answers saved in this update are included
                await answers.set_may_quote(
                    session, participant.id, change.allowed, questions=_QUOTABLE
                )
            elif isinstance(change, SetMayQuote):
                await session.flush()
                key = (change.rec, change.question.value, change.round)
                await answers.set_may_quote(
                    session, participant.id, change.allowed, questions=_QUOTABLE, key=key
                )
            elif isinstance(change, RaiseAlert):
                alert = await safeguarding.create(
                    session,
                    workshop_id=participant.workshop_id,
                    participant_id=participant.id,
                    words=change.words,
                    categories=change.categories,
                    recommendation_id=change.rec,
                    question=change.question.value if change.question else None,
                    now=now,
                )
                new_alerts.append(alert)
            elif isinstance(change, RequestContact):
                open_alert = await safeguarding.latest_open(session, participant.id)
                if open_alert is None:
                    # Asked after the alert was handled: a new one, so a lead sees the request.
                    open_alert = await safeguarding.create(
                        session,
                        workshop_id=participant.workshop_id,
                        participant_id=participant.id,
                        words="",
                        categories=(),
                        recommendation_id=None,
                        question=None,
                        now=now,
                    )
                    new_alerts.append(open_alert)
                open_alert.contact_requested_at = now
                contacted.append(open_alert)
    await session.flush()  # one flush for the whole outcome; new answers get their ids here
    applied.voice_to_fetch = [VoiceFetch(a.id, file_id, path) for a, file_id, path in recordings]
    applied.alerts = [alert.id for alert in new_alerts if alert not in contacted]
    applied.contact_requests = [alert.id for alert in contacted]
    if participant is not None:
        workshop = await workshops.get(session, participant.workshop_id)
        applied.pseudonym = participant.pseudonym
        applied.workshop_code = workshop.code if workshop else None
    return applied
