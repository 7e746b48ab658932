"""The agreement matrix, on fixtures small enough to check on paper (the working is in the
comments). Quartiles are numpy's "linear" method: position (n - 1) * p in the sorted list,
0-based, interpolating between neighbours."""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
import warnings

import numpy as np
import pytest
from scipy import stats

from bot.report.agreement import (
    Difference,
    FollowupChange,
    Label,
    Magnitude,
    RatingCell,
    cliffs_delta,
    delta_magnitude,
    followup_change,
    kruskal_p,
    rating_cell,
    topic_agreement,
)

# --- rating_cell -------------------------------------------------------------------------


def test_cell_odd_count() -> None:
    # sorted [1, 2, 4, 5, 5], n = 5: Q1 at position 4 * 0.25 = 1 -> 2; median at 2 -> 4;
    # Q3 at 3 -> 5; IQR 3. High (4 or 5): three of five = 0.6.
    # (The "exclusive" method would give Q1 = 1.5, so this pins the method.)
    cell = rating_cell([5, 1, 4, 2, 5], min_group_size=5)
    assert (cell.median, cell.q1, cell.q3, cell.iqr) == (4.0, 2.0, 5.0, 3.0)
    assert cell.share_high == pytest.approx(0.6)
    assert cell.n == 5
    assert cell.unsure == 0
    assert cell.enough is True
    assert dict(cell.distribution) == {1: 1, 2: 1, 3: 0, 4: 1, 5: 2}


def test_cell_even_count_interpolates() -> None:
    # sorted [1, 2, 3, 4], n = 4: Q1 at 3 * 0.25 = 0.75 -> 1 + 0.75 * (2 - 1) = 1.75;
    # median at 1.5 -> 2.5; Q3 at 2.25 -> 3 + 0.25 * (4 - 3) = 3.25; IQR 1.5.
    # High: only the 4, so 1/4.
    cell = rating_cell([4, 3, 2, 1], min_group_size=5)
    assert cell.q1 == pytest.approx(1.75)
    assert cell.median == pytest.approx(2.5)
    assert cell.q3 == pytest.approx(3.25)
    assert cell.iqr == pytest.approx(1.5)
    assert cell.share_high == pytest.approx(0.25)
    assert cell.enough is False  # 4 < 5


def test_cell_single_rating() -> None:
    # One value: every quartile is that value, the IQR is 0, and 4 is "high".
    cell = rating_cell([4], min_group_size=1)
    assert (cell.median, cell.q1, cell.q3, cell.iqr) == (4.0, 4.0, 4.0, 0.0)
    assert cell.share_high == 1.0
    assert cell.enough is True
    assert rating_cell([4], min_group_size=2).enough is False


def test_cell_without_numeric_ratings() -> None:
    cell = rating_cell([None, None], min_group_size=1)
    assert cell.n == 0
    assert cell.unsure == 2
    assert (cell.median, cell.q1, cell.q3, cell.iqr, cell.share_high) == (None,) * 5
    assert cell.enough is False
    assert dict(cell.distribution) == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    assert rating_cell([], min_group_size=1).unsure == 0


def test_unsure_is_counted_but_not_a_rating() -> None:
    # Numeric [5, 5, 3] -> sorted [3, 5, 5]: median 5, Q1 at 0.5 -> 4, Q3 at 1.5 -> 5.
    # High: two of three (the unsure answers are not in the denominator).
    cell = rating_cell([5, None, 5, None, 3], min_group_size=3)
    assert cell.n == 3
    assert cell.unsure == 2
    assert cell.median == 5.0
    assert cell.q1 == pytest.approx(4.0)
    assert cell.share_high == pytest.approx(2 / 3)
    assert cell.enough is True  # three numeric ratings, not five answers
    assert rating_cell([5, None, 5, None, 3], min_group_size=4).enough is False


def test_cell_matches_the_inclusive_quartiles_of_the_standard_library() -> None:
    rng = random.Random(7)
    for size in (2, 3, 6, 11, 40):
        values = [rng.randint(1, 5) for _ in range(size)]
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
        cell = rating_cell(values, min_group_size=1)
        assert (cell.q1, cell.median, cell.q3) == pytest.approx((q1, median, q3)), values


def test_cell_rejects_values_off_the_scale() -> None:
    with pytest.raises(ValueError):
        rating_cell([3, 6], min_group_size=1)
    with pytest.raises(ValueError):
        rating_cell([0], min_group_size=1)


def test_cell_is_frozen() -> None:
    cell = rating_cell([3], min_group_size=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cell.n = 2  # type: ignore[misc]


# --- Cliff's delta -----------------------------------------------------------------------


def test_cliffs_delta_by_hand() -> None:
    # a = [1, 2, 3], b = [2, 3, 4]; the 9 pairs (a, b):
    #   a=1: below 2, 3, 4             -> 0 greater, 3 less
    #   a=2: ties 2, below 3, 4        -> 0 greater, 2 less
    #   a=3: above 2, ties 3, below 4  -> 1 greater, 1 less
    # delta = (1 - 6) / 9 = -5/9
    assert cliffs_delta([1, 2, 3], [2, 3, 4]) == pytest.approx(-5 / 9)
    # Unequal sizes: a = [5, 5], b = [1, 3, 5]: each 5 beats 1 and 3, ties 5
    # -> 4 greater, 0 less over 6 pairs = 2/3.
    assert cliffs_delta([5, 5], [1, 3, 5]) == pytest.approx(2 / 3)
    assert cliffs_delta([5, 5, 5], [1]) == 1.0
    assert cliffs_delta([3, 3], [3]) == 0.0


def test_cliffs_delta_is_antisymmetric() -> None:
    for a, b in (([1, 2, 3], [2, 3, 4]), ([5, 5], [1, 3, 5]), ([1, 4, 4, 5], [3])):
        assert cliffs_delta(a, b) == pytest.approx(-cliffs_delta(b, a))
        assert cliffs_delta(a, b) != 0


def test_cliffs_delta_on_large_groups_matches_all_pairs() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(1, 6, size=3000)
    b = rng.integers(1, 6, size=2000)
    expected = float(np.sign(np.subtract.outer(a, b)).mean())
    assert cliffs_delta(a.tolist(), b.tolist()) == pytest.approx(expected)


def test_cliffs_delta_needs_both_groups() -> None:
    with pytest.raises(ValueError):
        cliffs_delta([], [1])
    with pytest.raises(ValueError):
        cliffs_delta([1], [])


@pytest.mark.parametrize(
    ("d", "magnitude"),
    [
        (0.0, Magnitude.NEGLIGIBLE),
        (0.146, Magnitude.NEGLIGIBLE),
        (0.147, Magnitude.SMALL),
        (-0.147, Magnitude.SMALL),
        (0.329, Magnitude.SMALL),
        (0.33, Magnitude.MEDIUM),
        (-0.473, Magnitude.MEDIUM),
        (0.474, Magnitude.LARGE),
        (-1.0, Magnitude.LARGE),
    ],
)
def test_delta_magnitude_thresholds(d: float, magnitude: Magnitude) -> None:
    assert delta_magnitude(d) is magnitude


def test_delta_magnitude_rejects_impossible_values() -> None:
    with pytest.raises(ValueError):
        delta_magnitude(1.5)
    with pytest.raises(ValueError):
        delta_magnitude(math.nan)


# --- Kruskal-Wallis ----------------------------------------------------------------------


def test_kruskal_by_hand_without_ties() -> None:
    # A = [1, 2], B = [3], C = [4, 5]: N = 5, ranks are the values, so R = 3, 3, 9.
    # H = 12 / (N (N + 1)) * sum(R_i^2 / n_i) - 3 (N + 1)
    #   = 12 / 30 * (9/2 + 9/1 + 81/2) - 18 = 0.4 * 54 - 18 = 3.6
    # With k - 1 = 2 degrees of freedom the chi-squared tail is exp(-H / 2) = exp(-1.8).
    h = 3.6
    p = kruskal_p([[1, 2], [3], [4, 5]])
    assert p == pytest.approx(stats.chi2.sf(h, 2))
    assert p == pytest.approx(math.exp(-1.8))


def test_kruskal_by_hand_two_groups() -> None:
    # A = [1, 2], B = [3, 4, 5]: R = 3, 12.
    # H = 0.4 * (9/2 + 144/3) - 18 = 0.4 * 52.5 - 18 = 3.0, one degree of freedom.
    assert kruskal_p([[1, 2], [3, 4, 5]]) == pytest.approx(stats.chi2.sf(3.0, 1))


def test_kruskal_with_ties_by_hand() -> None:
    # A: 60 threes and 40 fours; B: 40 threes and 60 fours. N = 200.
    # 100 threes share ranks 1..100 (mid-rank 50.5), 100 fours ranks 101..200 (150.5).
    # R_A = 60 * 50.5 + 40 * 150.5 = 9050, R_B = 40 * 50.5 + 60 * 150.5 = 11050.
    # H0 = 12 / (200 * 201) * (9050^2 + 11050^2) / 100 - 3 * 201
    #    = 12 / 40200 * 2040050 - 603 = 5.970149...
    # Tie correction 1 - 2 * (100^3 - 100) / (200^3 - 200) = 1 - 1999800 / 7999800
    # H = H0 / 0.750019 = 7.95999...
    h0 = 12 / 40200 * 2040050 - 603
    h = h0 / (1 - 1999800 / 7999800)
    assert h == pytest.approx(7.96, abs=0.001)
    p = kruskal_p([[3] * 60 + [4] * 40, [3] * 40 + [4] * 60])
    assert p == pytest.approx(stats.chi2.sf(h, 1))
    assert p is not None and p < 0.05


def test_kruskal_identical_values_is_one_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kruskal_p([[3, 3], [3, 3, 3]]) == 1.0
        assert kruskal_p([[5], [5], [5]]) == 1.0


def test_kruskal_needs_two_groups() -> None:
    assert kruskal_p([]) is None
    assert kruskal_p([[1, 2, 3]]) is None
    with pytest.raises(ValueError):
        kruskal_p([[1, 2], []])


# --- topic_agreement ---------------------------------------------------------------------


def test_consensus() -> None:
    # worker sorted [4, 4, 5, 5, 5]: all high, Q1 = 4, Q3 = 5, IQR 1 (at the limit).
    # service_user sorted [4, 4, 4, 4, 5]: all high, IQR 0.
    # Cliff's delta worker vs service_user: each 4 loses to the one 5 (2 less), each 5
    # beats four 4s (12 greater): (12 - 2) / 25 = 0.4, medium; consensus is checked first.
    result = topic_agreement(
        {"worker": [5, 5, 4, 4, 5], "service_user": [4, 4, 5, 4, 4, None]}, min_group_size=5
    )
    assert result.label is Label.CONSENSUS
    assert result.largest_difference == Difference(
        "worker", "service_user", pytest.approx(0.4), Magnitude.MEDIUM
    )
    # Both roles have 5 numeric ratings (kruskal_min), so the test is reported too.
    assert result.kruskal_p is not None
    assert result.kruskal_p == pytest.approx(
        stats.kruskal([5, 5, 4, 4, 5], [4, 4, 5, 4, 4]).pvalue
    )


def test_consensus_comes_before_divergence() -> None:
    # All 5s against all 4s: Cliff's delta is 1 (large), but every rating is "important".
    result = topic_agreement({"worker": [5] * 6, "technologist": [4] * 6}, min_group_size=5)
    assert result.label is Label.CONSENSUS
    assert result.largest_difference is not None
    assert result.largest_difference.delta == 1.0
    assert result.largest_difference.magnitude is Magnitude.LARGE


def test_consensus_share_threshold() -> None:
    # 7 of 10 high: sorted [3, 3, 3, 4 x 7]; Q1 at 9 * 0.25 = 2.25 -> 3 + 0.25 = 3.25,
    # Q3 at 6.75 -> 4, IQR 0.75. Share 0.7 -> consensus (one role is enough for it).
    seven = [4] * 7 + [3] * 3
    assert topic_agreement({"worker": seven}, 5).label is Label.CONSENSUS
    # 6 of 10 high: sorted [3 x 4, 4 x 6]; Q1 at 2.25 -> 3, Q3 -> 4, IQR 1.
    # Share 0.6 < 0.7 -> not consensus; with one role nothing can diverge -> mixed.
    six = [4] * 6 + [3] * 4
    result = topic_agreement({"worker": six}, 5)
    assert result.label is Label.MIXED
    assert result.largest_difference is None
    assert result.kruskal_p is None


def test_consensus_iqr_threshold() -> None:
    # 7 of 10 high but sorted [1, 1, 1, 4, 4, 5 x 5]: Q1 at 2.25 -> 1 + 0.25 * 3 = 1.75,
    # Q3 at 6.75 -> 5, IQR 3.25 > 1 -> not consensus.
    result = topic_agreement({"worker": [1, 1, 1, 4, 4, 5, 5, 5, 5, 5]}, 5)
    assert result.cells["worker"].iqr == pytest.approx(3.25)
    assert result.label is Label.MIXED


def test_divergence_by_delta() -> None:
    # Four ratings each (min_group_size 4; under kruskal_min 5, so no test):
    # worker [1, 2, 3, 4] against service_user [1, 1, 2, 3]:
    #   1: beats none, below 2 and 3   -> -2
    #   2: beats the two 1s, below 3   -> +1
    #   3: beats 1, 1, 2               -> +3
    #   4: beats all four              -> +4
    # delta = 6 / 16 = 0.375, medium -> divergence.
    result = topic_agreement({"worker": [1, 2, 3, 4], "service_user": [1, 1, 2, 3]}, 4)
    assert result.label is Label.DIVERGENCE
    assert result.kruskal_p is None
    assert result.largest_difference == Difference(
        "worker", "service_user", pytest.approx(0.375), Magnitude.MEDIUM
    )


def test_mixed_when_the_difference_is_small() -> None:
    # worker [1, 2, 3, 4] against service_user [1, 2, 2, 3]:
    #   1: below 2, 2, 3 -> -3;  2: beats 1, below 3 -> 0;  3: beats 1, 2, 2 -> +3;
    #   4: beats all -> +4.  delta = 4 / 16 = 0.25, small; no test (n < 5) -> mixed.
    result = topic_agreement({"worker": [1, 2, 3, 4], "service_user": [1, 2, 2, 3]}, 4)
    assert result.label is Label.MIXED
    assert result.largest_difference is not None
    assert result.largest_difference.delta == pytest.approx(0.25)
    assert result.largest_difference.magnitude is Magnitude.SMALL


def test_mixed_when_roles_rate_alike() -> None:
    # Same spread ratings in both roles: delta 0, Kruskal-Wallis H 0 -> p 1.
    result = topic_agreement({"worker": [1, 2, 3, 4, 5], "other": [5, 4, 3, 2, 1]}, 5)
    assert result.label is Label.MIXED
    assert result.kruskal_p == pytest.approx(1.0)
    assert result.largest_difference is not None
    assert result.largest_difference.delta == 0.0


def test_divergence_by_kruskal_only() -> None:
    # Three roles of 100, only 3s and 4s; the share of 4s is 40%, 50%, 60%.
    # With two values, delta(x, y) = P(x > y) - P(x < y) = p_x (1 - p_y) - (1 - p_x) p_y
    # = p_x - p_y, so the pairs give -0.1, -0.2, -0.1: all small, none reaches 0.33.
    # No role is 70% high, so no consensus. The consistent shift over 300 people is what
    # Kruskal-Wallis picks up (two groups of these alone give p = 0.005, see above).
    ratings = {
        "worker": [3] * 60 + [4] * 40,
        "service_user": [3] * 50 + [4] * 50,
        "technologist": [3] * 40 + [4] * 60,
    }
    result = topic_agreement(ratings, 5)
    assert result.largest_difference == Difference(
        "worker", "technologist", pytest.approx(-0.2), Magnitude.SMALL
    )
    assert result.kruskal_p is not None
    assert result.kruskal_p < 0.05
    assert result.kruskal_p == pytest.approx(stats.kruskal(*ratings.values()).pvalue)
    assert result.label is Label.DIVERGENCE
    # The same ratings with the test switched off (kruskal_min above every group): mixed.
    assert topic_agreement(ratings, 5, kruskal_min=101).label is Label.MIXED


def test_too_few_when_every_role_is_small() -> None:
    result = topic_agreement(
        {"worker": [5, 5], "service_user": [1, 1], "family_carer": [3, None, None]}, 5
    )
    assert result.label is Label.TOO_FEW
    assert result.largest_difference is None
    assert result.kruskal_p is None
    assert not any(cell.enough for cell in result.cells.values())
    # "everyone" is judged on the total: 5 numeric ratings (2 + 2 + 1), 2 unsure.
    assert result.everyone.n == 5
    assert result.everyone.unsure == 2
    assert result.everyone.enough is True
    assert dict(result.everyone.distribution) == {1: 2, 2: 0, 3: 1, 4: 0, 5: 2}


def test_small_roles_take_no_part_in_the_label() -> None:
    # The service users (2 < 5) rate everything 1: with them, delta would be 1 and the
    # worker/technologist consensus would not hold. Without them it is consensus.
    ratings = {
        "worker": [5, 5, 5, 4, 5],
        "service_user": [1, 1],
        "technologist": [4, 5, 4, 4, 5],
        "other": [],
    }
    result = topic_agreement(ratings, 5)
    assert list(result.cells) == ["worker", "service_user", "technologist", "other"]
    assert result.cells["service_user"].enough is False
    assert result.cells["other"].n == 0
    assert result.label is Label.CONSENSUS
    assert result.largest_difference is not None
    assert {result.largest_difference.role_a, result.largest_difference.role_b} == {
        "worker",
        "technologist",
    }
    # The small role would change the label if it were large enough.
    assert topic_agreement(ratings, 2).label is Label.DIVERGENCE


def test_small_roles_take_no_part_in_divergence() -> None:
    # Only the worker has enough answers and is not a consensus (share 0.4); the one
    # technologist who disagrees completely is below the floor, so nothing diverges.
    result = topic_agreement({"worker": [1, 2, 3, 4, 5], "technologist": [5]}, 5)
    assert result.label is Label.MIXED
    assert result.largest_difference is None


def test_kruskal_only_over_roles_with_enough_ratings() -> None:
    # Both roles count for the label (min 4) but only one has kruskal_min = 5 ratings.
    result = topic_agreement({"worker": [1, 2, 3, 4, 5], "other": [2, 3, 4, 5]}, 4)
    assert result.kruskal_p is None


def test_largest_difference_tie_takes_the_first_pair() -> None:
    # worker vs service_user: -1; worker vs technologist: 0; service_user vs
    # technologist: +1. |-1| = |+1|: the first pair in role order wins, sign kept.
    result = topic_agreement(
        {"worker": [1] * 4, "service_user": [5] * 4, "technologist": [1] * 4}, 4
    )
    assert result.largest_difference == Difference("worker", "service_user", -1.0, Magnitude.LARGE)
    assert result.label is Label.DIVERGENCE


def test_topic_agreement_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        topic_agreement({"worker": [3]}, 0)
    with pytest.raises(ValueError):
        topic_agreement({"worker": [3]}, 1, kruskal_min=0)


def test_cells_are_rating_cells() -> None:
    result = topic_agreement({"worker": [3, None]}, 1)
    assert result.cells["worker"] == rating_cell([3, None], 1)
    assert isinstance(result.everyone, RatingCell)


# --- follow-up round ---------------------------------------------------------------------


def test_followup_change_counts() -> None:
    before = {"p1": 3, "p2": 1, "p3": 5, "p4": None, "p5": 2, "p6": 4, "p8": 2}
    after = {"p1": 3, "p2": 3, "p3": 4, "p4": 3, "p5": None, "p7": 5, "p8": 4}
    # Round-1 numeric ratings [3, 1, 5, 2, 4, 2] -> sorted [1, 2, 2, 3, 4, 5], median 2.5.
    # Paired (numeric in both): p1 3->3, p2 1->3, p3 5->4, p8 2->4.
    #   p4 unsure->3 and p5 2->unsure are not paired; p6 and p7 answered one round only.
    # Changed: p2, p3, p8.
    # Distance to 2.5: p2 1.5 -> 0.5 closer; p3 2.5 -> 1.5 closer; p8 0.5 -> 1.5 away.
    # IQR before, sorted [1, 2, 3, 5]: Q1 at 0.75 -> 1.75, Q3 at 2.25 -> 3.5; IQR 1.75.
    # IQR after, sorted [3, 3, 4, 4]: Q1 at 0.75 -> 3, Q3 at 2.25 -> 4; IQR 1.
    change = followup_change(before, after)
    assert change == FollowupChange(
        paired=4,
        changed=3,
        iqr_before=pytest.approx(1.75),
        iqr_after=pytest.approx(1.0),
        moved_towards_median=2,
    )


def test_followup_median_is_the_whole_first_round() -> None:
    # Round one: [1, 1, 1, 5], median 1. Only d answers again, 5 -> 4: closer to 1.
    # (Against the paired people's own median, 5, it would have moved away.)
    change = followup_change({"a": 1, "b": 1, "c": 1, "d": 5}, {"d": 4})
    assert change.paired == 1
    assert change.changed == 1
    assert change.moved_towards_median == 1
    assert change.iqr_before == 0.0
    assert change.iqr_after == 0.0


def test_followup_switch_to_unsure_is_not_a_change() -> None:
    change = followup_change({"a": 5, "b": None}, {"a": None, "b": 1})
    assert change == FollowupChange(0, 0, None, None, 0)


def test_followup_without_answers() -> None:
    assert followup_change({}, {}) == FollowupChange(0, 0, None, None, 0)
