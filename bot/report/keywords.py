"""Keyword groups and distinctive words: what the open answers talk about, computed from words.

A facilitator cannot read three hundred answers between two sessions, but can read six groups
with their top words, a few quotes and who wrote them. The groups come from the words alone
(TF-IDF and non-negative matrix factorisation), not from any understanding of the answers:
two answers that say the same thing in different words can land in different groups, and the
report must say so. What this module adds to the textbook recipe is what a European workshop
needs:

- Answers are in six languages, often mixed in one workshop and sometimes in one answer. Each
  answer is stemmed in its own language (Snowball, pure Python, nothing downloaded), and the
  stop words of all six languages are dropped from every answer.
- Some thirty ideas central to AI in social services (training, human decision, privacy,
  jobs, bias, ...) are listed with their words in the six languages (`words/concepts.yaml`):
  "training", "formation" and "Schulung" count as one word, so answers about one idea meet in
  one group, named in the language of the report.

Everything is deterministic (fixed seeds, sorted ties): the same answers give the same report.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

WORDS_DIR = Path(__file__).with_name("words")
CONCEPTS_PATH = WORDS_DIR / "concepts.yaml"
LANGUAGES = ("en", "fr", "de", "es", "it", "nl")
_STEMMERS = {
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
}

# Shorter words are mostly function words, abbreviations and typos ("ai", "ok", "ia").
MIN_WORD_LENGTH = 3
# Below this many answers with words in common, groups would be one or two answers each: the
# report quotes the answers instead.
MIN_TEXTS = 4
# From this many answers on, a word must occur in two answers to count: a word one person used
# once cannot gather a group, and leaving it out keeps the groups from chasing typos.
MIN_DF_FROM = 10
# A group is named by up to this many words, and at least three when it has them; words
# further down must weigh at least WORD_FLOOR of the first word's weight.
MAX_WORDS = 5
MIN_WORDS = 3
WORD_FLOOR = 0.2
# Distinctive words: a role needs this many answers, and so do all the other roles together,
# before its words are compared with theirs; with fewer, one talkative person is "the role".
MIN_ROLE_TEXTS = 5
# The Dirichlet prior of the distinctive words, in pseudo-words per real word (see there).
PRIOR_WEIGHT = 0.5
# Monroe, Colaresi & Quinn's z-score above which a word counts as distinctive (two-sided 95%).
Z_THRESHOLD = 1.96
# Concept tokens start with a character the word pattern never yields, so they cannot collide
# with a stem.
CONCEPT = "#"

# Letters only (any script): digits, underscores, punctuation, apostrophes and emoji split or
# vanish, so "l'humain" gives "humain", "covid19" gives "covid" and "2024" gives nothing.
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Text:
    """One answer: who wrote it (role), in which language, and what it says."""

    id: int
    role: str
    language: str
    text: str


@dataclass(frozen=True)
class KeywordGroup:
    """Answers that share words: named by its top words, members most representative first.

    `weights` are the members' weights in the group, in the same order: about 1 for an answer
    that says only the group's words, less the more it says besides (for a report that wants
    to quote only answers that are clearly about the group).
    """

    words: tuple[str, ...]
    members: tuple[int, ...]
    by_role: Mapping[str, int]
    weights: tuple[float, ...] = ()
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The naming words in each of the six languages (concepts in that language's own word,
    other words as people spelled them): what a participant reads in the member check."""
    signature: str = ""
    """The naming stems and concepts, sorted: the same group across recomputations, whatever
    language it is shown in."""


@dataclass(frozen=True)
class Groups:
    """The groups of one question (largest first), the answers in none, and how many answers."""

    groups: tuple[KeywordGroup, ...]
    ungrouped: tuple[int, ...]
    texts: int


@dataclass(frozen=True)
class Distinctive:
    """A word one role uses far more than the others: in how many of the role's answers, and
    how many times more often per word than all the other roles together (smoothed)."""

    word: str
    count: int
    ratio: float


@dataclass(frozen=True)
class _Concepts:
    """The concept table, ready for look-ups: stems and exact words per language, the English
    words as written (matched in every language), and each concept's word per language."""

    stems: Mapping[str, Mapping[str, str]]
    exact: Mapping[str, Mapping[str, str]]
    english: Mapping[str, str]
    display: Mapping[str, Mapping[str, str]]


def _fold(word: str) -> str:
    """NFKC and lowercase: full-width letters, ligatures and case stop making words differ."""
    return unicodedata.normalize("NFKC", word).lower()


def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def read_word_list(path: Path) -> tuple[str, ...]:
    """The words of a list file: one per line, `#` starts a comment, blank lines skipped."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.append(word)
    return tuple(words)


@cache
def stop_words(language: str) -> frozenset[str]:
    """The stop words of one language, as shipped in `words/stop_<language>.txt`."""
    return frozenset(_fold(word) for word in read_word_list(WORDS_DIR / f"stop_{language}.txt"))


@cache
def _all_stop_words() -> frozenset[str]:
    """The stop words of all six languages, with their unaccented spellings too: people mix
    languages in one workshop, and type "tres", "mas" or "perche" on phone keyboards."""
    words: set[str] = set()
    for language in LANGUAGES:
        words |= stop_words(language)
    return frozenset(words | {_strip_accents(word) for word in words})


_local = threading.local()


def _stem(word: str, language: str) -> str:
    """The Snowball stem of a lowercase word; unknown languages are not stemmed. Stemmer
    objects keep state while they work, so each thread has its own."""
    name = _STEMMERS.get(language)
    if name is None:
        return word
    stemmers: dict[str, Any] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    stemmer = stemmers.get(name)
    if stemmer is None:
        import snowballstemmer

        stemmer = stemmers[name] = snowballstemmer.stemmer(name)
    return str(stemmer.stemWord(word))


@cache
def _concepts() -> _Concepts:
    """Reads `words/concepts.yaml` once. A stem or word claimed by two concepts of one
    language is an error in the table, reported here rather than as a puzzling group."""
    with CONCEPTS_PATH.open(encoding="utf-8") as handle:
        raw: dict[str, dict[str, list[str]]] = yaml.safe_load(handle)
    stems: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    exact: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    english: dict[str, str] = {}
    display: dict[str, dict[str, str]] = {}

    def claim(table: dict[str, str], key: str, concept: str, language: str) -> None:
        if table.setdefault(key, concept) != concept:
            raise ValueError(
                f"{CONCEPTS_PATH.name}: {key!r} ({language}) is in both {table[key]!r} "
                f"and {concept!r}"
            )

    for concept, by_language in raw.items():
        if set(by_language) != set(LANGUAGES) or not all(by_language.values()):
            raise ValueError(f"{CONCEPTS_PATH.name}: {concept!r} needs words in {LANGUAGES}")
        display[concept] = {}
        for language in LANGUAGES:
            for entry in by_language[language]:
                written = unicodedata.normalize("NFKC", str(entry))
                word = _fold(written.removeprefix("="))
                display[concept].setdefault(language, written.removeprefix("="))
                if written.startswith("="):
                    claim(exact[language], word, concept, language)
                else:
                    claim(stems[language], _stem(word, language), concept, language)
                if language == "en":
                    claim(english, word, concept, language)
    return _Concepts(stems=stems, exact=exact, english=english, display=display)


@lru_cache(maxsize=1 << 16)
def _token(word: str, language: str) -> str | None:
    """What one lowercase word counts as: nothing (too short, a stop word), a concept, or its
    stem. Cached, because stemming is the slow part and answers repeat their words."""
    if len(word) < MIN_WORD_LENGTH or word in _all_stop_words():
        return None
    concepts = _concepts()
    stem = _stem(word, language)
    concept = concepts.exact.get(language, {}).get(word)
    if concept is None:
        concept = concepts.stems.get(language, {}).get(stem)
    if concept is None and language != "en":
        # People write "training", "privacy" or "bias" in any language. Only the English words,
        # and only as written: by stem, the French "en train de" would be about training.
        concept = concepts.english.get(word)
    return CONCEPT + concept if concept is not None else stem


def _language(language: str) -> str:
    """The stemmer is chosen by the first two letters: "fr-BE" and "FR" are French."""
    return language.strip().lower()[:2]


def _analyse(text: Text) -> list[tuple[str, str]]:
    """(token, spelling as written) for each word of an answer that counts."""
    language = _language(text.language)
    found = []
    for written in _WORD.findall(unicodedata.normalize("NFKC", text.text)):
        token = _token(written.lower(), language)
        if token is not None:
            found.append((token, written))
    return found


def tokenise(text: str, language: str) -> tuple[str, ...]:
    """The tokens keyword groups and distinctive words see in one answer: stems, and concept
    keys prefixed with `#` ("#training"). Public so tests and the curious can see why two
    answers did or did not meet."""
    return tuple(token for token, _ in _analyse(Text(0, "", language, text)))


def _spellings(analysed: Iterable[list[tuple[str, str]]]) -> dict[str, Counter[str]]:
    """How often each stem was written each way."""
    counts: dict[str, Counter[str]] = {}
    for (token, written), n in Counter(pair for found in analysed for pair in found).items():
        if not token.startswith(CONCEPT):
            if token not in counts:
                counts[token] = Counter()
            counts[token][written] = n
    return counts


def _readable(spellings: Counter[str]) -> str:
    """The spelling of a stem people read: the most frequent one, lowercase unless nobody
    wrote it in lowercase (a German noun, a name), so a capital at the start of a sentence
    does not decide. Ties go alphabetically, for the same report every time."""
    by_lower: Counter[str] = Counter()
    for written, n in spellings.items():
        by_lower[written.lower()] += n
    lower = min(by_lower, key=lambda word: (-by_lower[word], word))
    if lower in spellings:
        return lower
    return min(
        (written for written in spellings if written.lower() == lower),
        key=lambda word: (-spellings[word], word),
    )


def _check_display_language(display_language: str) -> None:
    if display_language not in LANGUAGES:
        raise ValueError(f"display_language must be one of {LANGUAGES}, not {display_language!r}")


def _display(token: str, spellings: Mapping[str, Counter[str]], display_language: str) -> str:
    if token.startswith(CONCEPT):
        return _concepts().display[token[len(CONCEPT) :]][display_language]
    return _readable(spellings[token])


def group_count(texts: int, max_groups: int = 6) -> int:
    """How many groups to look for among `texts` answers that have words in common.

    Half the square root, rounded, between 1 and `max_groups`: 4-8 answers make one group,
    9-24 two, 25-48 three, 49-80 four, 81-120 five, more six. A group then holds about
    2 x sqrt(n) answers on average: enough to be a theme rather than a person, and few enough
    groups that each gets quotes a facilitator reads. Below MIN_TEXTS: none.
    """
    if texts < MIN_TEXTS or max_groups < 1:
        return 0
    return max(1, min(max_groups, math.floor(math.sqrt(texts) / 2 + 0.5)))


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def keyword_groups(
    texts: Sequence[Text],
    *,
    max_groups: int = 6,
    random_state: int = 0,
    display_language: str = "en",
) -> Groups:
    """Groups of answers that share words, largest first, named in `display_language`.

    Each answer becomes stems and concepts (see `tokenise`), weighted by TF-IDF with sublinear
    term frequency (a word said three times is not three times the point) and, from
    MIN_DF_FROM answers on, only words found in at least two answers. Non-negative matrix
    factorisation then finds `group_count` components; NMF rather than clustering because its
    components are lists of weighted words, which is what the report names groups by, and
    because NNDSVDA initialisation makes it deterministic. Each answer joins the component it
    weighs most in; answers with no counted word (only stop words, emoji, or words nobody else
    used) are `ungrouped`, and so is everything when fewer than MIN_TEXTS answers have words.
    """
    _check_display_language(display_language)
    analysed = [_analyse(text) for text in texts]
    docs = [[token for token, _ in found] for found in analysed]
    min_df = 2 if len(texts) >= MIN_DF_FROM else 1
    frequency = Counter(token for doc in docs for token in set(doc))
    vocabulary = {token for token, n in frequency.items() if n >= min_df}
    rows = [i for i, doc in enumerate(docs) if any(token in vocabulary for token in doc)]
    k = min(group_count(len(rows), max_groups), len(vocabulary))
    everyone = tuple(text.id for text in texts)
    if k == 0:
        return Groups(groups=(), ungrouped=everyone, texts=len(texts))

    import numpy as np
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=_identity, min_df=min_df, sublinear_tf=True)
    matrix = vectorizer.fit_transform([docs[i] for i in rows])
    terms: list[str] = list(vectorizer.get_feature_names_out())
    model = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=500)
    with warnings.catch_warnings():
        # A component that has not quite settled after max_iter still names its group.
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = model.fit_transform(matrix)
    # NMF is blind to scale: a component can come out a million times too long and its
    # weights a million times too small. With each component's words scaled to length one, an
    # answer's weights are comparable across components, and about 1 for an answer its group's
    # words say all of.
    lengths = np.linalg.norm(model.components_, axis=1)
    lengths[lengths == 0] = 1.0
    components = model.components_ / lengths[:, None]
    weights = weights * lengths[None, :]

    spellings = _spellings(analysed)
    groups: list[tuple[int, int, KeywordGroup]] = []
    best = weights.argmax(axis=1)
    strength = weights.max(axis=1)
    for component in range(k):
        (found,) = np.nonzero((best == component) & (strength > 0))
        if not len(found):
            continue
        # Most representative first; ties keep the order the answers came in.
        chosen = [int(r) for r in found[np.argsort(-strength[found], kind="stable")]]
        members = tuple(texts[rows[r]].id for r in chosen)
        used = matrix[chosen].getnnz(axis=0) > 0
        tokens = _group_terms(components[component] * used, terms)
        names = {language: _group_words(tokens, spellings, language) for language in LANGUAGES}
        by_role = Counter(texts[rows[r]].role for r in chosen)
        group = KeywordGroup(
            words=names[display_language],
            members=members,
            by_role=dict(sorted(by_role.items())),
            weights=tuple(float(strength[r]) for r in chosen),
            names=names,
            signature=" ".join(sorted(tokens))[:255],
        )
        groups.append((-len(members), component, group))
    groups.sort(key=lambda entry: entry[:2])
    grouped = {member for _, _, group in groups for member in group.members}
    return Groups(
        groups=tuple(group for _, _, group in groups),
        ungrouped=tuple(text_id for text_id in everyone if text_id not in grouped),
        texts=len(texts),
    )


def _group_terms(scores: Any, terms: Sequence[str]) -> tuple[str, ...]:
    """The tokens that name a group: its component's heaviest words among those its members
    actually use (a component can lean on a word only the other groups' answers have)."""
    order = sorted((j for j in range(len(terms)) if scores[j] > 0), key=lambda j: -scores[j])
    chosen: list[str] = []
    for rank, j in enumerate(order[:MAX_WORDS]):
        if rank >= MIN_WORDS and scores[j] < WORD_FLOOR * scores[order[0]]:
            break
        chosen.append(terms[j])
    return tuple(chosen)


def _group_words(
    tokens: Sequence[str], spellings: Mapping[str, Counter[str]], language: str
) -> tuple[str, ...]:
    words: list[str] = []
    for token in tokens:
        word = _display(token, spellings, language)
        if word not in words:
            words.append(word)
    return tuple(words)


def distinctive_words(
    texts: Sequence[Text],
    *,
    min_count: int = 3,
    top: int = 5,
    display_language: str = "en",
) -> Mapping[str, tuple[Distinctive, ...]]:
    """For each role, the words it uses far more than all the other roles together.

    The weighted log-odds ratio with an informative Dirichlet prior of Monroe, Colaresi &
    Quinn (2008), "Fightin' Words: Lexical Feature Selection and Evaluation for Identifying the
    Content of Political Conflict", Political Analysis 16(4), section 3.5. Plain frequency
    ratios crown rare words (one answer saying "dataset" twice); plain counts crown what
    everybody says. The log-odds of a word in the role against the other roles, shrunk toward
    the whole workshop's word frequencies and divided by its standard error, is a z-score that
    only a word used often *and* unevenly passes. The prior is the workshop itself, for want of
    a larger background corpus: pseudo-counts proportional to each word's share of all words,
    half as many pseudo-words as real ones. Weaker priors flagged words in corpora where every
    role wrote from the same vocabulary (about one per corpus at a quarter); as strong as the
    data, five technologists of six saying "bias" and no one else did not pass.

    Words are counted once per answer (one person repeating a word is not the role saying it),
    with the tokens of `keyword_groups`. A word is listed when at least `min_count` of the
    role's answers use it and z > 1.96, at most `top` per role, highest z first. `ratio` is how
    many times more often the role uses it per word than the other roles, with half a count
    added to both sides so that a word the others never used has a finite ratio. Roles with
    fewer than MIN_ROLE_TEXTS answers, or whose other roles together have fewer, get nothing.
    Every role present is a key.
    """
    _check_display_language(display_language)
    analysed = [_analyse(text) for text in texts]
    spellings = _spellings(analysed)
    answers: Counter[str] = Counter(text.role for text in texts)
    by_role: dict[str, Counter[str]] = {role: Counter() for role in answers}
    for text, found in zip(texts, analysed, strict=True):
        by_role[text.role].update({token for token, _ in found})
    total: Counter[str] = Counter()
    for counts in by_role.values():
        total.update(counts)
    all_words = sum(total.values())

    result: dict[str, tuple[Distinctive, ...]] = {}
    for role in sorted(by_role):
        counts = by_role[role]
        if answers[role] < MIN_ROLE_TEXTS or len(texts) - answers[role] < MIN_ROLE_TEXTS:
            result[role] = ()
            continue
        role_words = sum(counts.values())
        other_words = all_words - role_words
        scored: list[tuple[float, str, Distinctive]] = []
        for token, count in counts.items():
            if count < min_count:
                continue
            others = total[token] - count
            z = _log_odds_z(count, role_words, others, other_words, total[token], all_words)
            if z <= Z_THRESHOLD:
                continue
            ratio = ((count + 0.5) / (role_words + 0.5)) / ((others + 0.5) / (other_words + 0.5))
            word = _display(token, spellings, display_language)
            scored.append((-z, word, Distinctive(word=word, count=count, ratio=ratio)))
        scored.sort(key=lambda entry: entry[:2])
        chosen: list[Distinctive] = []
        for _, word, distinctive in scored:
            if len(chosen) < top and all(word != seen.word for seen in chosen):
                chosen.append(distinctive)
        result[role] = tuple(chosen)
    return result


def _log_odds_z(
    count: int, words: int, others: int, other_words: int, total: int, all_words: int
) -> float:
    """Monroe et al. (2008), equations 16 and 18-20: the difference in log-odds of a word
    between a role (`count` of its `words`) and the rest (`others` of `other_words`), with the
    informative Dirichlet prior alpha_w = alpha_0 * total / all_words and alpha_0 = all_words
    / 2 (PRIOR_WEIGHT), divided by its approximate standard deviation."""
    alpha_0 = PRIOR_WEIGHT * all_words
    alpha = alpha_0 * total / all_words
    delta = math.log((count + alpha) / (words + alpha_0 - count - alpha)) - math.log(
        (others + alpha) / (other_words + alpha_0 - others - alpha)
    )
    return delta / math.sqrt(1.0 / (count + alpha) + 1.0 / (others + alpha))
