"""Does this text show distress, self-harm, suicidal thoughts, abuse or neglect?

The phrase lists decide first: they name what they found (suicide, abuse...). When they find
nothing, the classifier trained on the examples may still see distress in other words; its
finding is reported as "distress", the widest category.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.flows.safeguarding import classifier
from bot.flows.safeguarding.lexicon import Lexicon, Match, find, load_lexicons

MODEL_PATTERN = "model"


def lists_for(languages: Collection[str] | None) -> tuple[Lexicon, ...]:
    """The phrase lists of these languages and English (all six when None).

    Checking all six costs about four times as much CPU per message as two; people type in
    a language the workshop speaks (or their own, which is passed in too), and the model
    covers every language whatever the lists.
    """
    lexicons = load_lexicons()
    if languages is None:
        return lexicons
    wanted = {*languages, "en"}
    return tuple(lexicon for lexicon in lexicons if lexicon.language in wanted)


def detect(text: str, languages: Collection[str] | None = None) -> Match | None:
    found = find(text, lists_for(languages))
    if found is not None:
        return found
    if classifier.shows_distress(text):
        return Match(frozenset({"distress"}), (MODEL_PATTERN,))
    return None


def warm_up() -> None:
    """Compile the lists and train the model before the first message, not during it."""
    load_lexicons()
    classifier.load_model()
