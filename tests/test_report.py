"""The facilitator report from stored rows: figures, labels, quotes, the page and the CLI."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.exports.output import WorkshopNotFound, part_path
from bot.exports.run import ExportFormat, export_workshop
from bot.flows.catalogue import load_catalogue
from bot.rendering import Renderer
from bot.report.agreement import Label
from bot.report.run import ReportRequest, build_report, write_report
from locales import Translator
from storage.engine import SessionFactory
from tests.report_seed import (
    LABELLED_SCOPE,
    TRAINING,
    SeedPerson,
    labelled_workshop,
    seed_workshop,
)

CODE = "REPORT01"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def renderer() -> Renderer:
    return Renderer(Translator(), load_catalogue())


async def labelled(sessions: SessionFactory, extra: list[SeedPerson] | None = None) -> None:
    await seed_workshop(sessions, CODE, LABELLED_SCOPE, [*labelled_workshop(), *(extra or [])])


async def test_labels_coverage_and_followup_from_stored_answers(sessions: SessionFactory) -> None:
    await labelled(sessions)
    report = await build_report(sessions, ReportRequest(CODE, "en", 5), load_catalogue())

    labels = {topic.rec: topic.agreement.label for topic in report.topics}
    assert labels == {"h1": Label.CONSENSUS, "h2": Label.DIVERGENCE, "h3": Label.MIXED}
    assert report.roles == ("worker", "service_user", "technologist")
    assert report.missing_roles == ("family_carer",)
    assert report.summary.participants == 15
    assert report.summary.finished == 14
    assert report.summary.by_language == {"en": 9, "fr": 6}
    assert report.summary.started == {"h1": 15, "h2": 15, "h3": 15}

    h2 = report.topics[1]
    worker = h2.agreement.cells["worker"]
    # Workers rated h2 5, 4, 5, 4, 5: median 5, Q1 4, Q3 5, 100% rate 4-5.
    assert (worker.n, worker.median, worker.q1, worker.q3, worker.share_high) == (5, 5, 4, 5, 1)
    assert h2.agreement.cells["technologist"].distribution[1] == 3
    assert h2.agreement.largest_difference is not None
    assert {h2.agreement.largest_difference.role_a, h2.agreement.largest_difference.role_b} == {
        "worker",
        "technologist",
    }
    # Workers (5, 4, 5, 4, 5) all said 4 in the follow-up: three changed; nobody else answered.
    assert h2.followup["worker"].paired == 5
    assert h2.followup["worker"].changed == 3
    assert h2.followup["technologist"].paired == 0
    assert report.topics[0].followup == {}


SCRIPT = "<script>alert('x')</script> training for the team"
SENSITIVE = "Nobody must know, he hurts me at home"


def extras() -> list[SeedPerson]:
    return [
        # A sixth worker (keeps h1 a consensus) whose approved, quotable need has HTML in it.
        SeedPerson(
            role="worker",
            ratings={"h1": 5},
            needs={"h1": SCRIPT},
            concerns={"h1": SENSITIVE},
            sensitive=frozenset({"h1"}),
            quote_consent=True,
            approved=True,
        )
    ]


async def test_page_quotes_only_approved_words_escaped_and_holds_back_sensitive(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    await labelled(sessions, extras())
    out = tmp_path / "report.html"
    report = await write_report(
        sessions, ReportRequest(CODE, "en", 5), renderer(), out, clock=lambda: NOW
    )
    page = out.read_text(encoding="utf-8")

    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    # Self-contained: nothing is loaded from anywhere.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    rows = dict(re.findall(r'data-topic="(\w+)" data-label="(\w+)"', page))
    assert rows == {"h1": "consensus", "h2": "divergence", "h3": "mixed"}

    needs = report.topics[0].themes[0]
    quoted = {quote.text for quotes in needs.quotes.values() for quote in quotes}
    # Approved (index 0 of each role) and the extra worker's; consented but not approved
    # (index 1) never.
    assert quoted == {TRAINING[0], SCRIPT}
    assert TRAINING[0] in page
    assert TRAINING[1] not in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    # Sensitive words are counted, never shown or grouped.
    assert SENSITIVE not in page and "hurts" not in json.dumps(
        [g.words for t in report.topics for th in t.themes for g in th.groups.groups]
    )
    assert report.topics[0].themes[1].held_back == 1
    assert "Answers not shown here because they may show distress or abuse: 1." in page
    assert "Voice answers: 1. Listen to them in the export." in page
    assert "Nobody from this group took part:" in page
    assert "Made on" in page and report.version in page


async def test_keyword_groups_of_the_labelled_workshop(sessions: SessionFactory) -> None:
    await labelled(sessions)
    report = await build_report(sessions, ReportRequest(CODE, "en", 5), load_catalogue())
    needs, concerns = report.topics[0].themes
    assert needs.question == "needs" and concerns.question == "concerns"
    grouped = {member for group in needs.groups.groups for member in group.members}
    assert len(grouped) + len(needs.groups.ungrouped) == 15
    # Every need is about training (English and French): every group is named by it.
    assert needs.groups.groups and all("training" in g.words for g in needs.groups.groups)
    assert sum(sum(g.by_role.values()) for g in needs.groups.groups) == len(grouped)
    # Every worry is about a person deciding: "human" or "decision" names each group.
    assert concerns.groups.groups
    assert all({"human", "decision"} & set(g.words) for g in concerns.groups.groups)


@pytest.mark.parametrize("language", ["en", "fr", "de", "es", "it", "nl"])
async def test_the_page_renders_in_every_language(
    sessions: SessionFactory, tmp_path: Path, language: str
) -> None:
    await labelled(sessions)
    out = tmp_path / f"report-{language}.html"
    await write_report(sessions, ReportRequest(CODE, language, 5), renderer(), out)
    page = out.read_text(encoding="utf-8")
    assert f'<html lang="{language}">' in page
    assert "report." not in re.sub(r"<[^>]+>", "", page)  # no raw key shown
    english = out.with_suffix(".en.html")
    if language != "en":
        await write_report(sessions, ReportRequest(CODE, "en", 5), renderer(), english)
        assert page.count("</section>") == english.read_text().count("</section>") == 6


async def test_unknown_workshop_writes_nothing(sessions: SessionFactory, tmp_path: Path) -> None:
    out = tmp_path / "none.html"
    with pytest.raises(WorkshopNotFound):
        await write_report(sessions, ReportRequest("NOPE", "en", 5), renderer(), out)
    assert not out.exists() and not part_path(out).exists()


async def test_json_export_carries_the_report_figures(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    await labelled(sessions)
    out = tmp_path / "export.json"
    await export_workshop(sessions, CODE, ExportFormat.JSON, out, min_group_size=5)
    data = json.loads(out.read_text(encoding="utf-8"))
    topics = {topic["recommendation_id"]: topic for topic in data["statistics"]["topics"]}
    assert [topics[rec]["label"] for rec in LABELLED_SCOPE] == ["consensus", "divergence", "mixed"]
    worker = topics["h2"]["cells"]["worker"]
    assert worker["n"] == 5 and worker["median"] == 5 and worker["share_4_5"] == 1
    assert topics["h2"]["largest_difference"]["magnitude"] == "large"
    needs = topics["h1"]["keyword_groups"]["needs"]
    assert sum(group["size"] for group in needs) == 15
    assert all("training" in group["words"] for group in needs)
    assert topics["h2"]["followup"]["worker"]["changed"] == 3
    assert len(data["responses"]) > 0


async def test_command_line_report(
    sessions: SessionFactory,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await labelled(sessions)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> Awaitable[int]:
        # main() owns its event loop, as it does from the shell: run it in a thread.
        return asyncio.get_running_loop().run_in_executor(None, main, list(argv))

    out = tmp_path / "cli.html"
    assert await run("report", "--workshop", CODE, "--out", str(out), "--language", "fr") == 0
    assert '<html lang="fr">' in out.read_text(encoding="utf-8")
    assert "15 participants and 3 topics" in capsys.readouterr().out
    assert await run("report", "--workshop", "NOPE", "--out", str(tmp_path / "x.html")) == 1
    assert "no workshop with code 'NOPE'" in capsys.readouterr().err
    assert await run("report", "--workshop", CODE, "--out", str(out), "--language", "xx") == 2
    assert "choose one of en" in capsys.readouterr().err


async def test_a_workshop_nobody_answered_still_has_a_report(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    await seed_workshop(sessions, "EMPTY01", LABELLED_SCOPE, [])
    out = tmp_path / "empty.html"
    report = await write_report(sessions, ReportRequest("EMPTY01", "en", 5), renderer(), out)
    assert report.roles == () and report.summary.participants == 0
    assert {topic.agreement.label for topic in report.topics} == {Label.TOO_FEW}
    page = out.read_text(encoding="utf-8")
    assert "No typed answers yet." in page and "No follow-up answers yet." in page
