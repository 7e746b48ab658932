"""`/themes CODE`: facilitators choose which keyword groups participants see in the member
check of the follow-up round ("Does this match what you think?").

The groups are computed from the typed answers (bot.report.keywords) each time the command
runs; a decision sticks to a group as long as its top words stay the same. Nothing is shown
to participants until a facilitator approves it, as with quotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.flows.callbacks import Verb, callback, decode
from bot.flows.state import ButtonPress, Command, MemberCheck, WorkshopInfo
from bot.flows.views import Button, CatalogueText, Lines, Literal, Msg, Part, View, text_view
from storage.models import ThemeStatus
from storage.repositories.themes import ThemeRow

COMMAND = "themes"
# One message per group: more than this at once is a wall, not a list.
PAGE = 12
# A participant reads at most this many groups of each kind (theirs, the others') per topic:
# one short message, one question.
MEMBER_CHECK_GROUPS = 3


@dataclass(frozen=True)
class ThemesSnapshot:
    is_facilitator: bool
    language: str
    workshop: WorkshopInfo | None
    themes: tuple[ThemeRow, ...] = ()


@dataclass
class ThemesOutcome:
    views: list[View] = field(default_factory=list)
    toast: Part | None = None
    replace_origin: bool = False
    refused: bool = False


def code_in(event: Command) -> str | None:
    return event.args[0].strip().upper() if event.args else None


def decision_in(event: ButtonPress) -> tuple[int, ThemeStatus] | None:
    parsed = decode(event.data)
    if parsed is None or parsed.verb is not Verb.THEME_REVIEW:
        return None
    raw, op = parsed.arg(0) or "", parsed.arg(1)
    status = {"a": ThemeStatus.APPROVED, "h": ThemeStatus.HIDDEN}.get(op or "")
    return (int(raw), status) if raw.isdigit() and status else None


def words_of(row: ThemeRow, language: str) -> str:
    """The group's words in the reader's language (English when that one is missing)."""
    words = row.words.get(language) or row.words.get("en") or ()
    return ", ".join(words)


def member_checks(
    rows: Sequence[ThemeRow], role: str | None, language: str
) -> dict[str, MemberCheck]:
    """Per topic, the approved groups a participant of `role` is shown, largest first."""
    by_topic: dict[str, list[ThemeRow]] = {}
    for row in rows:
        if row.status is ThemeStatus.APPROVED:
            by_topic.setdefault(row.recommendation_id, []).append(row)
    checks = {}
    for rec, found in by_topic.items():
        ordered = sorted(found, key=lambda row: -row.size)
        own = [row for row in ordered if role is not None and row.by_role.get(role)]
        others = [row for row in ordered if row not in own]
        checks[rec] = MemberCheck(
            own=tuple(words_of(row, language) for row in own[:MEMBER_CHECK_GROUPS]),
            others=tuple(words_of(row, language) for row in others[:MEMBER_CHECK_GROUPS]),
        )
    return checks


def theme_view(row: ThemeRow, language: str) -> View:
    roles: list[Part] = [
        Msg("themes.role_count", {"role": Msg(f"role.group.{role}"), "count": count})
        for role, count in row.by_role.items()
        if count
    ]
    heading = Msg(
        "themes.item",
        {
            "topic": CatalogueText(row.recommendation_id, "plain_title"),
            "question": Msg(f"mydata.question.{row.question}"),
        },
    )
    body = Lines(
        (
            heading,
            Msg("themes.words", {"words": Literal(words_of(row, language))}),
            Msg("themes.size", {"count": row.size}),
            *roles,
            Msg(f"themes.state.{row.status.value}"),
        )
    )
    buttons: list[Button] = []
    if row.status is not ThemeStatus.APPROVED:
        buttons.append(
            Button(Msg("themes.approve"), callback(Verb.THEME_REVIEW, str(row.id), "a"))
        )
    if row.status is not ThemeStatus.HIDDEN:
        buttons.append(Button(Msg("themes.hide"), callback(Verb.THEME_REVIEW, str(row.id), "h")))
    return View((body,), (tuple(buttons),))


def handle(
    snapshot: ThemesSnapshot, event: Command | ButtonPress, decided: ThemeRow | None = None
) -> ThemesOutcome:
    if not snapshot.is_facilitator:
        if isinstance(event, ButtonPress):
            return ThemesOutcome(toast=Msg("fac.not_allowed"), refused=True)
        return ThemesOutcome([text_view("fac.not_allowed")], refused=True)
    if isinstance(event, ButtonPress):
        if decided is None:
            return ThemesOutcome(toast=Msg("stale_button"))
        return ThemesOutcome(
            [theme_view(decided, snapshot.language)],
            toast=Msg("themes.saved"),
            replace_origin=True,
        )
    workshop = snapshot.workshop
    if workshop is None:
        return ThemesOutcome([text_view("fac.unknown_workshop" if event.args else "themes.usage")])
    rows = snapshot.themes
    counts = {status: sum(row.status is status for row in rows) for status in ThemeStatus}
    summary = Msg(
        "themes.summary",
        {
            "title": Literal(workshop.title),
            "code": workshop.code,
            "pending": counts[ThemeStatus.PENDING],
            "approved": counts[ThemeStatus.APPROVED],
            "hidden": counts[ThemeStatus.HIDDEN],
        },
    )
    if not rows:
        return ThemesOutcome([View((summary, Msg("themes.none")))])
    order = {ThemeStatus.PENDING: 0, ThemeStatus.APPROVED: 1, ThemeStatus.HIDDEN: 2}
    shown = sorted(rows, key=lambda row: order[row.status])[:PAGE]
    views = [View((summary, Msg("themes.rules")))]
    views += [theme_view(row, snapshot.language) for row in shown]
    if len(rows) > PAGE:
        views.append(text_view("themes.more", n=len(rows) - PAGE))
    return ThemesOutcome(views)
