"""Where voice answers are kept on disk, under DATA_DIR.

Paths are built from the participant's pseudonym, never the Telegram id, so an export ZIP
names files the same way the spreadsheet does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)
VOICE_DIR = "voice"


def relative_path(pseudonym: str, rec: str, question: str, round: int) -> str:
    return f"{VOICE_DIR}/{pseudonym}/{rec}-{question}-r{round}.ogg"


def absolute(data_dir: Path, relative: str) -> Path:
    path = (data_dir / relative).resolve()
    if data_dir.resolve() not in path.parents:
        raise ValueError(f"voice path {relative!r} escapes the data directory")
    return path


def delete(data_dir: Path, relatives: Iterable[str]) -> int:
    """Remove recordings (and their emptied folders); returns how many files went."""
    removed = 0
    for relative in relatives:
        path = absolute(data_dir, relative)
        if path.exists():
            path.unlink()
            removed += 1
        folder = path.parent
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
    return removed
