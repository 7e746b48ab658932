"""The report page in a real headless Chromium: the DOM after rendering, a screenshot that is
not blank, and an A4 print.

Chromium is Debian's `chromium` package; `.ci/run` installs it when missing, the way it
installs PostgreSQL. Outside CI without it, these tests are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from bot.flows.catalogue import load_catalogue
from bot.rendering import Renderer
from bot.report.run import ReportRequest, write_report
from locales import Translator
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade_to_head
from tests.report_seed import LABELLED_SCOPE, labelled_workshop, seed_workshop

CODE = "BROWSER1"
# The flags this machine needs (no sandbox as root, no network beyond loopback).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
# The darkest bar colour (rating 5, #0072b2): found in the screenshot only if bars were drawn.
RATING_5 = (0x00, 0x72, 0xB2)


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") in ("true", "1"):
            pytest.fail("no chromium: .ci/run should have installed Debian's chromium package")
        pytest.skip("no chromium on this machine (.ci/run installs Debian's chromium package)")
    return found


async def _write_page(folder: Path) -> Path:
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'codesign.db'}")
    try:
        await upgrade_to_head(engine)
        sessions = create_session_factory(engine)
        await seed_workshop(sessions, CODE, LABELLED_SCOPE, labelled_workshop())
        out = folder / "report.html"
        renderer = Renderer(Translator(), load_catalogue())
        await write_report(sessions, ReportRequest(CODE, "en", 5), renderer, out)
        return out
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One report for the three tests (it is the same page each looks at)."""
    chromium()
    return asyncio.run(_write_page(tmp_path_factory.mktemp("report")))


def run_chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


class _Matrix(HTMLParser):
    """Rows of the rendered agreement matrix: topic id, label attribute, label text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}
        self.label_texts: list[str] = []
        self._in_label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-topic"):
            self.rows[found["data-topic"] or ""] = found.get("data-label") or ""
        if tag == "span" and "label" in (found.get("class") or "").split():
            self._in_label = True
            self.label_texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_label = False

    def handle_data(self, data: str) -> None:
        if self._in_label:
            self.label_texts[-1] += data


def test_matrix_and_labels_are_in_the_rendered_dom(page: Path, tmp_path: Path) -> None:
    dom = run_chromium(page, tmp_path / "profile", "--dump-dom").stdout
    parser = _Matrix()
    parser.feed(dom)
    assert parser.rows == {"h1": "consensus", "h2": "divergence", "h3": "mixed"}
    labels = [text.strip() for text in parser.label_texts]
    for word in ("✓ Consensus", "↔ Divergence", "≈ Mixed"):
        assert word in labels
    assert 'id="matrix"' in dom and "<svg" in dom


def test_screenshot_is_not_blank(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    run_chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,3000")
    with Image.open(shot) as image:
        pixels = image.convert("RGB")
        width, height = pixels.size
        sample = [pixels.getpixel((x, y)) for y in range(0, height, 3) for x in range(0, width, 3)]
    ink = sum(1 for pixel in sample if pixel != (255, 255, 255))
    assert ink / len(sample) > 0.02, "the page rendered (almost) nothing"
    assert RATING_5 in sample, "no distribution bar was drawn"


def test_prints_on_a4(page: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    run_chromium(page, tmp_path / "profile", f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    data = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes, "no page in the PDF"
    # A4 is 595 x 842 points.
    assert all(abs(float(w) - 595) < 2 and abs(float(h) - 842) < 2 for w, h in boxes)
    assert len(boxes) >= 3  # sections start on a new page
