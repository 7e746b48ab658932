"""The /stats chart: mean priority per recommendation and role, as a PNG for a phone screen.

Drawn with matplotlib's object API (a `Figure` on an Agg canvas) rather than pyplot, so no
figure is registered in pyplot's global list: nothing can leak between requests, and charts
can be drawn off the event loop (`asyncio.to_thread`). The text twin of this chart is
`bot.flows.stats.stats_views`; both read the same `WorkshopStats`.

Layout choices, for a facilitator glancing at a phone mid-workshop:
- one group per recommendation, its short title written above its bars (not as a tick label
  on the left, which would take half the width of a narrow screen);
- one bar per role, always in the same order and colour (Okabe–Ito, safe for the common
  colour-vision deficiencies), with "3.8 (n=12)" written after it so the number does not
  depend on reading the axis;
- a role without answers keeps its slot, outlined and labelled "no answers", so absence is
  visible rather than silently closed up;
- a role flagged by the under-representation rule is hatched, as well as coloured, and the
  legend explains the hatching;
- sizes are in inches and points, so the picture is the same whatever the scope: the figure
  grows in height with the number of recommendations and roles.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from bot.flows.stats import CellStats, WorkshopStats, format_mean

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any common colour-vision
# deficiency, and each role keeps its colour from one chart to the next.
ROLE_COLOURS: Mapping[str, str] = {
    "worker": "#0072B2",  # blue
    "service_user": "#E69F00",  # orange
    "technologist": "#009E73",  # bluish green
    "other": "#CC79A7",  # reddish purple
}
FALLBACK_COLOUR = "#56B4E9"  # sky blue, for a role added later without a colour here
MUTED = "#595959"  # grey text with 7:1 contrast on white
FONT = "DejaVu Sans"  # shipped with matplotlib: the same glyphs (and bytes) on every machine

WIDTH_IN = 7.5
DPI = 144  # 7.5 in x 144 dpi = 1080 px wide: sharp on a phone, fonts stay large when shrunk
HEADING_PT = 20
TITLE_PT = 18
LABEL_PT = 16
LEGEND_PT = 15
AXIS_PT = 15

ROW_IN = 0.42  # one bar
REC_TITLE_IN = 0.5  # the line with a recommendation's title
GROUP_GAP_IN = 0.3
MARGIN_IN = 0.3
LEGEND_ROW_IN = 0.33
AXIS_IN = 0.75  # tick labels and the axis label under the bars
X_MAX = 6.6  # the scale stops at 5; the rest is room for "5.0 (n=12)"
HEADING_WRAP = 44  # characters per heading line at HEADING_PT on WIDTH_IN
TITLE_WRAP = 52


@dataclass(frozen=True)
class ChartTexts:
    """The chart's own words, already translated (keys `stats.chart.*`); English by default."""

    axis: str = "Mean priority: 1 (low) to 5 (high)"
    no_answers: str = "no answers"
    only_unsure: str = "not sure"
    underrepresented: str = "Hatched: few answers (voice missing)"
    decimal_mark: str = "."


def priority_chart(
    stats: WorkshopStats,
    titles: Mapping[str, str],
    role_labels: Mapping[str, str],
    *,
    heading: str,
    texts: ChartTexts | None = None,
) -> bytes:
    """A PNG of mean priority per recommendation (groups) and role (bars).

    `titles` maps recommendation ids to short titles and `role_labels` role ids to names, both
    in the reader's language; a missing entry falls back to the id rather than failing.
    """
    words = texts or ChartTexts()
    roles = stats.roles
    rows_per_group = max(len(roles), 1)  # no participants: one "no answers" slot per group
    heading_lines = textwrap.wrap(heading, HEADING_WRAP) or [""]
    legend_rows = len(roles) + (1 if stats.underrepresented else 0)

    heading_in = MARGIN_IN + 0.4 * len(heading_lines)
    legend_in = LEGEND_ROW_IN * legend_rows + (0.1 if legend_rows else 0)
    group_in = REC_TITLE_IN + ROW_IN * rows_per_group + GROUP_GAP_IN
    body_in = group_in * max(len(stats.recommendations), 1)
    height_in = heading_in + legend_in + body_in + AXIS_IN + MARGIN_IN

    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    figure.text(
        MARGIN_IN / WIDTH_IN,
        1 - MARGIN_IN / height_in,
        "\n".join(heading_lines),
        fontsize=HEADING_PT,
        fontweight="bold",
        family=FONT,
        va="top",
        ha="left",
    )

    if legend_rows:
        handles = [
            Patch(
                facecolor=ROLE_COLOURS.get(role, FALLBACK_COLOUR), label=_label(role_labels, role)
            )
            for role in roles
        ]
        if stats.underrepresented:
            handles.append(
                Patch(
                    facecolor="white",
                    edgecolor=MUTED,
                    hatch="///",
                    label=words.underrepresented,
                )
            )
        figure.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(MARGIN_IN / WIDTH_IN, 1 - heading_in / height_in),
            frameon=False,
            prop={"family": FONT, "size": LEGEND_PT},
            handlelength=1.6,
            handleheight=1.0,
            borderaxespad=0,
            borderpad=0,
        )

    left = MARGIN_IN / WIDTH_IN
    bottom = (AXIS_IN + MARGIN_IN) / height_in
    axes = figure.add_axes(
        (left, bottom, 1 - 2 * left, body_in / height_in),
    )
    # y runs downwards in inches-like units: 1 unit = one bar row.
    unit_rows = body_in / ROW_IN
    axes.set_ylim(unit_rows, 0)
    axes.set_xlim(0, X_MAX)

    y = 0.0
    for rec in stats.recommendations:
        axes.text(
            0,
            y + REC_TITLE_IN / ROW_IN * 0.55,
            textwrap.shorten(titles.get(rec, rec), TITLE_WRAP, placeholder="…"),
            fontsize=TITLE_PT,
            fontweight="bold",
            family=FONT,
            va="center",
            ha="left",
        )
        y += REC_TITLE_IN / ROW_IN
        flagged = stats.underrepresented.get(rec, ())
        if not roles:
            _empty_slot(axes, y + 0.5, words.no_answers, MUTED)
        for index, role in enumerate(roles):
            _role_bar(axes, y + index + 0.5, stats.cell(rec, role), role, role in flagged, words)
        y += rows_per_group + GROUP_GAP_IN / ROW_IN

    axes.set_xticks([1, 2, 3, 4, 5])
    axes.tick_params(
        axis="x",
        labelsize=AXIS_PT,
        length=0,
        labelfontfamily=FONT,
    )
    axes.set_yticks([])
    axes.grid(axis="x", color="#d9d9d9", linewidth=1)
    axes.set_axisbelow(True)
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
    axes.spines["left"].set_color(MUTED)
    axes.set_xlabel(words.axis, fontsize=AXIS_PT, family=FONT, loc="left", color=MUTED)

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        figure.clear()
    return buffer.getvalue()


def _role_bar(
    axes: Axes, centre: float, cell: CellStats, role: str, hatched: bool, words: ChartTexts
) -> None:
    """One role's bar and its "3.8 (n=12)", or an empty slot when there is no mean."""
    colour = ROLE_COLOURS.get(role, FALLBACK_COLOUR)
    if cell.mean is None:
        text = f"{words.only_unsure} (n={cell.answered})" if cell.answered else words.no_answers
        _empty_slot(axes, centre, text, colour)
        return
    axes.barh(
        centre,
        cell.mean,
        height=0.78,
        facecolor=_tint(colour) if hatched else colour,
        edgecolor=colour if hatched else "none",
        hatch="///" if hatched else None,
        linewidth=1.5,
    )
    axes.text(
        cell.mean + 0.08,
        centre,
        f"{format_mean(cell.mean, words.decimal_mark)} (n={cell.answered})",
        fontsize=LABEL_PT,
        family=FONT,
        va="center",
        ha="left",
    )


def _label(labels: Mapping[str, str], role: str) -> str:
    return labels.get(role, role)


def _tint(colour: str) -> tuple[float, float, float]:
    """The role's colour mixed with white: hatching stays visible on top of it."""
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return (0.35 * red + 0.65, 0.35 * green + 0.65, 0.35 * blue + 0.65)


def _empty_slot(axes: Axes, centre: float, text: str, colour: str) -> None:
    """An unfilled slot outlined in the role's colour: the role is in the room but gave no
    number here."""
    axes.add_patch(
        Rectangle(
            (0, centre - 0.39),
            5,
            0.78,
            fill=False,
            edgecolor=colour,
            linestyle=(0, (4, 3)),
            linewidth=1.5,
        )
    )
    axes.text(
        0.12,
        centre,
        text,
        fontsize=LABEL_PT,
        family=FONT,
        style="italic",
        color=MUTED,
        va="center",
        ha="left",
    )
