"""What the flow is given (a snapshot of stored state and the input) and what it returns.

The handler loads a Snapshot from the database, the flow computes an Outcome, the handler
applies the Outcome's changes in the same transaction and renders its views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.flows.positions import Position, Question
from bot.flows.views import Part, View

# ---- input events -------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class ButtonPress:
    data: str


@dataclass(frozen=True)
class TextInput:
    text: str
    # The Telegram message it came from: an answer remembers it, so editing it edits the answer.
    message_id: int | None = None


@dataclass(frozen=True)
class EditedText:
    """The person edited a message they had sent (to fix a typo, usually)."""

    text: str
    message_id: int


@dataclass(frozen=True)
class VoiceInput:
    file_id: str
    duration: int


@dataclass(frozen=True)
class OtherInput:
    """A sticker, photo, file, location...: things we cannot keep as an answer."""

    kind: str


Event = Command | ButtonPress | TextInput | EditedText | VoiceInput | OtherInput

# ---- stored state, as the flow sees it ----------------------------------------------------


@dataclass(frozen=True)
class WorkshopInfo:
    id: int
    code: str
    title: str
    scope: tuple[str, ...]
    languages: tuple[str, ...]
    is_open: bool
    is_active: bool
    is_default: bool = False
    # Who runs it and how to reach a person (consent, /help, the safety reply).
    organisation: str = ""
    contact: str = ""
    privacy_url: str | None = None
    country: str | None = None
    helpline: str | None = None  # replaces the country's default helpline
    retention_months: int = 12


@dataclass(frozen=True)
class AnswerInfo:
    value: str | None
    skipped: bool
    voice_duration: int | None = None
    may_quote: bool = False
    sensitive: bool = False

    @property
    def is_typed(self) -> bool:
        """Words someone wrote (not a number, a skip or a recording): what could be quoted."""
        return bool(self.value) and not self.skipped


@dataclass(frozen=True)
class MemberCheck:
    """What others wrote about one topic, as keyword groups named by their top words."""

    own: tuple[str, ...]
    """Groups with answers from the person's own role: "training, staff, time"."""
    others: tuple[str, ...]
    """Groups with answers from other roles only."""


@dataclass(frozen=True)
class ParticipantInfo:
    workshop: WorkshopInfo
    role: str | None
    role_other: str | None
    position: Position
    return_to: Position | None
    finished: bool
    answers: Mapping[tuple[str, Question], AnswerInfo] = field(default_factory=dict)
    followup: Mapping[tuple[str, Question], AnswerInfo] = field(default_factory=dict)
    reminders_enabled: bool = True
    # A conversation with the workshop team is open: what they type goes to the team.
    relay_open: bool = False
    # May their words be shown to others without their name? None: not asked yet.
    quote_consent: bool | None = None
    # Topic -> the approved keyword groups the follow-up's member check shows, in their
    # reading language; only topics with some are asked "Does this match what you think?".
    member_check: Mapping[str, MemberCheck] = field(default_factory=dict)

    def followup_scope(self) -> tuple[str, ...]:
        """The recommendations the follow-up round revisits: those answered in round one."""
        return tuple(
            rec
            for rec in self.workshop.scope
            if any(
                not answer.skipped
                for (answered, _), answer in self.answers.items()
                if answered == rec
            )
        )

    def checked_topics(self) -> frozenset[str]:
        return frozenset(self.member_check)

    def answers_in(self, round: int) -> Mapping[tuple[str, Question], AnswerInfo]:
        return self.followup if round == 2 else self.answers


@dataclass(frozen=True)
class Snapshot:
    """Everything the flow may look at for one update."""

    telegram_language: str | None
    person_language: str | None
    participant: ParticipantInfo | None
    # The workshop an event names (/start CODE, a consent button) or the default one, with
    # the person's existing participation in it, if any.
    target: WorkshopInfo | None = None
    target_participant: ParticipantInfo | None = None
    available_languages: tuple[str, ...] = ("en", "fr")
    is_facilitator: bool = False
    # How many workshops they are in (loaded only when they ask to withdraw).
    workshops_joined: int = 1
    # The follow-up round was sent to them (loaded only for its button).
    followup_offered: bool = False
    # They read easy-read texts.
    easy_read: bool = False
    # The consent screen they saw last, when they type "yes" instead of tapping (kept in memory
    # only: nothing about a person is stored before they agree).
    consent_offer: ConsentOffer | None = None
    # For an edited message: the answer it gave, if it gave one.
    edited_answer: EditedAnswer | None = None
    # When the follow-up round comes (for "what happens next" on the thank-you screen).
    followup_date: str | None = None


@dataclass(frozen=True)
class ConsentOffer:
    code: str
    language: str
    easy: bool


@dataclass(frozen=True)
class EditedAnswer:
    rec: str
    question: Question
    round: int


# ---- what to change -----------------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    workshop_id: int
    language: str


@dataclass(frozen=True)
class SwitchWorkshop:
    workshop_id: int


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class SetRole:
    role: str
    other: str | None = None


@dataclass(frozen=True)
class Move:
    position: Position
    return_to: Position | None = None


@dataclass(frozen=True)
class SaveAnswer:
    rec: str
    question: Question
    value: str | None
    skipped: bool = False
    voice_file_id: str | None = None
    voice_duration: int | None = None
    round: int = 1
    sensitive: bool = False
    may_quote: bool = False
    message_id: int | None = None
    # A note typed after a voice note on the same topic: keep the recording with the words.
    keep_voice: bool = False


@dataclass(frozen=True)
class SetQuoteConsent:
    """Their answer to "May we share your words?", for all their typed answers."""

    allowed: bool


@dataclass(frozen=True)
class SetMayQuote:
    """A change of mind about one answer, from the review."""

    rec: str
    question: Question
    round: int
    allowed: bool


@dataclass(frozen=True)
class RaiseAlert:
    """Words that may show distress or abuse: a safeguarding lead must look at them."""

    words: str
    categories: tuple[str, ...]
    rec: str | None = None
    question: Question | None = None


@dataclass(frozen=True)
class RequestContact:
    """The person asked for someone from the team to contact them."""


@dataclass(frozen=True)
class ForwardToTeam:
    """Words typed while a conversation with the team is open: they go to the team."""

    text: str


@dataclass(frozen=True)
class EndRelay:
    """The person ended their conversation with the team."""


@dataclass(frozen=True)
class SetEasyRead:
    enabled: bool


@dataclass(frozen=True)
class SetReminders:
    enabled: bool


@dataclass(frozen=True)
class Finish:
    pass


@dataclass(frozen=True)
class Forget:
    """Delete their data: everything, or only their participation in the active workshop."""

    workshop_only: bool = False


Change = (
    Join
    | SwitchWorkshop
    | SetLanguage
    | SetRole
    | Move
    | SaveAnswer
    | Finish
    | Forget
    | SetReminders
    | SetEasyRead
    | RaiseAlert
    | RequestContact
    | ForwardToTeam
    | EndRelay
    | SetQuoteConsent
    | SetMayQuote
)


class Action(StrEnum):
    """Work that needs more than the snapshot: the handler does it after the changes."""

    SEND_MY_DATA = "send_my_data"


@dataclass
class Outcome:
    language: str
    views: list[View] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    toast: Part | None = None
    # Remove the keyboard of the message whose button was pressed (it has been answered).
    clear_origin_keyboard: bool = False
    # Show the first view by editing the pressed message instead of sending a new one.
    replace_origin: bool = False
    actions: list[Action] = field(default_factory=list)
    # Easy-read texts; None: as the person chose (`handle` fills it in).
    easy: bool | None = None
    # A consent screen was shown for this workshop: remembered (in memory) for a typed "yes".
    consent_offer: ConsentOffer | None = None
