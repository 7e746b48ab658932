"""The report's keyword groups as candidates for the member check (`/themes`)."""

from __future__ import annotations

from bot.report.model import Report
from storage.repositories.themes import ComputedTheme


def computed_themes(report: Report) -> list[ComputedTheme]:
    """Every keyword group of every topic and question, named in all six languages."""
    return [
        ComputedTheme(
            recommendation_id=topic.rec,
            question=themes.question,
            signature=group.signature,
            words=dict(group.names),
            by_role=dict(group.by_role),
            size=len(group.members),
        )
        for topic in report.topics
        for themes in topic.themes
        for group in themes.groups.groups
        if group.signature
    ]
