"""The participant transcript in docs/ is what the bot really says today."""

from __future__ import annotations

from scripts.transcript import OUTPUT, build


async def test_the_transcript_in_docs_is_up_to_date() -> None:
    body, figures = await build()
    assert "## Easy read" in body and "I kept what you wrote as a note" in body
    assert "five topics" in figures
    assert OUTPUT.read_text(encoding="utf-8") == body, (
        "docs/participant-transcript.md is out of date: run python -m scripts.transcript"
    )
