"""Symbols and their CALL_SIZE, with the notional value and the exchange-minimum warning [O6].

CALL_SIZE may be edited while the bot runs: the new size is announced with
``call_size_changed`` and applies to the next order. Adding or removing symbols
is only possible while stopped (``set_running``).
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from config.settings import SettingsError
from ui.accessibility import describe
from ui.validators import (
    DEFAULT_MIN_NOTIONAL, check_call_size, check_symbol, check_symbol_leverage, notional_warning,
)

COLUMNS = (QT_TRANSLATE_NOOP("SymbolsEditor", "Symbol"), "CALL_SIZE", QT_TRANSLATE_NOOP("SymbolsEditor", "Price"),
           QT_TRANSLATE_NOOP("SymbolsEditor", "Notional USDT"), QT_TRANSLATE_NOOP("SymbolsEditor", "Leverage"))
_SIZE_COLUMN = 1
_LEVERAGE_COLUMN = 4
_EDITABLE = (_SIZE_COLUMN, _LEVERAGE_COLUMN)
WARNING_BRUSH = QBrush(QColor("#fff0c2"))


class SymbolsEditor(QWidget):
    call_size_changed = Signal(str, float)
    symbols_changed = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._sizes: dict[str, float] = {}
        self._leverages: dict[str, int | None] = {}  # a symbol's own leverage; None: the default one
        self._running = False
        self._prices: dict[str, float] = {}
        self._min_notional: dict[str, float] = {}
        self._known: set[str] | None = None
        self._filling = False

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([QCoreApplication.translate("SymbolsEditor", c) for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.setMinimumHeight(80)
        self.table.setMaximumHeight(150)  # about four symbols; more scroll
        self.table.itemChanged.connect(self._on_item_changed)

        self.new_symbol = QLineEdit()
        self.new_symbol.setPlaceholderText(self.tr("symbol, e.g. XRPUSDT"))
        self.new_size = QLineEdit()
        self.new_size.setPlaceholderText("CALL_SIZE")
        self.new_size.setMaximumWidth(90)
        self.add_button = QPushButton(self.tr("Add"))
        self.remove_button = QPushButton(self.tr("Remove"))
        describe(self.table, self.tr("Symbols and CALL_SIZE"),
                 self.tr("CALL_SIZE: main and hedge quantity in base-asset units; double-click to change it, "
                         "also while running (applies to the next order). Leverage: the symbol's own "
                         "leverage (1 to 125), empty for the default one; set at Start"))
        describe(self.new_symbol, self.tr("New symbol"),
                 self.tr("A Binance USDT-M futures symbol to add, e.g. XRPUSDT (only while stopped)"))
        describe(self.new_size, self.tr("New symbol's CALL_SIZE"),
                 self.tr("The new symbol's order quantity in base-asset units"))
        describe(self.add_button, self.tr("Add symbol"), self.tr("Add the symbol with its CALL_SIZE"))
        describe(self.remove_button, self.tr("Remove symbol"), self.tr("Remove the selected symbol's row"))
        self.add_button.clicked.connect(self._on_add)
        self.new_symbol.returnPressed.connect(self._on_add)
        self.new_size.returnPressed.connect(self._on_add)
        self.remove_button.clicked.connect(self._on_remove)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")

        row = QHBoxLayout()
        row.addWidget(self.new_symbol, 1)
        row.addWidget(self.new_size)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(self.message)

    # ----- data -----------------------------------------------------------------------------

    def sizes(self) -> dict[str, float]:
        return dict(self._sizes)

    def set_sizes(self, sizes: dict[str, float]) -> None:
        self._sizes = dict(sizes)
        self._rebuild()
        self.symbols_changed.emit(list(self._sizes))

    def prices(self) -> dict[str, float]:
        """The last price seen per symbol (status rows, the connection test)."""
        return dict(self._prices)

    def leverages(self) -> dict[str, int | None]:
        return {symbol: self._leverages.get(symbol) for symbol in self._sizes}

    def set_leverages(self, leverages: dict[str, int | None]) -> None:
        self._leverages = dict(leverages)
        for symbol in self._sizes:
            self._refresh_row(symbol)

    def set_price(self, symbol: str, price: float | None) -> None:
        if price is None or self._prices.get(symbol) == price:
            return
        self._prices[symbol] = price
        self._refresh_row(symbol)

    def set_exchange_info(self, known_symbols: set[str] | None, min_notional: dict[str, float]) -> None:
        """What a connection told us: tradable symbols and each one's MIN_NOTIONAL."""
        self._known = known_symbols
        self._min_notional.update(min_notional)
        for symbol in self._sizes:
            self._refresh_row(symbol)

    def set_running(self, running: bool) -> None:
        """Symbols and leverage are fixed while trading (leverage is set on the exchange at Start)."""
        self._running = running
        for widget in (self.new_symbol, self.new_size, self.add_button, self.remove_button):
            widget.setEnabled(not running)
        for row in range(self.table.rowCount()):
            item = self.table.item(row, _LEVERAGE_COLUMN)
            item.setFlags(item.flags() & ~Qt.ItemIsEditable if running else item.flags() | Qt.ItemIsEditable)

    def warnings(self) -> list[str]:
        return [text for text in (self._warning(symbol) for symbol in self._sizes) if text]

    # ----- table ----------------------------------------------------------------------------

    def _rebuild(self) -> None:
        self._filling = True
        self.table.setRowCount(0)
        for symbol in self._sizes:
            row = self.table.rowCount()
            self.table.insertRow(row)
            for column in range(len(COLUMNS)):
                item = QTableWidgetItem()
                if column not in _EDITABLE or (column == _LEVERAGE_COLUMN and self._running):
                    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                self.table.setItem(row, column, item)
        self._filling = False
        for symbol in self._sizes:
            self._refresh_row(symbol)

    def _row_of(self, symbol: str) -> int:
        return list(self._sizes).index(symbol)

    def _refresh_row(self, symbol: str) -> None:
        if symbol not in self._sizes:
            return
        row = self._row_of(symbol)
        size = self._sizes[symbol]
        price = self._prices.get(symbol)
        warning = self._warning(symbol)
        leverage = self._leverages.get(symbol)
        texts = (symbol, f"{size:g}", "" if price is None else f"{price:g}",
                 "" if price is None else f"{size * price:,.2f}", "" if leverage is None else str(leverage))
        self._filling = True
        for column, text in enumerate(texts):
            item = self.table.item(row, column)
            item.setText(text)
            item.setToolTip(warning)
            item.setBackground(WARNING_BRUSH if warning else QBrush())
        self._filling = False
        self._show_warnings()

    def _warning(self, symbol: str) -> str:
        minimum = self._min_notional.get(symbol, DEFAULT_MIN_NOTIONAL)
        return notional_warning(symbol, self._sizes[symbol], self._prices.get(symbol), minimum)

    def _show_warnings(self, error: str = "") -> None:
        self.message.setText("\n".join(([error] if error else []) + self.warnings()))

    # ----- edits ----------------------------------------------------------------------------

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() not in _EDITABLE:
            return
        symbol = list(self._sizes)[item.row()]
        if item.column() == _LEVERAGE_COLUMN:
            self._on_leverage_changed(symbol, item.text())
            return
        try:
            size = check_call_size(symbol, item.text())
        except SettingsError as exc:
            self._refresh_row(symbol)  # refused: the cell shows the size in use again
            self._show_warnings(self.tr("{problem}; kept {value}").format(problem=exc, value=f"{self._sizes[symbol]:g}"))
            return
        changed = size != self._sizes[symbol]
        self._sizes[symbol] = size
        self._refresh_row(symbol)
        if changed:
            self.call_size_changed.emit(symbol, size)

    def _on_leverage_changed(self, symbol: str, text: str) -> None:
        try:
            leverage = check_symbol_leverage(symbol, text)
        except SettingsError as exc:
            kept = self._leverages.get(symbol)
            self._refresh_row(symbol)  # refused: the cell shows the leverage in use again
            self._show_warnings(self.tr("{problem}; kept {value}").format(
                problem=exc, value=self.tr("the default") if kept is None else str(kept)))
            return
        self._leverages[symbol] = leverage
        self._refresh_row(symbol)

    def _on_add(self) -> None:
        try:
            symbol = check_symbol(self.new_symbol.text(), set(self._sizes), self._known)
            size = check_call_size(symbol, self.new_size.text())
        except SettingsError as exc:
            self._show_warnings(str(exc))
            return
        sizes = dict(self._sizes)
        sizes[symbol] = size
        self.new_symbol.clear()
        self.new_size.clear()
        self.set_sizes(sizes)

    def _on_remove(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        if not rows:
            self._show_warnings(self.tr("Select a symbol's row to remove it"))
            return
        names = list(self._sizes)
        remaining = {name: self._sizes[name] for i, name in enumerate(names) if i not in rows}
        if not remaining:
            self._show_warnings(self.tr("At least one symbol is needed"))
            return
        self.set_sizes(remaining)
