"""The /stats chart: a readable PNG whatever the numbers, with no figure left behind."""

from __future__ import annotations

import gc
import io
from datetime import UTC, datetime

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from PIL import Image

from bot.charts import ChartTexts, priority_chart
from bot.flows.stats import ROLE_ORDER, StatsAccumulator, WorkshopStats
from storage.repositories.responses import ResponseRow
from tests.flow_fixtures import CATALOGUE, HEADLINE

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_RECS = (*CATALOGUE.scope("headline"), *CATALOGUE.scope("detailed"))
ROLE_LABELS = {role: f"role {role}" for role in ROLE_ORDER}


def titles(scope: tuple[str, ...]) -> dict[str, str]:
    return {rec: CATALOGUE.get(rec).text("plain_title", "en") for rec in scope}


def answer(rec: str, role: str, value: str, who: str) -> ResponseRow:
    return ResponseRow(
        "TESTCODE23", who, role, None, "en", rec, "priority", 1, value, False, False, None, None,
        datetime(2026, 11, 23, tzinfo=UTC), None,
    )  # fmt: skip


def sample(scope: tuple[str, ...]) -> WorkshopStats:
    """Every case at once: full bars, under-represented roles, "not sure" only, no answers."""
    acc = StatsAccumulator(scope)
    sizes = {"worker": 8, "service_user": 4, "technologist": 2, "other": 1}
    for role, size in sizes.items():
        for i in range(size):
            acc.add_participant(role)
            for j, rec in enumerate(scope):
                if role == "other" and j % 2:
                    continue
                value = "unsure" if role == "technologist" and j == 1 else str((i + j) % 5 + 1)
                acc.add(answer(rec, role, value, f"{role}{i}"))
    return acc.result()


def image(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    picture = Image.open(io.BytesIO(png))
    picture.load()
    return picture


def chart(stats: WorkshopStats, **kwargs: object) -> bytes:
    return priority_chart(
        stats,
        titles(stats.recommendations),
        ROLE_LABELS,
        heading="AI in Social Services (TESTCODE23): mean priority by role",
        **kwargs,  # type: ignore[arg-type]
    )


def test_headline_chart_is_a_phone_sized_png() -> None:
    stats = sample(HEADLINE)
    assert stats.underrepresented  # the hatched case is drawn too
    picture = image(chart(stats))
    assert picture.format == "PNG"
    width, height = picture.size
    assert width == 1080
    assert width < height < 4000


def test_height_grows_with_the_number_of_recommendations() -> None:
    five = image(chart(sample(HEADLINE)))
    fourteen = image(chart(sample(ALL_RECS)))
    assert len(ALL_RECS) == 14
    assert fourteen.size[0] == five.size[0]
    assert fourteen.size[1] > 2 * five.size[1]
    # Within what Telegram accepts for a photo: sides sum <= 10,000, ratio <= 20.
    assert sum(fourteen.size) <= 10_000 and fourteen.size[1] / fourteen.size[0] <= 20


@pytest.mark.parametrize("participants", [0, 3])
def test_zero_answers_does_not_crash(participants: int) -> None:
    acc = StatsAccumulator(HEADLINE)
    for role in ROLE_ORDER[:participants]:
        acc.add_participant(role)
    width, height = image(chart(acc.result())).size
    assert width == 1080 and height > 500


def test_empty_scope_and_missing_labels_do_not_crash() -> None:
    image(priority_chart(StatsAccumulator(()).result(), {}, {}, heading=""))
    image(priority_chart(sample(HEADLINE), {}, {}, heading="x" * 300))


def test_translated_texts_are_accepted() -> None:
    french = ChartTexts(
        axis="Priorité moyenne : 1 (faible) à 5 (forte)",
        no_answers="aucune réponse",
        only_unsure="ne sait pas",
        underrepresented="Hachuré : peu de réponses (voix manquante)",
        decimal_mark=",",
    )
    assert image(chart(sample(HEADLINE), texts=french)).size[0] == 1080


def test_output_is_deterministic() -> None:
    stats = sample(HEADLINE)
    assert chart(stats) == chart(stats)
    assert b"Software" not in chart(stats)


def test_no_figure_is_left_open() -> None:
    gc.collect()
    before = sum(isinstance(o, Figure) for o in gc.get_objects())
    for _ in range(3):
        chart(sample(HEADLINE))
    gc.collect()
    assert plt.get_fignums() == []
    assert sum(isinstance(o, Figure) for o in gc.get_objects()) == before
