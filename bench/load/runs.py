"""One measured run: a fake server, a bot process, the people, and what came out of it.

This is where the other modules meet: `run_echo` and `run_bot` start a server and a bot,
wait until it polls, let the people loose while a watchdog stops the run as soon as the bot
dies or the run overruns (`measure_phase`), and collect the figures into a `RunResult` for the
report and the checks.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.load.databases import AnswerCheck, backend_name, check_answers
from bench.load.people import (
    ECHO_SCRIPT,
    Person,
    Timings,
    echo_journey,
    run_people,
    workshop_journey,
)
from bench.load.process import (
    ROOT,
    BenchError,
    Child,
    child_env,
    own_cpu_seconds,
    running,
    watch,
)
from bench.load.server import LoadServer

TOKEN = "123456:LOAD-BENCH-abcdefghijklmnop"


@dataclass(frozen=True)
class Options:
    participants: int
    step_timeout: float
    startup_timeout: float
    timeout: float | None = None  # a whole phase; None: from its size
    think: float = 0.0
    profile: Path | None = None
    http: str = "aiohttp"  # the bot's TELEGRAM_HTTP_CLIENT

    @property
    def phase_timeout(self) -> float:
        steps = len(ECHO_SCRIPT)
        return self.timeout or 60.0 + self.participants * steps * 0.05 + steps * self.think * 1.5


@dataclass(frozen=True)
class Phase:
    timings: Timings
    seconds: float
    bot_cpu: float | None  # CPU seconds the bot's process used during the phase
    bench_cpu: float  # CPU seconds this process (fake server and people) used


@dataclass
class RunResult:
    label: str
    participants: int
    phase: Phase
    peak_kib: int | None
    api_errors: int
    log_problems: int
    unanswered_callbacks: int
    ready_kib: int | None = None
    exceptions: Counter[str] = field(default_factory=Counter)
    answers: AnswerCheck | None = None

    @property
    def timings(self) -> Timings:
        return self.phase.timings

    @property
    def seconds(self) -> float:
        return self.phase.seconds

    @property
    def rate(self) -> float:
        return self.timings.updates / self.seconds if self.seconds else 0.0


async def measure_phase(
    child: Child,
    server: LoadServer,
    participants: int,
    journey: Callable[[Person], Awaitable[None]],
    options: Options,
) -> Phase:
    """Run the people while watching the bot: a crash or a hang ends the run at once."""
    bot_cpu, own_cpu = child.cpu_seconds(), own_cpu_seconds()
    people = asyncio.ensure_future(run_people(server, participants, journey, options))
    watchdog = asyncio.ensure_future(watch(child))
    try:
        done, _ = await asyncio.wait(
            {people, watchdog},
            timeout=options.phase_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if people in done:
            timings, seconds = people.result()
            bot_after = child.cpu_seconds()
            return Phase(
                timings=timings,
                seconds=seconds,
                bot_cpu=None if bot_cpu is None or bot_after is None else bot_after - bot_cpu,
                bench_cpu=own_cpu_seconds() - own_cpu,
            )
        if watchdog in done:
            raise BenchError(
                f"{child.name} exited with {child.process.returncode} during the run:\n"
                f"{child.log_tail()}"
            )
        raise BenchError(f"the run did not finish within {options.phase_timeout:.0f}s")
    finally:
        for task in (people, watchdog):
            task.cancel()
        await asyncio.gather(people, watchdog, return_exceptions=True)


async def run_echo(options: Options, directory: Path, http: str) -> RunResult:
    async with LoadServer() as server:
        argv = [sys.executable, "-m", "bench.echo_bot", "--base-url", server.api_url]
        argv += ["--http", http]
        env = child_env(TELEGRAM_BOT_TOKEN=TOKEN)
        log = directory / f"echo-{http}.log"
        async with running("the echo bot", argv, env, ROOT, log) as child:
            await child.wait_polling(server, options.startup_timeout)
            phase = await measure_phase(child, server, options.participants, echo_journey, options)
            child.read_peak()
        return RunResult(
            label=f"echo bot on {http}",
            participants=options.participants,
            phase=phase,
            peak_kib=child.peak_kib,
            api_errors=server.api_errors(),
            log_problems=child.log_problems(),
            unanswered_callbacks=len(server.unanswered_callback_queries()),
        )


async def run_bot(options: Options, database_url: str, directory: Path) -> RunResult:
    workdir = directory / f"bot-{secrets.token_hex(3)}"
    workdir.mkdir()
    async with LoadServer() as server:
        env = child_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=server.api_url,
            DATABASE_URL=database_url,
            DATA_DIR=str(workdir / "data"),
            SCHEDULER_INTERVAL_SECONDS="0",
            TELEGRAM_RATE_LIMIT="0",
            TELEGRAM_HTTP_CLIENT=options.http,
            LOG_LEVEL="WARNING",
        )
        argv = [sys.executable, "-m", "bot", "run"]
        if options.profile is not None:
            profile = options.profile.with_suffix(f".{backend_name(database_url).lower()}.prof")
            argv[1:1] = ["-m", "cProfile", "-o", str(profile.resolve())]
        # cwd is a fresh directory so no .env file next to the repo leaks into the run.
        async with running("the bot", argv, env, workdir, workdir / "bot.log") as child:
            await child.wait_polling(server, options.startup_timeout)
            phase = await measure_phase(
                child, server, options.participants, workshop_journey, options
            )
            child.read_peak()
            if not child.alive():
                raise BenchError(f"the bot exited after the run:\n{child.log_tail()}")
        async with asyncio.timeout(120):
            answers = await check_answers(database_url, options.participants)
        return RunResult(
            label=backend_name(database_url),
            participants=options.participants,
            phase=phase,
            peak_kib=child.peak_kib,
            api_errors=server.api_errors(),
            log_problems=child.log_problems(),
            unanswered_callbacks=len(server.unanswered_callback_queries()),
            ready_kib=child.ready_kib,
            exceptions=child.exceptions(),
            answers=answers,
        )
