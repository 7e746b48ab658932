"""What a safeguarding lead sees and may do with an alert, as pure decisions.

The alert never carries the words in the message that notifies the lead (a phone shows the
first lines of a message on its lock screen); they appear only when the lead taps "Show the
words", by editing that message, which makes no notification.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.flows.callbacks import Callback, Verb, callback, decode
from bot.flows.state import ButtonPress, Command, TextInput
from bot.flows.views import Button, CatalogueText, Lines, Literal, Msg, Part, View, text_view

MAX_RELAY_CHARS = 3000


def leads_for(
    configured: Iterable[int], created_by: int | None, facilitator_ids: Iterable[int]
) -> tuple[int, ...]:
    """Who is alerted: the workshop's leads, else its creator, else FACILITATOR_IDS."""
    chosen = tuple(dict.fromkeys(int(user_id) for user_id in configured))
    if chosen:
        return chosen
    if created_by is not None:
        return (created_by,)
    return tuple(sorted(facilitator_ids))


class Op(StrEnum):
    SHOW = "show"
    HANDLED = "done"
    WRITE = "write"
    END = "end"


@dataclass(frozen=True)
class AlertInfo:
    id: int
    workshop_code: str
    workshop_title: str
    pseudonym: str
    rec: str | None
    categories: tuple[str, ...]
    created_at: datetime
    words: str
    contact_requested: bool = False
    handled_at: datetime | None = None
    relay_lead_id: int | None = None
    relay_open: bool = False


@dataclass(frozen=True)
class LeadSnapshot:
    user_id: int
    alert: AlertInfo | None
    # The lead may act on this alert (a lead of its workshop or a configured facilitator).
    allowed: bool


@dataclass(frozen=True)
class MarkHandled:
    alert_id: int


@dataclass(frozen=True)
class OpenRelay:
    alert_id: int


@dataclass(frozen=True)
class CloseRelay:
    alert_id: int


@dataclass(frozen=True)
class RelayToPerson:
    alert_id: int
    text: str


LeadChange = MarkHandled | OpenRelay | CloseRelay | RelayToPerson


@dataclass
class LeadOutcome:
    views: list[View] = field(default_factory=list)
    changes: list[LeadChange] = field(default_factory=list)
    toast: Part | None = None
    replace_origin: bool = False
    refused: bool = False


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def alert_view(alert: AlertInfo, *, show_words: bool = False) -> View:
    """The alert as a lead reads it; the words only when asked for."""
    topic: Part = CatalogueText(alert.rec, "plain_title") if alert.rec else Msg("alert.no_topic")
    signs = Lines(tuple(Msg(f"alert.category.{name}") for name in alert.categories))
    lines: list[Part] = [
        Msg(
            "alert.workshop", {"title": Literal(alert.workshop_title), "code": alert.workshop_code}
        ),
        Msg("alert.participant", {"pseudonym": alert.pseudonym}),
        Msg("alert.topic", {"topic": topic}),
        Msg("alert.when", {"when": _when(alert.created_at)}),
    ]
    blocks: list[Part] = [Msg("alert.heading"), Lines(tuple(lines))]
    if alert.categories:
        blocks += [Msg("alert.signs"), signs]
    if alert.contact_requested:
        blocks.append(Msg("alert.contact_requested"))
    if show_words:
        words: Part = Literal(alert.words) if alert.words else Msg("alert.no_words")
        blocks.append(Msg("alert.words", {"words": words}))
    else:
        blocks.append(Msg("alert.words_hidden"))
    if alert.handled_at is not None:
        blocks.append(Msg("alert.handled", {"when": _when(alert.handled_at)}))
    return View(tuple(blocks), _buttons(alert, show_words=show_words))


def _buttons(alert: AlertInfo, *, show_words: bool) -> tuple[tuple[Button, ...], ...]:
    code = str(alert.id)
    rows: list[tuple[Button, ...]] = []
    if not show_words:
        rows.append((Button(Msg("alert.show_words"), callback(Verb.ALERT, code, Op.SHOW)),))
    if alert.relay_open:
        rows.append((Button(Msg("alert.end_relay"), callback(Verb.ALERT, code, Op.END)),))
    else:
        rows.append((Button(Msg("alert.write"), callback(Verb.ALERT, code, Op.WRITE)),))
    if alert.handled_at is None:
        rows.append((Button(Msg("alert.mark_handled"), callback(Verb.ALERT, code, Op.HANDLED)),))
    return tuple(rows)


def alert_id_in(event: ButtonPress) -> int | None:
    parsed = decode(event.data)
    if parsed is None or parsed.verb is not Verb.ALERT:
        return None
    raw = parsed.arg(0) or ""
    return int(raw) if raw.isdigit() else None


def handle(snapshot: LeadSnapshot, event: ButtonPress | TextInput | Command) -> LeadOutcome:
    alert = snapshot.alert
    if isinstance(event, TextInput | Command):
        # Typed while a conversation is open (the handler only calls this then).
        if alert is None or not alert.relay_open:
            return LeadOutcome([text_view("relay.lead_not_open")])
        if isinstance(event, Command):
            return LeadOutcome(
                [text_view("relay.lead_ended", pseudonym=alert.pseudonym)],
                [CloseRelay(alert.id)],
            )
        text = event.text.strip()
        if not text:
            return LeadOutcome()
        if len(text) > MAX_RELAY_CHARS:
            return LeadOutcome([text_view("relay.too_long", limit=MAX_RELAY_CHARS)])
        return LeadOutcome(
            [text_view("relay.lead_sent", pseudonym=alert.pseudonym)],
            [RelayToPerson(alert.id, text)],
        )
    if not snapshot.allowed:
        return LeadOutcome([text_view("fac.not_allowed")], refused=True)
    if alert is None:
        return LeadOutcome(toast=Msg("stale_button"))
    parsed = decode(event.data) or Callback(Verb.ALERT)
    op = parsed.arg(1)
    if op == Op.SHOW:
        return LeadOutcome([alert_view(alert, show_words=True)], replace_origin=True)
    if op == Op.HANDLED:
        if alert.handled_at is not None:
            return LeadOutcome(toast=Msg("alert.already_handled"))
        return LeadOutcome(
            [text_view("alert.marked_handled", pseudonym=alert.pseudonym)],
            [MarkHandled(alert.id)],
        )
    if op == Op.WRITE:
        if alert.relay_open and alert.relay_lead_id not in (None, snapshot.user_id):
            return LeadOutcome([text_view("relay.other_lead")])
        return LeadOutcome(
            [text_view("relay.lead_opened", pseudonym=alert.pseudonym)], [OpenRelay(alert.id)]
        )
    if op == Op.END:
        if not alert.relay_open:
            return LeadOutcome(toast=Msg("relay.not_open"))
        return LeadOutcome(
            [text_view("relay.lead_ended", pseudonym=alert.pseudonym)], [CloseRelay(alert.id)]
        )
    return LeadOutcome(toast=Msg("stale_button"))
