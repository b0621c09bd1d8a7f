"""The live status table: one row per symbol, updated on every StatusRow event."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableWidget, QTableWidgetItem

from runner.events import StatusRow, SymbolRunState
from ui.formatting import number, pnl_color, signed

# English sources marked for lupdate (QT_TRANSLATE_NOOP returns them unchanged); shown translated.
COLUMNS = (QT_TRANSLATE_NOOP("StatusTable", "Symbol"), QT_TRANSLATE_NOOP("StatusTable", "Regime"),
           QT_TRANSLATE_NOOP("StatusTable", "Main"), QT_TRANSLATE_NOOP("StatusTable", "Qty"),
           QT_TRANSLATE_NOOP("StatusTable", "Entry"), QT_TRANSLATE_NOOP("StatusTable", "Price"), "PnL", "PnL %",
           QT_TRANSLATE_NOOP("StatusTable", "Hedge"), QT_TRANSLATE_NOOP("StatusTable", "Hedge qty"),
           QT_TRANSLATE_NOOP("StatusTable", "Hedge PnL"), QT_TRANSLATE_NOOP("StatusTable", "State"))
STATE_COLORS = {SymbolRunState.ERROR: "#c62828", SymbolRunState.PAUSED: "#8a5a00",
                SymbolRunState.RUNNING: "#1b7f2a"}


def row_cells(row: StatusRow) -> list[tuple[str, str | None]]:
    """(text, colour) per column for one status row."""
    state = row.state.value + (f": {row.detail}" if row.detail else "")
    return [
        (row.symbol, None),
        (row.regime or "-", None),
        (row.main_side or "-", None),
        (number(row.main_qty) if row.main_qty else "", None),
        (number(row.main_entry), None),
        (number(row.price), None),
        (signed(row.main_pnl), pnl_color(row.main_pnl)),
        (signed(row.main_pnl_pct, " %", 2), pnl_color(row.main_pnl_pct)),
        (row.hedge_side or "-", None),
        (number(row.hedge_qty) if row.hedge_qty else "", None),
        (signed(row.hedge_pnl), pnl_color(row.hedge_pnl)),
        (state, STATE_COLORS.get(row.state)),
    ]


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
        self.setHorizontalHeaderLabels([QCoreApplication.translate("StatusTable", c) for c in COLUMNS])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self._rows: dict[str, int] = {}
        self.latest: dict[str, StatusRow] = {}

    def set_symbols(self, symbols: list[str]) -> None:
        """Start from an empty table listing ``symbols`` (before the first event)."""
        self.setRowCount(0)
        self._rows.clear()
        self.latest.clear()
        for symbol in symbols:
            self._row_for(symbol).setText(symbol)

    def update_row(self, row: StatusRow) -> None:
        self.latest[row.symbol] = row
        self._row_for(row.symbol)
        index = self._rows[row.symbol]
        for column, (text, color) in enumerate(row_cells(row)):
            item = self.item(index, column)
            if item.text() != text:
                item.setText(text)
            item.setForeground(QBrush(QColor(color)) if color else QBrush())
            if column == len(COLUMNS) - 1:
                item.setToolTip(text)

    def _row_for(self, symbol: str) -> QTableWidgetItem:
        if symbol not in self._rows:
            index = self.rowCount()
            self.insertRow(index)
            for column in range(len(COLUMNS)):
                self.setItem(index, column, QTableWidgetItem(""))
            self._rows[symbol] = index
        return self.item(self._rows[symbol], 0)

    def cell_text(self, symbol: str, column: str) -> str:
        return self.item(self._rows[symbol], COLUMNS.index(column)).text()

    def symbol_at(self, row: int) -> str | None:
        return next((symbol for symbol, index in self._rows.items() if index == row), None)

    def menu_for(self, symbol: str) -> QMenu:
        menu = QMenu(self)
        for action, label in self.ACTIONS:
            menu.addAction(QCoreApplication.translate("StatusTable", label).format(symbol=symbol)).triggered.connect(
                lambda checked=False, a=action: self.symbol_action.emit(a, symbol))
        return menu

    def _show_menu(self, position) -> None:
        symbol = self.symbol_at(self.rowAt(position.y()))
        if symbol is not None:
            self.menu_for(symbol).exec(self.viewport().mapToGlobal(position))
