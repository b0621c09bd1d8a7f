"""The History tab: what the account made or lost, and why, from the ledger (live/ledger.py).

Round trips, fills and funding payments, filterable by symbol and by UTC date; per-day PnL
after fees and funding; the equity curve (cumulative result after fees and funding); export
of the list on show to CSV (an existing file is kept as .bak). It reads only the ledger file
it is given: ``HistoryTab(ledger_path)``, then :meth:`refresh` whenever the ledger may have
changed. Fees in different assets are shown apart ("0.0235 USDT, 0.000022 BNB"), never summed.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QComboBox, QDateEdit, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
    QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget,
)

from core.model import ONE_DAY_MS
from ui.accessibility import describe
from live.ledger import Ledger
from live.ledger_schema import LedgerError
from ui import chart as _chart  # noqa: F401  (the project's pyqtgraph look: white background)

ALL = "*"


def _time_text(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _money(value: Decimal | str | None, places: int = 4) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):+.{places}f}"


def _plain(value: Decimal | str | None) -> str:
    if value is None or value == "":
        return ""
    return format(Decimal(str(value)).normalize(), "f")


def fees_text(fees: dict) -> str:
    """'0.0235 USDT, 0.000022 BNB': one figure per asset."""
    # 8 decimals, Binance's commission precision: a fee estimated in floating point shows no 0.00343899999...
    return ", ".join(f"{_plain(Decimal(str(amount)).quantize(Decimal('1e-8')))} {asset}"
                     for asset, amount in sorted(fees.items()))


def step_points(curve: list[tuple[int, Decimal]]) -> tuple[list[float], list[float]]:
    """The equity curve as steps (x in seconds): the level holds until the next money event."""
    xs: list[float] = []
    ys: list[float] = []
    for time, level in curve:
        if ys:
            xs.append(time / 1000)
            ys.append(ys[-1])
        xs.append(time / 1000)
        ys.append(float(level))
    return xs, ys


def _ms_of(date: QDate) -> int:
    return int(datetime(date.year(), date.month(), date.day(), tzinfo=timezone.utc).timestamp() * 1000)


class HistoryTab(QWidget):
    def __init__(self, ledger_path: Path | str, parent: QWidget | None = None):
        super().__init__(parent)
        self.ledger_path = Path(ledger_path)
        self._dates_set = False
        self._rows: dict[str, list[dict]] = {}
        self.symbol = QComboBox()
        self.symbol.addItem(self.tr("All symbols"), ALL)
        self.date_from, self.date_to = QDateEdit(), QDateEdit()
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setDate(QDate.currentDate())
        self.export_button = QPushButton(self.tr("Export CSV..."))
        describe(self.symbol, self.tr("Symbol"), self.tr("Show the history of one symbol, or of all"))
        describe(self.date_from, self.tr("From (UTC)"), self.tr("First UTC day shown"))
        describe(self.date_to, self.tr("To (UTC)"), self.tr("Last UTC day shown"))
        describe(self.export_button, self.tr("Export CSV..."),
                 self.tr("Write the list on show to a CSV file (an earlier file of that name is kept as .bak)"))
        self.status = QLabel()
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        filters = QHBoxLayout()
        for widget in (QLabel(self.tr("Symbol")), self.symbol, QLabel(self.tr("From (UTC)")), self.date_from,
                       QLabel(self.tr("To (UTC)")), self.date_to):
            filters.addWidget(widget)
        filters.addStretch(1)
        filters.addWidget(self.export_button)

        self.trips = self._table([self.tr("Symbol"), self.tr("Side"), self.tr("Opened (UTC)"),
                                  self.tr("Closed (UTC)"), self.tr("Quantity"), self.tr("Entry"), self.tr("Exit"),
                                  self.tr("Realised PnL"), self.tr("Fees"), self.tr("Funding"),
                                  self.tr("Net USDT")])
        self.fills = self._table([self.tr("Time (UTC)"), self.tr("Symbol"), self.tr("Side"), self.tr("Action"),
                                  self.tr("Quantity"), self.tr("Price"), self.tr("Realised PnL"),
                                  self.tr("Commission"), self.tr("Asset"), self.tr("Trade id")])
        self.funding = self._table([self.tr("Time (UTC)"), self.tr("Symbol"), self.tr("Amount"), self.tr("Asset")])
        self.days = self._table([self.tr("Day (UTC)"), self.tr("Realised PnL"), self.tr("Fees"),
                                 self.tr("Funding"), self.tr("Liquidation fees"), self.tr("Net USDT")])
        self.chart = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.chart.setTitle(self.tr("Equity curve: cumulative USDT result after fees and funding"))
        self.chart.showGrid(x=True, y=True, alpha=0.3)
        self.curve = self.chart.plot([], [], pen=pg.mkPen("#1565c0", width=2), stepMode=None)
        self.lists = QTabWidget()
        self.lists.addTab(self.trips, self.tr("Round trips"))
        self.lists.addTab(self.fills, self.tr("Fills"))
        self.lists.addTab(self.funding, self.tr("Funding"))
        self.lists.addTab(self.days, self.tr("Per day"))
        self.lists.addTab(self.chart, self.tr("Equity"))

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.totals)
        layout.addWidget(self.lists, 1)
        layout.addWidget(self.status)
        self.symbol.currentIndexChanged.connect(lambda _: self.refresh())
        self.date_from.dateChanged.connect(lambda _: self.refresh())
        self.date_to.dateChanged.connect(lambda _: self.refresh())
        self.export_button.clicked.connect(self._ask_export)

    @staticmethod
    def _table(headers: list[str]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setSortingEnabled(False)
        return table

    # ----- filters ------------------------------------------------------------------------------

    def filters(self) -> tuple[str | None, int, int]:
        """(symbol or None for all, start ms, end ms exclusive) as chosen."""
        symbol = self.symbol.currentData()
        return (None if symbol == ALL else symbol, _ms_of(self.date_from.date()),
                _ms_of(self.date_to.date()) + ONE_DAY_MS)

    # ----- reading the ledger -------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the ledger again and show what the filters select."""
        if not self.ledger_path.exists():
            self.status.setText(self.tr("No trading history yet: the ledger is created by the first start."))
            self._rows = {}
            for table in (self.trips, self.fills, self.funding, self.days):
                table.setRowCount(0)
            return
        try:
            ledger = Ledger(self.ledger_path)
        except LedgerError as error:
            self.status.setText(str(error))
            return
        with ledger:
            ledger.rebuild_round_trips()  # a derived table: the running bot adds fills, the tab sees their trips
            queries = ledger.queries
            self._fill_filters(queries)
            symbol, start, end = self.filters()
            self._rows = {"trips": queries.round_trips(symbol, start, end), "fills": queries.fills(symbol, start, end),
                          "funding": queries.funding(symbol, start, end)}
            days = queries.daily(symbol, start, end)
            totals = queries.totals(symbol, start, end)
            curve = [(t, v) for t, v in queries.equity_curve() if start <= t < end]
        self._rows["days"] = [{"day": _time_text(d.day_start)[:10], "realized_pnl": str(d.totals.realized_pnl),
                               "fees": {k: str(v) for k, v in d.totals.fees.items()},
                               "funding": str(d.totals.funding), "insurance_clear": str(d.totals.insurance_clear),
                               "net_usdt": str(d.totals.net_usdt)} for d in days]
        self._show_trips()
        self._show(self.fills, [(_time_text(r["time"]), r["symbol"], r["side"], r["action"], r["qty"], r["price"],
                                 _money(r["realized_pnl"]), _plain(r["commission"]), r["commission_asset"],
                                 "" if r["trade_id"] is None else str(r["trade_id"])) for r in self._rows["fills"]])
        self._show(self.funding, [(_time_text(r["time"]), r["symbol"], _money(r["amount"], 6), r["asset"])
                                  for r in self._rows["funding"]])
        self._show(self.days, [(r["day"], _money(r["realized_pnl"]), fees_text(r["fees"]), _money(r["funding"]),
                                _money(r["insurance_clear"]), _money(r["net_usdt"])) for r in self._rows["days"]])
        self.curve.setData(*step_points(curve))
        self.totals.setText(self.tr("Realised {realized} USDT, fees {fees}, funding {funding} USDT, "
                                    "liquidation fees {clear} USDT: net {net} USDT").format(
            realized=_money(totals.realized_pnl), fees=fees_text(totals.fees) or "0", funding=_money(totals.funding),
            clear=_money(totals.insurance_clear), net=_money(totals.net_usdt)))
        self.status.setText(self.tr("{trips} round trips, {fills} fills, {funding} funding payments").format(
            trips=len(self._rows["trips"]), fills=len(self._rows["fills"]), funding=len(self._rows["funding"])))

    def _fill_filters(self, queries) -> None:
        known = {self.symbol.itemData(i) for i in range(self.symbol.count())}
        self.symbol.blockSignals(True)
        for name in queries.symbols():
            if name not in known:
                self.symbol.addItem(name, name)
        self.symbol.blockSignals(False)
        if self._dates_set:
            return
        times = [row["time"] for row in queries.fills()] + [row["time"] for row in queries.funding()]
        if times:
            for edit, ms in ((self.date_from, min(times)), (self.date_to, max(times))):
                moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
                edit.blockSignals(True)
                edit.setDate(QDate(moment.year, moment.month, moment.day))
                edit.blockSignals(False)
            self._dates_set = True

    def _show_trips(self) -> None:
        rows = []
        for r in self._rows["trips"]:
            fees_usdt = Decimal(r["fees"].get("USDT", "0"))
            net = Decimal(r["realized_pnl"]) - fees_usdt + Decimal(r["funding"])
            rows.append((r["symbol"], r["side"], _time_text(r["open_time"]),
                         _time_text(r["close_time"]) if r["close_time"] else self.tr("open"), _plain(r["qty"]),
                         _plain(r["entry_price"]), _plain(r["exit_price"]), _money(r["realized_pnl"]),
                         fees_text(r["fees"]), _money(r["funding"]), _money(net)))
        self._show(self.trips, rows)

    @staticmethod
    def _show(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
        table.setRowCount(len(rows))
        for number, row in enumerate(rows):
            for column, text in enumerate(row):
                item = QTableWidgetItem(text)
                if column and text[:1] in "+-0123456789":
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(number, column, item)

    # ----- export -------------------------------------------------------------------------------

    def current_list(self) -> str:
        return ("trips", "fills", "funding", "days", "days")[self.lists.currentIndex()]

    def export_to(self, path: Path | str) -> Path:
        """Write the list on show (the equity tab exports the per-day rows) as CSV."""
        with Ledger(self.ledger_path) as ledger:
            return ledger.queries.export_csv(self._rows.get(self.current_list(), []), path)

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export CSV"), f"{self.current_list()}.csv",
                                              self.tr("CSV files (*.csv)"))
        if path:
            written = self.export_to(path)
            self.status.setText(self.tr("Saved {path} (an earlier file of that name is kept as .bak)").format(
                path=written))
