"""The bots as child processes: starting and stopping them, their logs, CPU time and memory.

Each bot runs in its own process so that its CPU time and resident memory (read with psutil)
are its own, not the fake server's or the people's; `own_cpu_seconds` is theirs, the CPU time
of this process. A bot that crashes, hangs or never starts raises `BenchError`: such a run
cannot be measured. bench/crash.py and tests/e2e/test_two_processes.py start their bots with
`Child` and `child_env` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

from bot.config import Settings
from tests.fake_telegram import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
MEMORY_SAMPLE_SECONDS = 0.05  # how often the bot's resident memory is read for its peak


class BenchError(Exception):
    """The bot crashed, hung or could not start; the run cannot be measured."""


def _die_with_parent() -> Callable[[], None] | None:
    """Linux: the child gets SIGTERM if this process dies, even from SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl = libc.prctl
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_death_signal


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Locked)\w*: ")


class Child:
    """A bot in its own process, so its memory is its own; its output goes to a log file."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log
        self.peak_kib: int | None = None
        self.ready_kib: int | None = None  # resident memory once polling, before any load
        self._max_rss: int | None = None  # bytes: the largest resident memory sampled so far
        self._ps: psutil.Process | None = None
        with contextlib.suppress(psutil.Error):
            self._ps = psutil.Process(process.pid)
        self._sampler = asyncio.ensure_future(self._sample_memory())

    @classmethod
    async def start(
        cls, name: str, argv: Sequence[str], env: dict[str, str], cwd: Path, log: Path
    ) -> Child:
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent(),
            )
        return cls(name, process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.returncode is None

    def _log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self._log_text().splitlines()[-lines:]) or "(empty log)"

    def log_problems(self) -> int:
        """Lines the bot logged at WARNING or above (it runs with LOG_LEVEL=WARNING)."""
        lines = self._log_text().splitlines()
        return sum(1 for line in lines if " WARNING " in line or " ERROR " in line)

    def exceptions(self) -> Counter[str]:
        """The last line of each traceback in the log, e.g. `...OperationalError: ...`."""
        found: Counter[str] = Counter()
        for line in self._log_text().splitlines():
            if _EXCEPTION_LINE.match(line):
                found[line[:160]] += 1
        return found

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the process so far; None once it is gone."""
        if self._ps is None:
            return None
        try:
            times = self._ps.cpu_times()
        except psutil.Error:
            return None
        return times.user + times.system

    def _memory(self) -> Any | None:
        """psutil's memory_info() of the process, counted into the running maximum of rss."""
        if self._ps is None:
            return None
        try:
            info = self._ps.memory_info()
        except psutil.Error:
            return None
        self._max_rss = max(self._max_rss or 0, info.rss)
        return info

    async def _sample_memory(self) -> None:
        """From the start until the process ends: its rss, into the running maximum."""
        while self.alive():
            if self._memory() is None:
                return  # gone, or not ours to read
            await asyncio.sleep(MEMORY_SAMPLE_SECONDS)

    def read_peak(self) -> None:
        """The process's peak resident memory so far: the OS's peak working set on Windows,
        elsewhere the largest rss sampled (psutil has no high-water mark there)."""
        info = self._memory()
        peak = getattr(info, "peak_wset", None) or self._max_rss
        self.peak_kib = None if peak is None else peak // 1024

    async def wait_polling(self, server: FakeBotApi, timeout: float) -> None:
        """Until the bot's first getUpdates: migrations done, handlers ready."""
        deadline = time.monotonic() + timeout
        while not server.calls("getUpdates"):
            if not self.alive():
                raise BenchError(
                    f"{self.name} exited with {self.process.returncode} before polling:\n"
                    f"{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{self.name} did not poll within {timeout:.0f}s:\n{self.log_tail()}"
                )
            await asyncio.sleep(0.05)
        info = self._memory()
        self.ready_kib = None if info is None else info.rss // 1024

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait for it; SIGKILL if it does not stop in time."""
        self._sampler.cancel()
        await asyncio.gather(self._sampler, return_exceptions=True)
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self.peak_kib is None and self._max_rss is not None:
            self.peak_kib = self._max_rss // 1024  # read_peak() was not reached


def child_env(**values: str) -> dict[str, str]:
    """This environment without any of the bot's settings, plus `values`."""
    settings = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    # The bot refuses to run without them (people must know who runs the workshop).
    env["ORGANISATION_NAME"] = "Load test"
    env["ORGANISATION_CONTACT"] = "load@example.org"
    env.update(values)
    return env


@contextlib.asynccontextmanager
async def running(
    name: str, argv: Sequence[str], env: dict[str, str], cwd: Path, log: Path
) -> AsyncIterator[Child]:
    child = await Child.start(name, argv, env, cwd, log)
    try:
        yield child
    finally:
        await child.stop()


async def watch(child: Child) -> None:
    await child.process.wait()


_OWN_PROCESS = psutil.Process()


def own_cpu_seconds() -> float:
    times = _OWN_PROCESS.cpu_times()
    return times.user + times.system
