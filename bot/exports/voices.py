"""A ZIP of the stored voice recordings, to go with a CSV/XLSX/JSON export.

Each recording goes in under the same relative path the `voice_file` column names (for
example `voice/P-XXXXXXXX/123.ogg`), so a facilitator can unzip next to the spreadsheet and
find the file of any row. Recordings are Ogg/Opus, already compressed, so they are stored, not
deflated again. Files are copied one by one, in chunks, never loaded whole.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from storage.repositories.responses import ResponseRow

# Already-compressed audio: deflating it again costs time and saves nothing.
STORED_SUFFIXES = frozenset({".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac"})


def _safe_source(data_dir: Path, relative: str) -> tuple[Path, str] | None:
    """The file and its name in the archive, or None when missing or outside `data_dir`.

    `voice_path` is written by the bot, but an export must never read an arbitrary file, so
    absolute paths and `..` are refused rather than trusted.
    """
    name = PurePosixPath(relative.replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or not name.parts:
        return None
    root = data_dir.resolve()
    source = (root / name).resolve()
    if not source.is_relative_to(root) or not source.is_file():
        return None
    return source, name.as_posix()


def _add(archive: zipfile.ZipFile, source: Path, arcname: str) -> None:
    compression = (
        zipfile.ZIP_STORED if source.suffix.lower() in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
    )
    archive.write(source, arcname, compress_type=compression)


async def write_voice_zip(rows: AsyncIterable[ResponseRow], data_dir: Path, out: BinaryIO) -> int:
    """Every recording that rows point at and that exists under `data_dir`; returns how many.

    Rows without a stored recording (typed answers, or voice not downloaded yet) are passed
    over; a path named twice is added once.
    """
    added: set[str] = set()
    # strict_timestamps=False: a file dated before 1980 gets 1980 instead of failing the export.
    with zipfile.ZipFile(out, "w", strict_timestamps=False) as archive:
        async for row in rows:
            if not row.voice_path:
                continue
            found = await asyncio.to_thread(_safe_source, data_dir, row.voice_path)
            if found is None or found[1] in added:
                continue
            source, arcname = found
            await asyncio.to_thread(_add, archive, source, arcname)
            added.add(arcname)
    return len(added)
