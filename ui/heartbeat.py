"""Is the bot alive? The stream's state, the last close processed per symbol, the time to
the next 5m and daily close, and what the rules would do if the candle closed now.

The preview comes from the service (the strategy run on a copy of its state, see
live/cockpit.py); this widget only shows it. The countdowns tick on a one-second
timer from the service's clock as last reported (in a replay: the replay's time).

Stale is visible (issue 19, item 5): a symbol's row whose heartbeat stopped coming for longer
than a bar (:data:`ui.status_table.STALE_MS`, by this computer's clock), or whose last close
processed did not change for that long (the feed froze while the service runs),
carries its age in the age colour; the countdown line says since when no heartbeat came. The
clock offset to Binance [W1] is on the countdown line while it is measured.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from PySide6.QtCore import QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from core.model import FIVE_MINUTES_MS, ONE_DAY_MS
from live.events import Heartbeat, StreamState
from ui import service_texts
from ui.formatting import LOSS_COLOR, PROFIT_COLOR, duration, price, utc_text
from ui.status_table import AGE_COLOR, STALE_MS, age_text, fit_height

STREAM_COLORS = {"connected": PROFIT_COLOR, "reconnecting": LOSS_COLOR, "rest": "#8a5a00", "replay": "#555555",
                 "stopped": "#555555", "starting": "#555555"}


class HeartbeatPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.stream_label = QLabel()
        self.countdown_label = QLabel()
        self.stream_label.setAccessibleName(self.tr("Stream state"))
        self.countdown_label.setAccessibleName(self.tr("Time to the next close"))
        line = QHBoxLayout()
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.stream_label)
        line.addSpacing(16)
        line.addWidget(self.countdown_label, 1)
        self.columns = (self.tr("Symbol"), self.tr("Last close processed"), self.tr("Signal now"),
                        self.tr("If the candle closed now"))
        self.table = QTableWidget(0, len(self.columns))
        self.table.setHorizontalHeaderLabels(self.columns)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setAccessibleName(self.tr("Heartbeat per symbol"))
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(line)
        layout.addWidget(self.table)
        self.stream_state = "stopped"
        self.stream_detail = ""
        self.latest: dict[str, Heartbeat] = {}
        self.received: dict[str, int] = {}  # symbol -> when its latest heartbeat arrived (ms, this computer)
        self.advanced: dict[str, tuple[int, int]] = {}  # symbol -> (last close processed, when it was first seen)
        self.clock = lambda: int(time.time() * 1000)  # injected by tests
        self.ticks: dict[str, float | None] = {}
        self._clock: tuple[int, float] | None = None  # (service ms, local monotonic s) of the last report
        self._live_clock = False  # True when the service's clock is the real time (not a replay)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._show_countdowns)
        self._timer.timeout.connect(self.refresh_ages)
        self._timer.start(1000)
        self.set_stream(StreamState("stopped"))
        self._show_countdowns()

    # ----- events -----------------------------------------------------------------------------

    def set_symbols(self, symbols: list[str]) -> None:
        self.latest = {symbol: hb for symbol, hb in self.latest.items() if symbol in symbols}
        self.received.clear()  # a new run: ages count from its own heartbeats
        self.advanced.clear()
        self.table.setRowCount(len(symbols))
        for row, symbol in enumerate(symbols):
            for column in range(len(self.columns)):
                self.table.setItem(row, column, QTableWidgetItem(symbol if column == 0 else ""))
        fit_height(self.table)

    def set_format(self, symbol: str, tick: float | None) -> None:
        self.ticks[symbol] = tick

    def set_stream(self, event: StreamState) -> None:
        self.stream_state = event.state
        self.stream_detail = event.detail
        self._live_clock = event.state not in ("replay", "stopped")
        names = {"connected": self.tr("stream connected"), "reconnecting": self.tr("stream reconnecting"),
                 "rest": self.tr("REST fallback"), "replay": self.tr("replay (no stream)"),
                 "stopped": self.tr("not running"), "starting": self.tr("connecting")}
        text = names.get(event.state, event.state)
        detail = service_texts.stream_detail(event.detail)
        self.stream_label.setText(f"● {text}" + (f" — {detail}" if detail else ""))
        self.stream_label.setStyleSheet(f"color: {STREAM_COLORS.get(event.state, '#555555')}; font-weight: bold;")

    def update_heartbeat(self, beat: Heartbeat) -> None:
        self.latest[beat.symbol] = beat
        self.received[beat.symbol] = self.clock()
        if self.advanced.get(beat.symbol, (None, 0))[0] != beat.last_close_ms:
            self.advanced[beat.symbol] = (beat.last_close_ms, self.clock())
        self._clock = (beat.now_ms, time.monotonic())
        self._draw(beat)
        self._show_countdowns()

    def age_ms(self, symbol: str) -> int | None:
        """How old the symbol's heartbeat figures are, once older than a bar while running; else None.
        The older of: no heartbeat for that long, or no new close processed for that long (both by
        this computer's clock: a new 5m close comes every five minutes)."""
        beat = self.latest.get(symbol)
        if beat is None or symbol not in self.received or self.stream_state in ("stopped", "starting"):
            return None
        now = self.clock()
        ages = [now - self.received[symbol]]
        if symbol in self.advanced:
            ages.append(now - self.advanced[symbol][1])
        age = max(ages)
        return age if age > STALE_MS else None

    def _draw(self, beat: Heartbeat) -> None:
        row = self._row(beat.symbol)
        tick = self.ticks.get(beat.symbol)
        preview = beat.preview
        if preview is None:
            would = self.tr("waiting for data")
        else:
            actions = (", ".join(service_texts.preview_action(a) for a in preview.actions) if preview.actions
                       else self.tr("no order"))
            would = self.tr("at {price}: signal {signal}, {actions}").format(
                price=price(preview.price, tick), signal=service_texts.signal_name(preview.signal), actions=actions)
        cells = [beat.symbol, utc_text(beat.last_close_ms) if beat.last_close_ms else "—",
                 service_texts.signal_name(beat.signal), would]
        age = self.age_ms(beat.symbol)
        if age is not None:
            cells[1:] = [f"{text} ({age_text(age)})" for text in cells[1:]]
        for column, text in enumerate(cells):
            item = self.table.item(row, column)
            if item.text() != text:
                item.setText(text)
                item.setToolTip(text)
            item.setForeground(QBrush(QColor(AGE_COLOR)) if age is not None and column else QBrush())

    def refresh_ages(self) -> None:
        """Redraw every row with its age now (the one-second timer calls it)."""
        for symbol in list(self.received):
            if symbol in self.latest:
                self._draw(self.latest[symbol])

    def _row(self, symbol: str) -> int:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == symbol:
                return row
        self.table.insertRow(self.table.rowCount())
        row = self.table.rowCount() - 1
        for column in range(len(self.columns)):
            self.table.setItem(row, column, QTableWidgetItem(symbol if column == 0 else ""))
        fit_height(self.table)
        return row

    # ----- countdowns -----------------------------------------------------------------------------

    def now_ms(self) -> int | None:
        if self._clock is None:
            return None
        service_ms, received = self._clock
        return service_ms + (int((time.monotonic() - received) * 1000) if self._live_clock else 0)

    def countdowns(self) -> tuple[int, int] | None:
        """(ms to the next 5m close, ms to the next daily close) by the service's clock."""
        now = self.now_ms()
        if now is None:
            return None
        return FIVE_MINUTES_MS - now % FIVE_MINUTES_MS, ONE_DAY_MS - now % ONE_DAY_MS

    def _show_countdowns(self) -> None:
        left = self.countdowns()
        if left is None:
            self.countdown_label.setText(self.tr("Next 5m close: —   Daily close: —"))
            return
        text = self.tr("Next 5m close in {five}   Daily close in {day}").format(
            five=duration(left[0]), day=duration(left[1]))
        offset = next((beat.clock_offset_ms for beat in self.latest.values() if beat.clock_offset_ms is not None),
                      None)
        if offset is not None:  # [W1] this computer's clock against Binance's
            text += "   " + self.tr("clock {offset} ms vs Binance").format(offset=f"{offset:+d}")
        last = max(self.received.values(), default=None)
        if last is not None and self.stream_state not in ("stopped", "starting") and self.clock() - last > STALE_MS:
            at = datetime.fromtimestamp(last / 1000, timezone.utc).strftime("%H:%M")
            text += "   " + self.tr("no heartbeat since {time} UTC").format(time=at)
        self.countdown_label.setText(text)
