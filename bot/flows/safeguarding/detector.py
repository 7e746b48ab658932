"""Does this text show distress, self-harm, suicidal thoughts, abuse or neglect?

The phrase lists decide first: they name what they found (suicide, abuse...). When they find
nothing, the classifier trained on the examples may still see distress in other words; its
finding is reported as "distress", the widest category.
"""

from __future__ import annotations

from bot.flows.safeguarding import classifier
from bot.flows.safeguarding.lexicon import Match, find, load_lexicons

MODEL_PATTERN = "model"


def detect(text: str) -> Match | None:
    found = find(text)
    if found is not None:
        return found
    if classifier.shows_distress(text):
        return Match(frozenset({"distress"}), (MODEL_PATTERN,))
    return None


def warm_up() -> None:
    """Compile the lists and train the model before the first message, not during it."""
    load_lexicons()
    classifier.load_model()
