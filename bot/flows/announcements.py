"""What scheduled messages say: reminders, session prompts, the follow-up summary, nudges.

Pure view builders; times arrive already formatted for the reader's language and zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.flows.callbacks import Verb, callback
from bot.flows.stats import WorkshopStats, format_mean
from bot.flows.views import Button, CatalogueText, Lines, Literal, Msg, Part, View

QUOTE_CHARS = 140
QUOTES_PER_QUESTION = 2


def _footer() -> Msg:
    return Msg("announce.footer")


def _stop_rows() -> tuple[tuple[Button, ...], ...]:
    """Every reminder and nudge: stop the reminders, or stop and delete, in one tap."""
    return (
        (Button(Msg("reminders.stop_button"), callback(Verb.REMINDERS_OFF)),),
        (Button(Msg("withdraw.button"), callback(Verb.WITHDRAW)),),
    )


def day_before(title: str, when: str) -> View:
    text = Msg("announce.day_before", {"title": Literal(title), "when": when})
    return View((text, _footer()), _stop_rows())


def soon(title: str, at: str) -> View:
    return View(
        (Msg("announce.soon", {"title": Literal(title), "time": at}), _footer()), _stop_rows()
    )


def session_prompt(number: int, session_title: str, recs: Sequence[str]) -> View:
    """A button per recommendation of the session jumps straight to it (the `edit` verb)."""
    buttons = tuple(
        (Button(CatalogueText(rec, "plain_title"), callback(Verb.EDIT, rec)),) for rec in recs
    )
    text = Msg("announce.session", {"n": number, "session": Literal(session_title)})
    return View((text,), buttons)


def broadcast(title: str, text: str) -> View:
    return View((Msg("announce.broadcast", {"title": Literal(title), "text": Literal(text)}),))


def nudge(title: str) -> View:
    return View(
        (Msg("announce.nudge", {"title": Literal(title)}), _footer()),
        ((Button(Msg("button.continue"), callback(Verb.RESUME)),), *_stop_rows()),
    )


@dataclass(frozen=True)
class Quotes:
    """A few things people wrote, per recommendation, without who wrote them."""

    by_question: Mapping[str, Mapping[str, Sequence[str]]]
    """question id (needs, concerns...) -> recommendation -> what people wrote"""


def shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


def followup(
    title: str,
    recs: Sequence[str],
    stats: WorkshopStats,
    quotes: Quotes,
    decimal_mark: str,
    min_group_size: int = 5,
) -> View:
    """What the group said about each recommendation this person answered (never who).

    A role with fewer than `min_group_size` answers shows no figure: with one service user,
    "mean 1.0" would be that person's own rating, told to everyone.
    """
    blocks: list[Part] = [Msg("announce.followup", {"title": Literal(title)})]
    for rec in recs:
        lines: list[Part] = [
            Msg("announce.followup_rec", {"title": CatalogueText(rec, "plain_title")})
        ]
        for role in stats.roles:
            cell = stats.cell(rec, role)
            if not cell.answered:
                continue
            role_name = Msg(f"role.group.{role}")
            if cell.answered < min_group_size:
                lines.append(
                    Msg("announce.followup_too_few", {"role": role_name, "min": min_group_size})
                )
            elif cell.mean is None:
                lines.append(
                    Msg("announce.followup_no_mean", {"role": role_name, "n": cell.answered})
                )
            else:
                value = format_mean(cell.mean, decimal_mark)
                lines.append(
                    Msg(
                        "announce.followup_role",
                        {"role": role_name, "n": cell.answered, "mean": value},
                    )
                )
        for question, said in quotes.by_question.items():
            for text in said.get(rec, ())[:QUOTES_PER_QUESTION]:
                key = f"announce.followup_{question}"
                lines.append(Msg(key, {"text": Literal(shorten(text))}))
        blocks.append(Lines(tuple(lines)))
    blocks.append(Msg("announce.followup_question"))
    return View(tuple(blocks), ((Button(Msg("followup.start"), callback(Verb.FOLLOWUP)),),))
