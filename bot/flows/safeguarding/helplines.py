"""Helplines by country, from helplines.yaml: data with its sources, not code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

HELPLINES_PATH = Path(__file__).with_name("helplines.yaml")


@dataclass(frozen=True)
class Helpline:
    name: str
    number: str

    def line(self) -> str:
        return f"{self.number} ({self.name})"


@cache
def _load() -> tuple[str, dict[str, Helpline]]:
    with HELPLINES_PATH.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    countries = {
        code: Helpline(str(entry["name"]), str(entry["number"]))
        for code, entry in raw["countries"].items()
    }
    return str(raw["emergency"]), countries


def emergency_number() -> str:
    return _load()[0]


def known_countries() -> frozenset[str]:
    return frozenset(_load()[1])


def helpline_text(country: str | None, override: str | None = None) -> str | None:
    """What the safety reply names after 112: the workshop's own line, else the country's."""
    if override and override.strip():
        return override.strip()
    found = _load()[1].get((country or "").upper())
    return found.line() if found else None
