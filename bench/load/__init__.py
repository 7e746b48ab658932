"""Load benchmark: N people join a workshop at once and answer everything by typing.

    python -m bench.load [--participants 200] [--think 5] [--smoke] [--database-url URL]
                         [--http aiohttp|httpx] [--details]

It starts the fake Bot API server of the tests in this process, then the real bot
(`python -m bot run`) as a separate process pointed at it, and lets N simulated people open
the default workshop, agree, pick a role (worker, service user, technologist in turn), and for
each of the 5 headline recommendations tap a priority and type their needs and their concerns,
then tap "Finish" and "keep my words private": 20 updates each. Like a person, each
one waits for the bot's reply before the next step. Afterwards the database must hold exactly
the 15 answers each typed.

Each backend gets two runs, each on a fresh database and bot:

- capacity: all N at once with no pause, so every person always has an update waiting and the
  bot is as busy as it can be. Judged: updates/s at least half the echo bot's. Its latency is
  printed but is queueing (about N / updates per second, for the echo bot as much as ours);
- paced (`--think S`, default 5): the same N people, all within the first seconds, each
  pausing 0.5 to 1.5 x S before every update, like people reading and tapping or typing (5 s
  is faster than people really are: typing a need takes longer). Judged: p99 under 250 ms.
  `--think 0` skips it and judges p99 on the capacity run.

Printed per run:

- updates/s (capacity run): updates answered divided by the run's wall time;
- p50 / p99 ms: from the moment an update is queued on the fake server to the moment the server
  records the bot's first reply in that chat (a sendMessage or an edit of a message); "whole
  reply" is until the message the person waits for (the next question) arrived. Percentiles
  are `statistics.quantiles(..., method="inclusive")`, interpolated between the two nearest
  timings;
- bot peak MiB: the largest resident memory (RSS, read with psutil) of the bot's own process
  seen while sampling it every MEMORY_SAMPLE_SECONDS from its start to the end of the run.
  psutil has no high-water mark on Linux or macOS (Windows: its peak working set is used
  instead), so a spike shorter than a sample interval is missed and the figure can be a little
  below the kernel's VmHWM;
- ratios to `bench/echo_bot.py`, a minimal python-telegram-bot echo bot, run on the same fake
  server in the same run, with the same people sending the same number and kinds of updates
  (ECHO_SCRIPT: 1 command, 8 button presses, 10 texts each). The judged one is
  python-telegram-bot as it comes (httpx); the second runs the echo bot on the workshop bot's
  own HTTP client (aiohttp), to show what the bot costs on top of the transport;
- lost, duplicated/extra: stored answers compared row by row with what was typed;
- error replies: how often the bot answered "Sorry, something went wrong"; the person then
  sends the same again (up to RETRIES times), as the message asks.

The bot runs with TELEGRAM_RATE_LIMIT=0: its limiter (29 messages/s across all chats,
Telegram's cap) is off, so the figures are the bot's own processing, not Telegram's limit;
with it on, replies to 200 people leave at 29 a second whatever the bot can do. The scheduler
timer is off too (SCHEDULER_INTERVAL_SECONDS=0).

Backends: a temporary SQLite file by default. `--database-url postgresql+asyncpg://...` runs on
PostgreSQL instead: the URL names a server and a database to connect to (e.g. `postgres`);
the bench creates a scratch database there and drops it afterwards. With TEST_POSTGRES_URL set
(as in CI) and no --database-url, SQLite and PostgreSQL are both run.

Exit status: 0 when everything passed; 1 when a check failed; 2 when a bot could not start,
crashed or hung. `--smoke` (20 people, a 0.5 s pace, no second echo bot) fails only on lost or
extra answers, people left without a reply, a crash or a hang, not on speed or error replies
(a loaded CI machine can miss those), which are printed all the same.

The fake server and the simulated people run in this process and its CPU time is part of both
bots' figures (`--details` shows how much); with fewer than three cores the processes compete
for CPU, which lowers both bots' throughput alike.
"""

# The package is split by what each part does (see each module's docstring); these names are
# the ones other code imports from `bench.load` (bench/crash.py, tests/e2e/test_two_processes.py).
from bench.load.databases import backend_name, database, url_problem
from bench.load.people import words
from bench.load.process import BenchError, Child, child_env
from bench.load.server import LoadServer, Reply

_child_env = child_env  # its name before the split, still imported by those two

__all__ = [
    "BenchError",
    "Child",
    "LoadServer",
    "Reply",
    "_child_env",
    "backend_name",
    "child_env",
    "database",
    "url_problem",
    "words",
]
