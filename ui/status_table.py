"""The live status table: one row per symbol, updated on every StatusRow event.

Prices have the symbol's tick-size decimals and quantities its step-size decimals
(SymbolFormat events; until one arrives, six significant digits), PnL is in USDT,
and every column fits at a window width of 1024 px.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableWidget, QTableWidgetItem

from live.events import StatusRow, SymbolRunState

from ui import service_texts
from ui.formatting import money, percent, pnl_color, price, quantity

# English sources marked for lupdate (QT_TRANSLATE_NOOP returns them unchanged); shown translated.
COLUMNS = (QT_TRANSLATE_NOOP("StatusTable", "Symbol"), QT_TRANSLATE_NOOP("StatusTable", "Regime"),
           QT_TRANSLATE_NOOP("StatusTable", "Main"), QT_TRANSLATE_NOOP("StatusTable", "Qty"),
           QT_TRANSLATE_NOOP("StatusTable", "Entry"), QT_TRANSLATE_NOOP("StatusTable", "Price"), "PnL", "ROE %",
           QT_TRANSLATE_NOOP("StatusTable", "Hedge"), QT_TRANSLATE_NOOP("StatusTable", "Hedge qty"),
           QT_TRANSLATE_NOOP("StatusTable", "Hedge PnL"), QT_TRANSLATE_NOOP("StatusTable", "Hedge ROE %"),
           QT_TRANSLATE_NOOP("StatusTable", "State"))
# ROE % (Binance's: unrealised PnL / initial margin) of the main and the hedge; the price move is in
# the cell's tooltip. "—" when the leverage is unknown (never a guess).
ROE_COLUMNS = (COLUMNS.index("ROE %"), COLUMNS.index("Hedge ROE %"))
# The figures that carry their age when stale (by name: a column added elsewhere moves no index here).
AGED_COLUMNS = tuple(COLUMNS.index(name) for name in ("Price", "PnL", "ROE %", "Hedge PnL", "Hedge ROE %"))
STATE_COLORS = {SymbolRunState.ERROR: "#c62828", SymbolRunState.PAUSED: "#8a5a00",
                SymbolRunState.RUNNING: "#1b7f2a"}


MAX_VISIBLE_ROWS = 6
# A row is stale once nothing arrived for longer than a 5m bar and a minute of grace (the row of a
# close comes a second or so after it): its figures carry their age, its state "no data since".
STALE_MS = 6 * 60_000
AGE_COLOR = "#8a5a00"


def age_text(age_ms: int) -> str:
    """'7 min old', '2 h 5 min old'."""
    minutes = max(0, age_ms) // 60_000
    if minutes < 60:
        return QCoreApplication.translate("StatusTable", "{minutes} min old").format(minutes=minutes)
    return QCoreApplication.translate("StatusTable", "{hours} h {minutes} min old").format(
        hours=minutes // 60, minutes=minutes % 60)


def stale_state(received_ms: int) -> str:
    """The state column of a running symbol from which nothing arrived: 'no data since 13:05 UTC'."""
    at = datetime.fromtimestamp(received_ms / 1000, timezone.utc).strftime("%H:%M")
    return QCoreApplication.translate("StatusTable", "no data since {time} UTC").format(time=at)


def fit_height(table: QTableWidget, min_rows: int = 2, max_rows: int = MAX_VISIBLE_ROWS) -> None:
    """Make ``table`` exactly as tall as its header and rows (between ``min_rows`` and
    ``max_rows``; beyond, it scrolls), so no row is cut off and no space is wasted."""
    rows = min(max(table.rowCount(), min_rows), max_rows)
    row_height = table.verticalHeader().defaultSectionSize()
    height = table.horizontalHeader().sizeHint().height() + rows * row_height + 2 * table.frameWidth()
    if table.horizontalScrollBar().isVisible():
        height += table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(height)


def state_text(row: StatusRow) -> str:
    """"paused by the user: …", not "paused: paused by the user: …": the detail already
    says the state when it starts with it."""
    name = service_texts.state_name(row.state.value)
    if getattr(row, "leverage", None):
        name = f"{name} · {row.leverage}x"  # the exchange's leverage, changed outside the bot
    if not row.detail:
        return name
    if row.detail.lower().startswith(row.state.value):
        return service_texts.reason(row.detail)
    return f"{name}: {service_texts.reason(row.detail)}"


def row_cells(row: StatusRow, tick: float | None = None, step: float | None = None,
              age_ms: int | None = None, received_ms: int | None = None) -> list[tuple[str, str | None]]:
    """(text, colour) per column for one status row. ``age_ms``: how long ago the row arrived;
    beyond :data:`STALE_MS` a running row's figures carry their age and its state says since when
    no data came."""
    cells = _cells(row, tick, step)
    if age_ms is None or received_ms is None or age_ms <= STALE_MS or row.state is not SymbolRunState.RUNNING:
        return cells
    old = age_text(age_ms)
    for column in AGED_COLUMNS:
        text, _ = cells[column]
        if text and text not in ("-", "—"):
            cells[column] = (f"{text} ({old})", AGE_COLOR)
    cells[-1] = (stale_state(received_ms), STATE_COLORS[SymbolRunState.ERROR])
    return cells


def qty_cell(qty: float, unmanaged: float, step: float | None) -> str:
    """A side's quantity, with the excess the trader keeps unmanaged [C3]: "130 (30 unmanaged)"."""
    if not qty:
        return ""
    if not unmanaged:
        return quantity(qty, step)
    return QCoreApplication.translate("StatusTable", "{qty} ({unmanaged} unmanaged)").format(
        qty=quantity(qty, step), unmanaged=quantity(unmanaged, step))


def _cells(row: StatusRow, tick: float | None, step: float | None) -> list[tuple[str, str | None]]:
    return [
        (row.symbol, None),
        (row.regime or "-", None),
        (row.main_side or "-", None),
        (qty_cell(row.main_qty, getattr(row, "main_unmanaged", 0.0), step), None),
        (price(row.main_entry, tick), None),
        (price(row.price, tick), None),
        (money(row.main_pnl, signed=True), pnl_color(row.main_pnl)),
        _roe_cell(row.main_roe_pct, row.main_qty),
        (row.hedge_side or "-", None),
        (qty_cell(row.hedge_qty, getattr(row, "hedge_unmanaged", 0.0), step), None),
        (money(row.hedge_pnl, signed=True), pnl_color(row.hedge_pnl)),
        _roe_cell(row.hedge_roe_pct, row.hedge_qty),
        (state_text(row), STATE_COLORS.get(row.state)),
    ]


def _roe_cell(roe: float | None, qty: float) -> tuple[str, str | None]:
    if not qty:
        return "", None
    return (percent(roe), pnl_color(roe)) if roe is not None else ("—", None)


def move_tooltip(row: StatusRow, column: int) -> str:
    """The price move beside an ROE cell (what the PnL % column showed before issue 20)."""
    if column != ROE_COLUMNS[0] or row.main_pnl_pct is None:
        return ""
    return QCoreApplication.translate("StatusTable", "Price move {move}; ROE = unrealised PnL / initial margin "
                                                     "(notional / leverage), as Binance shows it").format(
        move=percent(row.main_pnl_pct))


class StatusTable(QTableWidget):
    """The live status rows. Right-click a row for that symbol's Pause / Resume / Flatten."""

    symbol_action = Signal(str, str)  # (action: pause | resume | flatten, symbol)
    ACTIONS = (("pause", QT_TRANSLATE_NOOP("StatusTable", "Pause {symbol}")),
               ("resume", QT_TRANSLATE_NOOP("StatusTable", "Resume {symbol}")),
               ("flatten", QT_TRANSLATE_NOOP("StatusTable", "Flatten {symbol}…")))

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self.setHorizontalHeaderLabels([QCoreApplication.translate("StatusTable", name) for name in COLUMNS])
        self.setAccessibleName(self.tr("Status per symbol"))
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self._rows: dict[str, int] = {}
        self.latest: dict[str, StatusRow] = {}
        self.formats: dict[str, tuple[float | None, float | None]] = {}  # symbol -> (tick, step)
        self.clock: Callable[[], int] = lambda: int(time.time() * 1000)  # injected by tests
        self.received: dict[str, int] = {}  # symbol -> when its latest row arrived (ms)
        self._ages = QTimer(self)
        self._ages.setInterval(15_000)
        self._ages.timeout.connect(self.refresh_ages)
        self._ages.start()

    def set_symbols(self, symbols: list[str], state: str = "") -> None:
        """Start from an empty table listing ``symbols`` (before the first event), with
        ``state`` (e.g. "starting…") in their State column."""
        self.setRowCount(0)
        self._rows.clear()
        self.latest.clear()
        self.received.clear()
        for symbol in symbols:
            self._row_for(symbol).setText(symbol)
        self.set_waiting(state)
        fit_height(self)

    def set_waiting(self, state: str) -> None:
        """The State text of every symbol that has no status from the service yet."""
        for symbol, index in self._rows.items():
            if symbol not in self.latest:
                self.item(index, len(COLUMNS) - 1).setText(state)

    def set_format(self, symbol: str, tick: float | None, step: float | None) -> None:
        self.formats[symbol] = (tick, step)
        if symbol in self.latest:
            self._draw(self.latest[symbol])

    def held_positions(self) -> list[str]:
        """The positions the table shows, e.g. "DOGEUSDT LONG 100", "DOGEUSDT SHORT 100" (the close
        and Stop questions list these, so they always agree with the table)."""
        held = []
        for row in self.latest.values():
            if row.main_qty:
                held.append(f"{row.symbol} {row.main_side} {self.qty_text(row.symbol, row.main_qty)}")
            if row.hedge_qty:
                held.append(f"{row.symbol} {row.hedge_side} {self.qty_text(row.symbol, row.hedge_qty)}")
        return held

    def qty_text(self, symbol: str, qty: float) -> str:
        return quantity(qty, self.formats.get(symbol, (None, None))[1])

    def update_row(self, row: StatusRow) -> None:
        self.received[row.symbol] = self.clock()
        self._draw(row)

    def refresh_ages(self) -> None:
        """Redraw every row with its age now (a timer calls it; a frozen feed sends no rows)."""
        for row in list(self.latest.values()):
            self._draw(row)

    def _draw(self, row: StatusRow) -> None:
        self.latest[row.symbol] = row
        self._row_for(row.symbol)
        index = self._rows[row.symbol]
        received = self.received.get(row.symbol)
        age = self.clock() - received if received is not None else None
        for column, (text, color) in enumerate(row_cells(row, *self.formats.get(row.symbol, (None, None)),
                                                         age_ms=age, received_ms=received)):
            item = self.item(index, column)
            if item.text() != text:
                item.setText(text)
            item.setForeground(QBrush(QColor(color)) if color else QBrush())
            if column == len(COLUMNS) - 1:
                item.setToolTip(text)
            elif column in ROE_COLUMNS:
                item.setToolTip(move_tooltip(row, column))

    def _row_for(self, symbol: str) -> QTableWidgetItem:
        if symbol not in self._rows:
            index = self.rowCount()
            self.insertRow(index)
            for column in range(len(COLUMNS)):
                self.setItem(index, column, QTableWidgetItem(""))
            self._rows[symbol] = index
            fit_height(self)
        return self.item(self._rows[symbol], 0)

    def cell_text(self, symbol: str, column: str) -> str:
        return self.item(self._rows[symbol], COLUMNS.index(column)).text()

    def symbol_at(self, row: int) -> str | None:
        return next((symbol for symbol, index in self._rows.items() if index == row), None)

    def menu_actions(self, symbol: str) -> list[str]:
        """Pause for a symbol that trades, Resume for one that is paused (by the user or by an
        error), never both; Flatten always."""
        row = self.latest.get(symbol)
        paused = row is not None and row.state in (SymbolRunState.PAUSED, SymbolRunState.ERROR)
        return ["resume" if paused else "pause", "flatten"]

    def menu_for(self, symbol: str) -> QMenu:
        menu = QMenu(self)
        labels = {"pause": self.tr("Pause {symbol}"), "resume": self.tr("Resume {symbol}"),
                  "flatten": self.tr("Flatten {symbol}…")}
        for action in self.menu_actions(symbol):
            menu.addAction(labels[action].format(symbol=symbol)).triggered.connect(
                lambda checked=False, a=action: self.symbol_action.emit(a, symbol))
        return menu

    def _show_menu(self, position) -> None:
        symbol = self.symbol_at(self.rowAt(position.y()))
        if symbol is not None:
            self.menu_for(symbol).exec(self.viewport().mapToGlobal(position))
