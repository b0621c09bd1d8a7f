"""Charts (pyqtgraph, already a runtime dependency): equity + drawdown, and 5m price with trades.

Markers: entries of the main side (green up / red down triangles by side),
hedge opens (orange diamonds) and closes (black crosses), so a trader can see
at a glance where the strategy acted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QVBoxLayout, QWidget

pg.setConfigOptions(antialias=True, background="w", foreground="#222")

# marker kind -> (symbol, brush colour, legend label)
MARKER_STYLES: dict[str, tuple[str, str, str]] = {
    "open_long": ("t1", "#1b7f2a", QT_TRANSLATE_NOOP("PriceChart", "open LONG")),
    "open_short": ("t", "#c62828", QT_TRANSLATE_NOOP("PriceChart", "open SHORT")),
    "hedge": ("d", "#ef8f00", QT_TRANSLATE_NOOP("PriceChart", "hedge open")),
    "close": ("x", "#222222", QT_TRANSLATE_NOOP("PriceChart", "close")),
}


@dataclass(frozen=True)
class TradeMarker:
    time_ms: int
    price: float
    kind: str  # a key of MARKER_STYLES


def marker_kind(side: str, action: str, reason: str) -> str:
    """Chart marker for one fill: hedge opens are R3/R5 [R3][R5]; main opens are R2."""
    if action == "CLOSE":
        return "close"
    if reason in ("R3", "R5"):
        return "hedge"
    return "open_long" if side == "LONG" else "open_short"


MAX_CURVE_POINTS = 4000  # more than a screen has pixels; keeps drawing in the GUI thread short
PRICE_WINDOW_MS = 14 * 24 * 60 * 60 * 1000  # the price chart shows the last two weeks (4032 bars)


def envelope(x: np.ndarray, y: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points with each bucket's min and max kept, so no peak or
    drawdown trough disappears from the picture."""
    if x.size <= max_points:
        return x, y
    buckets = max_points // 2
    edges = np.linspace(0, x.size, buckets + 1).astype(int)
    lows = np.minimum.reduceat(y, edges[:-1])
    highs = np.maximum.reduceat(y, edges[:-1])
    xs = np.repeat(x[edges[:-1]], 2)
    ys = np.column_stack([lows, highs]).ravel()
    return xs, ys


def _seconds(times_ms: np.ndarray) -> np.ndarray:
    return np.asarray(times_ms, dtype=float) / 1000.0


def _plot(title: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
    plot.setTitle(title)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMouseEnabled(x=True, y=False)
    return plot


class EquityChart(QWidget):
    """Equity (top) and drawdown % (bottom), x axes linked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.equity_plot = _plot(self.tr("Equity (USDT)"))
        self.drawdown_plot = _plot(self.tr("Drawdown %"))
        self.drawdown_plot.setXLink(self.equity_plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.equity_plot, 3)
        layout.addWidget(self.drawdown_plot, 2)

    def show_curve(self, times_ms: np.ndarray, equity: np.ndarray, drawdown_pct: np.ndarray) -> None:
        x = _seconds(times_ms)
        self.equity_plot.clear()
        self.drawdown_plot.clear()
        self.equity_plot.plot(*envelope(x, np.asarray(equity, dtype=float)), pen=pg.mkPen("#1565c0", width=1.5))
        self.drawdown_plot.plot(*envelope(x, -np.abs(np.asarray(drawdown_pct, dtype=float))),
                                pen=pg.mkPen("#c62828", width=1), fillLevel=0, brush=(198, 40, 40, 60))


class PriceChart(QWidget):
    """5m closes of one symbol with the strategy's trades marked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = _plot(self.tr("5m close"))
        self.plot.addLegend(offset=(8, 8))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_prices(self, symbol: str, times_ms: np.ndarray, closes: np.ndarray, markers: list[TradeMarker]) -> None:
        """The last two weeks of ``times_ms``: a year of 5m bars and its fills is unreadable on one screen."""
        self.plot.clear()
        times_ms = np.asarray(times_ms)
        start = times_ms[-1] - PRICE_WINDOW_MS if times_ms.size else 0
        keep = times_ms > start
        self.plot.setTitle(self.tr("{symbol} 5m close, last {bars} bars").format(symbol=symbol, bars=int(keep.sum())))
        self.plot.plot(_seconds(times_ms[keep]), np.asarray(closes, dtype=float)[keep], pen=pg.mkPen("#546e7a", width=1))
        for kind, (symbol_code, colour, label) in MARKER_STYLES.items():
            chosen = [m for m in markers if m.kind == kind and m.time_ms > start]
            if not chosen:
                continue
            self.plot.plot([m.time_ms / 1000.0 for m in chosen], [m.price for m in chosen], pen=None,
                           symbol=symbol_code, symbolSize=9, symbolBrush=colour, symbolPen=colour,
                           name=QCoreApplication.translate("PriceChart", label))
