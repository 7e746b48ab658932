"""The command line of the load benchmark: `python -m bench.load [--smoke] ...`.

Parses the options (its help is the package's docstring), runs the echo bot(s) and then the
bot on each backend, prints the figures and the checks, and turns them into the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import platform
import signal
import sys
import tempfile
from pathlib import Path

import bench.load
from bench.load.checks import Verdict, judge
from bench.load.databases import database, url_problem
from bench.load.figures import cpu_note, describe, mib, ms
from bench.load.people import ECHO_SCRIPT
from bench.load.process import BenchError
from bench.load.runs import Options, run_bot, run_echo
from tests.postgres import server_url

DEFAULT_PARTICIPANTS = 200
SMOKE_PARTICIPANTS = 20
# The paced run: seconds a person takes, on average, to read a message and tap or type.
DEFAULT_THINK = 5.0
SMOKE_THINK = 0.5


def participants_of(args: argparse.Namespace) -> int:
    if args.participants is not None:
        return int(args.participants)
    return SMOKE_PARTICIPANTS if args.smoke else DEFAULT_PARTICIPANTS


def database_urls(args: argparse.Namespace) -> list[str | None]:
    """None is a temporary SQLite file."""
    if args.database_url:
        return [args.database_url]
    postgres = server_url()  # TEST_POSTGRES_URL, as the tests read it
    return [None, postgres.render_as_string(hide_password=False)] if postgres else [None]


def think_of(args: argparse.Namespace) -> float:
    if args.think is not None:
        return float(args.think)
    return SMOKE_THINK if args.smoke else DEFAULT_THINK


async def main(args: argparse.Namespace) -> int:
    participants = participants_of(args)
    steps = len(ECHO_SCRIPT)
    capacity = Options(
        participants=participants,
        step_timeout=args.step_timeout,
        startup_timeout=args.startup_timeout,
        timeout=args.timeout,
        profile=Path(args.profile_bot) if args.profile_bot else None,
        http=args.http,
    )
    think = think_of(args)
    paced = dataclasses.replace(capacity, think=think) if think else None
    pace = f"then again pausing {think:g} s on average before each" if think else "no pause"
    print(
        f"load benchmark: {participants} participants at once, {steps} updates each, {pace}"
        f" (python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.system()};"
        f" the bot on {args.http}, its rate limiter off: TELEGRAM_RATE_LIMIT=0)",
        flush=True,
    )
    verdicts: list[Verdict] = []
    with contextlib.ExitStack() as stack:
        if args.workdir:
            directory = Path(args.workdir)  # cli() made it
        else:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-")))
        try:
            # The judged baseline is python-telegram-bot as it comes (httpx); the same echo on
            # the bot's own HTTP client shows what the bot costs on top of its transport.
            transports = ["httpx"]
            if args.http != "httpx" and not args.smoke:
                transports.append(args.http)
            echoes = []
            for http in transports:
                echo = await run_echo(capacity, directory, http)
                print(
                    f"\n{echo.label}: {echo.timings.updates} updates in {echo.seconds:.2f}s = "
                    f"{echo.rate:.0f} updates/s, p50 {ms(echo.timings.first, 50)} ms, "
                    f"p99 {ms(echo.timings.first, 99)} ms, peak {mib(echo.peak_kib)} MiB"
                    + (cpu_note(echo) if args.details else ""),
                    end="",
                    flush=True,
                )
                if echo.timings.failures:
                    raise BenchError(f"the echo bot did not answer: {echo.timings.failures[0]}")
                echoes.append(echo)
            print()
            for url in database_urls(args):
                async with database(url, directory) as database_url:
                    result = await run_bot(capacity, database_url, directory)
                print(f"\n{result.label}, all at once with no pause (capacity)", flush=True)
                print("\n".join(describe(result, echoes, args.details)))
                verdict = judge(
                    result,
                    echoes[0],
                    phase="capacity",
                    latency=paced is None,
                    details=args.details,
                )
                if paced is not None:
                    async with database(url, directory) as database_url:
                        slow = await run_bot(paced, database_url, directory)
                    print(
                        f"{slow.label}, pausing {think:g} s on average before each update "
                        "(a person's pace)"
                    )
                    print("\n".join(describe(slow, [], args.details)))
                    more = judge(slow, None, phase="paced", latency=True, details=args.details)
                    verdict.merge(more)
                print("\n".join(verdict.lines), flush=True)
                verdicts.append(verdict)
        except BenchError as error:
            print(f"\nFAIL {error}", file=sys.stderr, flush=True)
            return 2
    if any(v.correctness_failed for v in verdicts):
        return 1
    if not args.smoke and any(v.target_failed for v in verdicts):
        return 1
    return 0


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=bench.load.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--participants",
        type=int,
        default=None,
        help=f"people at once (default {DEFAULT_PARTICIPANTS}, {SMOKE_PARTICIPANTS} with --smoke)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"a short run for CI ({SMOKE_PARTICIPANTS} people): exit non-zero only when an "
        "answer is lost or extra, or a bot crashes or hangs",
    )
    parser.add_argument(
        "--database-url",
        help="sqlite+aiosqlite:///NEW_FILE or postgresql+asyncpg://user@host:port/db (a "
        "scratch database is created on that server and dropped); default: a temporary "
        "SQLite file, plus PostgreSQL at $TEST_POSTGRES_URL when it is set",
    )
    parser.add_argument(
        "--details",
        action="store_true",
        help="also latency per kind of update, CPU used by each process, API errors",
    )
    parser.add_argument(
        "--workdir", help="keep the bots' logs and the SQLite file here (default: a temp dir)"
    )
    parser.add_argument(
        "--profile-bot",
        metavar="FILE",
        help="run the bot under cProfile and write FILE.<backend>.prof (slows the bot down)",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=None,
        metavar="SECONDS",
        help="the paced run: each person pauses 0.5-1.5 x this before each update, like "
        f"people reading and typing (default {DEFAULT_THINK:g}, {SMOKE_THINK:g} with --smoke; "
        "0 skips the paced run and judges p99 on the capacity run)",
    )
    parser.add_argument(
        "--http",
        choices=("aiohttp", "httpx"),
        default="aiohttp",
        help="the bot's TELEGRAM_HTTP_CLIENT (default aiohttp, as in production)",
    )
    parser.add_argument("--step-timeout", type=float, default=30.0, help="seconds per reply")
    parser.add_argument(
        "--startup-timeout", type=float, default=60.0, help="seconds for a bot to start polling"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds for a whole run (default: by size)"
    )
    args = parser.parse_args(argv)
    if args.think is not None and args.think < 0:
        parser.error("--think cannot be negative")
    if args.participants is not None and args.participants < 1:
        parser.error("--participants must be at least 1")
    if args.database_url and (problem := url_problem(args.database_url)):
        parser.error(problem)
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    return asyncio.run(_with_signals(args))


async def _with_signals(args: argparse.Namespace) -> int:
    """SIGTERM/SIGHUP cancel the run like Ctrl-C, so the bots are always stopped."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, lambda: task.cancel() if task else None)
    try:
        return await main(args)
    except asyncio.CancelledError:
        print("\ninterrupted; the bots were stopped", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(cli())
