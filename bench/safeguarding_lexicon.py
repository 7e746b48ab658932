"""Recall and false-positive rate of the safeguarding lexicon on the phrase sets in tests/.

    .venv/bin/python -m bench.safeguarding_lexicon [--show-misses]

Each language's set (tests/safeguarding_phrases/<lang>.yaml) has phrases that show distress
and benign look-alikes; the figures are what the README and the issue's closing note quote.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.flows.safeguarding.lexicon import find

PHRASES_DIR = Path(__file__).resolve().parent.parent / "tests" / "safeguarding_phrases"


@dataclass(frozen=True)
class Score:
    language: str
    distress: int
    benign: int
    missed: tuple[str, ...]
    false_alarms: tuple[str, ...]

    @property
    def recall(self) -> float:
        return (self.distress - len(self.missed)) / self.distress if self.distress else 0.0

    @property
    def false_positive_rate(self) -> float:
        return len(self.false_alarms) / self.benign if self.benign else 0.0


def phrase_sets(directory: Path = PHRASES_DIR) -> dict[str, dict[str, list[str]]]:
    sets = {}
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        sets[path.stem] = {"distress": list(raw["distress"]), "benign": list(raw["benign"])}
    return sets


def score(language: str, distress: list[str], benign: list[str]) -> Score:
    return Score(
        language,
        len(distress),
        len(benign),
        tuple(text for text in distress if find(text) is None),
        tuple(text for text in benign if find(text) is not None),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true", help="print each miss")
    args = parser.parse_args()
    print(f"{'lang':<5} {'distress':>8} {'benign':>6} {'recall':>7} {'false +':>8}")
    for language, sets in phrase_sets().items():
        result = score(language, sets["distress"], sets["benign"])
        print(
            f"{language:<5} {result.distress:>8} {result.benign:>6} "
            f"{result.recall:>7.3f} {result.false_positive_rate:>8.3f}"
        )
        if args.show_misses:
            for text in result.missed:
                print(f"      missed: {text}")
            for text in result.false_alarms:
                print(f"      false alarm: {text}")


if __name__ == "__main__":
    main()
