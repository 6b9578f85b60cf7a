"""Trend plots as geometry: where each point, axis tick and label goes in an SVG viewBox.

The web shell draws the SVG from this (server-rendered, no chart library, works without JS);
keeping the arithmetic here makes it testable without parsing markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from chartkeeper.chart.models import Trend

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    points: list[tuple[float, float, str, float]]  # (x, y, date, value)
    unit: str = ""

    @property
    def path(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)

    @property
    def dots(self) -> list[tuple[str, str, str]]:
        """(cx, cy, tooltip) per point, formatted here in one pass: a plot of a few hundred
        points formatted by template filters cost more than the rest of the page."""
        return [
            (f"{x:.1f}", f"{y:.1f}", f"{self.label} {d}: {v:g} {self.unit}") for x, y, d, v in self.points
        ]


@dataclass(frozen=True, slots=True)
class Plot:
    trend: Trend
    lines: list[Line]
    y_ticks: list[tuple[float, str]]  # (y, label)
    x_ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def summary(self) -> str:
        """A text alternative for screen readers: the range and the latest value per series."""
        parts = []
        for line in self.lines:
            first, last = line.points[0], line.points[-1]
            parts.append(
                f"{line.label}: {len(line.points)} values from {first[2]} to {last[2]}, latest {last[3]:g}"
            )
        return f"{self.trend.title} ({self.trend.unit}). " + "; ".join(parts)


def _ordinal(day: str) -> int:
    return date.fromisoformat(day).toordinal()


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high == low:
        high, low = high + 1, low - 1
    raw = (high - low) / (count - 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = (low // step) * step
    ticks = []
    value = start
    while value <= high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def plot(trend: Trend) -> Plot:
    """Scale ``trend`` into the viewBox: time on x, value on y (ticks at round numbers)."""
    points = [p for s in trend.series for p in s.points]
    days = [_ordinal(d) for d, _ in points]
    ticks = _nice_ticks(min(v for _, v in points), max(v for _, v in points))
    y_low, y_high = ticks[0], ticks[-1]
    x_low, x_high = min(days), max(days)
    span_x = max(x_high - x_low, 1)
    span_y = max(y_high - y_low, 1e-9)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(day: str) -> float:
        return LEFT + (_ordinal(day) - x_low) / span_x * inner_w if x_high > x_low else LEFT + inner_w / 2

    def y_of(value: float) -> float:
        return TOP + (y_high - value) / span_y * inner_h

    lines = [Line(s.label, [(x_of(d), y_of(v), d, v) for d, v in s.points], trend.unit) for s in trend.series]
    first_year, last_year = date.fromordinal(x_low).year, date.fromordinal(x_high).year
    years = range(first_year, last_year + 1, max(1, (last_year - first_year) // 6 or 1))
    x_ticks = [(x_of(f"{y}-01-01"), str(y)) for y in years if x_low <= _ordinal(f"{y}-01-01") <= x_high]
    if not x_ticks:
        x_ticks = [(x_of(points[0][0]), points[0][0][:7])]
    return Plot(trend, lines, [(y_of(t), f"{t:g}") for t in ticks], x_ticks)
