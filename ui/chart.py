"""Charts (pyqtgraph, already a runtime dependency): equity + drawdown, and 5m price with trades.

Markers: entries of the main side (green up / red down triangles by side),
hedge opens (orange diamonds) and closes (black crosses), so a trader can see
at a glance where the strategy acted. Markers are hollow and drawn under the
price, so they never hide it.

The same :class:`PriceChart` draws the live chart of the Trading tab
(:meth:`PriceChart.show_live`): 5m candles, the fills marked, each position's
open and close joined by a dashed line (main green / red by side, hedge
orange), the main position's take-profit, trailing activation and trailing
stop levels as horizontal lines, and the daily regime shaded (UP green, DOWN red).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QPointF, QRectF
from PySide6.QtGui import QPainter, QPicture
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.model import Candle
from ui.date_axis import LocalizedDateAxis
from ui.formatting import decimals_of, price_decimals

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


@dataclass(frozen=True)
class PositionSpan:
    """One position from its open fill to its close fill (or to now, ``close_ms`` None)."""

    open_ms: int
    open_price: float
    close_ms: int | None
    close_price: float | None
    side: str  # LONG | SHORT
    hedge: bool


PAIR_COLORS = {("LONG", False): "#1b7f2a", ("SHORT", False): "#c62828", ("LONG", True): "#ef8f00",
               ("SHORT", True): "#ef8f00"}
LEVEL_STYLES = {"take_profit": ("#1565c0", QT_TRANSLATE_NOOP("PriceChart", "TP")),
                "activation": ("#6a1b9a", QT_TRANSLATE_NOOP("PriceChart", "trail on")),
                "trailing_stop": ("#ad1457", QT_TRANSLATE_NOOP("PriceChart", "trail stop"))}
REGIME_BRUSHES = {"UP": (27, 127, 42, 28), "DOWN": (198, 40, 40, 28)}


class CandlestickItem(pg.GraphicsObject):
    """OHLC candles drawn once into a QPicture (hundreds of candles, cheap to repaint)."""

    def __init__(self, x_seconds: np.ndarray, opens, highs, lows, closes, width_s: float):
        super().__init__()
        self.count = len(x_seconds)
        self._picture = QPicture()
        painter = QPainter(self._picture)
        half = width_s * 0.35
        for x, o, h, low, c in zip(x_seconds, opens, highs, lows, closes):
            colour = "#26a69a" if c >= o else "#ef5350"
            painter.setPen(pg.mkPen(colour, width=0))
            painter.drawLine(QPointF(x, low), QPointF(x, h))
            painter.setBrush(pg.mkBrush(colour))
            painter.drawRect(QRectF(x - half, o, 2 * half, (c - o) or 1e-12))
        painter.end()
        # QPicture's own bounding rectangle is in whole units: useless for prices like 0.0693.
        low, high = float(np.min(lows)), float(np.max(highs))
        self._bounds = QRectF(float(np.min(x_seconds)) - half, low, float(np.ptp(x_seconds)) + 2 * half,
                              (high - low) or 1e-12)

    def paint(self, painter, *args) -> None:
        painter.drawPicture(0, 0, self._picture)

    def boundingRect(self) -> QRectF:
        return self._bounds


def marker_kind(side: str, action: str, reason: str) -> str:
    """Chart marker for one fill: hedge opens are R3/R5 [R3][R5] or a hedge guard's [E1]; main opens are R2."""
    if action == "CLOSE":
        return "close"
    if reason in ("R3", "R5", "E1"):
        return "hedge"
    return "open_long" if side == "LONG" else "open_short"


MAX_CURVE_POINTS = 4000  # more than a screen has pixels; keeps drawing in the GUI thread short
PRICE_WINDOW_MS = 14 * 24 * 60 * 60 * 1000  # the price chart holds the last two weeks (4032 bars)...
PRICE_VIEW_MS = 2 * 24 * 60 * 60 * 1000  # ...and opens on the last two days: markers stay apart; zoom out to see more


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
    plot = pg.PlotWidget(axisItems={"bottom": LocalizedDateAxis()})  # month and day names in the window's language
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
        self.marker_items: dict[str, pg.PlotDataItem] = {}
        self.regime_bands: list[tuple[str, float, float]] = []
        self.candles_item: CandlestickItem | None = None
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
        self.plot.setTitle(QCoreApplication.translate("PriceChart", "{symbol} 5m close: the last two days of {count} "
                                                      "bars (zoom out with the mouse wheel)").format(
            symbol=symbol, count=f"{int(keep.sum()):,}"))
        line = self.plot.plot(_seconds(times_ms[keep]), np.asarray(closes, dtype=float)[keep],
                              pen=pg.mkPen("#546e7a", width=1))
        line.setZValue(5)  # the price above the markers: a marker never hides it
        self._draw_markers([m for m in markers if m.time_ms > start])
        if times_ms.size:
            self.plot.getViewBox().setAutoVisible(y=True)  # the price axis fits what is in view
            self.plot.setXRange((times_ms[-1] - PRICE_VIEW_MS) / 1000.0, times_ms[-1] / 1000.0, padding=0.01)

    def _draw_markers(self, markers: list[TradeMarker]) -> None:
        """Hollow markers exactly at the fill prices, one data item per kind."""
        self.marker_items: dict[str, pg.PlotDataItem] = {}
        for kind, (symbol_code, colour, label) in MARKER_STYLES.items():
            chosen = [m for m in markers if m.kind == kind]
            if not chosen:
                continue
            item = self.plot.plot([m.time_ms / 1000.0 for m in chosen], [m.price for m in chosen], pen=None,
                                  symbol=symbol_code, symbolSize=9, symbolBrush=None,
                                  symbolPen=pg.mkPen(colour, width=1.4),
                                  name=QCoreApplication.translate("PriceChart", label))
            self.marker_items[kind] = item

    def show_live(self, symbol: str, candles: list[Candle], markers: list[TradeMarker],
                  spans: list[PositionSpan], levels: dict[str, float], regimes: list[tuple[int, str]],
                  tick: float | None = None) -> None:
        """The Trading tab's chart: ``candles`` (oldest first; the last may still be forming),
        markers and position spans inside their time range, exit levels, regime per candle.
        Level labels carry the symbol's tick-size decimals (``tick``; unknown: the candles' own)."""
        self.plot.clear()
        self.candles_item = None
        if not candles:
            self.plot.setTitle(QCoreApplication.translate("PriceChart", "{symbol}: waiting for candles").format(
                symbol=symbol))
            self.marker_items = {}
            return
        start_ms = candles[0].open_time
        x = np.array([c.open_time + (c.close_time - c.open_time) / 2 for c in candles], dtype=float) / 1000.0
        self.plot.setTitle(QCoreApplication.translate("PriceChart", "{symbol} 5m candles, last {count}").format(
            symbol=symbol, count=len(candles)))
        self._shade_regimes(candles, regimes)
        self.candles_item = CandlestickItem(x, [c.open for c in candles], [c.high for c in candles],
                                            [c.low for c in candles], [c.close for c in candles], 300.0)
        self.candles_item.setZValue(5)
        self.plot.addItem(self.candles_item)
        for span in spans:
            if (span.close_ms or candles[-1].close_time) < start_ms:
                continue
            end_ms = span.close_ms if span.close_ms is not None else candles[-1].close_time
            end_price = span.close_price if span.close_price is not None else candles[-1].close
            pair = pg.PlotCurveItem([span.open_ms / 1000.0, end_ms / 1000.0], [span.open_price, end_price],
                                    pen=pg.mkPen(PAIR_COLORS[(span.side, span.hedge)], width=1.5, style=pg.QtCore.Qt.DashLine))
            pair.setZValue(3)
            self.plot.addItem(pair)
        decimals = decimals_of(tick)
        if decimals is None:
            decimals = price_decimals([v for c in candles for v in (c.open, c.high, c.low, c.close)])
        for name, value in levels.items():
            colour, label = LEVEL_STYLES.get(name, ("#555555", name))
            level = pg.InfiniteLine(pos=value, angle=0, movable=False, pen=pg.mkPen(colour, width=1, style=pg.QtCore.Qt.DotLine),
                                    label=QCoreApplication.translate("PriceChart", label) + f" {{value:,.{decimals}f}}",
                                    labelOpts={"position": 0.98, "color": colour, "anchors": [(1, 1), (1, 1)],
                                               "fill": (255, 255, 255, 210)})
            self.plot.addItem(level)
        self._draw_markers([m for m in markers if m.time_ms >= start_ms])
        for item in self.marker_items.values():
            item.setZValue(8)

    def _shade_regimes(self, candles: list[Candle], regimes: list[tuple[int, str]]) -> None:
        """One shaded band per run of candles under the same daily regime."""
        self.regime_bands: list[tuple[str, float, float]] = []
        by_time = dict(regimes)
        run_start, run_regime = None, ""
        for candle in candles + [None]:
            regime = by_time.get(candle.open_time, "") if candle is not None else None
            if regime != run_regime:
                if run_regime in REGIME_BRUSHES and run_start is not None:
                    end = candle.open_time if candle is not None else candles[-1].close_time
                    self.regime_bands.append((run_regime, run_start / 1000.0, end / 1000.0))
                run_start, run_regime = (candle.open_time if candle is not None else None), regime
        for regime, left, right in self.regime_bands:
            band = pg.LinearRegionItem((left, right), movable=False, brush=pg.mkBrush(*REGIME_BRUSHES[regime]),
                                       pen=pg.mkPen(None))
            band.setZValue(-10)
            self.plot.addItem(band)
