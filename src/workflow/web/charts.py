"""Charts drawn on the server as SVG (pygal), shown as images with their figures beside.

pygal draws bar and line charts in pure Python; its SVG carries its own styles and a
small configuration script, which is removed here (pages allow no inline script, and an
SVG shown as an ``<img>`` runs none). Nothing is fetched: fonts are the reader's own
(``system-ui``), and the chart is a ``data:`` URI in the page (the Content-Security-Policy
allows ``img-src data:``). Every chart has a text alternative, and every page shows
the same numbers in a table beside it. A hidden cell (too few young people) is a gap.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pygal
from pygal.style import Style

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#5b6570",
    colors=("#0b4f8a", "#d17a00", "#1f6f3f", "#a4161a", "#6b4fa0", "#5b6570"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    value_font_size=12,
    title_font_size=15,
)


@dataclass(frozen=True)
class Chart:
    """A chart as a page shows it: the image's address and its text alternative."""

    uri: str
    alt: str
    #: The same chart drawn for a phone's width (its text as large as on a wide screen),
    #: or None: the wide one scaled down.
    phone_uri: str | None = None


def _config(**options: object) -> dict[str, object]:
    return {
        "style": _STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "width": 640,
        "height": 300,
        "margin": 12,
        "legend_at_bottom": True,
        "show_legend": False,
        "print_values": True,
        "explicit_size": True,
        "no_data_text": "",
        **options,
    }


def drawable(values: Sequence[float | None]) -> bool:
    """Whether there is anything to draw (every value hidden or none: no chart)."""
    return any(v is not None for v in values)


def _chart(chart: pygal.graph.graph.Graph, alt: str) -> Chart:
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return Chart(f"data:image/svg+xml;base64,{encoded}", alt)


def bars(
    labels: Sequence[str], values: Sequence[float | None], alt: str, *, percent: bool = False
) -> Chart:
    """Vertical bars, one per label (a hidden value is no bar)."""
    chart = pygal.Bar(
        **_config(
            range=(0, 100) if percent else None,
            value_formatter=(lambda v: f"{v:.0f} %") if percent else (lambda v: f"{v:g}"),
        )
    )
    chart.x_labels = list(labels)
    chart.add("", [None if v is None else (v * 100 if percent else v) for v in values])
    return _chart(chart, alt)


def grouped_bars(
    labels: Sequence[str], series: Mapping[str, Sequence[float | None]], alt: str
) -> Chart:
    """Bars side by side: one series per group (e.g. first and latest level)."""
    chart = pygal.Bar(**_config(show_legend=True, value_formatter=lambda v: f"{v:g}"))
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _chart(chart, alt)


def lines(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], alt: str) -> Chart:
    """Lines over time (e.g. months), one per series."""
    chart = pygal.Line(
        **_config(show_legend=True, value_formatter=lambda v: f"{v:g}", print_values=False)
    )
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _chart(chart, alt)


def progression(
    meetings: Sequence[str],
    levels: Sequence[int | None],
    level_names: Sequence[str],
    goals_met: Sequence[float | None],
    names: tuple[str, str],
    alt: str,
) -> Chart:
    """A young person's progression meeting by meeting: the level agreed (a line against
    the scale's names) and the share of the previous plan's goals met (bars on a second
    axis, 0-100 %).

    Drawn once for the same figures (kept for the last :data:`KEPT_CHARTS` drawn): pygal
    took about half of a case page's time, and a case's chart changes only when one of
    its meetings is recorded."""
    return _progression(
        tuple(meetings), tuple(levels), tuple(level_names), tuple(goals_met), names, alt
    )


#: Progression charts kept drawn (an SVG of 20-40 KB each).
KEPT_CHARTS = 256


@lru_cache(maxsize=KEPT_CHARTS)
def _progression(
    meetings: tuple[str, ...],
    levels: tuple[int | None, ...],
    level_names: tuple[str, ...],
    goals_met: tuple[float | None, ...],
    names: tuple[str, str],
    alt: str,
) -> Chart:
    wide = _progression_drawn(meetings, levels, level_names, goals_met, names, 640, 260)
    phone = _progression_drawn(meetings, levels, level_names, goals_met, names, PHONE_WIDTH, 250)
    return Chart(wide, alt, phone)


#: The width a phone's chart is drawn at (CSS pixels of a small phone's page, less its
#: margins): drawn for it, its labels are as large as on a wide screen; the wide chart
#: scaled down to it had 7-pixel labels.
PHONE_WIDTH = 340


#: The most characters of a level's name on a phone's chart (the table beside it names
#: each meeting's level in full).
PHONE_LABEL = 11


def _shortened(name: str, most: int) -> str:
    return name if len(name) <= most else name[: most - 1].rstrip() + "…"


def _progression_drawn(
    meetings: tuple[str, ...],
    levels: tuple[int | None, ...],
    level_names: tuple[str, ...],
    goals_met: tuple[float | None, ...],
    names: tuple[str, str],
    width: int,
    height: int,
) -> str:
    """The progression chart drawn ``width`` wide, as an image's address."""
    narrow = width < 640
    phone: dict[str, object] = {}
    if narrow:  # the levels' names shortened, so the plot keeps most of the width
        level_names = tuple(_shortened(name, PHONE_LABEL) for name in level_names)
        phone = {
            "legend_at_bottom_columns": 1,
            "x_label_rotation": 30 if len(meetings) > 3 else 0,
            "truncate_label": -1,
        }
    chart = pygal.Line(
        **_config(
            show_legend=True,
            width=width,
            height=height,
            range=(1, max(len(level_names), 2)),
            secondary_range=(0, 100),
            y_labels=[{"label": name, "value": rank} for rank, name in enumerate(level_names, 1)],
            **phone,
            print_values=False,
            dots_size=5,
            stroke_style={"width": 3},
            # The levels label the left axis themselves; this writes the right one (0-100).
            value_formatter=lambda v: f"{v:.0f} %",
        )
    )
    chart.x_labels = list(meetings)
    chart.add(names[0], list(levels))
    chart.add(
        names[1],
        [None if v is None else round(v * 100) for v in goals_met],
        secondary=True,
        stroke_style={"width": 2, "dasharray": "6, 4"},
        formatter=lambda v: f"{v:.0f} %",
    )
    return _chart(chart, "").uri
