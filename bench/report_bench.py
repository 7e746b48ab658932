"""Report benchmark: time and peak memory of one report at 100, 300 and 1,000 participants.

    python -m bench.report_bench [--people 100 300 1000]

Each size is a workshop of every topic (14) where everyone rates each topic and types a need
and a worry (themes in English, French and German), about 3 answers per person and topic, a
third with a follow-up rating. The report is built from a SQLite database as `/report` builds
it (one streamed read, the statistics and keyword groups in a worker thread, the page
rendered and written). Target on the 2-core machine: under 10 s and under 400 MB of peak
memory at 1,000 participants.

Each size runs in a fresh child process so its peak resident memory (psutil's high-water
mark where the platform has one, else the largest RSS sampled) is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bot.flows.catalogue import load_catalogue
from bot.rendering import Renderer
from bot.report.run import ReportRequest, write_report
from locales import Translator
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade_to_head
from tests.report_seed import seed_workshop, synthetic_workshop

CODE = "BENCHREP"
TARGET_SECONDS = 10.0
TARGET_MB = 400.0


class _PeakRss:
    """Samples this process's RSS every 20 ms: the peak of the report, not of seeding."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


async def _measure(people: int, folder: Path) -> dict[str, float]:
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'bench.db'}")
    try:
        await upgrade_to_head(engine)
        sessions = create_session_factory(engine)
        catalogue = load_catalogue()
        scope = catalogue.scope("headline") + catalogue.scope("detailed")
        await seed_workshop(sessions, CODE, scope, synthetic_workshop(people, scope))
        renderer = Renderer(Translator(), catalogue)
        out = folder / "report.html"
        with _PeakRss() as rss:
            started = time.perf_counter()
            report = await write_report(sessions, ReportRequest(CODE, "en", 5), renderer, out)
            seconds = time.perf_counter() - started
        return {
            "people": people,
            "answers": report.answers,
            "topics": len(report.topics),
            "seconds": seconds,
            "peak_mb": rss.peak / 2**20,
            "page_kb": out.stat().st_size / 1024,
        }
    finally:
        await engine.dispose()


def _child(people: int, queue: multiprocessing.Queue[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="codesign-report-bench-") as folder:
        queue.put(json.dumps(asyncio.run(_measure(people, Path(folder)))))


def measure(people: int) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = context.Queue()
    child = context.Process(target=_child, args=(people, queue))
    child.start()
    result = json.loads(queue.get(timeout=600))
    child.join()
    return dict(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100, 300, 1000])
    args = parser.parse_args()
    print(
        f"{'people':>7} {'answers':>8} {'topics':>6} {'seconds':>8} {'peak MB':>8} {'page KB':>8}"
    )
    for people in args.people:
        r = measure(people)
        print(
            f"{r['people']:>8} {r['answers']:>8} {r['topics']:>8} {r['seconds']:>8.2f} "
            f"{r['peak_mb']:>8.0f} {r['page_kb']:>8.0f}"
        )
    print(f"target at 1,000 people: under {TARGET_SECONDS:.0f} s and {TARGET_MB:.0f} MB")


if __name__ == "__main__":
    main()
