"""Where exports and reports come from and go to: a workshop by code, a file written whole.

Shared by `bot.exports.run` and `bot.report.run`, so a report and an export of the same
workshop are found and written the same way.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Workshop
from storage.repositories import workshops


class WorkshopNotFound(Exception):
    """No workshop has this code; the message is the code, for the caller to phrase."""


def part_path(out_path: Path) -> Path:
    return out_path.with_suffix(out_path.suffix + ".part")


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


@asynccontextmanager
async def atomic_output(out_path: Path) -> AsyncIterator[Path]:
    """Yields the `.part` path to write; renames it into place only if the block succeeds."""
    part = part_path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield part
        await asyncio.to_thread(_fsync, part)
        part.replace(out_path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


async def find_workshop(session: AsyncSession, code: str) -> Workshop:
    workshop = await workshops.get_by_code(session, code)
    if workshop is None:
        raise WorkshopNotFound(code.strip().upper())
    return workshop
