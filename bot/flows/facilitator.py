"""Facilitator commands and the workshop settings screen, as pure decisions.

The handler loads what a command names (a workshop, the overview) and applies the changes;
this module decides who may do what and what to show. Every facilitator command from anyone
else is refused the same way and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.flows.callbacks import Verb, callback, decode
from bot.flows.catalogue import ROLES
from bot.flows.state import ButtonPress, Command, WorkshopInfo
from bot.flows.views import Button, CatalogueText, Lines, Literal, Msg, Part, View, text_view

COMMANDS = (
    "newworkshop",
    "workshops",
    "stats",
    "export",
    "report",
    "addfacilitator",
    "closeworkshop",
    "deleteworkshop",
)
# Handled elsewhere (bot.handlers.timeline_commands, .quotes, .workshop_safety), listed here
# so /help shows every facilitator command.
FACILITATOR_HELP_COMMANDS = (
    *COMMANDS,
    "schedule",
    "scheduled",
    "broadcast",
    "followup",
    "nudges",
    "quotes",
    "themes",
    "safety",
)
CALLBACK_PREFIX = Verb.WORKSHOP_SETTING.value
MAX_TITLE_CHARS = 120
SCOPE_PRESETS = ("headline", "detailed")
# Commands that act on one workshop and name it by code (never "the latest" by default).
CODE_COMMANDS = ("stats", "export", "report", "closeworkshop", "deleteworkshop")
# Commands that read a workshop and, without a code, read the latest one (nothing is changed).
LATEST_BY_DEFAULT = ("stats", "export", "report")
# The PendingInput kind of a deletion waiting for its code to be typed again.
DELETE_WORKSHOP_INPUT = "delete_workshop"
# A confirmation typed later than this is refused: the question has gone out of sight.
DELETE_CONFIRM_MINUTES = 10


@dataclass(frozen=True)
class Retention:
    """When a workshop's personal data goes, or went, as a date in the reader's language."""

    state: str  # "active" (unless someone answers), "closed", or "purged" (already gone)
    date: str


@dataclass(frozen=True)
class WorkshopSummary:
    workshop: WorkshopInfo
    by_role: Mapping[str, int]
    started: int
    finished: int
    retention: Retention | None = None


@dataclass(frozen=True)
class FacilitatorSnapshot:
    user_id: int
    is_facilitator: bool
    bot_username: str
    scopes: Mapping[str, tuple[str, ...]]
    all_recommendations: tuple[str, ...]
    languages: tuple[str, ...]
    workshop: WorkshopInfo | None = None  # the one a code or button names, else the latest
    overview: tuple[WorkshopSummary, ...] = ()
    # For /closeworkshop and /deleteworkshop: the named workshop's retention and people.
    retention: Retention | None = None
    participants: int = 0
    # In a conversation with a participant (safeguarding): that input must not be replaced.
    in_conversation: bool = False


# ---- changes and actions -------------------------------------------------------------------


@dataclass(frozen=True)
class CreateWorkshop:
    title: str
    scope: tuple[str, ...]
    languages: tuple[str, ...]


@dataclass(frozen=True)
class UpdateWorkshop:
    workshop_id: int
    scope: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = None
    is_open: bool | None = None


@dataclass(frozen=True)
class Promote:
    user_id: int


@dataclass(frozen=True)
class CloseWorkshop:
    workshop_id: int


@dataclass(frozen=True)
class AskToConfirmDeletion:
    """Wait for this facilitator to type the workshop's code (a PendingInput)."""

    workshop_id: int


@dataclass(frozen=True)
class DeleteWorkshop:
    workshop_id: int


@dataclass(frozen=True)
class NudgeUnfinished:
    """Remind the unfinished participants of the roles the report marks as under-represented
    (which roles is decided when the button is pressed, from the answers as they are then)."""

    workshop_id: int


FacilitatorChange = (
    NudgeUnfinished
    | CreateWorkshop
    | UpdateWorkshop
    | Promote
    | CloseWorkshop
    | AskToConfirmDeletion
    | DeleteWorkshop
)


class Report(StrEnum):
    """Work the handler does with more data than a snapshot holds."""

    STATS = "stats"
    EXPORT = "export"
    REPORT = "report"
    SETTINGS_OF_CREATED = "settings_of_created"
    CLOSED = "closed"  # what closing did and when the data goes, known once applied
    DELETED = "deleted"  # what the deletion removed, known once applied


@dataclass
class FacilitatorOutcome:
    views: list[View] = field(default_factory=list)
    changes: list[FacilitatorChange] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    toast: Part | None = None
    replace_origin: bool = False
    refused: bool = False


# ---- callback data -------------------------------------------------------------------------


def _data(code: str, op: str, arg: str = "") -> str:
    return callback(Verb.WORKSHOP_SETTING, code, op, arg)


def workshop_code_in(event: Command | ButtonPress) -> str | None:
    if isinstance(event, Command):
        if event.name in CODE_COMMANDS and event.args:
            return event.args[0].strip().upper()
        return None
    pressed = decode(event.data)
    if pressed is None or pressed.verb is not Verb.WORKSHOP_SETTING or len(pressed.args) < 2:
        return None
    return (pressed.arg(0) or "").upper()


# ---- screens -------------------------------------------------------------------------------


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def _scope_name(scope: tuple[str, ...], scopes: Mapping[str, tuple[str, ...]]) -> Msg:
    for name in SCOPE_PRESETS:
        if scope == scopes[name]:
            return Msg(f"fac.scope.{name}")
    return Msg("fac.scope.custom", {"n": len(scope)})


def settings(workshop: WorkshopInfo, snapshot: FacilitatorSnapshot) -> View:
    code = workshop.code
    scopes = snapshot.scopes
    languages = Lines(tuple(Msg(f"language.name.{lang}") for lang in workshop.languages))
    blocks: list[Part] = [
        Msg(
            "fac.settings",
            {
                "title": Literal(workshop.title),
                "code": code,
                "link": invite_link(snapshot.bot_username, code),
                "scope": _scope_name(workshop.scope, scopes),
                "status": Msg("fac.status.open" if workshop.is_open else "fac.status.closed"),
            },
        ),
        Msg("fac.settings.languages"),
        languages,
    ]

    def mark(on: bool, label: Msg) -> Msg:
        return Msg("fac.checked" if on else "fac.unchecked", {"label": label})

    scope_row = (
        *(
            Button(
                mark(workshop.scope == scopes[name], Msg(f"fac.button.{name}")),
                _data(code, "sc", name),
            )
            for name in SCOPE_PRESETS
        ),
        Button(Msg("fac.button.pick"), _data(code, "pk")),
    )
    language_row = (
        *(
            Button(
                mark(workshop.languages == (lang,), Msg(f"language.name.{lang}")),
                _data(code, "ln", lang),
            )
            for lang in snapshot.languages
        ),
        Button(
            mark(workshop.languages == snapshot.languages, Msg("fac.button.all_languages")),
            _data(code, "ln", "all"),
        ),
    )
    open_row = (
        Button(
            Msg("fac.button.close" if workshop.is_open else "fac.button.open"),
            _data(code, "op", "0" if workshop.is_open else "1"),
        ),
    )
    return View(tuple(blocks), (scope_row, language_row, open_row))


def picker(workshop: WorkshopInfo, snapshot: FacilitatorSnapshot) -> View:
    rows = tuple(
        (
            Button(
                Msg(
                    "fac.checked" if rec in workshop.scope else "fac.unchecked",
                    {"label": CatalogueText(rec, "plain_title")},
                ),
                _data(workshop.code, "tg", rec),
            ),
        )
        for rec in snapshot.all_recommendations
    )
    done = ((Button(Msg("fac.button.done"), _data(workshop.code, "ok")),),)
    return View((Msg("fac.pick", {"title": Literal(workshop.title)}),), rows + done)


def overview_view(snapshot: FacilitatorSnapshot) -> View:
    if not snapshot.overview:
        return text_view("fac.workshops.none")
    blocks: list[Part] = [Msg("fac.workshops.heading")]
    keyboard: list[tuple[Button, ...]] = []
    for summary in snapshot.overview:
        ws = summary.workshop
        roles = Lines(
            tuple(
                Msg(
                    "fac.workshops.role", {"role": Msg(f"role.{role}"), "n": summary.by_role[role]}
                )
                for role in ROLES
                if summary.by_role.get(role)
            )
        )
        status = (
            "fac.status.ended"
            if not ws.is_active
            else ("fac.status.open" if ws.is_open else "fac.status.closed")
        )
        block: list[Part] = [
            Msg(
                "fac.workshops.item",
                {
                    "title": Literal(ws.title),
                    "code": ws.code,
                    "status": Msg(status),
                    "started": summary.started,
                    "finished": summary.finished,
                },
            )
        ]
        if roles.parts:
            block.append(roles)
        if summary.retention is not None:
            block.append(retention_note(summary.retention))
        blocks.append(Lines(tuple(block)))
        keyboard.append(
            (Button(Msg("fac.button.settings", {"code": ws.code}), _data(ws.code, "ok")),)
        )
    return View(tuple(blocks), tuple(keyboard))


_RETENTION_NOTES = {
    "active": "fac.retention.until_active",
    "closed": "fac.retention.until_closed",
    "purged": "fac.retention.purged_on",
}


def retention_note(retention: Retention | None) -> Msg:
    if retention is None:
        return Msg("fac.retention.none")
    return Msg(_RETENTION_NOTES[retention.state], {"date": retention.date})


def closed_view(workshop: WorkshopInfo, date: str, cancelled: int) -> View:
    """The reply to /closeworkshop, once the handler knows what closing cancelled."""
    return text_view(
        "fac.closeworkshop.done",
        title=Literal(workshop.title),
        code=workshop.code,
        cancelled=cancelled,
        date=date,
    )


def report_nudge_button(workshop: WorkshopInfo) -> Button:
    """Under a report: remind the unfinished people of the roles whose voice is thin."""
    return Button(Msg("report.nudge.button"), _data(workshop.code, "nd"))


def nudged_view(roles: tuple[str, ...], people: int) -> View:
    """The answer to the report's nudge button, once the handler knows who it reaches."""
    if not roles:
        return text_view("report.nudge.no_roles")
    names = Lines(tuple(Msg(f"role.group.{role}") for role in roles))
    if not people:
        return text_view("report.nudge.nobody", roles=names)
    return text_view("report.nudge.planned", roles=names, count=people)


def deleted_view(
    workshop: WorkshopInfo, participants: int, answers: int, recordings: int, people: int
) -> View:
    """The reply to a confirmed deletion, with what it removed."""
    return text_view(
        "fac.deleteworkshop.done",
        title=Literal(workshop.title),
        code=workshop.code,
        participants=participants,
        answers=answers,
        recordings=recordings,
        people=people,
    )


# ---- decisions -----------------------------------------------------------------------------


def handle(snapshot: FacilitatorSnapshot, event: Command | ButtonPress) -> FacilitatorOutcome:
    if not snapshot.is_facilitator:
        if isinstance(event, ButtonPress):
            return FacilitatorOutcome(toast=Msg("fac.not_allowed"), refused=True)
        return FacilitatorOutcome([text_view("fac.not_allowed")], refused=True)
    if isinstance(event, Command):
        return _COMMANDS[event.name](snapshot, event)
    return _button(snapshot, event)


def _new_workshop(snapshot: FacilitatorSnapshot, command: Command) -> FacilitatorOutcome:
    title = " ".join(command.args).strip()
    if not title:
        return FacilitatorOutcome([text_view("fac.newworkshop.usage")])
    if len(title) > MAX_TITLE_CHARS:
        return FacilitatorOutcome([text_view("fac.newworkshop.too_long", limit=MAX_TITLE_CHARS)])
    change = CreateWorkshop(title, snapshot.scopes["headline"], snapshot.languages)
    return FacilitatorOutcome(changes=[change], reports=[Report.SETTINGS_OF_CREATED])


def _workshops(snapshot: FacilitatorSnapshot, command: Command) -> FacilitatorOutcome:
    return FacilitatorOutcome([overview_view(snapshot)])


def _report(report: Report) -> Callable[[FacilitatorSnapshot, Command], FacilitatorOutcome]:
    def decide(snapshot: FacilitatorSnapshot, command: Command) -> FacilitatorOutcome:
        if snapshot.workshop is None:
            key = "fac.unknown_workshop" if command.args else "fac.workshops.none"
            return FacilitatorOutcome([text_view(key)])
        return FacilitatorOutcome(reports=[report])

    return decide


def _add_facilitator(snapshot: FacilitatorSnapshot, command: Command) -> FacilitatorOutcome:
    raw = command.args[0] if len(command.args) == 1 else ""
    if not raw.isdigit():
        return FacilitatorOutcome([text_view("fac.addfacilitator.usage")])
    user_id = int(raw)
    return FacilitatorOutcome(
        [text_view("fac.addfacilitator.done", user_id=str(user_id))], [Promote(user_id)]
    )


def _close(snapshot: FacilitatorSnapshot, command: Command) -> FacilitatorOutcome:
    """Closing stops new participants and new answers; the data then waits for retention."""
    workshop = snapshot.workshop
    if workshop is None:
        key = "fac.unknown_workshop" if command.args else "fac.closeworkshop.usage"
        return FacilitatorOutcome([text_view(key)])
    if workshop.is_default:
        # Closed, it would turn every /start without a code away, with no way to reopen it.
        return FacilitatorOutcome([text_view("fac.closeworkshop.default", code=workshop.code)])
    if not workshop.is_active:
        view = text_view(
            "fac.closeworkshop.already",
            title=Literal(workshop.title),
            code=workshop.code,
            retention=retention_note(snapshot.retention),
        )
        return FacilitatorOutcome([view])
    return FacilitatorOutcome(changes=[CloseWorkshop(workshop.id)], reports=[Report.CLOSED])


def _delete(snapshot: FacilitatorSnapshot, command: Command) -> FacilitatorOutcome:
    """Nothing is deleted yet: the facilitator must type the code again (`confirm_deletion`)."""
    workshop = snapshot.workshop
    if workshop is None:
        key = "fac.unknown_workshop" if command.args else "fac.deleteworkshop.usage"
        return FacilitatorOutcome([text_view(key)])
    if workshop.is_default:
        return FacilitatorOutcome([text_view("fac.deleteworkshop.default", code=workshop.code)])
    if snapshot.in_conversation:
        return FacilitatorOutcome([text_view("fac.deleteworkshop.busy", code=workshop.code)])
    view = text_view(
        "fac.deleteworkshop.confirm",
        title=Literal(workshop.title),
        code=workshop.code,
        participants=snapshot.participants,
        minutes=DELETE_CONFIRM_MINUTES,
    )
    return FacilitatorOutcome([view], [AskToConfirmDeletion(workshop.id)])


def confirm_deletion(
    workshop: WorkshopInfo | None, typed: str, *, expired: bool
) -> FacilitatorOutcome:
    """The facilitator's answer to the deletion question; only the exact code deletes.

    The question is asked once: whatever the answer, the handler drops the pending input, so
    a code typed much later for another reason cannot delete anything.
    """
    answer = typed.strip()
    if workshop is None or answer.lower() == "/cancel":
        return FacilitatorOutcome([text_view("fac.deleteworkshop.cancelled")])
    if expired:
        view = text_view(
            "fac.deleteworkshop.expired", code=workshop.code, minutes=DELETE_CONFIRM_MINUTES
        )
        return FacilitatorOutcome([view])
    if answer != workshop.code:
        view = text_view(
            "fac.deleteworkshop.wrong_code", title=Literal(workshop.title), code=workshop.code
        )
        return FacilitatorOutcome([view])
    return FacilitatorOutcome(changes=[DeleteWorkshop(workshop.id)], reports=[Report.DELETED])


_COMMANDS: dict[str, Callable[[FacilitatorSnapshot, Command], FacilitatorOutcome]] = {
    "newworkshop": _new_workshop,
    "workshops": _workshops,
    "stats": _report(Report.STATS),
    "export": _report(Report.EXPORT),
    "report": _report(Report.REPORT),
    "addfacilitator": _add_facilitator,
    "closeworkshop": _close,
    "deleteworkshop": _delete,
}


def _button(snapshot: FacilitatorSnapshot, press: ButtonPress) -> FacilitatorOutcome:
    pressed = decode(press.data)
    workshop = snapshot.workshop
    if pressed is None or pressed.verb is not Verb.WORKSHOP_SETTING or len(pressed.args) != 3:
        return FacilitatorOutcome(toast=Msg("stale_button"))
    if workshop is None:
        return FacilitatorOutcome(toast=Msg("stale_button"))
    _, op, arg = pressed.args
    if op == "nd":
        return FacilitatorOutcome(changes=[NudgeUnfinished(workshop.id)])
    if op == "ok":
        return FacilitatorOutcome([settings(workshop, snapshot)], replace_origin=True)
    if op == "pk":
        return FacilitatorOutcome([picker(workshop, snapshot)], replace_origin=True)
    if op == "sc" and arg in SCOPE_PRESETS:
        scope = snapshot.scopes[arg]
        updated = replace(workshop, scope=scope)
        return _saved(snapshot, updated, UpdateWorkshop(workshop.id, scope=scope))
    if op == "tg" and arg in snapshot.all_recommendations:
        chosen = set(workshop.scope) ^ {arg}
        if not chosen:
            return FacilitatorOutcome(toast=Msg("fac.pick.keep_one"))
        scope = tuple(rec for rec in snapshot.all_recommendations if rec in chosen)
        updated = replace(workshop, scope=scope)
        outcome = _saved(snapshot, updated, UpdateWorkshop(workshop.id, scope=scope))
        outcome.views = [picker(updated, snapshot)]
        return outcome
    if op == "ln" and (arg == "all" or arg in snapshot.languages):
        languages = snapshot.languages if arg == "all" else (arg,)
        updated = replace(workshop, languages=languages)
        return _saved(snapshot, updated, UpdateWorkshop(workshop.id, languages=languages))
    if op == "op" and arg in ("0", "1"):
        is_open = arg == "1"
        updated = replace(workshop, is_open=is_open)
        return _saved(snapshot, updated, UpdateWorkshop(workshop.id, is_open=is_open))
    return FacilitatorOutcome(toast=Msg("stale_button"))


def _saved(
    snapshot: FacilitatorSnapshot, updated: WorkshopInfo, change: UpdateWorkshop
) -> FacilitatorOutcome:
    return FacilitatorOutcome(
        [settings(updated, snapshot)], [change], toast=Msg("fac.saved"), replace_origin=True
    )
