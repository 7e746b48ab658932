"""/stats figures and their text summary, from hand-built rows (no database, no Telegram)."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.charts import ChartTexts
from bot.flows.stats import (
    EMPTY_CELL,
    PRIORITY_KEYS,
    ROLE_ORDER,
    StatsAccumulator,
    WorkshopStats,
    format_mean,
    is_underrepresented,
    stats_views,
)
from bot.flows.views import CatalogueText, Lines, Literal, Msg, Part, View
from bot.rendering import MAX_MESSAGE_CHARS, Renderer, utf16_len
from locales import Translator, catalogue
from storage.repositories.responses import ResponseRow
from tests.flow_fixtures import CATALOGUE, HEADLINE

SNIPPETS = {"en": Path("/tmp/stats_keys_en.po"), "fr": Path("/tmp/stats_keys_fr.po")}
ALL_RECS = (*CATALOGUE.scope("headline"), *CATALOGUE.scope("detailed"))
H1, H2, H3 = HEADLINE[:3]
WHEN = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def row(
    rec: str,
    question: str,
    value: str | None,
    *,
    role: str | None = "worker",
    skipped: bool = False,
    voice: bool = False,
    round: int = 1,
    who: str = "P-00000001",
) -> ResponseRow:
    return ResponseRow(
        workshop_code="TESTCODE23",
        pseudonym=who,
        role=role,
        role_other=None,
        language="en",
        recommendation_id=rec,
        question=question,
        round=round,
        value=value,
        skipped=skipped,
        is_voice=voice,
        voice_path="voice/1.ogg" if voice else None,
        voice_duration=12 if voice else None,
        answered_at=WHEN,
        edited_at=None,
    )


def accumulate(
    participants: Mapping[str | None, int], rows: list[ResponseRow], scope: tuple[str, ...]
) -> WorkshopStats:
    acc = StatsAccumulator(scope)
    for role, count in participants.items():
        for _ in range(count):
            acc.add_participant(role)
    for r in rows:
        acc.add(r)
    return acc.result()


def dist(**counts: int) -> dict[str, int]:
    """dist(p4=2, unsure=1) -> every key present, the rest zero."""
    return {
        key: counts.get("unsure" if key == "unsure" else f"p{key}", 0) for key in PRIORITY_KEYS
    }


# --- figures -----------------------------------------------------------------------------


def test_distribution_mean_and_answered_count_unsure_but_not_skipped() -> None:
    rows = [
        row(H1, "priority", "4", who="a"),
        row(H1, "priority", "5", who="b"),
        row(H1, "priority", "4", who="c"),
        row(H1, "priority", "unsure", who="d"),
        row(H1, "priority", None, skipped=True, who="e"),
        row(H1, "priority", "2", who="f"),
    ]
    cell = accumulate({"worker": 6}, rows, HEADLINE).cell(H1, "worker")
    assert cell.answered == 5
    assert dict(cell.distribution) == dist(p2=1, p4=2, p5=1, unsure=1)
    assert cell.mean == pytest.approx((4 + 5 + 4 + 2) / 4)
    assert cell.texts["needs"] == 0 and cell.texts["concerns"] == 0


def test_only_unsure_has_answers_but_no_mean() -> None:
    stats = accumulate({"worker": 2}, [row(H1, "priority", "unsure")] * 2, HEADLINE)
    cell = stats.cell(H1, "worker")
    assert (cell.answered, cell.mean) == (2, None)


def test_needs_and_concerns_count_text_and_voice_but_not_skipped_or_blank() -> None:
    rows = [
        row(H1, "needs", "training", who="a"),
        row(H1, "needs", None, voice=True, who="b"),
        row(H1, "needs", None, skipped=True, who="c"),
        row(H1, "needs", "   ", who="d"),
        row(H1, "concerns", "privacy", who="a"),
        row(H1, "concerns", None, skipped=True, who="b"),
        row(H1, "concerns", None, voice=True, who="c"),
        row(H1, "concerns", "jobs", who="d"),
    ]
    cell = accumulate({"worker": 4}, rows, HEADLINE).cell(H1, "worker")
    assert (cell.texts["needs"], cell.texts["concerns"]) == (2, 3)
    assert cell.answered == 0 and cell.mean is None


def test_only_round_one_counts() -> None:
    rows = [
        row(H1, "priority", "1"),
        row(H1, "priority", "5", round=2),
        row(H1, "needs", "x", round=2),
        row(H1, "concerns", "y", round=3),
    ]
    cell = accumulate({"worker": 1}, rows, HEADLINE).cell(H1, "worker")
    assert (cell.answered, cell.mean, cell.texts["needs"], cell.texts["concerns"]) == (
        1,
        1.0,
        0,
        0,
    )


def test_recommendations_outside_scope_and_unknown_values_are_ignored() -> None:
    outside = CATALOGUE.scope("detailed")[0]
    rows = [
        row(outside, "priority", "5"),
        row("no-such-rec", "needs", "x"),
        row(H1, "priority", "7"),
        row(H1, "priority", "high"),
        row(H1, "mood", "happy"),
        row(H1, "priority", "3"),
    ]
    stats = accumulate({"worker": 1}, rows, HEADLINE)
    assert stats.recommendations == HEADLINE
    assert {rec for rec, _ in stats.cells} == set(HEADLINE)
    assert dict(stats.cell(H1, "worker").distribution) == dist(p3=1)
    with pytest.raises(KeyError):
        stats.cell(outside, "worker")


def test_roles_participants_and_none_role_as_other() -> None:
    rows = [
        row(H1, "priority", "2", role=None, who="a"),
        row(H1, "priority", "4", role="other", who="b"),
        row(H1, "priority", "3", role="service_user", who="c"),
    ]
    stats = accumulate({None: 1, "other": 1, "service_user": 3}, rows, HEADLINE)
    assert stats.roles == ("service_user", "other")
    assert dict(stats.participants_by_role) == {
        "worker": 0,
        "service_user": 3,
        "technologist": 0,
        "family_carer": 0,
        "other": 2,
    }
    assert stats.participants == 5
    assert set(stats.cells) == {(rec, role) for rec in HEADLINE for role in stats.roles}
    assert stats.cell(H1, "other").distribution["2"] == 1
    assert stats.cell(H1, "other").mean == 3.0
    assert stats.cell(H1, "worker") == EMPTY_CELL  # no participants: empty, not an error


def test_answers_from_a_role_missing_from_the_participant_list_are_kept() -> None:
    stats = accumulate({"worker": 1}, [row(H1, "priority", "5", role="technologist")], HEADLINE)
    assert stats.roles == ("worker", "technologist")
    assert stats.cell(H1, "technologist").answered == 1


def test_total_sums_every_role() -> None:
    rows = [
        row(H1, "priority", "5", role="worker"),
        row(H1, "priority", "2", role="service_user"),
        row(H1, "priority", "unsure", role="technologist"),
        row(H1, "needs", "x", role="worker"),
        row(H1, "concerns", None, voice=True, role="service_user"),
        row(H1, "concerns", "z", role="technologist"),
    ]
    stats = accumulate({"worker": 1, "service_user": 1, "technologist": 1}, rows, HEADLINE)
    total = stats.total(H1)
    assert total.answered == 3
    assert dict(total.distribution) == dist(p2=1, p5=1, unsure=1)
    assert total.mean == 3.5
    assert (total.texts["needs"], total.texts["concerns"]) == (1, 2)
    assert stats.total(H2) == EMPTY_CELL


def test_underrepresentation_rule() -> None:
    assert is_underrepresented(0, 1)
    assert is_underrepresented(1, 3)
    assert is_underrepresented(4, 9)
    assert not is_underrepresented(1, 2)
    assert not is_underrepresented(5, 10)
    assert not is_underrepresented(0, 0)


def test_underrepresented_roles_per_recommendation() -> None:
    rows = [
        # H1: workers 4, service users 1, technologists 2 -> service users flagged (1 < 4/2).
        *(row(H1, "priority", "3", role="worker", who=f"w{i}") for i in range(4)),
        row(H1, "priority", "4", role="service_user"),
        *(row(H1, "priority", "unsure", role="technologist", who=f"t{i}") for i in range(2)),
        # H2: only workers answered -> both other roles flagged, in ROLE_ORDER.
        row(H2, "priority", "5", role="worker"),
        row(H2, "needs", "text", role="technologist"),  # needs do not count for the rule
        # H3: balanced -> not listed at all.
        row(H3, "priority", "1", role="worker"),
        row(H3, "priority", "2", role="service_user"),
        row(H3, "priority", "unsure", role="technologist"),
    ]
    stats = accumulate({"worker": 4, "service_user": 2, "technologist": 2}, rows, HEADLINE)
    assert dict(stats.underrepresented) == {
        H1: ("service_user",),
        H2: ("service_user", "technologist"),
    }


def test_nothing_is_flagged_without_answers_or_with_a_single_role() -> None:
    single = accumulate({"worker": 3}, [row(H1, "priority", "5")], HEADLINE)
    assert dict(single.underrepresented) == {}
    silent = accumulate({"worker": 3, "service_user": 3}, [], HEADLINE)
    assert dict(silent.underrepresented) == {}


def test_empty_workshop() -> None:
    stats = StatsAccumulator(HEADLINE).result()
    assert stats.recommendations == HEADLINE
    assert stats.roles == ()
    assert stats.participants == 0
    assert dict(stats.cells) == {}
    assert dict(stats.underrepresented) == {}
    assert stats.total(H1) == EMPTY_CELL
    assert EMPTY_CELL.answered == 0 and EMPTY_CELL.mean is None
    assert dict(EMPTY_CELL.distribution) == dist()


def test_every_cell_lists_all_six_priority_keys() -> None:
    stats = accumulate({"worker": 1}, [row(H1, "priority", "1")], ALL_RECS)
    for cell in stats.cells.values():
        assert tuple(cell.distribution) == ("1", "2", "3", "4", "5", "unsure")


def test_result_is_a_snapshot_and_duplicate_scope_entries_collapse() -> None:
    acc = StatsAccumulator((H1, H2, H1))
    acc.add_participant("worker")
    acc.add(row(H1, "priority", "2"))
    first = acc.result()
    acc.add(row(H1, "priority", "4", who="b"))
    assert first.recommendations == (H1, H2)
    assert first.cell(H1, "worker").answered == 1
    assert acc.result().cell(H1, "worker").answered == 2


def test_memory_does_not_grow_with_answers() -> None:
    """100,000 rows leave only recommendation x role counters behind."""
    acc = StatsAccumulator(HEADLINE)
    for role in ROLE_ORDER:
        acc.add_participant(role)

    def rows() -> Iterator[ResponseRow]:
        for i in range(100_000):
            yield row(HEADLINE[i % 5], "priority", str(i % 5 + 1), role=ROLE_ORDER[i % 4])

    for r in rows():
        acc.add(r)
    assert len(acc._counts) <= len(HEADLINE) * len(ROLE_ORDER)
    assert sum(acc.result().total(rec).answered for rec in HEADLINE) == 100_000


@pytest.mark.parametrize(
    ("mean", "expected"),
    [(3.85, "3.9"), (3.84, "3.8"), (1.0, "1.0"), (5.0, "5.0"), (77 / 20, "3.9")],
)
def test_format_mean_rounds_half_up(mean: float, expected: str) -> None:
    assert format_mean(mean) == expected
    assert format_mean(mean, ",") == expected.replace(".", ",")


# --- text summary: view model --------------------------------------------------------------


def _sample() -> WorkshopStats:
    rows = [
        row(H1, "priority", "4", role="worker", who="a"),
        row(H1, "priority", "5", role="worker", who="b"),
        row(H1, "priority", "unsure", role="worker", who="c"),
        row(H1, "needs", "x", role="worker", who="a"),
        row(H1, "concerns", None, voice=True, role="worker", who="b"),
        row(H1, "priority", "3", role="service_user", who="d"),
        row(H2, "priority", "2", role="service_user", who="d"),
        row(H2, "priority", "3", role="worker", who="a"),
    ]
    return accumulate({"worker": 3, "service_user": 1}, rows, HEADLINE)


def _msgs(part: Part | str | int) -> Iterator[Msg]:
    """Every Msg in a part, nested parameters included."""
    if isinstance(part, Msg):
        yield part
        for value in part.params.values():
            yield from _msgs(value)
    elif isinstance(part, Lines):
        for line in part.parts:
            yield from _msgs(line)


def _view_msgs(views: list[View]) -> list[Msg]:
    return [msg for view in views for block in view.blocks for msg in _msgs(block)]


def test_views_heading_lists_participants_per_role() -> None:
    views = stats_views(_sample(), "AI & care", "TESTCODE23")
    assert len(views) == 1
    heading = views[0].blocks[0]
    assert heading == Lines(
        (
            Msg("stats.heading", {"title": Literal("AI & care"), "code": "TESTCODE23"}),
            Msg("stats.participants_total", {"participants": 4}),
            Msg("stats.participants_role", {"role": Msg("role.group.worker"), "count": 3}),
            Msg("stats.participants_role", {"role": Msg("role.group.service_user"), "count": 1}),
            Msg("stats.easy_read", {"count": 0}),
        )
    )


def test_participants_reading_easy_read_are_counted() -> None:
    acc = StatsAccumulator(HEADLINE)
    acc.add_participant("worker", easy_read=True)
    acc.add_participant("service_user", easy_read=True)
    acc.add_participant("service_user")
    assert acc.result().easy_read == 2


def test_views_one_block_per_recommendation_with_every_figure() -> None:
    views = stats_views(_sample(), "Title", "CODE")
    blocks = views[0].blocks[1:]
    assert len(blocks) == len(HEADLINE)
    first = blocks[0]
    assert isinstance(first, Lines)
    title, worker, worker_detail, user, user_detail, warning = first.parts
    assert title == Msg("stats.rec_title", {"title": CatalogueText(H1, "plain_title")})
    assert worker == Msg(
        "stats.role_summary",
        {
            "role": Msg("role.group.worker"),
            "answered": 3,
            "mean": Msg("stats.mean", {"units": "4", "tenths": "5"}),
        },
    )
    assert worker_detail == Msg(
        "stats.role_detail",
        {
            "distribution": Msg(
                "stats.distribution",
                {"p1": 0, "p2": 0, "p3": 0, "p4": 1, "p5": 1, "unsure": 1},
            ),
            "texts": Msg(
                "stats.list",
                {
                    "first": Msg(
                        "stats.text_count",
                        {"question": Msg("mydata.question.needs"), "count": 1},
                    ),
                    "rest": Msg(
                        "stats.text_count",
                        {"question": Msg("mydata.question.concerns"), "count": 1},
                    ),
                },
            ),
        },
    )
    assert user.params["answered"] == 1
    assert user_detail.params["distribution"].params["p3"] == 1  # type: ignore[union-attr]
    # 1 service-user answer vs 3 from workers: under half.
    assert warning == Msg("stats.voice_missing", {"roles": Msg("role.group.service_user")})
    # H2 is balanced (1 vs 1): no warning line.
    second = blocks[1]
    assert isinstance(second, Lines)
    assert [p.key for p in second.parts if isinstance(p, Msg)][-1] == "stats.role_detail"


def test_views_no_answers_and_several_missing_roles_are_joined() -> None:
    rows = [row(H1, "priority", "5", role="worker")]
    stats = accumulate({"worker": 1, "service_user": 1, "technologist": 1}, rows, HEADLINE)
    block = stats_views(stats, "T", "C")[0].blocks[1]
    assert isinstance(block, Lines)
    assert block.parts[3] == Msg("stats.role_no_answers", {"role": Msg("role.group.service_user")})
    assert block.parts[4].params["distribution"].params["p1"] == 0  # type: ignore[union-attr]
    assert block.parts[-1] == Msg(
        "stats.voice_missing",
        {
            "roles": Msg(
                "stats.list",
                {"first": Msg("role.group.service_user"), "rest": Msg("role.group.technologist")},
            )
        },
    )


def test_views_only_unsure_is_said_instead_of_a_mean() -> None:
    stats = accumulate({"worker": 2}, [row(H1, "priority", "unsure")] * 2, HEADLINE)
    block = stats_views(stats, "T", "C")[0].blocks[1]
    assert isinstance(block, Lines)
    assert block.parts[1] == Msg(
        "stats.role_summary",
        {"role": Msg("role.group.worker"), "answered": 2, "mean": Msg("stats.only_unsure")},
    )


def test_views_for_an_empty_workshop() -> None:
    views = stats_views(StatsAccumulator(HEADLINE).result(), "T", "C")
    assert views[0].blocks[1:] == (Msg("stats.empty"),)
    heading = views[0].blocks[0]
    assert isinstance(heading, Lines)
    assert heading.parts[1] == Msg("stats.participants_total", {"participants": 0})


# --- text summary: keys and rendering --------------------------------------------------------


def _snippet(language: str) -> dict[str, str]:
    """Keys written for merging into locales/; once merged (file gone) locales holds them."""
    path = SNIPPETS[language]
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in po if m.id and isinstance(m.id, str) and m.string}


def _strings(language: str) -> dict[str, str]:
    return {**catalogue(language), **_snippet(language)}


class _SnippetTranslator(Translator):
    """The project's translator with the not-yet-merged /stats keys on top."""

    def get(self, language: str, key: str) -> str:
        return _strings(language if language in SNIPPETS else "en")[key]


def _every_view() -> list[View]:
    full = accumulate(
        {role: 2 for role in ROLE_ORDER},
        [
            row(rec, "priority", str(i % 5 + 1), role=role, who=f"{role}{i}")
            for i, rec in enumerate(ALL_RECS)
            for role in ROLE_ORDER[: i % 4 + 1]
        ],
        ALL_RECS,
    )
    return [
        *stats_views(full, "Workshop <one> & two", "CODE"),
        *stats_views(_sample(), "T", "C"),
        *stats_views(StatsAccumulator(HEADLINE).result(), "T", "C"),
    ]


def test_every_key_used_is_written_for_merging() -> None:
    used = {msg.key for msg in _view_msgs(_every_view())}
    english = _strings("en")
    missing = sorted(key for key in used if key not in english)
    assert not missing, missing
    assert {key for key in used if not key.startswith("stats.")} <= set(catalogue("en"))
    assert {key for key in used if key.startswith("stats.")} <= set(_snippet("en")) | set(
        catalogue("en")
    )


def test_chart_texts_have_keys_with_the_same_english_defaults() -> None:
    english = _strings("en")
    french = _strings("fr")
    for field in fields(ChartTexts):
        key = f"stats.chart.{field.name}"
        assert english[key] == field.default, key
        assert french[key].strip(), key


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_and_french_snippets_match() -> None:
    english = {k: v for k, v in _strings("en").items() if k.startswith("stats.")}
    french = {k: v for k, v in _strings("fr").items() if k.startswith("stats.")}
    assert english and set(english) == set(french), set(english) ^ set(french)
    tag = re.compile(r"</?\w+>")
    for key, text in english.items():
        assert _placeholders(french[key]) == _placeholders(text), key
        assert sorted(tag.findall(french[key])) == sorted(tag.findall(text)), key


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_view_renders_within_telegram_limits(language: str) -> None:
    renderer = Renderer(_SnippetTranslator(), CATALOGUE)
    for view in _every_view():
        for message in renderer.view(view, language):
            assert 0 < utf16_len(message.text) <= MAX_MESSAGE_CHARS
            assert "{" not in message.text


def test_rendered_english_reads_as_expected() -> None:
    renderer = Renderer(_SnippetTranslator(), CATALOGUE)
    views = stats_views(_sample(), "AI & care", "TESTCODE23")
    text = "\n".join(m.text for view in views for m in renderer.view(view, "en"))
    short_title = CATALOGUE.get(H1).text("plain_title", "en")
    assert "AI &amp; care" in text and "TESTCODE23" in text
    assert "Participants: 4" in text
    assert f"<b>{short_title}</b>" in text
    assert "• Workers: 3 answered, mean 4.5" in text
    assert "• Workers: no answers" in text
    assert "1:0 2:0 3:0 4:1 5:1 ?:1 · needs: 1, worries: 1" in text
    assert "Voice missing, few answers from: Service users" in text
    french = "\n".join(m.text for view in views for m in renderer.view(view, "fr"))
    assert "moyenne 4,5" in french


def test_a_long_summary_splits_between_recommendations() -> None:
    renderer = Renderer(_SnippetTranslator(), CATALOGUE)
    stats = accumulate({role: 1 for role in ROLE_ORDER}, [], ALL_RECS)
    blocks = stats_views(stats, "x" * 3000, "CODE")[0].blocks
    messages = renderer.view(View(blocks), "en")
    assert len(messages) >= 2
    for message in messages[1:]:
        assert message.text.startswith("<b>")  # a recommendation title, never mid-block
