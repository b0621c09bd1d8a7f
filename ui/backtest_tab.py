"""The Backtest tab: data folder, dates, symbols; runs in the background with a progress bar.

It backtests the strategy settings currently on the Trading tab (``settings_source``),
so what the trader sees here is what the bot would have done with them.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QCoreApplication, QDate, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem,
    QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from config.settings import AppSettings
from core.errors import UserError
from ui.accessibility import describe, label_for
from ui.backtest_job import SUMMARY_COLUMNS, BacktestRequest, BacktestView, run_backtest_job
from ui.chart import EquityChart, PriceChart
from ui.data_range import DataRangeInputs
from ui.formatting import pnl_color
from ui.worker import BackgroundCall

BacktestRunner = Callable[[BacktestRequest, Callable[[int, int], None]], BacktestView]


class BacktestTab(QWidget):
    def __init__(self, settings_source: Callable[[], AppSettings], runner: BacktestRunner = run_backtest_job,
                 parent=None):
        super().__init__(parent)
        self._settings_source = settings_source
        self._runner = runner
        self._thread: BackgroundCall | None = None
        self.view: BacktestView | None = None

        self.inputs = DataRangeInputs(self)
        self.data_dir, self.browse, self.whole_range = self.inputs.data_dir, self.inputs.browse, self.inputs.whole_range
        self.start_date, self.end_date = self.inputs.start_date, self.inputs.end_date
        self.symbols = QListWidget()
        self.symbols.setFlow(QListWidget.LeftToRight)
        self.symbols.setMaximumHeight(30)
        self.run_button = QPushButton(self.tr("Run backtest"))
        self.run_button.clicked.connect(self.start)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.message = QLabel()
        self.message.setWordWrap(True)

        self.summary = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.summary.setHorizontalHeaderLabels([QCoreApplication.translate("BacktestTab", c) if c else c
                                                for c in SUMMARY_COLUMNS])
        self.summary.verticalHeader().setVisible(False)
        self.summary.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.summary.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.summary.setMaximumHeight(110)
        self.equity_chart = EquityChart()
        self.price_symbol = QComboBox()
        self.price_symbol.currentTextChanged.connect(self._show_prices)
        self.price_chart = PriceChart()
        price_page = QWidget()
        price_layout = QVBoxLayout(price_page)
        price_layout.setContentsMargins(0, 0, 0, 0)
        price_layout.addWidget(self.price_symbol, 0, Qt.AlignLeft)
        price_layout.addWidget(self.price_chart)
        self.charts = QTabWidget()
        self.charts.addTab(self.equity_chart, self.tr("Equity and drawdown (all symbols)"))
        self.charts.addTab(price_page, self.tr("Price and trades"))
        self._describe_inputs()

        top = self.inputs.row()
        second = QHBoxLayout()
        second.addWidget(label_for(self.tr("Symbols"), self.symbols))
        second.addWidget(self.symbols, 2)
        second.addWidget(self.run_button)
        second.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.message)
        layout.addWidget(self.summary)
        layout.addWidget(self.charts, 1)

    def _describe_inputs(self) -> None:
        describe(self.data_dir, self.tr("Backtest data folder"),
                 self.tr("Folder with <SYMBOL>-5m.csv (.gz/.zip) kline files, and optionally <SYMBOL>-1d files"))
        describe(self.browse, self.tr("Choose the backtest data folder"), self.tr("Choose the folder"))
        describe(self.whole_range, self.tr("All data"), self.tr("Backtest every candle in the folder; "
                                                                "untick to choose the dates"))
        describe(self.start_date, self.tr("From date"), self.tr("First day of the backtest (UTC); earlier "
                                                                 "candles only warm the indicators up"))
        describe(self.end_date, self.tr("To date"), self.tr("Last day of the backtest (UTC), included"))
        describe(self.symbols, self.tr("Symbols to backtest"), self.tr("Tick the symbols to backtest"))
        describe(self.run_button, self.tr("Run backtest"),
                 self.tr("Backtest the strategy settings of the Trading tab in the background"))
        describe(self.price_symbol, self.tr("Chart symbol"), self.tr("The symbol whose prices and trades are drawn"))

    # ----- inputs -----------------------------------------------------------------------------

    def set_symbols(self, symbols: list[str]) -> None:
        ticked = {self.symbols.item(i).text() for i in range(self.symbols.count())
                  if self.symbols.item(i).checkState() == Qt.Checked}
        self.symbols.clear()
        for symbol in symbols:
            item = QListWidgetItem(symbol)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if not ticked or symbol in ticked else Qt.Unchecked)
            self.symbols.addItem(item)

    def chosen_symbols(self) -> tuple[str, ...]:
        return tuple(self.symbols.item(i).text() for i in range(self.symbols.count())
                     if self.symbols.item(i).checkState() == Qt.Checked)

    def set_dates(self, start: QDate, end: QDate) -> None:
        self.inputs.set_dates(start, end)

    def request(self) -> BacktestRequest:
        self.inputs.require_folder()
        start, end = self.inputs.range_ms()
        return BacktestRequest(self._settings_source(), self.inputs.folder(), self.chosen_symbols(), start, end)

    # ----- running ----------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self) -> None:
        if self.is_running():
            return
        try:
            request = self.request()
        except UserError as exc:
            self._say(str(exc), error=True)
            return
        runner = self._runner
        self._clear_results()  # a failed run must not leave the previous results under its error
        self.run_button.setEnabled(False)
        self.progress.setRange(0, 0)  # busy until the first progress report
        self._say(self.tr("Backtesting {symbols}…").format(symbols=", ".join(request.symbols)))
        self._thread = BackgroundCall(lambda progress: runner(request, progress), self)
        self._thread.progressed.connect(self._on_progress)
        self._thread.succeeded.connect(self._on_done)
        self._thread.failed.connect(lambda text: self._say(text, error=True))
        self._thread.finished.connect(self._on_finished)
        self._thread.start()

    def wait(self, ms: int = 60_000) -> None:
        if self._thread is not None:
            self._thread.wait(ms)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, total))

    def _on_finished(self) -> None:
        self.run_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if self.view is not None else 0)

    def _on_done(self, view: BacktestView) -> None:
        self.view = view
        result = view.result
        notes = list(result.warnings)
        if not result.funding_modelled:
            notes.append(self.tr("Funding was not modelled."))
        self._say(self.tr("Done: {fills} fills (opens and closes; the table counts closed trades). ").format(
            fills=f"{len(result.fills):,}") + " ".join(notes))
        self.summary.setRowCount(0)
        for cells in view.summary_rows():
            row = self.summary.rowCount()
            self.summary.insertRow(row)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (1, 2):
                    colour = pnl_color(float(text.replace(",", "")))
                    if colour:
                        item.setForeground(QBrush(QColor(colour)))
                self.summary.setItem(row, column, item)
        combined = result.combined
        self.equity_chart.show_curve(combined.times, combined.equity, combined.drawdown_pct)
        self.price_symbol.blockSignals(True)
        self.price_symbol.clear()
        self.price_symbol.addItems(list(view.prices))
        self.price_symbol.blockSignals(False)
        self._show_prices(self.price_symbol.currentText())

    def _clear_results(self) -> None:
        self.view = None
        self.summary.setRowCount(0)
        self.equity_chart.equity_plot.clear()
        self.equity_chart.drawdown_plot.clear()
        self.price_chart.plot.clear()
        self.price_symbol.clear()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)

    def _show_prices(self, symbol: str) -> None:
        if self.view is None or symbol not in self.view.prices:
            return
        times, closes = self.view.prices[symbol]
        self.price_chart.show_prices(symbol, times, closes, self.view.markers(symbol))

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c62828;" if error else "")
        self.message.setText(text)

