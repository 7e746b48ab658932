"""The printed figures of a run: percentiles, megabytes, CPU, one aligned row per figure.

Only formatting: what is measured is in runs.py, what passes or fails in checks.py.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from bench.load.runs import RunResult


def percentile(values: Sequence[float], p: int) -> float:
    """The p-th percentile (1 to 99), interpolated ("inclusive"); NaN for no values."""
    if len(values) < 2:  # quantiles() needs two before Python 3.13
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def ms(values: Sequence[float], p: int) -> str:
    return f"{percentile(values, p) * 1000:.0f}"


def mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def cpu_note(result: RunResult) -> str:
    cpu, updates = result.phase.bot_cpu, result.timings.updates
    if cpu is None or not updates:
        return ""
    return f", CPU {cpu / updates * 1000:.1f} ms/update ({cpu / result.seconds:.0%} of a core)"


def describe(result: RunResult, echoes: Sequence[RunResult], details: bool) -> list[str]:
    """The figures of one run; `echoes` (capacity runs only) are the baselines, judged first."""
    t = result.timings
    rows = [
        ("participants", f"{result.participants}"),
        ("updates", f"{t.updates}"),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    if echoes:
        rows.append(("updates/s", f"{result.rate:.0f}"))
        for echo in echoes:
            ratio = result.rate / echo.rate if echo.rate else math.nan
            rows.append((f"ratio to the {echo.label}", f"{ratio:.2f} ({echo.rate:.0f} updates/s)"))
    rows += [
        ("p50 ms", ms(t.first, 50)),
        ("p99 ms", ms(t.first, 99)),
        ("p50 / p99 ms whole reply", f"{ms(t.whole, 50)} / {ms(t.whole, 99)}"),
        ("bot peak MiB", mib(result.peak_kib)),
    ]
    if result.answers is not None:
        a = result.answers
        rows += [
            ("answers typed / stored", f"{a.typed} / {a.stored}"),
            ("lost", f"{a.lost}"),
            ("duplicated/extra", f"{a.extra}"),
            ("participants finished", f"{a.finished} of {result.participants}"),
            ("error replies", f"{t.apologies}"),
        ]
    if details:
        rows += [
            (f"  {kind} p50 / p99 ms", f"{ms(values, 50)} / {ms(values, 99)}")
            for kind, values in sorted(t.by_kind.items())
        ]
        phase = result.phase
        if phase.bot_cpu is not None and t.updates:
            rows.append(
                (
                    "  bot CPU",
                    f"{phase.bot_cpu:.1f} s = {phase.bot_cpu / t.updates * 1000:.1f} ms/update, "
                    f"{phase.bot_cpu / result.seconds:.0%} of a core",
                )
            )
        rows += [
            (
                "  bench CPU (server, people)",
                f"{phase.bench_cpu:.1f} s = {phase.bench_cpu / result.seconds:.0%} of a core",
            ),
            ("  bot MiB when ready", mib(result.ready_kib)),
            ("  max ms", f"{max(t.first, default=math.nan) * 1000:.0f}"),
            ("  API errors", f"{result.api_errors}"),
            ("  unanswered callbacks", f"{result.unanswered_callbacks}"),
            ("  bot log warnings", f"{result.log_problems}"),
        ]
    width = max(len(name) for name, _ in rows)
    return [f"  {name:<{width}}  {value}" for name, value in rows]
