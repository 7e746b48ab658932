"""Export benchmark: time and peak memory of every format, at N answers and at N/10.

    python -m bench.export_bench [--answers 100000]

Exports must run in constant memory, so the proof is a comparison: the same exports at a
tenth of the size should peak at about the same memory, not a tenth of it. Each export runs
twice, once for time (no tracing, which slows Python down) and once under tracemalloc for the
peak of Python allocations. The process's max RSS is printed as well; it is a high-water mark
for the whole run (including seeding the database), so it can only grow.

What may still grow a little is not the answers: XLSX and JSON hold the participant list
(storage's `participants()` returns one small row per participant, hundreds in a real
workshop), and the seeded participants grow with N here. CSV holds nothing per row or person.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.exports.run import ExportFormat, export_workshop
from bot.flows.catalogue import load_catalogue
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade_to_head
from storage.models import Answer, Participant, Person, Workshop

QUESTIONS = ("priority", "needs", "concerns")
ROLES = ("worker", "service_user", "technologist", "other")
PRIORITIES = ("1", "2", "3", "4", "5", "unsure")
BATCH = 2_000
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WORDS = (
    "formation",
    "données",
    "privacy",
    "trust",
    "caseworkers",
    "accessibilité",
    "bias",
    "time, money",
    'the "system"',
    "élèves",
    "😟",
    "transparency",
    "consent",
)
# Answers that look like formulas, so the neutralising path is part of what is timed.
TRICKY = ('=HYPERLINK("http://x")', "+33 6 12", "-2 is too low", "@team", "\tindented")


@dataclass(frozen=True)
class Measure:
    fmt: ExportFormat
    answers: int
    seconds: float
    peak_bytes: int
    file_bytes: int
    max_rss_kib: int


def _text(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return rng.choice(TRICKY)
    words = rng.choices(WORDS, k=rng.randint(5, 30))
    return " ".join(words) + ("\nsecond line" if rng.random() < 0.1 else "")


def _answers(
    rng: random.Random, participant_ids: list[int], scope: tuple[str, ...], n: int
) -> Iterator[dict[str, Any]]:
    made = 0
    for pid in participant_ids:
        for rec in scope:
            for question in QUESTIONS:
                if made == n:
                    return
                made += 1
                at = START + timedelta(seconds=made)
                skipped = rng.random() < 0.08
                voice = not skipped and question != "priority" and rng.random() < 0.05
                if skipped or voice:
                    value = None
                elif question == "priority":
                    value = rng.choice(PRIORITIES)
                else:
                    value = _text(rng)
                yield {
                    "participant_id": pid,
                    "recommendation_id": rec,
                    "question": question,
                    "round": 1,
                    "value": value,
                    "skipped": skipped,
                    "voice_file_id": f"tg-{made}" if voice else None,
                    "voice_duration": 7 if voice else None,
                    "voice_path": f"voice/{pid}/{made}.ogg" if voice else None,
                    "answered_at": at,
                    "edited_at": at + timedelta(minutes=3) if rng.random() < 0.1 else None,
                }


async def seed(engine: AsyncEngine, n: int, tag: str, first_user: int) -> str:
    """A workshop with n answers over the 14 recommendations, inserted in executemany batches."""
    rng = random.Random(n)
    catalogue = load_catalogue()
    scope = catalogue.scope("headline") + catalogue.scope("detailed")
    per_participant = len(scope) * len(QUESTIONS)
    count = math.ceil(n / per_participant)
    code = f"BENCH{tag}"
    async with engine.begin() as conn:
        workshop_id = (
            await conn.execute(
                insert(Workshop).returning(Workshop.id),
                [
                    {
                        "code": code,
                        "title": f"Benchmark {n}",
                        "scope": list(scope),
                        "languages": ["en", "fr"],
                        "created_at": START,
                    }
                ],
            )
        ).scalar_one()
        users = range(first_user, first_user + count)
        await conn.execute(
            insert(Person),
            [
                {"telegram_user_id": u, "language": rng.choice(("en", "fr")), "created_at": START}
                for u in users
            ],
        )
        await conn.execute(
            insert(Participant),
            [
                {
                    "telegram_user_id": u,
                    "workshop_id": workshop_id,
                    "pseudonym": f"P-{tag}{index:07d}",
                    "role": ROLES[index % len(ROLES)],
                    "role_other": "=parent, carer" if index % len(ROLES) == 3 else None,
                    "position": "done",
                    "consented_at": START,
                    "last_active_at": START,
                }
                for index, u in enumerate(users)
            ],
        )
        participant_ids = list(
            (
                await conn.execute(
                    Participant.__table__.select()
                    .with_only_columns(Participant.id)
                    .where(Participant.workshop_id == workshop_id)
                    .order_by(Participant.id)
                )
            ).scalars()
        )
        batch: list[dict[str, Any]] = []
        for row in _answers(rng, participant_ids, scope, n):
            batch.append(row)
            if len(batch) == BATCH:
                await conn.execute(insert(Answer), batch)
                batch = []
        if batch:
            await conn.execute(insert(Answer), batch)
    return code


def _max_rss_kib() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss  # bytes on macOS, KiB on Linux


async def measure(
    engine: AsyncEngine, code: str, fmt: ExportFormat, answers: int, out_dir: Path
) -> Measure:
    sessions = create_session_factory(engine)
    out = out_dir / f"{code}.{fmt}"
    started = time.perf_counter()
    result = await export_workshop(sessions, code, fmt, out)
    seconds = time.perf_counter() - started
    assert result.rows == answers, (result.rows, answers)

    tracemalloc.start()
    tracemalloc.reset_peak()
    await export_workshop(sessions, code, fmt, out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return Measure(fmt, answers, seconds, peak, out.stat().st_size, _max_rss_kib())


def _mib(value: float) -> str:
    return f"{value / 2**20:8.1f}"


def report(measures: list[Measure]) -> None:
    print(
        f"{'format':<6} {'answers':>8} {'seconds':>8} {'rows/s':>8} "
        f"{'peak MiB':>8} {'file MiB':>8} {'maxRSS MiB':>10}"
    )
    for m in measures:
        print(
            f"{m.fmt.value:<6} {m.answers:>8} {m.seconds:>8.2f} {m.answers / m.seconds:>8.0f} "
            f"{_mib(m.peak_bytes)} {_mib(m.file_bytes)} {_mib(m.max_rss_kib * 1024):>10}"
        )
    print()
    small, large = min(m.answers for m in measures), max(m.answers for m in measures)
    for fmt in ExportFormat:
        a = next(m for m in measures if m.fmt is fmt and m.answers == small)
        b = next(m for m in measures if m.fmt is fmt and m.answers == large)
        print(
            f"{fmt.value:<5} answers x{large / small:.0f}: "
            f"time x{b.seconds / a.seconds:.1f}, "
            f"peak memory x{b.peak_bytes / a.peak_bytes:.2f}, "
            f"file x{b.file_bytes / a.file_bytes:.1f}"
        )


async def main(answers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        directory = Path(tmp)
        engine = create_engine(f"sqlite+aiosqlite:///{directory / 'bench.db'}")
        try:
            await upgrade_to_head(engine)
            started = time.perf_counter()
            small = max(1, answers // 10)
            codes = {
                small: await seed(engine, small, "S", 1_000_000),
                answers: await seed(engine, answers, "L", 2_000_000),
            }
            per = len(load_catalogue().scope("headline") + load_catalogue().scope("detailed"))
            print(
                f"seeded {small} + {answers} answers ({math.ceil(small / per / 3)} + "
                f"{math.ceil(answers / per / 3)} participants, {per} recommendations x 3 "
                f"questions) in {time.perf_counter() - started:.1f}s "
                f"(python {sys.version.split()[0]}, SQLite file database)\n"
            )
            measures = [
                await measure(engine, codes[size], fmt, size, directory)
                for size in (small, answers)
                for fmt in ExportFormat
            ]
        finally:
            await engine.dispose()
    report(measures)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.export_bench", description=__doc__)
    parser.add_argument("--answers", type=int, default=100_000, help="answers in the big run")
    args = parser.parse_args(argv)
    asyncio.run(main(args.answers))


if __name__ == "__main__":
    cli()
