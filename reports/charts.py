"""The office's chart: the last weeks of work per technician, and interventions by status.

`render_stats(chart) -> bytes` turns a plain `StatsChart` into a PNG of 1280 × 960
pixels, the size Telegram keeps for a photo, laid out in four panels that stay
readable on a phone once the picture is opened:

    ┌ title ─────────────────────────────────────────────┐
    │ legend: one colour per technician                  │
    │ interventions per week   │ worked hours per week   │  stacked bars, week total on top
    │ totals per technician    │ interventions by status │  horizontal bars, values written
    └────────────────────────────────────────────────────┘

Every word comes from the caller (`ChartTexts`, from the chat's catalog) and numbers
are written in the chart's language. Beyond `MAX_SERIES` technicians, the ones with
the fewest hours are merged into one "others" series so the colours stay telling.

It draws with matplotlib's object-oriented API on an Agg canvas: no pyplot, no
global state, no display, so it is safe in a worker thread. matplotlib (and numpy)
take about a second to import, so they are imported on the first render, in that
thread, rather than when the bot starts. The font is DejaVu Sans, matplotlib's own;
characters it cannot draw (emoji in a name) are left out rather than shown as boxes.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Final

from reports.data import Language
from reports.formatting import Formatter
from reports.plurals import Plural

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH: Final = 1280
HEIGHT: Final = 960
_DPI: Final = 100

_LEGEND_COLUMNS: Final = 4
_LEGEND_ROW: Final = 0.04
# Where the panels stand, in fractions of the figure (see `render_stats`).
_LEFT: Final = 0.055
_LEFT_WIDTH: Final = 0.415
_HOURS_LEFT: Final = 0.575
_HOURS_WIDTH: Final = 0.41
_WEEKLY_TOP: Final = 0.815
_WEEKLY_BOTTOM: Final = 0.5
_NAMES_END: Final = 0.19
"""The technicians' names take the left column up to here."""
_STATUS_LEFT: Final = 0.535
_STATUS_WIDTH: Final = 0.45
_BOTTOM: Final = 0.035
_LOW_HEIGHT: Final = 0.335
_BAR_WIDTH: Final = 0.72
_TOTALS_UP_TO: Final = 13
"""Beyond this many weeks, the totals over the bars would run into each other."""

MAX_SERIES: Final = 8
"""Technicians drawn with their own colour; the rest share the "others" one."""

NAME_MAX: Final = 18
"""Longer names are cut with an ellipsis."""

FONT: Final = "DejaVu Sans"

# Okabe & Ito's palette, told apart by colour-blind readers too; grey for "others".
_COLOURS: Final = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#8C6D31",
    "#332288",
)
_OTHERS_COLOUR: Final = "#9E9E9E"
_STATUS_COLOURS: Final = {
    "planned": "#56B4E9",
    "in_progress": "#E69F00",
    "postponed": "#C9A227",
    "awaiting_client": "#332288",
    "awaiting_validation": "#CC79A7",
    "returned": "#D55E00",
    "validated": "#009E73",
    "cancelled": "#9E9E9E",
}
_INK: Final = "#222222"
_MUTED: Final = "#666666"
_GRID: Final = "#E3E3E3"


@dataclass(frozen=True)
class Series:
    """One technician's values, one per week of `StatsChart.weeks`."""

    name: str
    interventions: Sequence[int]
    hours: Sequence[Decimal]


@dataclass(frozen=True)
class StatusCount:
    """How many interventions are in one status. `key` picks the colour."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class ChartTexts:
    """The words on the chart, in the reader's language. Plain text, not HTML."""

    title: str
    interventions: str
    """Title of the panel of interventions per week."""
    hours: str
    """Title of the panel of worked hours per week."""
    totals: str
    """Title of the panel of totals per technician over the period."""
    statuses: str
    """Title of the panel of interventions by status."""
    others: str
    """The name of the series that merges the smallest technicians."""
    total_line: Plural | str
    """A technician's totals: {count} interventions (which pick the form of a plural
    text) and {hours}, both written here."""


@dataclass(frozen=True)
class StatsChart:
    """Everything the picture shows."""

    weeks: Sequence[str]
    """The label of each week, oldest first (may hold a line break)."""
    technicians: Sequence[Series]
    statuses: Sequence[StatusCount]
    texts: ChartTexts
    language: Language = "fr"


@dataclass(frozen=True)
class _Drawn:
    name: str
    colour: str
    interventions: tuple[int, ...]
    hours: tuple[Decimal, ...]


def render_stats(chart: StatsChart) -> bytes:
    """The chart as PNG bytes, WIDTH × HEIGHT pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    for series in chart.technicians:
        if len(series.interventions) != len(chart.weeks) or len(series.hours) != len(chart.weeks):
            raise ValueError(f"{series.name!r} does not have one value per week")
    fmt = Formatter(chart.language)
    drawn = _series(chart)

    figure = Figure(figsize=(WIDTH / _DPI, HEIGHT / _DPI), dpi=_DPI)
    figure.patch.set_facecolor("white")
    FigureCanvasAgg(figure)
    figure.text(
        0.5,
        0.985,
        _clean(chart.texts.title),
        ha="center",
        va="top",
        fontsize=24,
        fontweight="bold",
        color=_INK,
    )
    legend_rows = -(-len(drawn) // _LEGEND_COLUMNS)
    if drawn:
        from matplotlib.patches import Patch

        figure.legend(
            handles=[Patch(facecolor=s.colour, label=s.name) for s in drawn],
            loc="upper center",
            bbox_to_anchor=(0.5, 0.935),
            ncol=min(len(drawn), _LEGEND_COLUMNS),
            fontsize=16,
            frameon=False,
            handlelength=1.2,
            handleheight=1.2,
            columnspacing=1.8,
            labelspacing=0.4,
            borderaxespad=0,
            labelcolor=_INK,
        )
    # Fixed places (fractions of the figure) rather than a layout engine: the picture
    # has one size, and this is several times faster. Each extra row of the legend
    # lowers the top of the weekly panels.
    top = _WEEKLY_TOP - _LEGEND_ROW * max(legend_rows - 1, 0)
    count_axes = figure.add_axes((_LEFT, _WEEKLY_BOTTOM, _LEFT_WIDTH, top - _WEEKLY_BOTTOM))
    hours_axes = figure.add_axes((_HOURS_LEFT, _WEEKLY_BOTTOM, _HOURS_WIDTH, top - _WEEKLY_BOTTOM))
    totals_axes = figure.add_axes(
        (_NAMES_END, _BOTTOM, _LEFT + _LEFT_WIDTH - _NAMES_END, _LOW_HEIGHT)
    )
    status_axes = figure.add_axes((_STATUS_LEFT, _BOTTOM, _STATUS_WIDTH, _LOW_HEIGHT))

    weeks = [_clean(week) for week in chart.weeks]
    _weekly_bars(
        count_axes,
        weeks,
        [(s.colour, [Decimal(v) for v in s.interventions]) for s in drawn],
        _clean(chart.texts.interventions),
        lambda total: fmt.number(total),
    )
    _weekly_bars(
        hours_axes,
        weeks,
        [(s.colour, list(s.hours)) for s in drawn],
        _clean(chart.texts.hours),
        lambda total: fmt.number(total.quantize(Decimal(1))),
    )
    _totals(totals_axes, drawn, chart.texts, fmt)
    _statuses(status_axes, chart.statuses, _clean(chart.texts.statuses), fmt)

    for text in figure.findobj(Text):
        text.set_fontfamily(FONT)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _series(chart: StatsChart) -> list[_Drawn]:
    """The series to draw: the biggest technicians in their own colour, then "others"."""
    ranked = sorted(
        chart.technicians,
        key=lambda s: (sum(s.hours, Decimal(0)), sum(s.interventions)),
        reverse=True,
    )
    own = {id(s) for s in (ranked if len(ranked) <= MAX_SERIES else ranked[: MAX_SERIES - 1])}
    kept = [s for s in chart.technicians if id(s) in own]
    drawn = [
        _Drawn(_name(s.name), _COLOURS[i], tuple(s.interventions), tuple(s.hours))
        for i, s in enumerate(kept)
    ]
    rest = [s for s in chart.technicians if id(s) not in own]
    if rest:
        drawn.append(
            _Drawn(
                _clean(chart.texts.others),
                _OTHERS_COLOUR,
                tuple(sum(values) for values in zip(*(s.interventions for s in rest), strict=True)),
                tuple(
                    sum(values, Decimal(0)) for values in zip(*(s.hours for s in rest), strict=True)
                ),
            )
        )
    return drawn


def _style(axes: Axes, title: str, *, grid_axis: str, title_x: float = 0.0) -> None:
    axes.set_title(title, loc="left", x=title_x, fontsize=18, fontweight="bold", color=_INK, pad=12)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color("#BBBBBB")
    axes.tick_params(labelsize=14, colors=_INK, length=0)
    axes.grid(axis=grid_axis, color=_GRID, linewidth=1)  # type: ignore[arg-type]
    axes.set_axisbelow(True)


def _weekly_bars(
    axes: Axes,
    weeks: list[str],
    series: list[tuple[str, list[Decimal]]],
    title: str,
    total_text: Callable[[Decimal], str],
) -> None:
    """Stacked bars, one per week, one segment per series, the week's total on top
    (when there is room for it: up to `_TOTALS_UP_TO` weeks).

    Each series is one collection of rectangles rather than `bar()`'s one patch per
    segment: 26 weeks × 8 series would otherwise cost about half a second."""
    from matplotlib.collections import PolyCollection
    from matplotlib.ticker import MaxNLocator

    _style(axes, title, grid_axis="y")
    positions = list(range(len(weeks)))
    bottoms = [Decimal(0)] * len(weeks)
    half = _BAR_WIDTH / 2
    for colour, values in series:
        boxes = [
            (
                (x - half, float(b)),
                (x + half, float(b)),
                (x + half, float(b + v)),
                (x - half, float(b + v)),
            )
            for x, b, v in zip(positions, bottoms, values, strict=True)
            if v > 0
        ]
        axes.add_collection(
            PolyCollection(boxes, facecolors=colour, edgecolors="white", linewidths=0.8),
            autolim=False,
        )
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    highest = float(max(bottoms, default=Decimal(0)))
    axes.set_ylim(0, highest * 1.18 if highest > 0 else 1)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=1))
    if len(weeks) <= _TOTALS_UP_TO:
        for position, total in zip(positions, bottoms, strict=True):
            if total > 0:
                axes.annotate(
                    total_text(total),
                    (position, float(total)),
                    xytext=(0, 4),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=14 if len(weeks) <= 10 else 12,
                    fontweight="bold",
                    color=_INK,
                )
    step = max(1, -(-len(weeks) // 9))  # at most about nine week labels
    axes.set_xticks(positions[::step], weeks[::step])
    axes.set_xlim(-0.6, len(weeks) - 0.4)
    axes.tick_params(axis="x", labelsize=13 if step == 1 else 12)


def _totals(axes: Axes, drawn: list[_Drawn], texts: ChartTexts, fmt: Formatter) -> None:
    """Per technician over the period: hours as a bar, interventions and hours written."""
    # The title starts at the column's edge, left of the names, like the others.
    left, _, width, _ = axes.get_position().bounds
    _style(axes, _clean(texts.totals), grid_axis="x", title_x=(_LEFT - left) / width)
    hours = [sum(s.hours, Decimal(0)) for s in drawn]
    rows = list(range(len(drawn)))
    axes.barh(rows, [float(h) for h in hours], color=[s.colour for s in drawn], height=0.62)
    axes.set_yticks(rows, [s.name for s in drawn])
    highest = float(max(hours, default=Decimal(0)))
    axes.set_xlim(0, highest * 2.1 if highest > 0 else 1)
    axes.set_ylim(max(len(drawn), 1) - 0.5, -0.5)
    axes.xaxis.set_visible(False)
    axes.spines["bottom"].set_visible(False)
    axes.grid(False)
    for row, series, total in zip(rows, drawn, hours, strict=True):
        count = sum(series.interventions)
        line = texts.total_line
        if isinstance(line, Plural):
            line = line.pick(fmt.language, count)
        line = line.format(count=fmt.number(count), hours=fmt.duration(total))
        axes.annotate(
            _clean(line),
            (float(total), row),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=14,
            color=_INK,
        )
    axes.tick_params(axis="y", labelsize=15 if len(drawn) <= 5 else 12)


def _statuses(axes: Axes, statuses: Sequence[StatusCount], title: str, fmt: Formatter) -> None:
    """Every intervention by status, as a table: a coloured mark, the status, the count.

    A table rather than bars: one status usually dwarfs the others (validated), which
    would leave the rest as slivers too thin to see on a phone."""
    axes.set_title(title, loc="left", fontsize=18, fontweight="bold", color=_INK, pad=12)
    axes.set_axis_off()
    axes.set_xlim(0, 1)
    axes.set_ylim(len(statuses) - 0.5, -0.5)
    for row, status in enumerate(statuses):
        if row % 2 == 0:
            axes.axhspan(row - 0.5, row + 0.5, color="#F4F4F4", zorder=0)
        axes.scatter(
            [0.03],
            [row],
            s=230,
            marker="s",
            color=_STATUS_COLOURS.get(status.key, _OTHERS_COLOUR),
            zorder=2,
        )
        axes.text(0.075, row, _clean(status.label), va="center", fontsize=16, color=_INK)
        axes.text(
            0.97,
            row,
            fmt.number(status.count),
            va="center",
            ha="right",
            fontsize=17,
            fontweight="bold",
            color=_INK if status.count else _MUTED,
        )


def _name(name: str) -> str:
    name = _clean(name)
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1].rstrip() + "…"


def _clean(text: str) -> str:
    """Text the font can draw, with "$" kept literal (matplotlib reads $…$ as maths)."""
    drawable = _drawable()
    text = unicodedata.normalize("NFC", text)
    kept = "".join(c for c in text if c == "\n" or ord(c) in drawable)
    return re.sub(r"[ \t]{2,}", " ", kept).strip().replace("$", r"\$")


@cache
def _drawable() -> frozenset[int]:
    """The code points DejaVu Sans has a glyph for."""
    from matplotlib.font_manager import FontProperties, findfont, get_font

    font = get_font(findfont(FontProperties(family=FONT), fallback_to_default=True))
    return frozenset(font.get_charmap())
