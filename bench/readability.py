"""How plain is what a service user reads? Words per sentence and reading ease, per language.

    python -m bench.readability

Counts everything a service user can read: every participant string of the locale catalogues
and, of each topic, the plain title, summary, needs question and "Tell me more" written for
service users; once in the standard texts, once in easy read. Reading ease is Flesch's
formula with each language's published constants (higher is easier; about 60-70 is plain
language, above 80 is easy); syllables come from pyphen's hyphenation dictionaries, which
ship with it (hyphenation points + 1: an estimate that slightly undercounts short words, the
same way in both modes, so the comparison holds).
"""

from __future__ import annotations

import html
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import pyphen

from bot.flows.catalogue import load_catalogue
from locales import available_languages, catalogue, participant_keys, reading

# Inclusion Europe: short sentences; the easy-read test holds every sentence to this.
MAX_EASY_WORDS = 15

# Flesch reading ease: base - a * words per sentence - b * syllables per word.
FLESCH = {
    "en": (206.835, 1.015, 84.6),  # Flesch 1948
    "de": (180.0, 1.0, 58.5),  # Amstad 1978
    "fr": (207.0, 1.015, 73.6),  # Kandel & Moles 1958
    "es": (206.84, 1.02, 60.0),  # Fernández Huerta 1959
    "it": (206.0, 1.0, 65.0),  # Flesch-Vacca 1972
    "nl": (206.835, 0.93, 77.0),  # Douma 1960
}
_TAG = re.compile(r"<[^>]+>")
_PLACEHOLDER = re.compile(r"\{\w+\}")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+|\n+")
_WORD = re.compile(r"\w", re.UNICODE)


def plain(text: str) -> str:
    """What a person reads: no tags, placeholders read as one word."""
    return html.unescape(_PLACEHOLDER.sub("X", _TAG.sub("", text)))


def sentences(text: str) -> list[list[str]]:
    """Sentences as lists of words (a line break or . ! ? : ends a sentence)."""
    found = []
    for sentence in _SENTENCE_END.split(plain(text)):
        words = [word for word in sentence.split() if _WORD.search(word)]
        if words:
            found.append(words)
    return found


@cache
def _hyphenator(language: str) -> pyphen.Pyphen:
    return pyphen.Pyphen(lang=language)


def syllables(word: str, language: str) -> int:
    letters = "".join(ch for ch in word if ch.isalpha())
    if not letters:
        return 1
    return len(_hyphenator(language).positions(letters.lower())) + 1


@dataclass(frozen=True)
class Figures:
    texts: int
    sentences: int
    words_per_sentence: float
    longest_sentence: int
    reading_ease: float


def figures(texts: Iterable[str], language: str) -> Figures:
    all_texts = list(texts)
    found = [sentence for text in all_texts for sentence in sentences(text)]
    words = [word for sentence in found for word in sentence]
    per_sentence = len(words) / len(found)
    per_word = statistics.fmean(syllables(word, language) for word in words)
    base, a, b = FLESCH[language]
    return Figures(
        texts=len(all_texts),
        sentences=len(found),
        words_per_sentence=per_sentence,
        longest_sentence=max(len(sentence) for sentence in found),
        reading_ease=base - a * per_sentence - b * per_word,
    )


def service_user_texts(language: str, easy: bool) -> list[str]:
    """Everything a service user may read, in one language and mode."""
    strings = dict(catalogue(language))
    if easy:
        strings.update(catalogue(language, easy=True))
    texts = [strings[key] for key in participant_keys()]
    code = reading(language, easy)
    topics = load_catalogue()
    for rec in topics.recommendations.values():
        texts += [rec.text("plain_title", code), rec.text("summary", code)]
        texts += [rec.for_role(field, "service_user", code) for field in ("question", "more")]
    return texts


def _table(title: str, only_rewritten: bool) -> None:
    print(title)
    print(
        f"{'language':<9}{'mode':<10}{'texts':>7}{'sentences':>11}"
        f"{'words/sentence':>16}{'longest':>9}{'reading ease':>14}"
    )
    for language in available_languages():
        pairs = list(
            zip(
                service_user_texts(language, easy=False),
                service_user_texts(language, easy=True),
                strict=True,
            )
        )
        if only_rewritten:
            pairs = [(standard, easy) for standard, easy in pairs if standard != easy]
        for easy in (False, True):
            found = figures((pair[easy] for pair in pairs), language)
            print(
                f"{language:<9}{'easy' if easy else 'standard':<10}{found.texts:>7}"
                f"{found.sentences:>11}{found.words_per_sentence:>16.1f}"
                f"{found.longest_sentence:>9}{found.reading_ease:>14.1f}"
            )
    print()


def main() -> None:
    _table("Everything a service user can read (buttons included):", only_rewritten=False)
    _table("Only the texts easy read rewrites (buttons and names that stay are left out):", True)


if __name__ == "__main__":
    main()
