"""`/safety CODE [SETTING VALUE]`: who runs a workshop, its contact, helpline, leads, retention.

Each workshop can replace the settings' defaults (ORGANISATION_NAME, ORGANISATION_CONTACT,
PRIVACY_NOTICE_URL, DEFAULT_COUNTRY, RETENTION_MONTHS). Safeguarding leads are the people
alerted when someone writes words of distress: the creator unless set here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.flows.safeguarding.helplines import helpline_text, known_countries
from bot.flows.state import Command, WorkshopInfo
from bot.flows.views import Lines, Literal, Msg, Part, View, text_view

COMMAND = "safety"
MAX_TEXT = 200
SETTINGS = ("organisation", "contact", "privacy", "country", "helpline", "leads", "retention")


@dataclass(frozen=True)
class SafetySnapshot:
    is_facilitator: bool
    workshop: WorkshopInfo | None
    leads: tuple[int, ...] = ()
    # Whether the leads are the workshop's own choice (else the creator or FACILITATOR_IDS).
    leads_set: bool = False


@dataclass(frozen=True)
class ChangeSetting:
    workshop_id: int
    name: str
    value: str | int | tuple[int, ...] | None


@dataclass
class SafetyOutcome:
    views: list[View] = field(default_factory=list)
    changes: list[ChangeSetting] = field(default_factory=list)
    toast: Part | None = None  # a command has no button to answer: the shape of every outcome
    replace_origin: bool = False
    refused: bool = False


def code_in(event: Command) -> str | None:
    return event.args[0].strip().upper() if event.args else None


def overview(workshop: WorkshopInfo, leads: tuple[int, ...], leads_set: bool) -> View:
    def value(text: str | None) -> Part:
        return Literal(text) if text else Msg("safety.setting.none")

    helpline = helpline_text(workshop.country, workshop.helpline)
    lines: tuple[Part, ...] = (
        Msg("safety.setting.organisation", {"value": value(workshop.organisation)}),
        Msg("safety.setting.contact", {"value": value(workshop.contact)}),
        Msg("safety.setting.privacy", {"value": value(workshop.privacy_url)}),
        Msg("safety.setting.country", {"value": value(workshop.country)}),
        Msg("safety.setting.helpline", {"value": value(helpline)}),
        Msg(
            "safety.setting.leads" if leads_set else "safety.setting.leads_default",
            {"value": value(", ".join(str(lead) for lead in leads))},
        ),
        Msg("safety.setting.retention", {"months": workshop.retention_months}),
    )
    heading = Msg("safety.heading", {"title": Literal(workshop.title), "code": workshop.code})
    return View((heading, Lines(lines), Msg("safety.how_to_change")))


def _parse(name: str, raw: str) -> str | int | tuple[int, ...] | ValueError | None:
    text = raw.strip()
    if name == "country":
        code = text.upper()
        return code if code in known_countries() else ValueError("safety.bad_country")
    if name == "retention":
        return (
            int(text)
            if text.isdigit() and 1 <= int(text) <= 120
            else ValueError("safety.bad_retention")
        )
    if name == "leads":
        parts = [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]
        if text in ("-", "") or not parts:
            return ()
        if not all(part.isdigit() for part in parts):
            return ValueError("safety.bad_leads")
        return tuple(dict.fromkeys(int(part) for part in parts))
    if text == "-":
        return None  # back to the settings' default
    if len(text) > MAX_TEXT:
        return ValueError("safety.too_long")
    if name == "privacy" and not text.startswith(("https://", "http://")):
        return ValueError("safety.bad_url")
    return text


def handle(snapshot: SafetySnapshot, event: Command) -> SafetyOutcome:
    if not snapshot.is_facilitator:
        return SafetyOutcome([text_view("fac.not_allowed")], refused=True)
    workshop = snapshot.workshop
    if workshop is None:
        return SafetyOutcome([text_view("safety.usage")])
    args = event.args[1:]
    if not args:
        return SafetyOutcome([overview(workshop, snapshot.leads, snapshot.leads_set)])
    name = args[0].lower()
    if name not in SETTINGS or len(args) < 2:
        return SafetyOutcome([text_view("safety.usage")])
    parsed = _parse(name, " ".join(args[1:]))
    if isinstance(parsed, ValueError):
        return SafetyOutcome([text_view(str(parsed), limit=MAX_TEXT)])
    return SafetyOutcome(
        [text_view("safety.setting_saved", setting=name)],
        [ChangeSetting(workshop.id, name, parsed)],
    )
