"""CPU per Bot API call: PTB's HTTPXRequest against bot.aiohttp_request.AiohttpRequest.

    python -m bench.http_bench [--calls 3000] [--concurrency 32] [--rounds 3]

The fake Bot API server of the tests runs in this process; each measurement runs in a fresh
child process (`--child BACKEND`), so only the client's CPU is counted, never the server's.
The child builds a plain `telegram.Bot` on the backend, warms it up (getMe and 200 sends, so
imports, connection set-up and caches are not charged to the calls), then sends `--calls`
sendMessage calls from `--concurrency` concurrent tasks and reports `time.process_time()`
(user + system CPU of the whole child, all threads) and wall time over those calls only.

Printed per backend: CPU ms per call and calls/s, the median of `--rounds` rounds (backends
alternate, so a machine that slows down mid-run hurts both alike), with min..max. calls/s is
bounded by the single-threaded fake server sharing the machine, so it is the weaker figure;
CPU per call is what the backend itself costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:HTTP-BENCH-abcdefghijklmnop"
BACKENDS = ("httpx", "aiohttp")
WARMUP_CALLS = 200
CHAT_IDS = 100  # spread over some chats, like a broadcast


async def _send_all(bot: object, calls: int, concurrency: int) -> None:
    from telegram import Bot

    assert isinstance(bot, Bot)
    remaining = iter(range(calls))

    async def worker() -> None:
        for number in remaining:  # a shared iterator: each call is taken exactly once
            await bot.send_message(chat_id=1 + number % CHAT_IDS, text=f"Message {number}")

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())


async def child(backend: str, api_url: str, calls: int, concurrency: int) -> dict[str, float]:
    """Runs in the child process: measure `calls` sends through `backend`."""
    from telegram import Bot
    from telegram.request import BaseRequest, HTTPXRequest

    from bot.aiohttp_request import AiohttpRequest

    request: BaseRequest = HTTPXRequest() if backend == "httpx" else AiohttpRequest()
    async with Bot(TOKEN, base_url=api_url, request=request) as bot:
        await _send_all(bot, WARMUP_CALLS, concurrency)
        cpu, wall = time.process_time(), time.perf_counter()
        await _send_all(bot, calls, concurrency)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_ms_per_call": 1000 * cpu / calls, "calls_per_s": calls / wall}


async def measure(backend: str, api_url: str, calls: int, concurrency: int) -> dict[str, float]:
    argv = [sys.executable, "-m", "bench.http_bench", "--child", backend, "--api-url", api_url]
    argv += ["--calls", str(calls), "--concurrency", str(concurrency)]
    process = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    stdout, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{backend} child failed with exit status {process.returncode}")
    result: dict[str, float] = json.loads(stdout.decode().splitlines()[-1])
    return result


def _summary(values: list[float], digits: int) -> str:
    return (
        f"{statistics.median(values):.{digits}f} "
        f"({min(values):.{digits}f}..{max(values):.{digits}f})"
    )


async def main(calls: int, concurrency: int, rounds: int) -> int:
    from tests.fake_telegram import FakeBotApi

    results: dict[str, list[dict[str, float]]] = {backend: [] for backend in BACKENDS}
    async with FakeBotApi() as server:
        for round_number in range(rounds):
            for backend in BACKENDS if round_number % 2 == 0 else BACKENDS[::-1]:
                before = len(server.calls("sendMessage"))
                result = await measure(backend, server.api_url, calls, concurrency)
                sent = len(server.calls("sendMessage")) - before
                failed = [r for r in server.calls("sendMessage")[before:] if not r.ok]
                if sent != calls + WARMUP_CALLS or failed:
                    print(f"{backend}: {sent} sends recorded, {len(failed)} failed")
                    return 1
                results[backend].append(result)
                print(
                    f"  round {round_number + 1} {backend:8} "
                    f"{result['cpu_ms_per_call']:.3f} ms CPU/call "
                    f"{result['calls_per_s']:.0f} calls/s",
                    flush=True,
                )
    print(f"\n{calls} sendMessage calls, concurrency {concurrency}, median of {rounds} rounds:")
    for backend in BACKENDS:
        cpu = [r["cpu_ms_per_call"] for r in results[backend]]
        rate = [r["calls_per_s"] for r in results[backend]]
        print(f"  {backend:8} CPU ms/call {_summary(cpu, 3)}   calls/s {_summary(rate, 0)}")
    httpx_cpu = statistics.median(r["cpu_ms_per_call"] for r in results["httpx"])
    aiohttp_cpu = statistics.median(r["cpu_ms_per_call"] for r in results["aiohttp"])
    print(f"  aiohttp / httpx CPU per call: {aiohttp_cpu / httpx_cpu:.2f}")
    return 0


def cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = asyncio.run(child(args.child, args.api_url, args.calls, args.concurrency))
        print(json.dumps(result))
        return 0
    return asyncio.run(main(args.calls, args.concurrency, args.rounds))


if __name__ == "__main__":
    sys.exit(cli())
