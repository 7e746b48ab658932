"""How well the safeguarding checks find cries for help, and how often they cry wolf.

    .venv/bin/python -m bench.safeguarding_lexicon [--show-misses]

Two sets per language: the examples shipped with the bot (bot/flows/safeguarding/examples/,
which the phrase lists were tuned on and the classifier learns from) and held-out sentences
(tests/safeguarding_phrases/heldout/) that neither was built from. For each it prints the
recall (share of distress sentences found) and the false-positive rate (share of harmless
look-alikes flagged) of the phrase lists alone and of the whole check (lists, then model).
The held-out figures are the honest ones.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.flows.safeguarding.classifier import EXAMPLES_DIR
from bot.flows.safeguarding.detector import detect
from bot.flows.safeguarding.lexicon import find

HELDOUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "safeguarding_phrases" / "heldout"
Check = Callable[[str], object]


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


def phrase_sets(directory: Path = EXAMPLES_DIR) -> dict[str, dict[str, list[str]]]:
    sets = {}
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        sets[path.stem] = {"distress": list(raw["distress"]), "benign": list(raw["benign"])}
    return sets


def score(language: str, distress: list[str], benign: list[str], check: Check = find) -> Score:
    return Score(
        language,
        len(distress),
        len(benign),
        tuple(text for text in distress if check(text) is None),
        tuple(text for text in benign if check(text) is not None),
    )


def _report(title: str, directory: Path, show_misses: bool) -> None:
    print(title)
    columns = "lists: recall false+   whole check: recall false+"
    print(f"{'lang':<5} {'distress':>8} {'benign':>6}   {columns}")
    for language, sets in phrase_sets(directory).items():
        lists = score(language, sets["distress"], sets["benign"], find)
        whole = score(language, sets["distress"], sets["benign"], detect)
        print(
            f"{language:<5} {lists.distress:>8} {lists.benign:>6}   "
            f"{lists.recall:>13.3f} {lists.false_positive_rate:>6.3f}   "
            f"{whole.recall:>19.3f} {whole.false_positive_rate:>6.3f}"
        )
        if show_misses:
            for text in whole.missed:
                print(f"      missed: {text}")
            for text in whole.false_alarms:
                print(f"      false alarm: {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true", help="print each miss")
    args = parser.parse_args()
    _report(
        "Examples (the lists were tuned on them, the model learns from them)",
        EXAMPLES_DIR,
        args.show_misses,
    )
    print()
    _report("Held out (neither was built from them)", HELDOUT_DIR, args.show_misses)


if __name__ == "__main__":
    main()
