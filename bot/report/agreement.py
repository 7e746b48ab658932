"""The agreement matrix: how much each role, and everyone, agrees on each recommendation.

Pure functions over ratings (1 "Not important" .. 5 "Very important", or None for
"unsure"); no I/O. The report draws one row per topic and one column per role plus
"everyone", and labels each row with the rules below.

Rules, in the order they are applied:

1. Only roles with at least `min_group_size` numeric ratings take part in the label (the
   same privacy floor the follow-up summary uses: a figure for one or two people says what
   those people said, and is too noisy to compare). With no such role the topic is
   `too_few`. With exactly one, the consensus rule can still apply; the divergence rules
   need two.
2. **Consensus**: every role taking part has at least 70% of its numeric ratings at 4 or 5
   *and* an interquartile range of at most 1. Both criteria are the most common Delphi
   definitions of consensus on a 5-point scale: a share of agreement of 70-75% and an
   IQR <= 1 (Diamond et al. 2014, "Defining consensus: a systematic review recommends
   methodologic criteria for reporting of Delphi studies", J Clin Epidemiol 67:401-409).
   Consensus is about the topic mattering, so it is checked *first*: one role rating all
   5s and another all 4s is consensus (everyone says "important") even though Cliff's
   delta between them is 1, the largest possible. Reporting that as divergence would tell
   a facilitator that roles disagree on a topic they all ranked near the top.
3. **Divergence**, otherwise, when either
   - the largest |Cliff's delta| between two roles taking part is >= 0.33, "medium" or
     "large" by the thresholds of Romano et al. (2006), "Appropriate statistics for
     ordinal level data" (Florida AIR): an effect size, so it does not grow with the
     number of participants as a p-value would; or
   - the Kruskal-Wallis test (Kruskal & Wallis 1952, "Use of ranks in one-criterion
     variance analysis", JASA 47:583-621) over the roles taking part that also have at
     least `kruskal_min` numeric ratings (at least two such roles) gives p < 0.05: it
     catches several roles each shifted a little the same way, which no single pair
     shows as a medium effect.
4. **Mixed** otherwise: neither consensus nor a clear difference between roles.

"Unsure" is counted and shown but is not a rating: it takes no part in n, the quartiles,
the share of high ratings, Cliff's delta or the test.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import combinations
from types import MappingProxyType

import numpy as np
from scipy import stats

RATING_VALUES: tuple[int, ...] = (1, 2, 3, 4, 5)
HIGH_RATINGS: frozenset[int] = frozenset({4, 5})
CONSENSUS_SHARE = 0.70
"""Lower end of the 70-75% agreement most often used in Delphi studies (Diamond et al.
2014), so a topic is not called divergent merely for missing a stricter bar."""
CONSENSUS_MAX_IQR = 1.0
"""IQR <= 1 on a 5-point scale: the middle half of ratings within one point (Diamond et
al. 2014 list it among the common definitions)."""
DIVERGENCE_DELTA = 0.33
"""Romano et al. (2006): |delta| >= 0.33 is a medium effect."""
KRUSKAL_ALPHA = 0.05
KRUSKAL_MIN = 5
"""Kruskal & Wallis (1952) show the chi-squared approximation of H is adequate with about
five observations per group; with fewer the p-value is not trustworthy."""


class Magnitude(StrEnum):
    NEGLIGIBLE = "negligible"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class Label(StrEnum):
    CONSENSUS = "consensus"
    DIVERGENCE = "divergence"
    MIXED = "mixed"
    TOO_FEW = "too_few"


@dataclass(frozen=True)
class RatingCell:
    """One group's ratings of one topic (a role, or everyone)."""

    n: int
    """Numeric ratings (1-5) only: "unsure" is an answer but not a position on the scale."""
    unsure: int
    distribution: Mapping[int, int]
    """Every value 1..5, always present, zero when unused, so bars line up across cells."""
    median: float | None
    q1: float | None
    q3: float | None
    iqr: float | None
    share_high: float | None
    """Fraction of numeric ratings that are 4 or 5; None (not 0) when there are none."""
    enough: bool
    """n >= min_group_size: below it the cell is shown but takes no part in the label."""


@dataclass(frozen=True)
class Difference:
    """The two roles furthest apart, as Cliff's delta of `role_a` against `role_b`."""

    role_a: str
    role_b: str
    delta: float
    """Signed: positive when `role_a` tends to rate higher than `role_b`."""
    magnitude: Magnitude


@dataclass(frozen=True)
class TopicAgreement:
    cells: Mapping[str, RatingCell]
    """Every role given, in the order given, including those without enough answers."""
    everyone: RatingCell
    label: Label
    largest_difference: Difference | None
    """None when fewer than two roles have enough answers."""
    kruskal_p: float | None
    """None when fewer than two roles had enough answers for the test."""


@dataclass(frozen=True)
class FollowupChange:
    """How one topic's ratings moved from the first round to the follow-up round."""

    paired: int
    """People with a numeric rating in both rounds: only they can show a shift."""
    changed: int
    iqr_before: float | None
    iqr_after: float | None
    """Both of the paired people only, so a narrower IQR means people moved, not that
    different people answered."""
    moved_towards_median: int
    """Changed people now closer to the first round's median (Delphi convergence)."""


def _check_ratings(values: Iterable[int]) -> list[int]:
    out = list(values)
    for value in out:
        if value not in RATING_VALUES:
            raise ValueError(f"rating {value!r} is not one of {RATING_VALUES}")
    return out


def _quartiles(values: Sequence[int]) -> tuple[float, float, float]:
    """Q1, median, Q3 by linear interpolation between order statistics.

    numpy's default `method="linear"` (Hyndman & Fan 1996, type 7), the same as Excel's
    QUARTILE.INC and `statistics.quantiles(method="inclusive")`, so a facilitator who
    checks a figure in a spreadsheet gets the same number. With one value all three are
    that value.
    """
    q1, median, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75], method="linear")
    return float(q1), float(median), float(q3)


def rating_cell(ratings: Iterable[int | None], min_group_size: int) -> RatingCell:
    """Summarise a group's ratings; None is "unsure".

    Quartiles use linear interpolation (numpy's `method="linear"`, Excel's QUARTILE.INC,
    `statistics.quantiles(method="inclusive")`); the IQR is Q3 - Q1.
    """
    if min_group_size < 1:
        raise ValueError("min_group_size must be at least 1")
    all_ratings = list(ratings)
    numeric = _check_ratings(r for r in all_ratings if r is not None)
    unsure = len(all_ratings) - len(numeric)
    distribution = MappingProxyType({v: numeric.count(v) for v in RATING_VALUES})
    n = len(numeric)
    if n == 0:
        return RatingCell(0, unsure, distribution, None, None, None, None, None, False)
    q1, median, q3 = _quartiles(numeric)
    high = sum(distribution[v] for v in HIGH_RATINGS)
    return RatingCell(
        n=n,
        unsure=unsure,
        distribution=distribution,
        median=median,
        q1=q1,
        q3=q3,
        iqr=q3 - q1,
        share_high=high / n,
        enough=n >= min_group_size,
    )


def cliffs_delta(a: Sequence[int], b: Sequence[int]) -> float:
    """Cliff's delta: P(a > b) - P(a < b) over all pairs, from -1 to 1.

    An ordinal effect size (Cliff 1993): it uses only the order of ratings, never their
    distance, which is all a "not important .. very important" scale supports. Counted by
    binary search in the sorted `b` (for each a, how many b lie below and above it), so
    groups of thousands cost O((n + m) log m), not the n x m pairs.
    """
    if not a or not b:
        raise ValueError("Cliff's delta needs at least one value in each group")
    a_arr = np.asarray(a, dtype=np.int64)
    b_sorted = np.sort(np.asarray(b, dtype=np.int64))
    below = np.searchsorted(b_sorted, a_arr, side="left")  # b < a_i
    not_above = np.searchsorted(b_sorted, a_arr, side="right")  # b <= a_i
    greater = int(below.sum())
    less = int((len(b_sorted) - not_above).sum())
    return (greater - less) / (len(a_arr) * len(b_sorted))


def delta_magnitude(d: float) -> Magnitude:
    """Romano et al. (2006) thresholds on |d|: < 0.147 negligible, < 0.33 small,
    < 0.474 medium, else large (derived from Cohen's d of 0.2, 0.5, 0.8)."""
    if math.isnan(d) or abs(d) > 1:
        raise ValueError(f"Cliff's delta must lie in [-1, 1], not {d!r}")
    size = abs(d)
    if size < 0.147:
        return Magnitude.NEGLIGIBLE
    if size < 0.33:
        return Magnitude.SMALL
    if size < 0.474:
        return Magnitude.MEDIUM
    return Magnitude.LARGE


def kruskal_p(groups: Sequence[Sequence[int]]) -> float | None:
    """Kruskal-Wallis p-value (tie-corrected H, chi-squared with k - 1 df; Kruskal & Wallis
    1952), or None with fewer than two groups (nothing to compare).

    When every value is identical no group differs from another, so p is 1.0: scipy
    cannot rank such data (older versions raise ValueError, newer ones warn and return
    NaN), and neither should reach the report.
    """
    if len(groups) < 2:
        return None
    if any(len(group) == 0 for group in groups):
        raise ValueError("Kruskal-Wallis needs at least one value in each group")
    first = groups[0][0]
    if all(value == first for group in groups for value in group):
        return 1.0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.kruskal(*(np.asarray(g, dtype=float) for g in groups))
    except ValueError:
        return 1.0
    p = float(result.pvalue)
    return 1.0 if math.isnan(p) else p


def _numeric(ratings: Iterable[int | None]) -> list[int]:
    return [r for r in ratings if r is not None]


def _is_consensus(cell: RatingCell) -> bool:
    return (
        cell.share_high is not None
        and cell.iqr is not None
        and cell.share_high >= CONSENSUS_SHARE
        and cell.iqr <= CONSENSUS_MAX_IQR
    )


def _largest_difference(numeric: Mapping[str, Sequence[int]]) -> Difference | None:
    best: Difference | None = None
    for role_a, role_b in combinations(numeric, 2):
        delta = cliffs_delta(numeric[role_a], numeric[role_b])
        # Strictly greater: on a tie the first pair in role order stays.
        if best is None or abs(delta) > abs(best.delta):
            best = Difference(role_a, role_b, delta, delta_magnitude(delta))
    return best


def topic_agreement(
    ratings_by_role: Mapping[str, Sequence[int | None]],
    min_group_size: int,
    *,
    kruskal_min: int = KRUSKAL_MIN,
) -> TopicAgreement:
    """Label one topic by the rules in the module docstring (consensus first).

    The largest difference and the Kruskal-Wallis p are computed whenever possible, even
    for a consensus, so the report can show them beside the label. The test only takes
    roles that count for the label *and* have `kruskal_min` numeric ratings: a role too
    small for the label must not tip it through the back door.
    """
    if kruskal_min < 1:
        raise ValueError("kruskal_min must be at least 1")
    cells = MappingProxyType(
        {role: rating_cell(ratings, min_group_size) for role, ratings in ratings_by_role.items()}
    )
    everyone = rating_cell(
        (r for ratings in ratings_by_role.values() for r in ratings), min_group_size
    )
    taking_part = {
        role: _numeric(ratings_by_role[role]) for role, cell in cells.items() if cell.enough
    }
    largest = _largest_difference(taking_part)
    tested = [values for values in taking_part.values() if len(values) >= kruskal_min]
    p = kruskal_p(tested)

    if not taking_part:
        label = Label.TOO_FEW
    elif all(_is_consensus(cells[role]) for role in taking_part):
        label = Label.CONSENSUS
    elif (largest is not None and abs(largest.delta) >= DIVERGENCE_DELTA) or (
        p is not None and p < KRUSKAL_ALPHA
    ):
        label = Label.DIVERGENCE
    else:
        label = Label.MIXED
    return TopicAgreement(cells, everyone, label, largest, p)


def followup_change(
    before: Mapping[str, int | None], after: Mapping[str, int | None]
) -> FollowupChange:
    """Compare one topic's ratings across rounds, person by person (keys are person ids).

    Only people with a numeric rating in both rounds are paired. Going from a number to
    "unsure" (or back) is not counted as a change: "unsure" is not a point on the scale,
    so there is no direction or size of shift to report, and counting it would read as
    people changing their minds when they only stopped (or started) giving an opinion.

    "Towards the median" is measured against the median of *all* first-round numeric
    ratings, the group position people were reacting to, not only the paired people's.
    """
    paired = [
        (first, second)
        for person, first in before.items()
        if first is not None and (second := after.get(person)) is not None
    ]
    for first, second in paired:
        _check_ratings((first, second))
    round_one = _check_ratings(_numeric(before.values()))
    changed = [(first, second) for first, second in paired if first != second]
    moved = 0
    if round_one:
        _, median, _ = _quartiles(round_one)
        moved = sum(1 for first, second in changed if abs(second - median) < abs(first - median))
    if paired:
        b1, _, b3 = _quartiles([first for first, _ in paired])
        a1, _, a3 = _quartiles([second for _, second in paired])
        iqr_before: float | None = b3 - b1
        iqr_after: float | None = a3 - a1
    else:
        iqr_before = iqr_after = None
    return FollowupChange(
        paired=len(paired),
        changed=len(changed),
        iqr_before=iqr_before,
        iqr_after=iqr_after,
        moved_towards_median=moved,
    )
