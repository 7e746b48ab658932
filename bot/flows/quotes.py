"""`/quotes CODE`: facilitators approve or hide the words people agreed to share.

Only approved words are ever shown to other participants (the follow-up round). The list holds
nothing anyone said no to, nothing from people who did not finish, and nothing marked
sensitive: those never become candidates, whatever is pressed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.flows.callbacks import Verb, callback, decode
from bot.flows.state import ButtonPress, Command, WorkshopInfo
from bot.flows.views import Button, CatalogueText, Lines, Literal, Msg, Part, View, text_view
from storage.repositories.quotes import QuoteRow, QuoteStatus

COMMAND = "quotes"
# One message per candidate: more than this at once is a wall, not a list.
PAGE = 10


@dataclass(frozen=True)
class QuotesSnapshot:
    is_facilitator: bool
    workshop: WorkshopInfo | None
    candidates: tuple[QuoteRow, ...] = ()


@dataclass(frozen=True)
class Decide:
    answer_id: int
    status: QuoteStatus


@dataclass
class QuotesOutcome:
    views: list[View] = field(default_factory=list)
    changes: list[Decide] = field(default_factory=list)
    toast: Part | None = None
    replace_origin: bool = False
    refused: bool = False


def code_in(event: Command | ButtonPress) -> str | None:
    if isinstance(event, Command):
        return event.args[0].strip().upper() if event.args else None
    return None


def answer_in(event: ButtonPress) -> tuple[int, QuoteStatus] | None:
    parsed = decode(event.data)
    if parsed is None or parsed.verb is not Verb.QUOTE_REVIEW:
        return None
    raw, op = parsed.arg(0) or "", parsed.arg(1)
    status = {"a": QuoteStatus.APPROVED, "h": QuoteStatus.HIDDEN}.get(op or "")
    return (int(raw), status) if raw.isdigit() and status else None


def candidate_view(row: QuoteRow) -> View:
    role: Part = Msg(f"role.group.{row.role}") if row.role else Msg("quotes.no_role")
    heading = Msg(
        "quotes.item",
        {
            "topic": CatalogueText(row.recommendation_id, "plain_title"),
            "question": Msg(f"mydata.question.{row.question}"),
            "role": role,
        },
    )
    state = Msg(f"quotes.state.{row.status.value}")
    buttons: list[Button] = []
    if row.status is not QuoteStatus.APPROVED:
        buttons.append(
            Button(Msg("quotes.approve"), callback(Verb.QUOTE_REVIEW, str(row.answer_id), "a"))
        )
    if row.status is not QuoteStatus.HIDDEN:
        buttons.append(
            Button(Msg("quotes.hide"), callback(Verb.QUOTE_REVIEW, str(row.answer_id), "h"))
        )
    return View(
        (Lines((heading, state)), Msg("quotes.text", {"text": Literal(row.text)})),
        (tuple(buttons),),
    )


def handle(
    snapshot: QuotesSnapshot, event: Command | ButtonPress, decided: QuoteRow | None = None
) -> QuotesOutcome:
    if not snapshot.is_facilitator:
        return QuotesOutcome([text_view("fac.not_allowed")], refused=True)
    if isinstance(event, ButtonPress):
        if decided is None:
            return QuotesOutcome(toast=Msg("stale_button"))
        return QuotesOutcome(
            [candidate_view(decided)], toast=Msg("quotes.saved"), replace_origin=True
        )
    workshop = snapshot.workshop
    if workshop is None:
        return QuotesOutcome([text_view("quotes.usage")])
    rows = snapshot.candidates
    counts = {status: sum(row.status is status for row in rows) for status in QuoteStatus}
    summary = Msg(
        "quotes.summary",
        {
            "title": Literal(workshop.title),
            "code": workshop.code,
            "pending": counts[QuoteStatus.PENDING],
            "approved": counts[QuoteStatus.APPROVED],
            "hidden": counts[QuoteStatus.HIDDEN],
        },
    )
    if not rows:
        return QuotesOutcome([View((summary, Msg("quotes.none")))])
    # Waiting ones first, then approved (which can still be hidden), then hidden.
    order = {QuoteStatus.PENDING: 0, QuoteStatus.APPROVED: 1, QuoteStatus.HIDDEN: 2}
    shown = sorted(rows, key=lambda row: order[row.status])[:PAGE]
    views = [View((summary, Msg("quotes.rules")))]
    views += [candidate_view(row) for row in shown]
    if len(rows) > PAGE:
        views.append(text_view("quotes.more", n=len(rows) - PAGE))
    return QuotesOutcome(views)
