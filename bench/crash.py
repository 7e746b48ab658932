"""Crash benchmark: kill -9 the bot at random moments while people answer, and count the damage.

    python -m bench.crash [--people 50] [--kills 5] [--runs 1] [--seed 1] [--webhook]
                          [--topics 2] [--database-url URL] [--workdir DIR]

It starts the tests' fake Bot API server in this process and the real bot (`python -m bot run`,
or `run --webhook` with Telegram's side of a webhook played by `WebhookDelivery`) as a separate
process, then lets N simulated people join a workshop of `--topics` topics and answer it: agree,
pick a role, and per topic tap a priority, type their needs and type their worries (3 + 3 x
topics inputs each). Like a person, each one waits for the screen that should follow before the
next input, and acts on what the screen shows. While they answer, the bot is killed with SIGKILL
`--kills` times, each once a random share of all inputs (seeded) has been answered plus a random
fraction of a second, and started again after a random pause of up to a second.

A person who gets no reply within `--step-timeout` seconds does what people do: sends
`/start CODE`, reads where the bot says they are, and goes on from there. That counts as an
input without a reply and as a person who needed /start.

Printed per run, and summed over `--runs` (each on a fresh database, seeds `seed`, `seed+1`...):

- inputs never processed: inputs (update ids) that are not in the processed-updates table;
- inputs without a reply: inputs after which the expected screen did not come in time;
- people who needed /start: people who had to send /start again to go on;
- misplaced answers: stored answers under a question they were not given for (or a note);
- duplicate answers: more than one stored row for one person's question;
- missing answers: questions of people who finished whose answer is not stored;
- screens shown again: messages showing a screen beyond the one reply each input owes (after
  a crash, a person's current step shown again: expected, not a fault);
- tracebacks: in the bot's logs (every process's).

Exit status 0 when every figure but "screens shown again" is 0, 1 otherwise, 2 when a bot could
not start. `tests/e2e/test_crash_recovery.py` runs it (polling and webhook) with 50 people and 3
kills and asserts those zeros.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import random
import re
import secrets
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import select

from bench.load import (
    BenchError,
    Child,
    LoadServer,
    Reply,
    _child_env,
    backend_name,
    database,
    url_problem,
    words,
)
from bot.flows.catalogue import load_catalogue
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade_to_head
from storage.models import Answer, Participant, ProcessedUpdate
from storage.repositories import workshops
from tests.fake_telegram import FakeUser
from tests.fake_telegram.webhook_delivery import WebhookDelivery

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:CRASH-BENCH-abcdefghijklmnop"
SECRET = "crash-bench-secret"
PUBLIC_URL = "https://bot.example.org/telegram"
FIRST_USER = 800_000
ROLES = ("worker", "service_user", "technologist")
HEADLINE = load_catalogue().scope("headline")
STARTUP_TIMEOUT = 90.0
_HEADING = re.compile(r"Topic (\d+) of (\d+)")

Screen = tuple[str, int]  # ("priority", 2): the priority question of the second topic


def screen_of(text: str | None, role: str) -> Screen | None:
    """Which step of the journey a message shows, as a person reading it would tell."""
    if not text:
        return None
    if "Here are your answers." in text:
        return ("review", 0)
    heading = _HEADING.search(text)
    if heading is not None:
        topic = int(heading.group(1))
        if words("question.priority") in text:
            return ("priority", topic)
        if words(f"question.concerns.{role}") in text:
            return ("concerns", topic)
        if words("question.how_to_answer") in text:
            return ("needs", topic)
        return None
    if words("role.question") in text:
        return ("role", 0)
    if words("consent.question") in text:
        return ("consent", 0)
    return None


@dataclass(frozen=True)
class CrashOptions:
    people: int = 50
    kills: int = 3
    seed: int = 1
    webhook: bool = False
    topics: int = 2
    # How long a person waits for the screen that should follow before sending /start. Long
    # enough for a restart (the bot takes 5-10 s to start on a busy 2-core machine).
    step_timeout: float = 40.0
    think: float = 0.3  # a person pauses up to this long before each input
    database_url: str | None = None  # an empty database; None: a new SQLite file


@dataclass
class Figures:
    people: int = 0
    inputs: int = 0
    kills: int = 0
    never_processed: int = 0
    without_reply: int = 0
    needed_start: int = 0
    misplaced: int = 0
    duplicates: int = 0
    missing: int = 0
    tracebacks: int = 0
    shown_again: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    FAULTS: ClassVar[tuple[str, ...]] = (
        "never_processed",
        "without_reply",
        "needed_start",
        "misplaced",
        "duplicates",
        "missing",
        "tracebacks",
    )
    LABELS: ClassVar[dict[str, str]] = {
        "inputs": "inputs sent",
        "never_processed": "inputs never processed",
        "without_reply": "inputs without a reply",
        "needed_start": "people who needed /start",
        "misplaced": "misplaced answers",
        "duplicates": "duplicate answers",
        "missing": "missing answers",
        "tracebacks": "tracebacks in the bot's logs",
        "shown_again": "screens shown again",
    }

    def problems(self) -> list[str]:
        return [
            f"{self.LABELS[name]}: {getattr(self, name)}"
            for name in self.FAULTS
            if getattr(self, name)
        ]

    def add(self, other: Figures) -> None:
        for item in fields(self):
            if item.name != "notes":
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))
        self.notes += other.notes

    def lines(self) -> list[str]:
        rows = [("people", str(self.people)), ("kills (SIGKILL)", str(self.kills))]
        rows += [(label, str(getattr(self, name))) for name, label in self.LABELS.items()]
        rows.append(("seconds", f"{self.seconds:.1f}"))
        width = max(len(name) for name, _ in rows)
        return [f"  {name:<{width}}  {value}" for name, value in rows] + [
            f"  {note}" for note in self.notes[:10]
        ]


@dataclass
class Sent:
    update_id: int
    what: str
    replied: bool = False


class Person:
    """Someone answering the workshop, acting on the screen they see."""

    def __init__(self, run: CrashRun, index: int) -> None:
        self.run = run
        self.index = index
        self.user = FakeUser(run.server, FIRST_USER + index, first_name=f"P{index}")
        self.role = ROLES[index % len(ROLES)]
        self.random = random.Random(f"{run.options.seed}:{index}")
        self.sent: list[Sent] = []
        self.restarts = 0  # /start sent again to find out where they are
        self.finished = False

    def answers(self) -> dict[tuple[str, str], str]:
        return expected_answers(self.index, self.run.scope)

    def _move(self, screen: Screen | None) -> tuple[str, Callable[[], dict[str, Any]], Screen]:
        """What they do on `screen`, and the screen that should follow."""
        user, total, answers = self.user, len(self.run.scope), self.answers()
        if screen is None:
            return (
                "/start",
                functools.partial(user.send_command, "/start", self.run.code),
                (
                    "consent",
                    0,
                ),
            )
        kind, topic = screen
        if kind == "consent":
            return "consent", functools.partial(user.press, "Yes, I agree"), ("role", 0)
        if kind == "role":
            label = words(f"role.{self.role}")
            return "role", functools.partial(user.press, label), ("priority", 1)
        rec = self.run.scope[topic - 1]
        if kind == "priority":
            label = words(f"priority.label.{answers[(rec, 'priority')]}")
            return "priority", functools.partial(user.press, label), ("needs", topic)
        if kind == "needs":
            text = answers[(rec, "needs")]
            return "needs", functools.partial(user.send_text, text), ("concerns", topic)
        text = answers[(rec, "concerns")]
        following = ("priority", topic + 1) if topic < total else ("review", 0)
        return "concerns", functools.partial(user.send_text, text), following

    def _shows(self, wanted: Screen | None) -> Callable[[Reply], bool]:
        def check(reply: Reply) -> bool:
            if not reply.shows_text:
                return False
            shown = screen_of(reply.text, self.role)
            return shown is not None if wanted is None else shown == wanted

        return check

    async def _send(
        self, what: str, push: Callable[[], dict[str, Any]], wanted: Screen | None
    ) -> Screen | None:
        """Send one input and wait for `wanted` (None: any screen); the screen, or None."""
        server, chat = self.run.server, self.user.chat_id
        await asyncio.sleep(self.random.uniform(0, self.run.options.think))
        start = server.reply_count(chat)
        try:
            update = push()
        except AssertionError:  # the button is not on their screen any more
            return None
        sent = Sent(int(update["update_id"]), what)
        self.sent.append(sent)
        try:
            _first, awaited = await server.wait_reply(
                chat, start, self._shows(wanted), self.run.options.step_timeout
            )
        except TimeoutError:
            return None
        sent.replied = True
        self.run.replied += 1
        return screen_of(awaited.text, self.role)

    async def journey(self) -> None:
        screen: Screen | None = None
        while screen != ("review", 0):
            what, push, wanted = self._move(screen)
            shown = await self._send(what, push, wanted)
            if shown is None:
                # No reply: what people do is ask the bot where they are.
                self.restarts += 1
                if self.restarts > 3:
                    return
                start = functools.partial(self.user.send_command, "/start", self.run.code)
                shown = await self._send("/start again", start, None)
                if shown is None:
                    continue
            screen = shown
        self.finished = True


def expected_answers(index: int, scope: tuple[str, ...]) -> dict[tuple[str, str], str]:
    answers: dict[tuple[str, str], str] = {}
    for number, rec in enumerate(scope):
        answers[(rec, "priority")] = str((index + number) % 5 + 1)
        answers[(rec, "needs")] = f"P{index} needs for {rec}: time & training"
        answers[(rec, "concerns")] = f"P{index} worries about {rec}: bias <and> cost"
    return answers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class CrashRun:
    """One run: a fresh database and fake server, N people, K kills."""

    def __init__(self, options: CrashOptions, workdir: Path, database_url: str) -> None:
        self.options = options
        self.workdir = workdir
        self.database_url = database_url
        self.server = LoadServer()
        self.scope = HEADLINE[: options.topics]
        self.code = ""
        self.replied = 0
        self.kills = 0
        self.port = free_port()
        self.logs: list[Path] = []
        self.child: Child | None = None

    # ------------------------------------------------------------------ the bot process

    def _argv(self) -> list[str]:
        argv = [sys.executable, "-m", "bot", "run"]
        if self.options.webhook:
            argv += ["--webhook", PUBLIC_URL, "--listen", "127.0.0.1", "--port", str(self.port)]
        return argv

    async def start_bot(self) -> Child:
        env = _child_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=self.server.api_url,
            DATABASE_URL=self.database_url,
            DATA_DIR=str(self.workdir / "data"),
            SCHEDULER_INTERVAL_SECONDS="0",
            TELEGRAM_RATE_LIMIT="0",
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            LOG_LEVEL="INFO",
        )
        log = self.workdir / f"bot-{len(self.logs) + 1}.log"
        self.logs.append(log)
        ready_method = "setWebhook" if self.options.webhook else "getUpdates"
        before = len(self.server.calls(ready_method))
        child = await Child.start("the bot", self._argv(), env, self.workdir, log)
        self.child = child
        deadline = time.monotonic() + STARTUP_TIMEOUT
        # Ready once it takes new updates: after the inbox was replayed.
        while len(self.server.calls(ready_method)) <= before:
            if not child.alive():
                raise BenchError(
                    f"the bot exited with {child.process.returncode}:\n{child.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise BenchError(f"the bot did not start within {STARTUP_TIMEOUT:.0f}s")
            await asyncio.sleep(0.05)
        return child

    async def kill_bot(self) -> None:
        child = self.child
        assert child is not None
        with contextlib.suppress(ProcessLookupError):
            child.process.kill()  # SIGKILL: no handler, no clean-up, no flush
        await child.process.wait()
        await child.stop()  # only stops its memory sampler now
        self.kills += 1

    async def killer(self, people_done: asyncio.Event) -> None:
        """Kill at random moments (seeded): each once a random share of the inputs has been
        answered, plus up to half a second; start again after up to a second."""
        options = self.options
        chance = random.Random(options.seed)
        total = options.people * (3 + 3 * options.topics)
        moments = sorted(chance.uniform(0.05, 0.85) * total for _ in range(options.kills))
        for moment in moments:
            while self.replied < moment and not people_done.is_set():
                await self.server._wait_changed(0.1)
            if people_done.is_set():
                return
            await asyncio.sleep(chance.uniform(0.0, 0.5))
            await self.kill_bot()
            await asyncio.sleep(chance.uniform(0.0, 1.0))
            await self.start_bot()

    # ------------------------------------------------------------------ the run

    async def prepare_database(self) -> None:
        engine = create_engine(self.database_url)
        try:
            await upgrade_to_head(engine)
            async with create_session_factory(engine)() as session, session.begin():
                workshop = await workshops.create(
                    session, title="Crash bench", scope=list(self.scope), languages=["en"]
                )
                self.code = workshop.code
        finally:
            await engine.dispose()

    async def run(self) -> Figures:
        started = time.monotonic()
        await self.prepare_database()
        people = [Person(self, index) for index in range(self.options.people)]
        async with self.server, contextlib.AsyncExitStack() as stack:
            if self.options.webhook:
                target = f"http://127.0.0.1:{self.port}/telegram"
                await stack.enter_async_context(WebhookDelivery(self.server, target))
            await self.start_bot()
            try:
                done = asyncio.Event()
                killer = asyncio.ensure_future(self.killer(done))
                try:
                    await asyncio.gather(*(person.journey() for person in people))
                finally:
                    done.set()
                    await killer
            finally:
                if self.child is not None:
                    await self.child.stop()  # SIGTERM: a graceful stop
        figures = await self.count(people)
        figures.seconds = time.monotonic() - started
        return figures

    async def count(self, people: list[Person]) -> Figures:
        figures = Figures(people=len(people), kills=self.kills)
        engine = create_engine(self.database_url)
        try:
            async with create_session_factory(engine)() as session:
                processed = set((await session.scalars(select(ProcessedUpdate.update_id))).all())
                users = Participant.telegram_user_id
                rows = (
                    await session.execute(
                        select(users, Answer.recommendation_id, Answer.question, Answer.value)
                        .join(Participant, Participant.id == Answer.participant_id)
                        .where(users >= FIRST_USER, users < FIRST_USER + len(people))
                    )
                ).all()
        finally:
            await engine.dispose()
        stored: dict[int, Counter[tuple[str, str]]] = {}
        values: dict[tuple[int, str, str], str | None] = {}
        for user_id, rec, question, value in rows:
            stored.setdefault(int(user_id), Counter())[(str(rec), str(question))] += 1
            values[(int(user_id), str(rec), str(question))] = value
        for person in people:
            user_id = FIRST_USER + person.index
            figures.inputs += len(person.sent)
            lost = [sent for sent in person.sent if sent.update_id not in processed]
            figures.never_processed += len(lost)
            figures.without_reply += sum(not sent.replied for sent in person.sent)
            figures.needed_start += person.restarts > 0
            if not person.finished:
                figures.notes.append(f"P{person.index} did not get to the review")
            expected = person.answers()
            mine = stored.get(user_id, Counter())
            figures.duplicates += sum(count - 1 for count in mine.values())
            for (rec, question), _count in mine.items():
                if expected.get((rec, question)) != values[(user_id, rec, question)]:
                    figures.misplaced += 1
            figures.missing += sum(1 for key in expected if key not in mine)
            replies = [
                r for r in self.server._replies.get(person.user.chat_id, []) if r.shows_text
            ]
            figures.shown_again += max(0, len(replies) - sum(s.replied for s in person.sent))
        for log in self.logs:
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            figures.tracebacks += text.count("Traceback (most recent call last)")
        return figures


async def run_crashes(options: CrashOptions, workdir: Path) -> Figures:
    """One run in `workdir` (the bot's logs and the SQLite file stay there), on
    `options.database_url` (an empty database) or a new SQLite file."""
    url = options.database_url or f"sqlite+aiosqlite:///{workdir / 'crash.db'}"
    return await CrashRun(options, workdir, url).run()


@contextlib.asynccontextmanager
async def _scratch(url: str | None, workdir: Path) -> AsyncIterator[str | None]:
    """A scratch database on the PostgreSQL server of `url`, dropped afterwards."""
    if url is None:
        yield None
    else:
        async with database(url, workdir) as scratch:
            yield scratch


async def main(args: argparse.Namespace) -> int:
    total = Figures()
    mode = "webhook" if args.webhook else "polling"
    with contextlib.ExitStack() as stack:
        root = (
            Path(args.workdir)
            if args.workdir
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crash-")))
        )
        for number in range(args.runs):
            options = CrashOptions(
                people=args.people,
                kills=args.kills,
                seed=args.seed + number,
                webhook=args.webhook,
                topics=args.topics,
                step_timeout=args.step_timeout,
                database_url=args.database_url,
            )
            workdir = root / f"run-{number + 1}-{secrets.token_hex(2)}"
            workdir.mkdir(parents=True)
            backend = backend_name(args.database_url or "sqlite")
            print(
                f"run {number + 1} of {args.runs}: {options.people} people, {options.kills} "
                f"kills, seed {options.seed}, {mode}, {backend}",
                flush=True,
            )
            try:
                async with _scratch(args.database_url, workdir) as url:
                    options = dataclasses.replace(options, database_url=url)
                    figures = await run_crashes(options, workdir)
            except BenchError as error:
                print(f"FAIL {error}", file=sys.stderr)
                return 2
            print("\n".join(figures.lines()), flush=True)
            total.add(figures)
    if args.runs > 1:
        print(f"all {args.runs} runs")
        print("\n".join(total.lines()))
    return 1 if total.problems() else 0


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.crash",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1, help="runs, each with the next seed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--topics", type=int, default=2, help="topics each person answers")
    parser.add_argument("--webhook", action="store_true", help="webhook mode instead of polling")
    parser.add_argument("--step-timeout", type=float, default=40.0, help="seconds per reply")
    parser.add_argument(
        "--database-url",
        help="postgresql+asyncpg://user@host:port/db (a scratch database is created there and "
        "dropped); default: a fresh SQLite file",
    )
    parser.add_argument("--workdir", help="keep the bots' logs and the database here")
    args = parser.parse_args(argv)
    if args.people < 1 or args.kills < 0 or args.runs < 1:
        parser.error("--people and --runs must be at least 1, --kills at least 0")
    if not 1 <= args.topics <= len(HEADLINE):
        parser.error(f"--topics must be between 1 and {len(HEADLINE)}")
    if args.database_url and (problem := url_problem(args.database_url)):
        parser.error(problem)
    return asyncio.run(main(args))


if __name__ == "__main__":
    sys.exit(cli())
