"""The report's figures as plain JSON values, for the JSON export.

Analysts get exactly what the report page shows (matrix cells, labels, keyword groups, the
follow-up changes), keyed by ids rather than by translated words, so the numbers can be reused
without parsing HTML. Quotes are not included: the responses list already holds every answer.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bot.report.agreement import RatingCell
from bot.report.build import EVERYONE
from bot.report.model import Report, TopicReport


def _cell(cell: RatingCell) -> dict[str, Any]:
    return {
        "n": cell.n,
        "unsure": cell.unsure,
        "distribution": {str(rating): count for rating, count in cell.distribution.items()},
        "median": cell.median,
        "q1": cell.q1,
        "q3": cell.q3,
        "iqr": cell.iqr,
        "share_4_5": cell.share_high,
        "enough": cell.enough,
    }


def _topic(topic: TopicReport) -> dict[str, Any]:
    agreement = topic.agreement
    difference = agreement.largest_difference
    return {
        "recommendation_id": topic.rec,
        "label": agreement.label.value,
        "cells": {
            **{role: _cell(cell) for role, cell in agreement.cells.items()},
            EVERYONE: _cell(agreement.everyone),
        },
        "largest_difference": None
        if difference is None
        else {
            "role_a": difference.role_a,
            "role_b": difference.role_b,
            "cliffs_delta": difference.delta,
            "magnitude": difference.magnitude.value,
        },
        "kruskal_wallis_p": agreement.kruskal_p,
        "ratings_by_role": dict(topic.coverage.answered),
        "underrepresented_roles": list(topic.coverage.flagged),
        "keyword_groups": {
            themes.question: [
                {
                    "words": list(group.words),
                    "size": len(group.members),
                    "by_role": dict(group.by_role),
                }
                for group in themes.groups.groups
            ]
            for themes in topic.themes
        },
        "voice_answers": {themes.question: dict(themes.voices) for themes in topic.themes},
        "distinctive_words": {
            role: [asdict(word) for word in words] for role, words in topic.distinctive.items()
        },
        "followup": {role: asdict(change) for role, change in topic.followup.items()},
        "member_check": {role: dict(counts) for role, counts in topic.member_check.items()},
        "followup_comments": topic.followup_comments,
    }


def report_statistics(report: Report) -> dict[str, Any]:
    return {
        "generated_at": report.generated_at.isoformat(),
        "min_group_size": report.min_group_size,
        "roles": list(report.roles),
        "missing_roles": list(report.missing_roles),
        "topics": [_topic(topic) for topic in report.topics],
    }
