"""The reports' charts as small SVG documents, written with the standard library and numpy.

matplotlib cost a backtest or a search about a second per command (its import, then unit
conversion and rasterising), more than the backtest itself; these charts show the same
things (equity line, drawdown area, the objective's heatmap and line chart, window starts)
as vector text a browser draws sharply at any size. Every function returns one ``<svg>``
document as a string; the reports embed it as ``data:image/svg+xml;base64`` and the backtest
also saves it as ``equity_<NAME>.svg``.
"""
from __future__ import annotations

import html
import math
from datetime import datetime, timezone
from typing import Any, Sequence

import numpy as np

FONT = 'font-family="sans-serif" font-size="11"'
BLUE, RED, GRID = "#1f77b4", "#d62728", "#e0e0e0"
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 28, 50  # margins around a plot area, px


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2, 2.5, 5 × 10^k steps) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


class _Frame:
    """One plot area: maps data to pixels and draws its axes, grid and ticks."""

    def __init__(self, x0: float, y0: float, width: float, height: float, xs: tuple[float, float],
                 ys: tuple[float, float]):
        self.x0, self.y0, self.width, self.height = x0, y0, width, height
        self.xmin, self.xmax = xs
        low, high = ys
        if not (math.isfinite(low) and math.isfinite(high)):
            low, high = 0.0, 1.0
        if high <= low:
            low, high = low - 1.0, high + 1.0
        pad = (high - low) * 0.05
        self.ymin, self.ymax = low - pad, high + pad

    def px(self, x: np.ndarray | float) -> np.ndarray | float:
        span = (self.xmax - self.xmin) or 1.0
        return self.x0 + (np.asarray(x, dtype=np.float64) - self.xmin) / span * self.width

    def py(self, y: np.ndarray | float) -> np.ndarray | float:
        return self.y0 + self.height - (np.asarray(y, dtype=np.float64) - self.ymin) / (self.ymax - self.ymin) * self.height

    def axes(self, ylabel: str = "") -> list[str]:
        parts = [f'<rect x="{self.x0}" y="{self.y0}" width="{self.width}" height="{self.height}" fill="white" '
                 f'stroke="#888"/>']
        for tick in nice_ticks(self.ymin, self.ymax):
            y = float(self.py(tick))
            parts.append(f'<line x1="{self.x0}" x2="{self.x0 + self.width}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'stroke="{GRID}"/>')
            parts.append(f'<text x="{self.x0 - 5}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{_number(tick)}</text>')
        if ylabel:
            middle = self.y0 + self.height / 2
            parts.append(f'<text x="14" y="{middle:.1f}" text-anchor="middle" transform="rotate(-90 14 {middle:.1f})" '
                         f'{FONT}>{_esc(ylabel)}</text>')
        return parts

    def time_ticks(self, labels: bool) -> list[str]:
        """Vertical grid lines at round days across the time axis (x in epoch ms), dates below."""
        parts = []
        day = 86_400_000
        span_days = max((self.xmax - self.xmin) / day, 1e-9)
        step = next((s for s in (1, 2, 7, 14, 30, 61, 91, 182, 365, 730) if span_days / s <= 8), 1461) * day
        tick = math.ceil(self.xmin / step) * step
        while tick <= self.xmax:
            x = float(self.px(tick))
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{self.y0}" y2="{self.y0 + self.height}" '
                         f'stroke="{GRID}"/>')
            if labels:
                when = datetime.fromtimestamp(tick / 1000, tz=timezone.utc).strftime("%Y-%m-%d")
                parts.append(f'<text x="{x:.1f}" y="{self.y0 + self.height + 15}" text-anchor="middle" '
                             f'{FONT}>{when}</text>')
            tick += step
        return parts


def _points(xs: np.ndarray, ys: np.ndarray) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(np.asarray(xs).tolist(), np.asarray(ys).tolist()))


def _document(width: int, height: int, parts: Sequence[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><title>{_esc(title)}</title>'
            f'<rect width="{width}" height="{height}" fill="white"/>{"".join(parts)}</svg>\n')


def _title(text: str, width: int) -> list[str]:
    return [f'<text x="{width / 2:.0f}" y="{16 + 14 * n}" text-anchor="middle" font-family="sans-serif" '
            f'font-size="13">{_esc(line)}</text>' for n, line in enumerate(text.split("\n"))]


def equity_drawdown_svg(title: str, times: np.ndarray, equity: np.ndarray, drawdown: np.ndarray) -> str:
    """Equity (top) and drawdown % (bottom, a filled area under zero) against UTC time."""
    width, height = 1000, 550
    plot_width = width - LEFT - RIGHT
    t = np.asarray(times, dtype=np.float64)
    span = (float(t[0]), float(t[-1])) if t.size else (0.0, 1.0)
    top = _Frame(LEFT, TOP, plot_width, 330, span, (float(np.min(equity)), float(np.max(equity))) if t.size else (0, 1))
    low = float(np.min(drawdown)) if t.size else 0.0
    bottom = _Frame(LEFT, TOP + 330 + 20, plot_width, 110, span, (min(low, 0.0), max(float(np.max(drawdown)) if t.size
                                                                                     else 0.0, 0.0)))
    parts = [*_title(title, width), *top.axes("equity (USDT)"), *top.time_ticks(False),
             *bottom.axes("drawdown %"), *bottom.time_ticks(True)]
    if t.size:
        x_top, x_bottom = top.px(t), bottom.px(t)
        parts.append(f'<polyline fill="none" stroke="{BLUE}" stroke-width="0.8" '
                     f'points="{_points(x_top, top.py(equity))}"/>')
        zero = float(bottom.py(0.0))
        area = f"{x_bottom[0]:.1f},{zero:.1f} {_points(x_bottom, bottom.py(drawdown))} {x_bottom[-1]:.1f},{zero:.1f}"
        parts.append(f'<polygon fill="{RED}" fill-opacity="0.5" stroke="none" points="{area}"/>')
    return _document(width, height, parts, title)


def equity_svg(times: np.ndarray, equity: np.ndarray, title: str, boundaries: Sequence[int] = ()) -> str:
    """Equity against UTC time; dotted vertical lines at ``boundaries`` (epoch ms)."""
    width, height = 1000, 400
    t = np.asarray(times, dtype=np.float64)
    values = np.asarray(equity, dtype=np.float64)
    span = (float(t[0]), float(t[-1])) if t.size else (0.0, 1.0)
    frame = _Frame(LEFT, TOP + 14 * title.count("\n"), width - LEFT - RIGHT, height - TOP - BOTTOM
                   - 14 * title.count("\n"), span, (float(values.min()), float(values.max())) if t.size else (0, 1))
    parts = [*_title(title, width), *frame.axes("equity (USDT)"), *frame.time_ticks(True)]
    for boundary in boundaries:
        x = float(frame.px(boundary))
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.y0}" y2="{frame.y0 + frame.height}" stroke="#999" '
                     f'stroke-width="0.6" stroke-dasharray="2,2"/>')
    if t.size:
        parts.append(f'<polyline fill="none" stroke="{BLUE}" stroke-width="0.8" '
                     f'points="{_points(frame.px(t), frame.py(values))}"/>')
    return _document(width, height, parts, title)


# matplotlib's RdYlGn at its 11 stops: red (worst) through yellow to green (best).
_RD_YL_GN = ((165, 0, 38), (215, 48, 39), (244, 109, 67), (253, 174, 97), (254, 224, 139), (255, 255, 191),
             (217, 239, 139), (166, 217, 106), (102, 189, 99), (26, 152, 80), (0, 104, 55))


def colour(share: float) -> str:
    """The RdYlGn colour at ``share`` in [0, 1]."""
    place = min(max(share, 0.0), 1.0) * (len(_RD_YL_GN) - 1)
    low = int(math.floor(place))
    high = min(low + 1, len(_RD_YL_GN) - 1)
    mix = place - low
    rgb = [round(a + (b - a) * mix) for a, b in zip(_RD_YL_GN[low], _RD_YL_GN[high])]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def heatmap_svg(xs: Sequence[Any], ys: Sequence[Any], z: np.ndarray, x_key: str, y_key: str, title: str) -> str:
    """z[y, x] as coloured cells (grey: not tried), each with its value when there are at most 400,
    the lowest y at the bottom; a colour scale on the right."""
    cell_w, cell_h = max(28, min(80, 700 // max(len(xs), 1))), max(18, min(40, 400 // max(len(ys), 1)))
    lines = title.count("\n") + 1
    top = 14 + 14 * lines
    left = 20 + 7 * max((len(str(y)) for y in ys), default=1) + 20
    width, height = left + cell_w * len(xs) + 110, top + cell_h * len(ys) + 70
    finite = z[np.isfinite(z)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    parts = _title(title, width)
    for (i, j), value in np.ndenumerate(z):
        x, y = left + j * cell_w, top + (len(ys) - 1 - i) * cell_h
        fill = colour((value - low) / (high - low) if high > low else 0.5) if math.isfinite(value) else "#eeeeee"
        parts.append(f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="{fill}"/>')
        if math.isfinite(value) and z.size <= 400:
            parts.append(f'<text x="{x + cell_w / 2:.1f}" y="{y + cell_h / 2 + 3:.1f}" text-anchor="middle" '
                         f'font-family="sans-serif" font-size="9">{value:.3g}</text>')
    for j, x_value in enumerate(xs):
        parts.append(f'<text x="{left + (j + 0.5) * cell_w:.1f}" y="{top + cell_h * len(ys) + 14}" '
                     f'text-anchor="middle" {FONT}>{_esc(x_value)}</text>')
    for i, y_value in enumerate(ys):
        parts.append(f'<text x="{left - 5}" y="{top + (len(ys) - 1 - i + 0.5) * cell_h + 4:.1f}" text-anchor="end" '
                     f'{FONT}>{_esc(y_value)}</text>')
    parts.append(f'<text x="{left + cell_w * len(xs) / 2:.1f}" y="{top + cell_h * len(ys) + 34}" '
                 f'text-anchor="middle" {FONT}>{_esc(x_key)}</text>')
    middle = top + cell_h * len(ys) / 2
    parts.append(f'<text x="12" y="{middle:.1f}" text-anchor="middle" transform="rotate(-90 12 {middle:.1f})" '
                 f'{FONT}>{_esc(y_key)}</text>')
    scale_x, steps = left + cell_w * len(xs) + 20, 20
    scale_h = cell_h * len(ys)
    for k in range(steps):
        parts.append(f'<rect x="{scale_x}" y="{top + scale_h * (steps - 1 - k) / steps:.1f}" width="14" '
                     f'height="{scale_h / steps + 0.5:.1f}" fill="{colour(k / (steps - 1))}"/>')
    for value, y in ((high, top + 8), (low, top + scale_h)):
        parts.append(f'<text x="{scale_x + 18}" y="{y:.1f}" {FONT}>{value:.3g}</text>')
    return _document(width, height, parts, title)


def line_svg(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], x_key: str, y_label: str) -> str:
    """One line with round markers per named series over the same categorical x values, a legend."""
    width, height = 700, 350
    every = [v for _, values in series for v in values if math.isfinite(v)]
    frame = _Frame(LEFT, TOP, width - LEFT - RIGHT, height - TOP - BOTTOM,
                   (-0.5, len(labels) - 0.5), (min(every), max(every)) if every else (0.0, 1.0))
    parts = [*frame.axes(y_label)]
    for j, label in enumerate(labels):
        parts.append(f'<text x="{float(frame.px(j)):.1f}" y="{frame.y0 + frame.height + 15}" text-anchor="middle" '
                     f'{FONT}>{_esc(label)}</text>')
    parts.append(f'<text x="{frame.x0 + frame.width / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                 f'{FONT}>{_esc(x_key)}</text>')
    for n, (name, values) in enumerate(series):
        stroke = (BLUE, "#ff7f0e")[n % 2]
        points = [(float(frame.px(j)), float(frame.py(v))) for j, v in enumerate(values) if math.isfinite(v)]
        parts.append(f'<polyline fill="none" stroke="{stroke}" stroke-width="1.5" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{stroke}"/>' for x, y in points)
        parts.append(f'<text x="{frame.x0 + 10}" y="{frame.y0 + 16 + 14 * n}" fill="{stroke}" {FONT}>'
                     f'{_esc(name)}</text>')
    return _document(width, height, parts, f"{y_label} by {x_key}")
