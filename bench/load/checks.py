"""The PASS/FAIL checks of a run and whether they fail the exit status.

Correctness (answers lost or extra, people left without a reply) fails every run, --smoke
too; targets (throughput against the echo bot, p99, the bot's error message) fail only the
full run, since a loaded CI machine can miss them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.load.figures import percentile
from bench.load.runs import RunResult

TARGET_RATIO = 0.5
TARGET_P99_MS = 250.0


@dataclass
class Verdict:
    lines: list[str] = field(default_factory=list)
    correctness_failed: bool = False  # answers lost or extra, people stuck: fails --smoke
    target_failed: bool = False  # speed, or the bot's error message: fails the full run only

    def merge(self, other: Verdict) -> None:
        self.lines += other.lines
        self.correctness_failed |= other.correctness_failed
        self.target_failed |= other.target_failed

    def check(self, passed: bool, text: str, *, correctness: bool = False) -> None:
        self.lines.append(f"{'PASS' if passed else 'FAIL'} {text}")
        if not passed:
            if correctness:
                self.correctness_failed = True
            else:
                self.target_failed = True


def judge(
    result: RunResult, echo: RunResult | None, *, phase: str, latency: bool, details: bool
) -> Verdict:
    """Throughput against `echo` (the capacity run), p99 on the run `latency` is judged on,
    and correctness on every run."""
    verdict = Verdict()
    name = f"{result.label} ({phase})"
    if echo is not None:
        ratio = result.rate / echo.rate if echo.rate else 0.0
        verdict.check(
            ratio >= TARGET_RATIO,
            f"{name}: throughput at least {TARGET_RATIO:g} x the {echo.label}'s "
            f"({result.rate:.0f} / {echo.rate:.0f} updates/s = {ratio:.2f})",
        )
    p99 = percentile(result.timings.first, 99) * 1000
    if latency:
        verdict.check(
            p99 < TARGET_P99_MS, f"{name}: p99 under {TARGET_P99_MS:.0f} ms ({p99:.0f} ms)"
        )
    a = result.answers
    if a is not None:
        verdict.check(
            a.lost == 0 and a.extra == 0,
            f"{name}: no answer lost ({a.lost} lost, {a.extra} duplicated/extra "
            f"of {a.typed} typed)",
            correctness=True,
        )
    apologies = result.timings.apologies
    verdict.check(
        apologies == 0,
        f"{name}: the bot never answered with its error message "
        f"({apologies} x; each time the person sent the same again)",
    )
    verdict.lines += [
        f"  bot log: {count} x {line}" for line, count in result.exceptions.most_common(3)
    ]
    failures = result.timings.failures
    verdict.check(
        not failures,
        f"{name}: every participant got every reply ({len(failures)} stuck)",
        correctness=True,
    )
    verdict.lines += [f"  {failure}" for failure in failures[: 20 if details else 3]]
    return verdict
