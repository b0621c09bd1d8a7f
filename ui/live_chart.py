"""The live chart of the Trading tab: one symbol's 5m candles with what the bot did.

It keeps, per symbol, the last day of candles (CandleUpdate events: closed ones,
and the one still forming), the fills (FillEvent: markers, and each position's
open joined to its close) and the main position's exit levels (Heartbeat), and
draws the chosen symbol with the backtest's :class:`ui.chart.PriceChart`. Drawing
is batched on a half-second timer, so a fast replay costs a redraw per batch.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.model import Action, Candle, Fill
from live.events import CandleUpdate, Heartbeat
from ui.chart import PositionSpan, PriceChart, TradeMarker, marker_kind
from ui.status_table import AGE_COLOR, STALE_MS, age_text

KEEP_BARS = 288  # one day of 5m candles
HEDGE_REASONS = ("R3", "R5", "E1")  # E1: a hedge guard's open (a stop guard only closes)


class SymbolTrail:
    """What the chart knows of one symbol."""

    def __init__(self):
        self.candles: dict[int, Candle] = {}  # by open time
        self.regimes: dict[int, str] = {}
        self.fills: list[Fill] = []
        self.spans: list[PositionSpan] = []
        self.open_spans: dict[str, PositionSpan] = {}  # by side
        self.levels: dict[str, float] = {}
        self.tick: float | None = None  # the symbol's tick size once the service said it (SymbolFormat)

    def add_candle(self, update: CandleUpdate) -> None:
        self.candles[update.candle.open_time] = update.candle
        if update.regime:
            self.regimes[update.candle.open_time] = update.regime
        if len(self.candles) > KEEP_BARS * 2:
            for key in sorted(self.candles)[:-KEEP_BARS]:
                self.candles.pop(key)
                self.regimes.pop(key, None)

    def add_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        side = fill.side.value
        if fill.action is Action.OPEN and side not in self.open_spans:
            self.open_spans[side] = PositionSpan(fill.time, fill.price, None, None, side, fill.reason in HEDGE_REASONS)
        elif fill.action is Action.CLOSE and side in self.open_spans:
            opened = self.open_spans.pop(side)
            self.spans.append(PositionSpan(opened.open_ms, opened.open_price, fill.time, fill.price, side, opened.hedge))

    def markers(self) -> list[TradeMarker]:
        return [TradeMarker(f.time, f.price, marker_kind(f.side.value, f.action.value, f.reason)) for f in self.fills]

    def recent(self) -> list[Candle]:
        return [self.candles[key] for key in sorted(self.candles)[-KEEP_BARS:]]


class LiveChart(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.symbol = QComboBox()
        self.symbol.setAccessibleName(self.tr("Chart symbol"))
        self.symbol.setToolTip(self.tr("The symbol whose 5m candles and trades are drawn"))
        label = QLabel(self.tr("&Chart"))
        label.setBuddy(self.symbol)
        self.chart = PriceChart()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(label)
        top.addWidget(self.symbol, 1)
        # Stale is visible (issue 19, item 5): while the bot runs, a chart whose symbol got no candle
        # update for longer than a bar says how old its last one is.
        self.age = QLabel("")
        self.age.setStyleSheet(f"color: {AGE_COLOR};")
        self.age.setAccessibleName(self.tr("Age of the chart's last candle"))
        top.addWidget(self.age)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.chart, 1)
        self.trails: dict[str, SymbolTrail] = {}
        self.clock = lambda: int(time.time() * 1000)  # injected by tests
        self.received: dict[str, int] = {}  # symbol -> when its latest candle update arrived (ms)
        self.watching = False  # the bot runs: a chart whose candles stop coming is stale
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.redraw_if_needed)
        self._timer.start()
        self.symbol.currentTextChanged.connect(lambda _text: (self.redraw(), self.show_age()))

    def set_symbols(self, symbols: list[str], reset: bool = False) -> None:
        if reset:
            self.trails.clear()
            self.received.clear()
        current = self.symbol.currentText()
        self.symbol.blockSignals(True)
        self.symbol.clear()
        self.symbol.addItems(symbols)
        if current in symbols:
            self.symbol.setCurrentText(current)
        self.symbol.blockSignals(False)
        self.redraw()

    def trail(self, symbol: str) -> SymbolTrail:
        return self.trails.setdefault(symbol, SymbolTrail())

    def add_candle(self, update: CandleUpdate) -> None:
        self.trail(update.symbol).add_candle(update)
        self.received[update.symbol] = self.clock()
        self.watching = True
        self._dirty |= update.symbol == self.symbol.currentText()

    def add_fill(self, fill: Fill) -> None:
        self.trail(fill.symbol).add_fill(fill)
        self._dirty |= fill.symbol == self.symbol.currentText()

    def set_format(self, symbol: str, tick: float | None) -> None:
        """The symbol's tick size: its level labels carry the tick's decimals."""
        trail = self.trail(symbol)
        if tick != trail.tick:
            trail.tick = tick
            self._dirty |= symbol == self.symbol.currentText()

    def set_levels(self, beat: Heartbeat) -> None:
        levels = dict(beat.levels)
        trail = self.trail(beat.symbol)
        if levels != trail.levels:
            trail.levels = levels
            self._dirty |= beat.symbol == self.symbol.currentText()

    def stopped(self) -> None:
        """The bot stopped: its last candles stay, and are not called stale."""
        self.watching = False
        self.show_age()

    def show_age(self) -> None:
        received = self.received.get(self.symbol.currentText())
        age = self.clock() - received if self.watching and received is not None else 0
        text = self.tr("last candle update {age}").format(age=age_text(age)) if age > STALE_MS else ""
        if self.age.text() != text:
            self.age.setText(text)

    def redraw_if_needed(self) -> None:
        self.show_age()
        if self._dirty:
            self.redraw()

    def redraw(self) -> None:
        self._dirty = False
        name = self.symbol.currentText()
        if not name:
            return
        trail = self.trail(name)
        self.chart.show_live(name, trail.recent(), trail.markers(),
                             trail.spans + list(trail.open_spans.values()), trail.levels,
                             sorted(trail.regimes.items()), trail.tick)
