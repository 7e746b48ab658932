"""`/stats`: the figures a facilitator reads during a workshop, and their text summary.

The figures are computed in one streaming pass over the answers, keeping counters rather than
rows, so a workshop of 100,000 answers costs the same memory as one of ten: the counters grow
with recommendations × roles, never with answers. Means are derived from the counted
distribution (priorities are whole numbers), so nothing else needs to be kept.

The text summary says the same things as the chart (bot/charts.py), for people who cannot
read an image (screen readers) and for a chat where images are slow to load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.flows.catalogue import ROLES
from bot.flows.parsing import NOT_SURE, PRIORITY_VALUES
from bot.flows.positions import TEXT_QUESTIONS, Question
from bot.flows.views import CatalogueText, Lines, Literal, Msg, Part, View

if TYPE_CHECKING:
    # Type only: the flows stay free of the database layer at run time.
    from storage.repositories.responses import ResponseRow

# The catalogue's roles, in the order people see them (roles are data: topics/structure.yaml).
ROLE_ORDER: tuple[str, ...] = ROLES
FALLBACK_ROLE = "other"
NUMERIC_PRIORITIES: tuple[str, ...] = tuple(v for v in PRIORITY_VALUES if v != NOT_SURE)
PRIORITY_KEYS: tuple[str, ...] = PRIORITY_VALUES
COUNTED_ROUND = 1
"""Only the first round feeds /stats: a follow-up round asks again, and mixing both would
count one person twice for the same recommendation."""

# Positions in a cell's counter list: the six priority keys, then one per text question.
_SLOT = {key: index for index, key in enumerate(PRIORITY_KEYS)}
_TEXT_SLOT: dict[str, int] = {
    question: len(PRIORITY_KEYS) + n for n, question in enumerate(TEXT_QUESTIONS)
}
_COUNTERS = len(PRIORITY_KEYS) + len(TEXT_QUESTIONS)


@dataclass(frozen=True)
class CellStats:
    """One recommendation × one role (or all roles, from `WorkshopStats.total`)."""

    answered: int
    """Priorities given, not skipped; "unsure" counts: the person did answer."""
    distribution: Mapping[str, int]
    """Every key of PRIORITY_KEYS ("1".."5", "unsure"), always present, zero when unused."""
    mean: float | None
    """Mean of the numeric priorities only; None when there are none (not 0, which would
    read as a low priority)."""
    texts: Mapping[str, int]
    """Per text question (needs, concerns...): answers given in words or voice, not skipped."""


def _cell(counts: Sequence[int]) -> CellStats:
    distribution = {key: counts[_SLOT[key]] for key in PRIORITY_KEYS}
    numeric = sum(distribution[key] for key in NUMERIC_PRIORITIES)
    weighted = sum(int(key) * distribution[key] for key in NUMERIC_PRIORITIES)
    return CellStats(
        answered=numeric + distribution[NOT_SURE],
        distribution=MappingProxyType(distribution),
        mean=weighted / numeric if numeric else None,
        texts=MappingProxyType({question: counts[slot] for question, slot in _TEXT_SLOT.items()}),
    )


EMPTY_CELL = _cell([0] * _COUNTERS)


def is_underrepresented(answered: int, best: int) -> bool:
    """The "voice missing" rule: fewer than half the priorities of the best-represented role.

    With `best` the highest `answered` of any role on the same recommendation, a role is
    flagged when `2 * answered < best`. So a role with no answer is flagged as soon as
    another role has one (0 vs 1), 1 vs 3 is flagged, 1 vs 2 is not (too few to call), and
    nothing is flagged while no role has answered. The rule compares absolute counts, not
    shares of each role's participants, because what a facilitator needs to know is whose
    voice is thin in the room, whatever the reason.
    """
    return 2 * answered < best


@dataclass(frozen=True)
class WorkshopStats:
    recommendations: tuple[str, ...]
    """The workshop's scope, in order."""
    roles: tuple[str, ...]
    """ROLE_ORDER filtered to roles with at least one participant (or, if the participant
    list was incomplete, at least one counted answer, so no answer is silently dropped)."""
    participants_by_role: Mapping[str, int]
    """Every role of ROLE_ORDER, zero when nobody has it."""
    cells: Mapping[tuple[str, str], CellStats]
    """(rec, role) for every rec in `recommendations` and every role in `roles`."""
    underrepresented: Mapping[str, tuple[str, ...]]
    """rec -> roles flagged by `is_underrepresented`, in ROLE_ORDER; only recs with any."""
    easy_read: int = 0
    """Participants who read the easy-read texts."""

    @property
    def participants(self) -> int:
        return sum(self.participants_by_role.values())

    def cell(self, rec: str, role: str) -> CellStats:
        """A role without participants reads as empty; an unknown rec is a caller's bug."""
        if rec not in self.recommendations:
            raise KeyError(rec)
        return self.cells.get((rec, role), EMPTY_CELL)

    def total(self, rec: str) -> CellStats:
        """All roles together, summed from the per-role counters (no second pass)."""
        counts = [0] * _COUNTERS
        for role in self.roles:
            cell = self.cell(rec, role)
            for key in PRIORITY_KEYS:
                counts[_SLOT[key]] += cell.distribution[key]
            for question, slot in _TEXT_SLOT.items():
                counts[slot] += cell.texts[question]
        return _cell(counts)


def _role(role: str | None) -> str:
    """No role yet, or a role this code does not know, is shown as "other", never dropped."""
    return role if role in ROLE_ORDER else FALLBACK_ROLE


def _has_content(row: ResponseRow) -> bool:
    return row.is_voice or bool(row.value and row.value.strip())


class StatsAccumulator:
    """Feed participants and answer rows in any order, then read `result()`.

    Each participant answers each question once per round (later changes edit the same
    answer), so counting rows counts people.
    """

    def __init__(self, scope: Sequence[str]) -> None:
        self._scope = tuple(dict.fromkeys(scope))
        self._participants = dict.fromkeys(ROLE_ORDER, 0)
        self._answering_roles: set[str] = set()
        self._easy_read = 0
        self._counts: dict[tuple[str, str], list[int]] = {}

    def add_participant(self, role: str | None, easy_read: bool = False) -> None:
        self._participants[_role(role)] += 1
        self._easy_read += easy_read

    def add(self, row: ResponseRow) -> None:
        if row.round != COUNTED_ROUND or row.skipped or row.recommendation_id not in self._scope:
            return
        if row.question == Question.PRIORITY:
            slot = _SLOT.get(row.value or "")
        else:
            slot = _TEXT_SLOT.get(row.question) if _has_content(row) else None
        if slot is None:
            return
        role = _role(row.role)
        key = (row.recommendation_id, role)
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0] * _COUNTERS
        counts[slot] += 1
        self._answering_roles.add(role)

    def result(self) -> WorkshopStats:
        """A snapshot: adding more afterwards does not change an earlier result."""
        roles = tuple(
            role
            for role in ROLE_ORDER
            if self._participants[role] or role in self._answering_roles
        )
        cells: dict[tuple[str, str], CellStats] = {}
        underrepresented: dict[str, tuple[str, ...]] = {}
        for rec in self._scope:
            row_cells = {
                role: _cell(self._counts.get((rec, role), [0] * _COUNTERS)) for role in roles
            }
            cells.update(((rec, role), cell) for role, cell in row_cells.items())
            best = max((cell.answered for cell in row_cells.values()), default=0)
            flagged = tuple(
                role
                for role, cell in row_cells.items()
                if is_underrepresented(cell.answered, best)
            )
            if flagged:
                underrepresented[rec] = flagged
        return WorkshopStats(
            recommendations=self._scope,
            roles=roles,
            participants_by_role=MappingProxyType(dict(self._participants)),
            cells=MappingProxyType(cells),
            underrepresented=MappingProxyType(underrepresented),
            easy_read=self._easy_read,
        )


def format_mean(mean: float, decimal: str = ".") -> str:
    """One decimal, half away from zero (3.85 -> 3.9, as people round), with the reader's
    decimal mark; shared with the chart so both say the same number."""
    tenths = int(mean * 10 + 0.5 + 1e-9)
    return f"{tenths // 10}{decimal}{tenths % 10}"


def _role_label(role: str) -> Msg:
    return Msg(f"role.group.{role}")


def _mean(mean: float | None) -> Msg:
    """The decimal mark is in the template, so French reads "3,8"."""
    if mean is None:
        return Msg("stats.only_unsure")
    units, tenths = format_mean(mean).split(".")
    return Msg("stats.mean", {"units": units, "tenths": tenths})


def _role_summary(role: str, cell: CellStats) -> Msg:
    if not cell.answered:
        return Msg("stats.role_no_answers", {"role": _role_label(role)})
    return Msg(
        "stats.role_summary",
        {"role": _role_label(role), "answered": cell.answered, "mean": _mean(cell.mean)},
    )


def _distribution(distribution: Mapping[str, int]) -> Msg:
    params: dict[str, str | int] = {f"p{key}": distribution[key] for key in NUMERIC_PRIORITIES}
    params["unsure"] = distribution[NOT_SURE]
    return Msg("stats.distribution", params)


def _join(parts: Sequence[Part]) -> Part:
    """ "a, b, c" built from nested messages, so the separator is translatable."""
    joined = parts[-1]
    for part in reversed(parts[:-1]):
        joined = Msg("stats.list", {"first": part, "rest": joined})
    return joined


def _recommendation_block(stats: WorkshopStats, rec: str) -> Lines:
    lines: list[Part] = [Msg("stats.rec_title", {"title": CatalogueText(rec, "plain_title")})]
    for role in stats.roles:
        cell = stats.cell(rec, role)
        lines.append(_role_summary(role, cell))
        lines.append(
            Msg(
                "stats.role_detail",
                {
                    "distribution": _distribution(cell.distribution),
                    "texts": _join(
                        [
                            Msg(
                                "stats.text_count",
                                {
                                    "question": Msg(f"mydata.question.{question}"),
                                    "count": count,
                                },
                            )
                            for question, count in cell.texts.items()
                        ]
                    ),
                },
            )
        )
    missing = stats.underrepresented.get(rec, ())
    if missing:
        lines.append(
            Msg("stats.voice_missing", {"roles": _join([_role_label(r) for r in missing])})
        )
    return Lines(tuple(lines))


def stats_views(stats: WorkshopStats, workshop_title: str, workshop_code: str) -> list[View]:
    """The /stats text: a heading, then one short block per recommendation.

    Each recommendation is its own block so the renderer can split a long summary between
    recommendations, never inside one.
    """
    heading: list[Part] = [
        Msg("stats.heading", {"title": Literal(workshop_title), "code": workshop_code}),
        Msg("stats.participants_total", {"participants": stats.participants}),
    ]
    heading.extend(
        Msg(
            "stats.participants_role",
            {"role": _role_label(role), "count": stats.participants_by_role[role]},
        )
        for role in stats.roles
    )
    heading.append(Msg("stats.easy_read", {"count": stats.easy_read}))
    blocks: list[Part] = [Lines(tuple(heading))]
    if not stats.roles:
        blocks.append(Msg("stats.empty"))
    else:
        blocks.extend(_recommendation_block(stats, rec) for rec in stats.recommendations)
    return [View(tuple(blocks))]
