"""The report as one self-contained HTML page, in the facilitator's language.

No external asset (styles inline, bars drawn as inline SVG), so the file works offline, can be
mailed, and prints on A4. Every word comes from locales/ (`report.*`); numbers and dates are
formatted by Babel for the language. Autoescaping is on: answers are people's words and are
never trusted as HTML.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup

from bot.flows.views import Msg, Param
from bot.rendering import Renderer
from bot.report.agreement import Label, RatingCell
from bot.report.build import EVERYONE
from bot.report.model import Report

TEMPLATE = "report.html.j2"
# The bar's colours (Okabe-Ito, safe for colour blindness) for ratings 1..5; the numbers are
# always printed beside it, so colour is never the only signal.
BAR_COLOURS = ("#d55e00", "#e69f00", "#bbbbbb", "#56b4e9", "#0072b2")
LABEL_ICONS = {
    Label.CONSENSUS: "✓",
    Label.DIVERGENCE: "↔",
    Label.MIXED: "≈",
    Label.TOO_FEW: "…",
}


@cache
def _template() -> Template:
    environment = Environment(
        loader=PackageLoader("bot.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        BAR_COLOURS=BAR_COLOURS, LABEL_ICONS=LABEL_ICONS, EVERYONE=EVERYONE, Label=Label
    )
    return environment.get_template(TEMPLATE)


class _Words:
    """The template's access to translations and Babel formatting in one language."""

    def __init__(self, renderer: Renderer, language: str) -> None:
        self._renderer = renderer
        self.language = language

    def __call__(self, key: str, **params: Param) -> Markup:
        # Locale strings are our own Telegram HTML (<b>, <i>), with parameters escaped.
        return Markup(self._renderer.part(Msg(key, params), self.language))

    def role(self, role: str) -> Markup:
        if role == EVERYONE:
            return self("report.everyone")
        return self(f"role.group.{role}")

    def language_name(self, code: str) -> Markup | str:
        """A language the bot speaks by its own name; anything else by its code."""
        if code in self._renderer.translator.languages:
            return self(f"language.name.{code}")
        return code

    def number(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "–"
        pattern = "#,##0" if digits == 0 else "#,##0." + "0" * digits
        return format_decimal(value, format=pattern, locale=self.language)

    def median(self, value: float | None) -> str:
        """Medians and quartiles of whole ratings are whole or halves: no trailing zero."""
        if value is None:
            return "–"
        return format_decimal(value, format="#,##0.##", locale=self.language)

    def percent(self, share: float | None) -> str:
        if share is None:
            return "–"
        return format_percent(share, format="#,##0%", locale=self.language)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return "–"
        return format_datetime(moment, format="medium", tzinfo=None, locale=self.language) + " UTC"


def bar(cell: RatingCell, width: int = 100, height: int = 10) -> Markup:
    """A stacked bar of the 1..5 counts, with a text alternative for screen readers."""
    if cell.n == 0:
        return Markup("")
    x = 0.0
    rects = []
    for rating, colour in zip(range(1, 6), BAR_COLOURS, strict=True):
        count = cell.distribution[rating]
        if not count:
            continue
        w = width * count / cell.n
        rects.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{colour}"/>'
        )
        x += w
    counts = " ".join(f"{r}:{cell.distribution[r]}" for r in range(1, 6))
    return Markup(
        f'<svg class="bar" role="img" aria-label="{counts}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" preserveAspectRatio="none">{"".join(rects)}</svg>'
    )


def render_report(report: Report, renderer: Renderer) -> str:
    """The whole page; rendering 14 topics takes a few milliseconds."""
    return _template().render(r=report, t=_Words(renderer, report.language), bar=bar)
