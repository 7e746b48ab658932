"""Splitting long messages within Telegram's limits, counted as Telegram counts them."""

from __future__ import annotations

import html
import re

from bot.rendering import MAX_MESSAGE_CHARS, split_blocks, truncate, utf16_len

CUT_ENTITY = re.compile(r"&[#a-zA-Z0-9]*$")


def test_emoji_count_twice_and_chunks_stay_under_the_limit() -> None:
    assert utf16_len("a😊") == 3
    answer = html.escape("Réponse <importante> & très longue 😊 ", quote=False) * 400
    chunks = split_blocks(["<b>Mes données</b>", answer, answer], MAX_MESSAGE_CHARS)
    assert len(chunks) > 2
    for chunk in chunks:
        assert utf16_len(chunk) <= MAX_MESSAGE_CHARS
        assert not CUT_ENTITY.search(chunk) and not chunk.startswith(("lt;", "gt;", "amp;"))
    joined = "".join(chunk.replace("\n", "").replace(" ", "") for chunk in chunks)
    assert joined.count("&lt;importante&gt;") == 800


def test_one_word_longer_than_a_message_is_cut_between_entities() -> None:
    block = "&amp;" * 2000  # no space or line end to cut at
    chunks = split_blocks([block], 4096)
    assert all(chunk.count("&") == chunk.count("&amp;") for chunk in chunks)
    assert sum(chunk.count("&amp;") for chunk in chunks) == 2000


def test_a_caption_is_truncated_without_cutting_an_entity() -> None:
    caption = "x" * 1020 + "&amp;&amp;"
    cut = truncate(caption, 1024)
    assert utf16_len(cut) <= 1024 and cut.endswith("x…")
