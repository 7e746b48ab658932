"""The XLSX "Summary" sheet: one line per recommendation and role, then one for everyone.

The figures come from `bot.flows.stats`, the same numbers the bot shows facilitators in the
chat, fed while the responses stream past (so the export stays one pass over the answers).
Like /stats, they count the first round only, while the Responses sheet lists every round.
The lines are a column table like the response columns, so the header and the values cannot
get out of step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bot.exports.columns import Column, Kind, recommendation_title
from bot.flows.positions import TEXT_QUESTIONS
from bot.flows.stats import CellStats, WorkshopStats

ALL_ROLES = "all"
PRIORITY_KEYS = ("1", "2", "3", "4", "5", "unsure")


@dataclass(frozen=True, slots=True)
class SummaryLine:
    recommendation_id: str
    role: str
    participants: int
    cell: CellStats
    # None on the "all" line: under-representation is a property of one role.
    underrepresented: bool | None


def _mean(line: SummaryLine) -> float | None:
    mean = line.cell.mean
    return round(mean, 2) if mean is not None else None


def _count(key: str) -> Column[SummaryLine]:
    name = f"priority_{key}" if key != "unsure" else "priority_unsure"
    return Column(name, Kind.INT, lambda line: line.cell.distribution.get(key, 0))


def _text_count(question: str) -> Column[SummaryLine]:
    return Column(question, Kind.INT, lambda line: line.cell.texts[question])


SUMMARY_COLUMNS: tuple[Column[SummaryLine], ...] = (
    Column("recommendation_id", Kind.TEXT, lambda line: line.recommendation_id),
    Column(
        "recommendation_title",
        Kind.TEXT,
        lambda line: recommendation_title(line.recommendation_id),
        width=40,
    ),
    Column("role", Kind.TEXT, lambda line: line.role),
    Column("participants_in_role", Kind.INT, lambda line: line.participants, width=22),
    Column("participants_answered", Kind.INT, lambda line: line.cell.answered, width=22),
    Column("mean_priority", Kind.NUMBER, _mean),
    *(_count(key) for key in PRIORITY_KEYS),
    # One count per question answered in words (needs, concerns, ...): questions are data.
    *(_text_count(question) for question in TEXT_QUESTIONS),
    Column("underrepresented", Kind.BOOL, lambda line: line.underrepresented, width=18),
)


def summary_lines(stats: WorkshopStats) -> Iterator[SummaryLine]:
    """Per recommendation: a line for each role present, then the "all" line."""
    for rec_id in stats.recommendations:
        missing = stats.underrepresented.get(rec_id, ())
        for role in stats.roles:
            yield SummaryLine(
                recommendation_id=rec_id,
                role=role,
                participants=stats.participants_by_role.get(role, 0),
                cell=stats.cell(rec_id, role),
                underrepresented=role in missing,
            )
        yield SummaryLine(
            recommendation_id=rec_id,
            role=ALL_ROLES,
            participants=stats.participants,
            cell=stats.total(rec_id),
            underrepresented=None,
        )
