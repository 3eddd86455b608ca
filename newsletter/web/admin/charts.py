"""Charts as inline SVG drawn on the server: no JavaScript, no image files, read by screen readers.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (what
it shows, in words), a legend in text, and lines told apart by dash pattern
and marker shape as well as by colour (colours keep 3:1 against white, WCAG
1.4.11). The page puts the same numbers in a table beneath every chart.
Pure: numbers in, markup out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 40, 48
MAX_LABELS = 12  # x-axis labels shown; the rest are in the table


@dataclass(frozen=True)
class Line:
    """One data series: its name, values (one per label), colour and dash pattern."""

    name: str
    values: Sequence[int]
    colour: str
    dash: str = ""  # SVG stroke-dasharray; "" is solid


PALETTE = (("#1f5fa8", ""), ("#b3261e", "6 4"), ("#7a5900", "2 3"), ("#2e6b30", "10 3 2 3"))


def lines(names_values: Sequence[tuple[str, Sequence[int]]]) -> list[Line]:
    """Lines in the standard colours and dashes, in order."""
    return [Line(name, values, *PALETTE[index % len(PALETTE)])
            for index, (name, values) in enumerate(names_values)]


def _nice_top(value: int) -> int:
    """The axis top: the smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (at least 1)."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def _steps(top: int) -> int:
    """How many whole-number steps the axis has up to ``top`` (1, 2 or 5 × 10ⁿ)."""
    if top <= 5:
        return top
    return 4 if str(top).startswith("2") else 5


def _frame(chart_id: str, title: str, desc: str, top: int, legend: list[Line],
           labels: Sequence[str], x_of: list[float], *, bars: bool = False) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    out = [f'<svg class="chart" id="{escape(chart_id)}" role="img" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMinYMin meet" '
           f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
           'xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
           f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
           f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>']
    steps = _steps(top)
    for tick in range(steps + 1):
        value = top * tick // steps
        y = TOP + plot_h - plot_h * tick / steps
        label = str(value)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#d0d4d9" stroke-width="1"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                   f'font-size="13" fill="#333">{label}</text>')
    every = max(1, -(-len(labels) // MAX_LABELS))
    for index, label in enumerate(labels):
        if index % every == 0:
            out.append(f'<text x="{x_of[index]:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                       f'text-anchor="middle" font-size="13" fill="#333">{escape(label)}</text>')
    x = LEFT
    for line in legend:
        if bars:  # a swatch like the bars themselves
            out.append(f'<rect x="{x + 6}" y="10" width="14" height="14" fill="{line.colour}"/>')
        else:
            out.append(f'<line x1="{x}" x2="{x + 24}" y1="18" y2="18" stroke="{line.colour}" '
                       f'stroke-width="3" stroke-dasharray="{line.dash}"/>')
        out.append(f'<text x="{x + 30}" y="22" font-size="14" fill="#222">'
                   f'{escape(line.name)}</text>')
        x += 40 + 8 * len(line.name)
    return out


def line_chart(chart_id: str, title: str, desc: str, labels: Sequence[str],
               data: Sequence[Line]) -> Markup:
    """A line chart over ``labels`` (e.g. hours since the send), one polyline per series."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(labels), 1)
    x_of = [LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)
            for index in range(count)]
    top = _nice_top(max((max(line.values, default=0) for line in data), default=0))
    out = _frame(chart_id, title, desc, top, list(data), labels, x_of)
    for number, line in enumerate(data):
        points = [(x_of[i], TOP + plot_h - plot_h * value / top)
                  for i, value in enumerate(line.values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        out.append(f'<polyline class="series-{number}" points="{path}" fill="none" '
                   f'stroke="{line.colour}" stroke-width="2.5" '
                   f'stroke-dasharray="{line.dash}"/>')
        for x, y in points if len(points) <= 48 else []:
            out.append(_marker(number, x, y, line.colour))
    out.append("</svg>")
    return Markup("\n".join(out))  # noqa: S704 - every text above is escaped


def _marker(number: int, x: float, y: float, colour: str) -> str:
    shape = number % 3
    if shape == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'
    if shape == 1:
        return (f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" '
                f'fill="{colour}"/>')
    return (f'<path d="M{x:.1f} {y - 4.5:.1f} L{x + 4.5:.1f} {y + 3.5:.1f} '
            f'L{x - 4.5:.1f} {y + 3.5:.1f} Z" fill="{colour}"/>')


def bar_chart(chart_id: str, title: str, desc: str, labels: Sequence[str],
              data: Sequence[Line]) -> Markup:
    """Grouped bars: one group per label (e.g. issue), one bar per series."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(labels), 1)
    group = plot_w / count
    x_of = [LEFT + group * (index + 0.5) for index in range(count)]
    top = _nice_top(max((max(line.values, default=0) for line in data), default=0))
    out = _frame(chart_id, title, desc, top, list(data), labels, x_of, bars=True)
    width = min(40.0, group * 0.8 / max(len(data), 1))
    for number, line in enumerate(data):
        for index, value in enumerate(line.values):
            height = plot_h * value / top
            x = x_of[index] - width * len(data) / 2 + width * number
            out.append(f'<rect class="series-{number}" x="{x:.1f}" '
                       f'y="{TOP + plot_h - height:.1f}" width="{width - 2:.1f}" '
                       f'height="{height:.1f}" fill="{line.colour}">'
                       f'<title>{escape(labels[index])}: {value} {escape(line.name)}</title>'
                       '</rect>')
            if value:
                out.append(f'<text x="{x + (width - 2) / 2:.1f}" '
                           f'y="{TOP + plot_h - height - 4:.1f}" text-anchor="middle" '
                           f'font-size="12" fill="#222">{value}</text>')
    out.append("</svg>")
    return Markup("\n".join(out))  # noqa: S704 - every text above is escaped
