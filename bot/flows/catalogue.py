"""The recommendation catalogue, loaded from recommendations.yaml.

Content is data: adding a recommendation or a language is an edit to the YAML file, checked by
tests, not new code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE_PATH = Path(__file__).with_name("recommendations.yaml")
TEXT_FIELDS = ("title", "short_title", "summary", "detail")
ROLES = ("worker", "service_user", "technologist", "other")


@dataclass(frozen=True)
class Recommendation:
    id: str
    kind: str
    session: int
    texts: Mapping[str, Mapping[str, str]]
    angles: Mapping[str, Mapping[str, str]]

    def text(self, field: str, language: str) -> str:
        values = self.texts[field]
        return values.get(language) or values["en"]

    def angle(self, role: str | None, language: str) -> str:
        values = self.angles.get(role or "other") or self.angles["other"]
        return values.get(language) or values["en"]


@dataclass(frozen=True)
class Catalogue:
    languages: tuple[str, ...]
    recommendations: Mapping[str, Recommendation]
    scopes: Mapping[str, tuple[str, ...]]
    sessions: Mapping[int, Mapping[str, str]]

    def get(self, rec_id: str) -> Recommendation:
        return self.recommendations[rec_id]

    def scope(self, name: str) -> tuple[str, ...]:
        return self.scopes[name]


def _parse(raw: Mapping[str, Any]) -> Catalogue:
    recommendations: dict[str, Recommendation] = {}
    for item in raw["recommendations"]:
        recommendations[item["id"]] = Recommendation(
            id=item["id"],
            kind=item["kind"],
            session=int(item["session"]),
            texts={name: dict(item[name]) for name in TEXT_FIELDS},
            angles={role: dict(item["angle"][role]) for role in ROLES},
        )
    scopes = {name: tuple(ids) for name, ids in raw["scopes"].items()}
    for name, ids in scopes.items():
        unknown = [rec_id for rec_id in ids if rec_id not in recommendations]
        if unknown:
            raise ValueError(f"scope {name} names unknown recommendations {unknown}")
    return Catalogue(
        languages=tuple(raw["languages"]),
        recommendations=recommendations,
        scopes=scopes,
        sessions={int(s["id"]): dict(s["title"]) for s in raw["sessions"]},
    )


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    with path.open(encoding="utf-8") as handle:
        return _parse(yaml.safe_load(handle))
