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
    # When it answers, if not day and night ("every day 10:00-24:00"); None: 24/7.
    hours: str | None = None

    def line(self) -> str:
        hours = f", {self.hours}" if self.hours else ""
        return f"{self.number} ({self.name}{hours})"

    @property
    def always_open(self) -> bool:
        return self.hours is None


@cache
def _load() -> tuple[str, dict[str, Helpline]]:
    with HELPLINES_PATH.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    countries = {
        code: Helpline(str(entry["name"]), str(entry["number"]), entry.get("hours"))
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


def helpline_always_open(country: str | None, override: str | None = None) -> bool:
    """Only a line known to answer day and night may be called that: a workshop's own line,
    or one with opening hours, is named without the promise."""
    if override and override.strip():
        return False
    found = _load()[1].get((country or "").upper())
    return found is not None and found.always_open
