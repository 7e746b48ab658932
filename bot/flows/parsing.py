"""Forgiving reading of typed text where a button was expected.

Many participants are not confident with technology: someone who types "4", "four" or
"pas sûr" instead of tapping a button should be understood, not corrected.
"""

from __future__ import annotations

import re
import unicodedata

NOT_SURE = "unsure"
PRIORITY_VALUES = ("1", "2", "3", "4", "5", NOT_SURE)

_PRIORITY_WORDS = {
    "1": ("1", "one", "un", "une"),
    "2": ("2", "two", "deux"),
    "3": ("3", "three", "trois"),
    "4": ("4", "four", "quatre"),
    "5": ("5", "five", "cinq"),
    NOT_SURE: (
        "?",
        "not sure",
        "unsure",
        "dont know",
        "don't know",
        "do not know",
        "no idea",
        "pas sur",
        "pas sure",
        "je ne sais pas",
        "sais pas",
        "je sais pas",
        "ne sais pas",
    ),
}
_SKIP_WORDS = ("skip", "next", "pass", "passer", "suivant", "sauter")
_ROLE_WORDS = {
    "worker": (
        "worker",
        "social worker",
        "care worker",
        "professional",
        "staff",
        "travailleur",
        "travailleuse",
        "professionnel",
        "professionnelle",
        "travailleur social",
        "aidant",
    ),
    "service_user": (
        "service user",
        "user",
        "client",
        "usager",
        "usagere",
        "utilisateur",
        "utilisatrice",
        "beneficiaire",
    ),
    "technologist": (
        "technologist",
        "developer",
        "engineer",
        "tech",
        "technologue",
        "developpeur",
        "developpeuse",
        "ingenieur",
        "ingenieure",
    ),
    "other": ("other", "autre", "something else", "autre chose"),
}
_LANGUAGE_WORDS = {
    "en": ("en", "english", "anglais"),
    "fr": ("fr", "french", "francais", "française", "francaise"),
}


def normalise(text: str) -> str:
    """Lower case, accents folded, punctuation at the ends and repeated spaces removed."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    plain = plain.replace("’", "'")
    plain = re.sub(r"\s+", " ", plain).strip()
    if plain != "?":
        plain = plain.strip(" .!,;:")
    return plain


def _match(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    word = normalise(text)
    for value, words in table.items():
        if word in words:
            return value
    return None


def parse_priority(text: str) -> str | None:
    """'4', 'four', '4/5', 'not sure' → '4' / 'unsure'; None when it is not a priority."""
    word = normalise(text)
    fraction = re.fullmatch(r"([1-5])\s*(/\s*5)?", word)
    if fraction:
        return fraction.group(1)
    return _match(text, _PRIORITY_WORDS)


def is_skip(text: str) -> bool:
    return normalise(text) in _SKIP_WORDS


# The whole message must be one of these: "Stop the cuts to home care" is an answer, not a
# wish to leave. Every language the bot speaks, plus English everywhere.
_WITHDRAW_WORDS = frozenset(
    (
        "stop",
        "delete",
        "delete my data",
        "delete my answers",
        "delete everything",
        "unsubscribe",
        "quit",
        "remove me",
        "i want to stop",
        "stop and delete",
        "arreter",
        "arrete",
        "supprimer",
        "effacer",
        "supprimer mes donnees",
        "supprimer mes reponses",
        "je veux arreter",
        "desinscrire",
        "stopp",
        "aufhoren",
        "aufhoeren",
        "loschen",
        "loeschen",
        "meine daten loschen",
        "parar",
        "detener",
        "borrar",
        "eliminar",
        "borrar mis datos",
        "quiero parar",
        "basta",
        "fermati",
        "smettere",
        "cancella",
        "elimina",
        "cancellare i miei dati",
        "stoppen",
        "verwijderen",
        "wissen",
        "verwijder mijn gegevens",
        "ik wil stoppen",
    )
)


def is_withdrawal(text: str) -> bool:
    """Typed words that ask to stop and delete, in any language the bot speaks."""
    return normalise(text).strip(" .!") in _WITHDRAW_WORDS


def parse_role(text: str) -> str | None:
    return _match(text, _ROLE_WORDS)


def parse_language(text: str) -> str | None:
    return _match(text, _LANGUAGE_WORDS)
