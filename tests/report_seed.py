"""Workshops with known answers, written straight into the database, for report tests and
`bench/report_bench.py`: the report reads stored rows, so the fastest honest fixture is rows.

`labelled_workshop()` is built so each topic's label is known in advance (see its docstring);
`synthetic_workshop()` makes a large, realistic one (themed answers in three languages).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from storage.engine import SessionFactory
from storage.models import Answer, Participant, Person, Workshop

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BATCH = 2_000


@dataclass(frozen=True)
class SeedPerson:
    role: str
    language: str = "en"
    ratings: Mapping[str, int | None] = field(default_factory=dict)
    """Topic -> 1..5, or None for "not sure"."""
    needs: Mapping[str, str] = field(default_factory=dict)
    concerns: Mapping[str, str] = field(default_factory=dict)
    followup: Mapping[str, int | None] = field(default_factory=dict)
    finished: bool = True
    quote_consent: bool = False
    approved: bool = False
    """Their typed answers were approved for quoting by a facilitator."""
    voice: Mapping[str, str] = field(default_factory=dict)
    """Topic -> question answered by a voice message instead."""
    sensitive: frozenset[str] = frozenset()
    """Topics whose concerns were marked sensitive by the safeguarding check."""


def _answer(
    participant_id: int,
    rec: str,
    question: str,
    value: str | None,
    at: datetime,
    *,
    round: int = 1,
    quote: bool = False,
    approved: bool = False,
    voice: bool = False,
    sensitive: bool = False,
) -> dict[str, Any]:
    return {
        "participant_id": participant_id,
        "recommendation_id": rec,
        "question": question,
        "round": round,
        "value": None if voice else value,
        "skipped": False,
        "voice_file_id": f"voice-{participant_id}-{rec}-{question}" if voice else None,
        "voice_duration": 9 if voice else None,
        "voice_path": None,
        "answered_at": at,
        "edited_at": None,
        "sensitive": sensitive,
        "may_quote": quote and not sensitive,
        "quote_status": "approved" if approved and quote and not sensitive else "pending",
    }


def _rows(person: SeedPerson, participant_id: int, at: datetime) -> Iterator[dict[str, Any]]:
    quote = person.quote_consent
    for rec, rating in person.ratings.items():
        value = "unsure" if rating is None else str(rating)
        yield _answer(participant_id, rec, "priority", value, at)
        for question, texts in (("needs", person.needs), ("concerns", person.concerns)):
            voice = person.voice.get(rec) == question
            if rec in texts or voice:
                sensitive = question == "concerns" and rec in person.sensitive
                yield _answer(
                    participant_id,
                    rec,
                    question,
                    texts.get(rec),
                    at,
                    quote=quote,
                    approved=person.approved,
                    voice=voice,
                    sensitive=sensitive,
                )
    for rec, rating in person.followup.items():
        value = "unsure" if rating is None else str(rating)
        yield _answer(participant_id, rec, "priority", value, at + timedelta(days=7), round=2)


async def seed_workshop(
    sessions: SessionFactory,
    code: str,
    scope: Sequence[str],
    people: Sequence[SeedPerson],
    *,
    first_user: int = 500_000,
    title: str = "Report workshop",
    **workshop: Any,
) -> int:
    """Insert the workshop, its people and their answers; returns the workshop's id."""
    async with sessions() as session, session.begin():
        conn = await session.connection()
        workshop_id = (
            await conn.execute(
                insert(Workshop).returning(Workshop.id),
                [
                    {
                        "code": code,
                        "title": title,
                        "scope": list(scope),
                        "languages": ["en", "fr", "de", "es", "it", "nl"],
                        "created_at": START,
                        **workshop,
                    }
                ],
            )
        ).scalar_one()
        users = [first_user + index for index in range(len(people))]
        if not people:
            return int(workshop_id)
        await conn.execute(
            insert(Person),
            [
                {"telegram_user_id": user, "language": person.language, "created_at": START}
                for user, person in zip(users, people, strict=True)
            ],
        )
        await conn.execute(
            insert(Participant),
            [
                {
                    "telegram_user_id": user,
                    "workshop_id": workshop_id,
                    "pseudonym": f"P-{code[:4]}{index:06d}",
                    "role": person.role,
                    "position": "done" if person.finished else "review",
                    "consented_at": START,
                    "last_active_at": START,
                    "finished_at": START + timedelta(hours=1) if person.finished else None,
                    "quote_consent": person.quote_consent,
                }
                for index, (user, person) in enumerate(zip(users, people, strict=True))
            ],
        )
        ids = (
            await conn.execute(
                select(Participant.id)
                .where(Participant.workshop_id == workshop_id)
                .order_by(Participant.id)
            )
        ).scalars()
        batch: list[dict[str, Any]] = []
        for index, (participant_id, person) in enumerate(zip(ids, people, strict=True)):
            batch.extend(_rows(person, participant_id, START + timedelta(minutes=index)))
            if len(batch) >= BATCH:
                await conn.execute(insert(Answer), batch)
                batch = []
        if batch:
            await conn.execute(insert(Answer), batch)
    return int(workshop_id)


# ---- a workshop whose labels are known -------------------------------------------------------

LABELLED_SCOPE = ("h1", "h2", "h3")
TRAINING = (
    "I need training before I use it",
    "Training for all the staff, please",
    "Good training and time to learn",
    "Une formation pour tout le personnel",
    "Il faut une formation avant de l'utiliser",
)
HUMAN = (
    "A human must make the final decision",
    "A person should always decide, not the machine",
    "The decision must stay with a human",
    "Une personne humaine doit prendre la décision",
    "La décision finale doit rester humaine",
)


def labelled_workshop() -> list[SeedPerson]:
    """15 people, 5 per role (worker, service user, technologist), MIN_GROUP_SIZE 5:

    - h1 **consensus**: every role rates 4 or 5 (at least 70% high, IQR <= 1).
    - h2 **divergence**: workers rate 5, technologists 1 or 2 (Cliff's delta = 1).
    - h3 **mixed**: every role rates 2, 3, 3, 4, 5 (no difference, no agreement).

    Needs on h1 are about training, concerns about a human deciding (English and French);
    technologists have no follow-up; workers changed h2 in the follow-up round; one service
    user has not finished (so a nudge has someone to reach) and sent a voice answer.
    """
    people = []
    h2_ratings = {
        "worker": (5, 4, 5, 4, 5),
        "service_user": (3, 4, 3, 4, 3),
        "technologist": (1, 2, 1, 2, 1),
    }
    for role, h2 in h2_ratings.items():
        for index in range(5):
            language = "fr" if index >= 3 else "en"
            people.append(
                SeedPerson(
                    role=role,
                    language=language,
                    ratings={"h1": 4 + index % 2, "h2": h2[index], "h3": (2, 3, 3, 4, 5)[index]},
                    needs={"h1": TRAINING[index]},
                    concerns={"h1": HUMAN[index]},
                    followup={"h2": 4} if role == "worker" else {},
                    finished=not (role == "service_user" and index == 0),
                    quote_consent=index < 2,
                    approved=index == 0,
                    voice={"h2": "needs"} if role == "service_user" and index == 0 else {},
                )
            )
    return people


# ---- a large realistic workshop ----------------------------------------------------------------

ROLE_WEIGHTS = {
    "worker": 0.4,
    "service_user": 0.25,
    "technologist": 0.2,
    "family_carer": 0.1,
    "other": 0.05,
}
THEMES = {
    "en": (
        "We need proper training and time to learn the new tools",
        "A human must make the final decision about my support",
        "My personal data must stay private and safe",
        "It should save time on paperwork so we can be with people",
        "I worry the system is biased against people like me",
        "Explain clearly how the tool reached its answer",
    ),
    "fr": (
        "Il nous faut une vraie formation et du temps pour apprendre",
        "Une personne humaine doit prendre la décision finale",
        "Mes données personnelles doivent rester privées",
        "Cela doit faire gagner du temps sur la paperasse",
        "J'ai peur que le système soit biaisé contre des gens comme moi",
        "Expliquer clairement comment l'outil a décidé",
    ),
    "de": (
        "Wir brauchen eine gute Schulung und Zeit zum Lernen",
        "Ein Mensch muss die endgültige Entscheidung treffen",
        "Meine persönlichen Daten müssen geschützt bleiben",
        "Es soll Zeit bei der Dokumentation sparen",
        "Ich fürchte, das System ist voreingenommen",
        "Klar erklären, wie das Werkzeug entschieden hat",
    ),
}


def synthetic_workshop(people: int, scope: Sequence[str], seed: int = 1) -> list[SeedPerson]:
    """`people` participants answering every topic: a rating shifted by role on some topics,
    a need and a worry drawn from six themes in English, French or German, a follow-up rating
    for a third of them, and a few voice answers."""
    rng = random.Random(seed)
    roles = list(ROLE_WEIGHTS)
    weights = list(ROLE_WEIGHTS.values())
    result = []
    for _ in range(people):
        role = rng.choices(roles, weights)[0]
        language = rng.choice(("en", "en", "fr", "de"))
        shift = {"technologist": 1, "service_user": -1}.get(role, 0)
        ratings: dict[str, int | None] = {}
        needs: dict[str, str] = {}
        concerns: dict[str, str] = {}
        for n, rec in enumerate(scope):
            base = 3 + (shift if n % 3 == 0 else 0) + rng.choice((-1, 0, 0, 1))
            ratings[rec] = None if rng.random() < 0.05 else max(1, min(5, base))
            phrases = THEMES[language]
            needs[rec] = rng.choice(phrases) + rng.choice(("", ".", " please", " now"))
            concerns[rec] = rng.choice(phrases) + rng.choice(("", "!", " really"))
        followup = {rec: rng.randint(2, 5) for rec in scope} if rng.random() < 0.33 else {}
        voice = {scope[0]: "needs"} if rng.random() < 0.03 else {}
        result.append(
            SeedPerson(
                role=role,
                language=language,
                ratings=ratings,
                needs=needs,
                concerns=concerns,
                followup=followup,
                finished=rng.random() < 0.8,
                quote_consent=rng.random() < 0.5,
                approved=rng.random() < 0.2,
                voice=voice,
            )
        )
    return result
