"""Small inline-SVG charts for the reports: no plotting library, no network, crisp at any zoom.

Reports are single HTML files an auditor opens offline, so charts are SVG text written into the
page. Two kinds are needed: a line chart on log–log axes (rank–frequency curves) and a bar chart
of a few groups on a logarithmic count axis (queries per size bucket).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'
GRID = "#e3e3e3"
INK = "#333"


@dataclass(frozen=True)
class Series:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str
    dashed: bool = False


def compact(value: float) -> str:
    """1, 10, 100, 1k, 10k, 100k, 1M: tick labels that stay short."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            scaled = value / limit
            return f"{scaled:.0f}{suffix}" if scaled == int(scaled) else f"{scaled:.1f}{suffix}"
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


def _decades(low: float, high: float) -> tuple[int, int]:
    low_exp = math.floor(math.log10(low))
    high_exp = max(math.ceil(math.log10(high)), low_exp + 1)
    return low_exp, high_exp


class _Frame:
    """Plot area inside margins, with log10 mapping on the axes that use it."""

    def __init__(self, width: int, height: int, left: int = 64, right: int = 20, top: int = 40, bottom: int = 52):
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = left, width - right, top, height - bottom

    def x_log(self, value: float, low: int, high: int) -> float:
        return self.left + (math.log10(value) - low) / (high - low) * (self.right - self.left)

    def y_log(self, value: float, low: int, high: int) -> float:
        return self.bottom - (math.log10(value) - low) / (high - low) * (self.bottom - self.top)


def _open(frame: _Frame, title: str, x_label: str, y_label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width}" height="{frame.height}" role="img" aria-label="{escape(title)}" {FONT}>',
        f'<text x="{frame.left}" y="22" font-size="15" font-weight="600" fill="{INK}">{escape(title)}</text>',
        f'<text x="{(frame.left + frame.right) / 2}" y="{frame.height - 12}" font-size="12" fill="{INK}" '
        f'text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="16" y="{(frame.top + frame.bottom) / 2}" font-size="12" fill="{INK}" text-anchor="middle" '
        f'transform="rotate(-90 16 {(frame.top + frame.bottom) / 2})">{escape(y_label)}</text>',
    ]


def _y_log_axis(frame: _Frame, low: int, high: int) -> list[str]:
    parts = []
    for exp in range(low, high + 1):
        y = frame.y_log(10.0**exp, low, high)
        parts.append(f'<line x1="{frame.left}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" font-size="11" fill="{INK}" '
            f'text-anchor="end">{compact(10.0**exp)}</text>'
        )
    return parts


def _legend(frame: _Frame, entries: Sequence[tuple[str, str, bool]]) -> list[str]:
    parts = []
    for row, (label, color, dashed) in enumerate(entries):
        y = frame.top + 8 + row * 18
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append(
            f'<line x1="{frame.right - 190}" x2="{frame.right - 164}" y1="{y}" y2="{y}" stroke="{color}" '
            f'stroke-width="2.5"{dash}/>'
        )
        parts.append(f'<text x="{frame.right - 158}" y="{y + 4}" font-size="12" fill="{INK}">{escape(label)}</text>')
    return parts


def _lines_and_close(parts: list[str], frame: _Frame, series: Sequence[Series], place) -> str:
    """Each series as a polyline (``place(x, y)``: its point on the page, or None to skip it),
    then the legend and the end of the SVG."""
    for s in series:
        points = (place(x, y) for x, y in zip(s.xs, s.ys, strict=True))
        coordinates = " ".join(f"{px:.1f},{py:.1f}" for px, py in (p for p in points if p is not None))
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(
            f'<polyline points="{coordinates}" fill="none" stroke="{s.color}" stroke-width="2.2"{dash}>'
            f"<title>{escape(s.label)}</title></polyline>"
        )
    parts += _legend(frame, [(s.label, s.color, s.dashed) for s in series])
    parts.append("</svg>")
    return "\n".join(parts)


def _no_data(parts: list[str], width: int, height: int) -> str:
    parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{INK}">no data</text></svg>')
    return "\n".join(parts)


def loglog_chart(
    series: Sequence[Series],
    title: str,
    x_label: str,
    y_label: str,
    reference: tuple[float, str] | None = None,
    width: int = 760,
    height: int = 420,
) -> str:
    """Lines on log–log axes; ``reference`` draws a labelled horizontal line (the cap t)."""
    frame = _Frame(width, height)
    points = [(x, y) for s in series for x, y in zip(s.xs, s.ys, strict=True) if x > 0 and y > 0]
    parts = _open(frame, title, x_label, y_label)
    if not points:
        return _no_data(parts, width, height)
    ys = [y for _, y in points] + ([reference[0]] if reference else [])
    x_low, x_high = _decades(1, max(x for x, _ in points))
    y_low, y_high = _decades(min(ys), max(ys))
    parts += _y_log_axis(frame, y_low, y_high)
    for exp in range(x_low, x_high + 1):
        x = frame.x_log(10.0**exp, x_low, x_high)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{frame.bottom}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{frame.bottom + 16}" font-size="11" fill="{INK}" '
            f'text-anchor="middle">{compact(10.0**exp)}</text>'
        )
    if reference:
        y = frame.y_log(reference[0], y_low, y_high)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c0392b" '
            f'stroke-dasharray="3 3"/>'
        )
        parts.append(
            f'<text x="{frame.left + 6}" y="{y - 5:.1f}" font-size="11" fill="#c0392b">{escape(reference[1])}</text>'
        )
    return _lines_and_close(
        parts,
        frame,
        series,
        lambda x, y: (frame.x_log(x, x_low, x_high), frame.y_log(y, y_low, y_high)) if x > 0 and y > 0 else None,
    )


# A log axis has no zero: bars stand on a floor a third of a decade below 1, so a bar of 1 is
# as visible as any other (on an axis that starts at 1 it has no height at all).
_BAR_FLOOR = -1 / 3
_CHAR_WIDTH = 6.4  # about the width of a character at font-size 11, to know when labels collide


def _category_labels(categories: Sequence[str], slot: float) -> tuple[float, int]:
    """How to write the x labels: (angle, extra height). Labels wider than their slot are turned
    by 35° and the chart grows to hold them, so that they never overlap."""
    widest = max((len(c) for c in categories), default=0) * _CHAR_WIDTH
    if widest <= slot * 0.95:
        return 0.0, 0
    return -35.0, int(widest * math.sin(math.radians(35))) + 4


def bar_chart(
    categories: Sequence[str],
    groups: Sequence[tuple[str, Sequence[int], str]],
    title: str,
    x_label: str,
    y_label: str,
    width: int = 760,
    height: int = 380,
) -> str:
    """Grouped bars on a logarithmic count axis (counts here span several decades), each bar
    labelled with its exact value; a zero is drawn as no bar with the label 0."""
    slot = (width - 64 - 20) / max(len(categories), 1)
    angle, extra = _category_labels(categories, slot)
    frame = _Frame(width, height + extra, bottom=52 + extra)
    parts = _open(frame, title, x_label, y_label + " (log scale)")
    values = [v for _, vs, _ in groups for v in vs if v > 0]
    _, high = _decades(1, max(values) if values else 10)
    low = _BAR_FLOOR
    for exp in range(0, high + 1):
        y = frame.y_log(10.0**exp, low, high)
        parts.append(f'<line x1="{frame.left}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" font-size="11" fill="{INK}" '
            f'text-anchor="end">{compact(10.0**exp)}</text>'
        )
    bar = slot * 0.8 / max(len(groups), 1)
    for index, category in enumerate(categories):
        x0 = frame.left + index * slot + slot * 0.1
        centre, below = x0 + slot * 0.4, frame.bottom + 16
        turn = f' transform="rotate({angle:g} {centre:.1f} {below})"' if angle else ""
        parts.append(
            f'<text x="{centre:.1f}" y="{below}" font-size="11" fill="{INK}" '
            f'text-anchor="{"end" if angle else "middle"}"{turn}>{escape(category)}</text>'
        )
        for g, (label, counts, color) in enumerate(groups):
            value = counts[index]
            x = x0 + g * bar
            top = frame.y_log(value, low, high) if value > 0 else frame.bottom
            if value > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar - 2:.1f}" height="{frame.bottom - top:.1f}" '
                    f'fill="{color}"><title>{escape(label)}, {escape(category)}: {value:,}</title></rect>'
                )
            parts.append(
                f'<text x="{x + bar / 2 - 1:.1f}" y="{top - 4:.1f}" font-size="10" fill="{INK}" '
                f'text-anchor="middle">{compact(value)}</text>'
            )
    parts += _legend(frame, [(label, color, False) for label, _, color in groups])
    parts.append("</svg>")
    return "\n".join(parts)


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten, at
    most ``most`` + 1 of them (0, 0.5, 1, 1.5 rather than 0, 0.616, 1.23)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / most
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9) * step
    ticks, value = [], first
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def line_chart(
    series: Sequence[Series], title: str, x_label: str, y_label: str, width: int = 760, height: int = 320
) -> str:
    """Lines on linear axes (training curves: loss against step)."""
    frame = _Frame(width, height)
    points = [(x, y) for s in series for x, y in zip(s.xs, s.ys, strict=True) if math.isfinite(y)]
    parts = _open(frame, title, x_label, y_label)
    if not points:
        return _no_data(parts, width, height)
    x_ticks = nice_ticks(min(x for x, _ in points), max(x for x, _ in points))
    y_ticks = nice_ticks(min(0.0, min(y for _, y in points)), max(y for _, y in points))
    x_low, x_high, y_low, y_high = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            frame.left + (x - x_low) / (x_high - x_low) * (frame.right - frame.left),
            frame.bottom - (y - y_low) / (y_high - y_low) * (frame.bottom - frame.top),
        )

    for y in y_ticks:
        _, py = at(x_low, y)
        parts.append(f'<line x1="{frame.left}" x2="{frame.right}" y1="{py:.1f}" y2="{py:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{frame.left - 6}" y="{py + 4:.1f}" font-size="11" fill="{INK}" '
            f'text-anchor="end">{compact(y)}</text>'
        )
    for x in x_ticks:
        px, _ = at(x, y_low)
        parts.append(
            f'<text x="{px:.1f}" y="{frame.bottom + 16}" font-size="11" fill="{INK}" '
            f'text-anchor="middle">{compact(x)}</text>'
        )
    return _lines_and_close(parts, frame, series, lambda x, y: at(x, y) if math.isfinite(y) else None)
