"""A long fuzz run: random and malformed updates of every kind against the real bot.

    python -m bench.fuzz [--seeds 1 2 3] [--strangers 20] [--updates 60] [--participants 5]

Each seed runs a fresh bot (tests/fuzz.py, on a scratch SQLite file) and prints what was sent
and what went wrong: people who got no reply, callbacks never answered, calls Telegram would
refuse, real participants who could not finish, answers lost, and log lines with a traceback.
Exits 1 if any seed found a problem.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

from tests import fuzz
from tests.e2e.harness import scratch_bot


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.tracebacks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.tracebacks.append(record.getMessage()[:200])


async def _one(seed: int, args: argparse.Namespace) -> bool:
    counter = _Count()
    logging.getLogger().addHandler(counter)
    try:
        with tempfile.TemporaryDirectory() as directory:
            async with scratch_bot(Path(directory)) as bot:
                report = await fuzz.run(
                    bot,
                    seed=seed,
                    strangers=args.strangers,
                    updates_each=args.updates,
                    participants=args.participants,
                )
    finally:
        logging.getLogger().removeHandler(counter)
    refused = [call for call in report.refused_calls if " 403 " not in call]
    print(
        f"seed {seed}: {sum(report.sent.values())} random updates "
        f"({', '.join(f'{k} {v}' for k, v in sorted(report.sent.items()))})"
    )
    print(f"  real participants finished  {report.participants_finished} of {args.participants}")
    print(f"  answers stored / given      {report.answers_stored} / {report.answers_expected}")
    print(f"  people without a reply      {len(report.strangers_without_reply)}")
    print(f"  callbacks never answered    {len(report.unanswered_callbacks)}")
    print(f"  calls Telegram refused      {len(refused)} (403 after a block not counted)")
    print(f"  log lines with a traceback  {len(counter.tracebacks)}")
    for line in [*refused[:5], *counter.tracebacks[:5]]:
        print(f"    {line}")
    return (
        report.participants_finished == args.participants
        and report.answers_stored == report.answers_expected
        and not report.strangers_without_reply
        and not report.unanswered_callbacks
        and not refused
        and not counter.tracebacks
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--strangers", type=int, default=20)
    parser.add_argument("--updates", type=int, default=60)
    parser.add_argument("--participants", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = [asyncio.run(_one(seed, args)) for seed in args.seeds]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
