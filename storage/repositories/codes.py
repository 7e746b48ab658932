"""Random identifiers that must not be guessable: invite codes and participant pseudonyms."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: codes are read aloud and typed by people who are not confident with technology.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def random_code(length: int = 10) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def random_pseudonym() -> str:
    return "P-" + random_code(8)
