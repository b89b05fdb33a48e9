"""Radar chart geometry and SVG, drawn on the server so the page and the PDF show one chart.

The chart is plain SVG text with every label escaped; no JavaScript and no image library,
so it renders the same in a browser, in WeasyPrint and with styles off.  Imports nothing
from Flask.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

MIN_AXES, MAX_AXES = 3, 15

# Presentation attributes rather than CSS, so the chart looks the same in every renderer.
_RING = 'fill="none" stroke="#c9d1db" stroke-width="1"'
_TICK = 'font-size="11" fill="#4a5563"'
_SPOKE = 'stroke="#c9d1db" stroke-width="1"'
_COMPARISON = 'fill="none" stroke="#9a5b00" stroke-width="2" stroke-dasharray="6 4"'
_SCORE = 'fill="#0b3a5d" fill-opacity="0.22" stroke="#0b3a5d" stroke-width="2.5"'
_DOT = 'fill="#0b3a5d"'
_LABEL = 'fill="#1b2430" font-family="DejaVu Sans, sans-serif"'


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class RadarAxis:
    """One spoke: its label, the value drawn on it (None when it has no score yet) and an
    abbreviation for when full labels do not fit (a principle's key, say)."""

    label: str
    value: float | None
    short: str | None = None


def axis_angle(index: int, count: int) -> float:
    """Angle of spoke `index` in radians: the first points straight up, the rest clockwise."""
    return -math.pi / 2 + 2 * math.pi * index / count


def radar_point(center: Point, radius: float, index: int, count: int, fraction: float) -> Point:
    """Where a value that is `fraction` of the way out (0 centre, 1 rim) lies on a spoke."""
    fraction = min(max(fraction, 0.0), 1.0)
    angle = axis_angle(index, count)
    return Point(
        round(center.x + radius * fraction * math.cos(angle), 2),
        round(center.y + radius * fraction * math.sin(angle), 2),
    )


def radar_polygon(
    center: Point, radius: float, values: Sequence[float | None], minimum: float, maximum: float
) -> list[Point]:
    """Vertices of the score polygon; a spoke with no score is drawn at the centre."""
    if not MIN_AXES <= len(values) <= MAX_AXES:
        raise ValueError(f"a radar chart needs {MIN_AXES} to {MAX_AXES} axes, not {len(values)}")
    if maximum <= minimum:
        raise ValueError("the scale's maximum must be above its minimum")
    span = maximum - minimum
    return [
        radar_point(center, radius, i, len(values),
                    0.0 if value is None else (value - minimum) / span)
        for i, value in enumerate(values)
    ]


def _points(points: Sequence[Point]) -> str:
    return " ".join(f"{p.x:g},{p.y:g}" for p in points)


def _wrap(label: str, width: int = 18) -> list[str]:
    """Break a label into lines of about `width` characters at spaces."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _tick(value: float) -> str:
    return f"{round(value, 3):g}"


# Label metrics, in units of the font size: generous for DejaVu Sans (the PDF's font and
# Debian's default sans-serif), so a box computed here holds the text as drawn.
_ASCENT, _DESCENT, _LINE = 0.95, 0.25, 1.2
FULL_FONT, SHORT_FONT = 15, 22
SHORT_LIMIT = 6  # an axis's own abbreviation is used when every one is at most this long
_GAP, _PAD, _SPACING = 14, 8, 4


def text_width(line: str, font_size: float) -> float:
    """A safe estimate of a line's drawn width: wide for capitals and digits, a full em
    for East Asian wide characters."""
    width = 0.0
    for char in line:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            width += 1.0
        elif char.isupper() or char.isdigit() or char in "MWmw@%":
            width += 0.78
        elif char in " .,:;'!|il":
            width += 0.36
        else:
            width += 0.64
    return width * font_size


@dataclass(frozen=True)
class Box:
    """A label's extent, in the chart's coordinates."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box, spacing: float = 0.0) -> bool:
        return not (self.right + spacing <= other.left or other.right + spacing <= self.left
                    or self.bottom + spacing <= other.top or other.bottom + spacing <= self.top)

    def shifted(self, dx: float, dy: float) -> Box:
        return Box(self.left + dx, self.top + dy, self.right + dx, self.bottom + dy)


@dataclass(frozen=True)
class RadarLabel:
    lines: tuple[str, ...]
    x: float
    first_baseline: float
    anchor: str
    font_size: float
    box: Box


@dataclass(frozen=True)
class RadarLayout:
    """Where everything goes: the canvas, the circle and each axis label with its box."""

    width: float
    height: float
    center: Point
    radius: float
    labels: tuple[RadarLabel, ...]
    abbreviated: bool


def short_labels(axes: Sequence[RadarAxis]) -> list[str]:
    """What the spokes say when full titles do not fit: the axes' own abbreviations (a
    principle's key, say) when all are short, otherwise their numbers."""
    shorts = [axis.short for axis in axes]
    if all(short and len(short) <= SHORT_LIMIT for short in shorts):
        return [str(short) for short in shorts]
    return [str(n) for n in range(1, len(axes) + 1)]


def _place(lines: list[str], index: int, count: int, radius: float, font: float) -> RadarLabel:
    """A label just outside the rim, anchored away from the circle, centred on its spoke
    (relative to the circle's centre at 0, 0)."""
    angle = axis_angle(index, count)
    cos, sin = math.cos(angle), math.sin(angle)
    x, y = (radius + _GAP) * cos, (radius + _GAP) * sin
    width = max(text_width(line, font) for line in lines)
    height = (len(lines) - 1) * _LINE * font + (_ASCENT + _DESCENT) * font
    anchor = "middle" if abs(cos) < 0.3 else ("start" if cos > 0 else "end")
    left = {"start": x, "end": x - width, "middle": x - width / 2}[anchor]
    if sin < -0.3:
        top = y - height
    elif sin > 0.3:
        top = y
    else:
        top = y - height / 2
    box = Box(left, top, left + width, top + height)
    return RadarLabel(tuple(lines), round(x, 2), round(top + _ASCENT * font, 2), anchor, font,
                      box)


def _collide(labels: Sequence[RadarLabel]) -> bool:
    return any(a.box.overlaps(b.box, _SPACING)
               for n, a in enumerate(labels) for b in labels[n + 1:])


def radar_layout(axes: Sequence[RadarAxis], size: int = 420, abbreviate: bool = False) \
        -> RadarLayout:
    """Lay the chart out so that no label is clipped and no two labels overlap.

    Full titles, wrapped, when they fit side by side (at most eight axes); otherwise, or
    when `abbreviate` asks for it, each spoke carries a short label (see `short_labels`)
    and the page prints the key. The canvas grows to hold every label, with the circle at
    its centre.
    """
    count = len(axes)
    if not MIN_AXES <= count <= MAX_AXES:
        raise ValueError(f"a radar chart needs {MIN_AXES} to {MAX_AXES} axes, not {count}")
    radius = size / 2 - 10
    labels: list[RadarLabel] = []
    abbreviated = abbreviate or count > 8
    if not abbreviated:
        width = 18 if count <= 6 else 14
        labels = [_place(_wrap(axis.label, width), i, count, radius, FULL_FONT)
                  for i, axis in enumerate(axes)]
        abbreviated = _collide(labels)
    if abbreviated:
        labels = [_place([short], i, count, radius, SHORT_FONT)
                  for i, short in enumerate(short_labels(axes))]
        if _collide(labels):  # only with very long abbreviations: fall back to numbers
            labels = [_place([str(i + 1)], i, count, radius, SHORT_FONT) for i in range(count)]
    half_width = math.ceil(_PAD + max(
        [radius] + [max(-label.box.left, label.box.right) for label in labels]))
    half_height = math.ceil(_PAD + max(
        [radius] + [max(-label.box.top, label.box.bottom) for label in labels]))
    placed = tuple(
        RadarLabel(label.lines, round(label.x + half_width, 2),
                   round(label.first_baseline + half_height, 2), label.anchor,
                   label.font_size, label.box.shifted(half_width, half_height))
        for label in labels
    )
    return RadarLayout(2 * half_width, 2 * half_height, Point(half_width, half_height), radius,
                       placed, abbreviated)


def radar_svg(
    axes: Sequence[RadarAxis],
    levels: Sequence[float],
    title: str,
    size: int = 420,
    comparison: Sequence[float | None] | None = None,
    abbreviate: bool = False,
    tick_text: Callable[[float], str] = _tick,
    chart_id: str = "radar",
) -> str:
    """An accessible SVG radar chart: rings per scale level, spokes, labels, score polygon.

    `levels` are the scale's scores (the rings); `comparison`, when given, draws a second
    dashed polygon (a previous round, say) under the first. The SVG has role="img" and a
    <title> (its id starts with `chart_id`: two charts on one page need two); pages also
    print the same figures as a table, and the key of the short
    labels when the layout uses them (`radar_layout`).
    """
    layout = radar_layout(axes, size, abbreviate)
    count = len(axes)
    minimum, maximum = min(levels), max(levels)
    if maximum <= minimum:
        raise ValueError("the scale's maximum must be above its minimum")
    center, radius = layout.center, layout.radius
    variant = "short" if layout.abbreviated else "full"
    # direction="ltr": the layout places each label by its anchor's left-to-right meaning;
    # a right-to-left page would otherwise turn "start" into "end" and push labels inwards.
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="radar radar--{variant}" '
        f'viewBox="0 0 {layout.width:g} {layout.height:g}" role="img" direction="ltr" '
        f'aria-labelledby="{chart_id}-title-{variant}">',
        f'<title id="{chart_id}-title-{variant}">{escape(title)}</title>',
    ]
    for level in levels:
        fraction = (level - minimum) / (maximum - minimum)
        ring = [radar_point(center, radius, i, count, fraction) for i in range(count)]
        if fraction > 0:
            parts.append(f'<polygon class="radar-ring" points="{_points(ring)}" {_RING}/>')
        edge = radar_point(center, radius, 0, count, fraction)
        # Just inside the ring, beside the upward spoke: never where an axis label goes.
        parts.append(
            f'<text class="radar-tick" x="{edge.x + 4:g}" y="{edge.y + 12:g}" {_TICK}>'
            f'{escape(tick_text(level))}</text>'
        )
    for i in range(count):
        end = radar_point(center, radius, i, count, 1.0)
        parts.append(
            f'<line class="radar-spoke" x1="{center.x:g}" y1="{center.y:g}" '
            f'x2="{end.x:g}" y2="{end.y:g}" {_SPOKE}/>'
        )
    if comparison is not None:
        if len(comparison) != count:
            raise ValueError(f"the comparison has {len(comparison)} values for {count} axes")
        previous = radar_polygon(center, radius, comparison, minimum, maximum)
        parts.append(
            f'<polygon class="radar-comparison" points="{_points(previous)}" {_COMPARISON}/>'
        )
    shape = radar_polygon(center, radius, [a.value for a in axes], minimum, maximum)
    parts.append(f'<polygon class="radar-score" points="{_points(shape)}" {_SCORE}/>')
    for point in shape:
        parts.append(
            f'<circle class="radar-dot" cx="{point.x:g}" cy="{point.y:g}" r="4" {_DOT}/>'
        )
    for label, axis in zip(layout.labels, axes, strict=True):
        line_height = round(_LINE * label.font_size, 2)
        parts.append(
            f'<text class="radar-label" x="{label.x:g}" y="{label.first_baseline:g}" '
            f'text-anchor={quoteattr(label.anchor)} font-size="{label.font_size:g}" '
            f'{_LABEL}>'
            + (f'<title>{escape(axis.label)}</title>' if layout.abbreviated else "")
            + "".join(
                f'<tspan x="{label.x:g}" dy="{0 if n == 0 else line_height:g}">'
                f'{escape(line)}</tspan>'
                for n, line in enumerate(label.lines)
            )
            + "</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value (None: no score yet) and, optionally, a second value
    drawn beside it (a validated level beside the claimed one, say)."""

    label: str
    value: float | None
    comparison: float | None = None


_BAR = 'fill="#0b3a5d"'
_BAR_COMPARISON = 'fill="#b58a1b"'
_BAR_LABEL = 'font-size="13" fill="#1b2430"'
_BAR_VALUE = 'font-size="12" fill="#1b2430"'


def bar_svg(bars: Sequence[Bar], levels: Sequence[float], title: str,
            comparison_label: str | None = None, width: int = 640,
            value_text: Callable[[float], str] = lambda value: f"{value:.2f}",
            tick_text: Callable[[float], str] = _tick) -> str:
    """An accessible horizontal bar chart of one value per row on the scale `levels` (the
    scale's scores: a grid line at each).

    The SVG has role="img" and a <title> (`title`, which should carry the figures: a PDF
    reader gives it as the chart's text alternative); each bar is labelled with its value,
    or "–" when it has none, written by `value_text` (the reader's language's decimals:
    the app passes Babel's). With comparison values, a thinner second bar sits under each.
    """
    if not bars:
        raise ValueError("a bar chart needs at least one bar")
    minimum, maximum = min(levels), max(levels)
    if maximum <= minimum:
        raise ValueError("the scale's maximum must be above its minimum")
    label_width, value_width, row = 230, 50, 34
    has_comparison = any(b.comparison is not None for b in bars)
    if has_comparison:
        row = 44
    plot = width - label_width - value_width
    top = 26
    height = top + row * len(bars) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="bars-title">',
        f'<title id="bars-title">{escape(title)}</title>',
    ]
    for level in levels:
        x = label_width + plot * (level - minimum) / (maximum - minimum)
        parts.append(f'<line x1="{x:g}" y1="{top - 6}" x2="{x:g}" y2="{height - 8}" '
                     f'{_SPOKE}/>')
        parts.append(f'<text x="{x:g}" y="{top - 10}" text-anchor="middle" {_TICK}>'
                     f'{escape(tick_text(level))}</text>')
    for index, bar in enumerate(bars):
        y = top + index * row
        lines = _wrap(bar.label, 30)[:2]
        for n, line in enumerate(lines):
            line_y = y + 14 + n * 15 - (len(lines) - 1) * 6
            parts.append(f'<text x="{label_width - 10}" y="{line_y:g}" text-anchor="end" '
                         f'{_BAR_LABEL}>{escape(line)}</text>')
        for value, style, offset, thickness in (
                (bar.value, _BAR, 4, 18 if not has_comparison else 16),
                (bar.comparison, _BAR_COMPARISON, 24, 10)):
            if style is _BAR_COMPARISON and not has_comparison:
                continue
            length = 0.0 if value is None else plot * (value - minimum) / (maximum - minimum)
            if length > 0:
                parts.append(f'<rect x="{label_width}" y="{y + offset}" width="{length:.1f}" '
                             f'height="{thickness}" {style}/>')
            text = "–" if value is None else escape(value_text(value))
            parts.append(f'<text x="{label_width + length + 6:.1f}" '
                         f'y="{y + offset + thickness - 4}" {_BAR_VALUE}>{text}</text>')
    if has_comparison and comparison_label:
        parts.append(f'<text x="{width - 4}" y="{height - 2}" text-anchor="end" {_TICK}>'
                     f'{escape(comparison_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class BoxRow:
    """One principle's spread for a box plot: min, quartiles, median, max (or no data)."""

    label: str
    minimum: float | None = None
    lower_quartile: float | None = None
    median: float | None = None
    upper_quartile: float | None = None
    maximum: float | None = None
    marker: float | None = None  # one administration's own score, drawn as a diamond


def box_plot_svg(rows: Sequence[BoxRow], low: int, high: int, title: str,
                 width: int = 640) -> str:
    """A horizontal box plot per row (whiskers min–max, box the quartiles, a bar at the
    median), on the scale low–high; role="img" with a <title>, the page prints the table."""
    label_width, row_height, top = 200, 34, 28
    plot = width - label_width - 20
    height = top + row_height * len(rows) + 10

    def x(value: float) -> float:
        return round(label_width + (value - low) / (high - low) * plot, 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="boxplot" role="img" '
             f'aria-labelledby="boxplot-title" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}">',
             f'<title id="boxplot-title">{escape(title)}</title>']
    for tick in range(low, high + 1):
        parts.append(f'<line x1="{x(tick)}" y1="{top - 6}" x2="{x(tick)}" y2="{height - 8}" '
                     f'{_SPOKE}/><text x="{x(tick)}" y="{top - 10}" text-anchor="middle" '
                     f'{_TICK}>{tick}</text>')
    for n, row in enumerate(rows):
        middle = top + n * row_height + row_height / 2
        parts.append(f'<text x="{label_width - 8}" y="{middle + 5}" text-anchor="end" '
                     f'font-size="13" fill="#1b2430">{escape(row.label)}</text>')
        if row.median is not None:
            parts.append(
                f'<line x1="{x(row.minimum)}" y1="{middle}" x2="{x(row.maximum)}" '
                f'y2="{middle}" stroke="#4a5563" stroke-width="1.5"/>'
                f'<rect x="{x(row.lower_quartile)}" y="{middle - 9}" '
                f'width="{max(x(row.upper_quartile) - x(row.lower_quartile), 1.5)}" '
                f'height="18" {_SCORE}/>'
                f'<line x1="{x(row.median)}" y1="{middle - 11}" x2="{x(row.median)}" '
                f'y2="{middle + 11}" stroke="#0b3a5d" stroke-width="3"/>')
        if row.marker is not None:
            m = x(row.marker)
            parts.append(f'<polygon points="{m},{middle - 8} {m + 8},{middle} {m},{middle + 8} '
                         f'{m - 8},{middle}" fill="#9a5b00"/>')
    parts.append("</svg>")
    return "".join(parts)
