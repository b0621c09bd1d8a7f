"""The Optimize tab: search strategy settings by backtest, in the background, and use the best.

Parameter values are typed as on the command line (``0.5,1,2`` or ``0.5:2:0.5``)
and checked by the same parser (``research.params``); the search itself is
``research.search.Search`` (grid or Optuna, optional walk-forward) on a local
process pool, run from an :class:`OptimizeJob` thread so the window keeps
turning. Rows appear as they finish; Cancel stops the workers and keeps them.
"Use these settings" puts the selected row's values into the strategy panel,
asking first while the bot trades (they apply at the next Start).
"""
from __future__ import annotations

import html
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QDate, QThread, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
    QProgressBar, QPushButton, QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from config.settings import AppSettings
from core.errors import UserError
from research.backends import make_backend
from research.evaluate import METRIC_COLUMNS, OBJECTIVES, MarketData
from research.outputs import results_header
from research.params import Assignment, parse_params
from research.report import pair_grid
from research.search import Row, Search, SearchCancelled, SearchPlan, SearchResult
from research.walk_forward import day_text, windows
from research.backtest_data import load_backtest_inputs
from ui.accessibility import describe, label_for
from ui.data_range import DataRangeInputs
from ui.worker import failure_sentence

# The objectives' names in the window (research.evaluate's identifiers stay the item data).
OBJECTIVE_NAMES = {"net_pnl": QT_TRANSLATE_NOOP("OptimizeTab", "Net PnL (USDT)"),
                   "sharpe": QT_TRANSLATE_NOOP("OptimizeTab", "Sharpe ratio"),
                   "calmar": QT_TRANSLATE_NOOP("OptimizeTab", "Calmar ratio"),
                   "profit_factor": QT_TRANSLATE_NOOP("OptimizeTab", "Profit factor")}

# What a trader reads for each settings key and results column; the key itself is in the tooltip.
PARAM_NAMES = {
    "strategy.exit.take_profit_pct": QT_TRANSLATE_NOOP("OptimizeTab", "Take profit %"),
    "strategy.signal.centerline": QT_TRANSLATE_NOOP("OptimizeTab", "RSI centerline"),
    "strategy.exit.trailing_pct": QT_TRANSLATE_NOOP("OptimizeTab", "Trailing stop %"),
    "strategy.exit.trailing_activation_pct": QT_TRANSLATE_NOOP("OptimizeTab", "Trailing activation %"),
    "strategy.exit.max_hold_bars": QT_TRANSLATE_NOOP("OptimizeTab", "Max hold (5m bars)"),
    "strategy.rsi_length": QT_TRANSLATE_NOOP("OptimizeTab", "RSI length"),
    "strategy.signal.entry": QT_TRANSLATE_NOOP("OptimizeTab", "Entry mode"),
    "strategy.signal.reference": QT_TRANSLATE_NOOP("OptimizeTab", "Signal reference"),
    "strategy.signal.macd.fast": QT_TRANSLATE_NOOP("OptimizeTab", "MACD fast"),
    "strategy.signal.macd.slow": QT_TRANSLATE_NOOP("OptimizeTab", "MACD slow"),
    "exchange.guard_mode": QT_TRANSLATE_NOOP("OptimizeTab", "Guard on the exchange"),
    "exchange.guard_distance_pct": QT_TRANSLATE_NOOP("OptimizeTab", "Guard distance %"),
}
COLUMN_NAMES = {
    "net_pnl": QT_TRANSLATE_NOOP("OptimizeTab", "Net PnL (USDT)"),
    "return_pct": QT_TRANSLATE_NOOP("OptimizeTab", "Return %"),
    "max_dd_pct": QT_TRANSLATE_NOOP("OptimizeTab", "Max drawdown %"),
    "sharpe": QT_TRANSLATE_NOOP("OptimizeTab", "Sharpe"),
    "trades": QT_TRANSLATE_NOOP("OptimizeTab", "Trades"),
    "fees": QT_TRANSLATE_NOOP("OptimizeTab", "Fees (USDT)"),
    "hedges": QT_TRANSLATE_NOOP("OptimizeTab", "Hedges"),
    "calmar": QT_TRANSLATE_NOOP("OptimizeTab", "Calmar"),
    "profit_factor": QT_TRANSLATE_NOOP("OptimizeTab", "Profit factor"),
    "window": QT_TRANSLATE_NOOP("OptimizeTab", "Window"),
    "is_first_day": QT_TRANSLATE_NOOP("OptimizeTab", "In-sample from"),
    "is_last_day": QT_TRANSLATE_NOOP("OptimizeTab", "In-sample to"),
    "oos_first_day": QT_TRANSLATE_NOOP("OptimizeTab", "Out-of-sample from"),
    "oos_last_day": QT_TRANSLATE_NOOP("OptimizeTab", "Out-of-sample to"),
}
SIDE_PREFIXES = {"is_": QT_TRANSLATE_NOOP("OptimizeTab", "{name} (in-sample)"),
                 "oos_": QT_TRANSLATE_NOOP("OptimizeTab", "{name} (out-of-sample)")}
# Money columns: a loss red, a profit green, whatever the other rows are.
SIGNED_COLUMNS = ("net_pnl", "return_pct")
LOSS_COLOR, PROFIT_COLOR = "#c62828", "#1b7f2a"
# Where an objective breaks even: below is a loss (red on the heatmap), above a gain (green).
BREAK_EVEN = {"profit_factor": 1.0}


def column_name(name: str) -> str:
    """A results column or settings key as a trader reads it ('net_pnl' -> 'Net PnL (USDT)')."""
    if name in PARAM_NAMES:
        return QCoreApplication.translate("OptimizeTab", PARAM_NAMES[name])
    if name in COLUMN_NAMES:
        return QCoreApplication.translate("OptimizeTab", COLUMN_NAMES[name])
    for prefix, pattern in SIDE_PREFIXES.items():
        if name.startswith(prefix) and name[len(prefix):] in COLUMN_NAMES:
            return QCoreApplication.translate("OptimizeTab", pattern).format(name=column_name(name[len(prefix):]))
    return name


def money_color(name: str, value: Any) -> str | None:
    """Red for a loss, green for a profit in the PnL and return columns (in- and out-of-sample)."""
    base = name.split("_", 1)[1] if name.startswith(("is_", "oos_")) else name
    if base not in SIGNED_COLUMNS or not isinstance(value, (int, float)) or not math.isfinite(value) or value == 0:
        return None
    return LOSS_COLOR if value < 0 else PROFIT_COLOR


def heat_levels(values: np.ndarray, objective: str) -> tuple[float, float]:
    """Colour levels centred on the objective's break-even, so a loss is never green and a gain never red."""
    finite = values[np.isfinite(values)]
    middle = BREAK_EVEN.get(objective, 0.0)
    reach = float(np.max(np.abs(finite - middle))) if finite.size else 0.0
    reach = reach if reach > 0 else 1e-9
    return middle - reach, middle + reach

log = logging.getLogger(__name__)

# The settings a search may vary from the tab, with a starting set of values (ticked: searched by default).
SEARCHABLE: tuple[tuple[str, str, bool], ...] = (
    ("strategy.exit.take_profit_pct", "0.5,1,2", True),
    ("strategy.signal.centerline", "45,50,55", True),
    ("strategy.exit.trailing_pct", "0.25,0.5,1", False),
    ("strategy.exit.trailing_activation_pct", "0.25,0.5,1", False),
    ("strategy.exit.max_hold_bars", "12,24,48", False),
    ("strategy.rsi_length", "2,3,5", False),
    ("strategy.signal.entry", "level,cross", False),
    ("strategy.signal.reference", "centerline,macd", False),
    ("strategy.signal.macd.fast", "1:5:1", False),
    ("strategy.signal.macd.slow", "5:20:5", False),
    ("exchange.guard_mode", "hedge,stop,off", False),  # [E1] the guard held on the exchange, as modelled
    ("exchange.guard_distance_pct", "3,5,8", False),
)


@dataclass(frozen=True)
class OptimizeRequest:
    settings: AppSettings
    data_dir: Path
    params: tuple[str, ...]  # KEY=values, as for --param
    objective: str
    method: str
    trials: int
    start_ms: int | None
    end_ms: int | None  # exclusive
    walk_forward: tuple[int, int] | None  # (train days, test days)
    jobs: int


class OptimizeJob(QThread):
    """Loads the data and runs the search; rows, progress and the end arrive as signals."""

    row_ready = Signal(object)  # research.search.Row
    progressed = Signal(int, int)
    succeeded = Signal(object)  # SearchResult
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, request: OptimizeRequest, parent=None):
        super().__init__(parent)
        self.request = request
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    def run(self) -> None:
        request = self.request
        try:
            settings = request.settings
            specs = tuple(parse_params(request.params, settings))
            inputs = load_backtest_inputs(request.data_dir, list(settings.symbols))
            data = MarketData(inputs.candles_5m, inputs.candles_1d, inputs.funding)
            found: tuple = ()
            if request.walk_forward:
                first, last = data.span_ms()
                found = tuple(windows(request.start_ms or first, request.end_ms or last, *request.walk_forward))
            plan = SearchPlan(specs, request.objective, request.method, request.trials, request.start_ms,
                              request.end_ms, found)
            if self._stop.is_set():
                raise SearchCancelled()
            backend = make_backend(settings, data, request.jobs, None)
            search = Search(plan, settings, backend, on_row=self.row_ready.emit, progress=self.progressed.emit,
                            should_stop=self._stop.is_set)
            result = search.run()
        except SearchCancelled:
            self.cancelled.emit()
        except Exception as exc:  # a background failure must reach the user, not kill the window
            self.failed.emit(failure_sentence(exc, log, "optimize failed"))
        else:
            self.succeeded.emit(result)


def _number_item(value: Any) -> QTableWidgetItem:
    """A cell that sorts by its number (text cells sort as text)."""
    item = QTableWidgetItem()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        item.setText(str(value))
    else:
        item.setData(Qt.DisplayRole, round(value, 4) if isinstance(value, float) and math.isfinite(value) else value)
    return item


class HeatMap(QWidget):
    """The objective over two parameters (pyqtgraph ImageItem), each cell labelled with its value."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem()
        # Loss red, middle yellow, profit green (as the report); built here, no colormap file to bundle.
        self.image.setColorMap(pg.ColorMap(pos=[0.0, 0.5, 1.0], color=[(198, 40, 40), (255, 240, 170), (27, 127, 42)]))
        self.plot.addItem(self.image)
        self._labels: list[pg.TextItem] = []
        self.values = np.zeros((0, 0))  # z[y, x] as shown
        self.levels = (0.0, 1.0)  # the values at the red and green ends
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_grid(self, xs: list[Any], ys: list[Any], z: np.ndarray, x_key: str, y_key: str, title: str,
                  objective: str = "net_pnl") -> None:
        for label in self._labels:
            self.plot.removeItem(label)
        self._labels = []
        self.values = z
        self.levels = heat_levels(z, objective)  # centred on break-even: a loss is red, never green
        shown = np.where(np.isfinite(z), z, BREAK_EVEN.get(objective, 0.0))
        self.image.setImage(shown.T, levels=self.levels)  # ImageItem is [x, y]
        self.plot.setTitle(html.escape(title).replace(", best", "<br>best"), size="9pt")  # fits a narrow pane
        self.plot.getAxis("bottom").setTicks([[(i + 0.5, str(x)) for i, x in enumerate(xs)]])
        self.plot.getAxis("left").setTicks([[(j + 0.5, str(y)) for j, y in enumerate(ys)]])
        self.plot.setLabel("bottom", column_name(x_key))
        self.plot.setLabel("left", column_name(y_key))
        if z.size <= 400:
            for (j, i), value in np.ndenumerate(z):
                if math.isfinite(value):
                    label = pg.TextItem(f"{value:.3g}", color="#111", anchor=(0.5, 0.5))
                    label.setPos(i + 0.5, j + 0.5)
                    self.plot.addItem(label)
                    self._labels.append(label)
        self.plot.setRange(xRange=(0, max(len(xs), 1)), yRange=(0, max(len(ys), 1)), padding=0)


def luck_sentence(result: SearchResult) -> str:
    """PBO and the best row's deflated Sharpe, and what they mean, in one translatable sentence."""
    found = result.overfitting
    if found is None or math.isnan(found.pbo):
        return QCoreApplication.translate("OptimizeTab", "Too few settings or days to estimate how likely the best "
                                          "row is luck.")
    dsr = result.best_metrics.dsr
    return QCoreApplication.translate(
        "OptimizeTab", "Probability that the best row is overfit (PBO): {pbo}; deflated Sharpe of the best row: "
        "{dsr}. PBO is about 0.5 when the search only picked luck and near 0 for a real edge; a deflated Sharpe "
        "near 1 means the result is unlikely to be the luck of trying this many settings.").format(
        pbo=f"{found.pbo:.2f}", dsr="-" if math.isnan(dsr) else f"{dsr:.2f}")


class OptimizeTab(QWidget):
    """``settings_source`` gives the settings on screen; ``panel`` is the strategy panel the
    chosen values go into; ``is_trading`` and ``ask(title, question)`` guard doing that while trading."""

    job_finished = Signal()
    row_added = Signal()

    def __init__(self, settings_source: Callable[[], AppSettings], panel, is_trading: Callable[[], bool],
                 ask: Callable[[str, str], bool], parent=None):
        super().__init__(parent)
        self._settings_source = settings_source
        self._panel = panel
        self._is_trading = is_trading
        self._ask = ask
        self._job: OptimizeJob | None = None
        self.rows: list[Row] = []
        self.result: SearchResult | None = None
        self._keys: list[str] = []
        self._columns: list[str] = []  # the results table's column names (results.csv)

        self.inputs = DataRangeInputs(self)
        self.data_dir, self.browse, self.whole_range = self.inputs.data_dir, self.inputs.browse, self.inputs.whole_range
        self.start_date, self.end_date = self.inputs.start_date, self.inputs.end_date

        self.params = QTableWidget(len(SEARCHABLE), 2)
        self.params.setHorizontalHeaderLabels([self.tr("Setting (tick to search it)"),
                                               self.tr("Values: a,b,c or low:high:step")])
        self.params.verticalHeader().setVisible(False)
        self.params.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.params.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        for row, (key, values, ticked) in enumerate(SEARCHABLE):
            name = QTableWidgetItem(column_name(key))
            name.setData(Qt.UserRole, key)
            name.setToolTip(key)
            name.setFlags(Qt.ItemIsEnabled | Qt.ItemIsUserCheckable)
            name.setCheckState(Qt.Checked if ticked else Qt.Unchecked)
            self.params.setItem(row, 0, name)
            self.params.setItem(row, 1, QTableWidgetItem(values))

        self.objective = QComboBox()
        for name in OBJECTIVES:
            self.objective.addItem(QCoreApplication.translate("OptimizeTab", OBJECTIVE_NAMES.get(name, name)), name)
        self.method = QComboBox()
        self.method.addItem(self.tr("Grid: every combination"), "grid")
        self.method.addItem(self.tr("Optuna (TPE): sampled, for large spaces"), "optuna")
        self.trials = QSpinBox()
        self.trials.setRange(1, 100_000)
        self.trials.setValue(50)
        self.trials.setToolTip(self.tr("Optuna: backtests to run (per walk-forward window)"))
        self.walk_forward = QCheckBox(self.tr("Walk-forward"))
        self.train_days, self.test_days = QSpinBox(), QSpinBox()
        for spin, value in ((self.train_days, 120), (self.test_days, 30)):
            spin.setRange(1, 10_000)
            spin.setValue(value)
            spin.setEnabled(False)
        self.walk_forward.toggled.connect(lambda on: [s.setEnabled(on) for s in (self.train_days, self.test_days)])
        self.jobs = QSpinBox()
        self.jobs.setRange(1, 1024)
        self.jobs.setValue(os.cpu_count() or 1)

        self.run_button = QPushButton(self.tr("Run search"))
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.message = QLabel()
        self.message.setWordWrap(True)

        self.table = QTableWidget(0, 0)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.use_button = QPushButton(self.tr("Use these settings"))
        self.use_button.setToolTip(self.tr("Put the selected row's values into the strategy panel"))
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.use_selected)
        self.table.itemSelectionChanged.connect(
            lambda: self.use_button.setEnabled(bool(self.table.selectionModel().selectedRows())))

        self.heat_x, self.heat_y, self.heat_side = QComboBox(), QComboBox(), QComboBox()
        self.heat_side.addItem(self.tr("in-sample"), False)
        for combo in (self.heat_x, self.heat_y, self.heat_side):
            combo.currentIndexChanged.connect(self.refresh_heatmap)
        self.heatmap = HeatMap()

        self._build_layout()
        self._describe_inputs()

    def _describe_inputs(self) -> None:
        """A tooltip and a screen-reader name on every input (issue 13 item 9)."""
        for widget, name, tip in (
            (self.data_dir, self.tr("Data folder"), self.tr("Folder of <SYMBOL>-5m.csv(.gz/.zip) klines to search on")),
            (self.browse, self.tr("Choose the data folder"), self.tr("Choose the kline data folder")),
            (self.whole_range, self.tr("All data"), self.tr("Search on every candle of the folder; untick to "
                                                            "choose the dates")),
            (self.start_date, self.tr("From"), self.tr("First day searched (UTC)")),
            (self.end_date, self.tr("To"), self.tr("Last day searched (UTC), included")),
            (self.params, self.tr("Settings to search"), self.tr(
                "Tick a setting to search it; its values are a,b,c or low:high:step")),
            (self.objective, self.tr("Objective"), self.tr("The figure the search maximises")),
            (self.method, self.tr("Search method"), self.tr(
                "Grid tries every combination; Optuna samples, for spaces too large for a grid")),
            (self.trials, self.tr("Trials"), self.tr("Optuna: backtests to run (per walk-forward window)")),
            (self.walk_forward, self.tr("Walk-forward"), self.tr(
                "Choose the settings on in-sample days and measure them on the following out-of-sample days")),
            (self.train_days, self.tr("In-sample days"), self.tr("Days each walk-forward window searches on")),
            (self.test_days, self.tr("Out-of-sample days"), self.tr("Days each window's choice is then measured on")),
            (self.jobs, self.tr("Processes"), self.tr("Backtests run at the same time (one per CPU core is "
                                                      "usually best)")),
            (self.run_button, self.tr("Run search"), self.tr("Run the backtests of the search in the background")),
            (self.cancel_button, self.tr("Cancel the search"), self.tr("Stop the search; finished rows are kept")),
            (self.table, self.tr("Search results"), self.tr("One row per setting tried; click a header to sort")),
            (self.use_button, self.tr("Use these settings"), self.tr(
                "Put the selected row's values into the strategy panel")),
            (self.heat_x, self.tr("Heatmap x axis"), self.tr("The setting across the heatmap")),
            (self.heat_y, self.tr("Heatmap y axis"), self.tr("The setting up the heatmap")),
            (self.heat_side, self.tr("Heatmap figures"), self.tr(
                "In-sample figures, or (walk-forward) out-of-sample ones")),
        ):
            describe(widget, name, tip)

    def _build_layout(self) -> None:
        data_row = self.inputs.row()

        options = QFormLayout()
        options.addRow(self.tr("Objective (maximised)"), self.objective)
        search_row = QHBoxLayout()
        search_row.addWidget(self.method, 1)
        search_row.addWidget(label_for(self.tr("Trials"), self.trials))
        search_row.addWidget(self.trials)
        options.addRow(self.tr("Search"), search_row)
        split_row = QHBoxLayout()
        split_row.addWidget(self.walk_forward)
        split_row.addWidget(label_for(self.tr("in-sample days"), self.train_days))
        split_row.addWidget(self.train_days)
        split_row.addWidget(label_for(self.tr("out-of-sample days"), self.test_days))
        split_row.addWidget(self.test_days)
        options.addRow(self.tr("Validation"), split_row)
        options.addRow(self.tr("Processes"), self.jobs)
        settings_box = QGroupBox(self.tr("Search"))
        settings_layout = QHBoxLayout(settings_box)
        settings_layout.addWidget(self.params, 3)
        settings_layout.addLayout(options, 2)

        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)

        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.table, 1)
        results_layout.addWidget(self.use_button, 0, Qt.AlignLeft)
        heat = QWidget()
        heat_layout = QVBoxLayout(heat)
        heat_layout.setContentsMargins(0, 0, 0, 0)
        chooser = QHBoxLayout()
        chooser.addWidget(label_for(self.tr("Heatmap x"), self.heat_x))
        chooser.addWidget(self.heat_x, 1)
        chooser.addWidget(label_for(self.tr("y"), self.heat_y))
        chooser.addWidget(self.heat_y, 1)
        chooser.addWidget(self.heat_side)
        heat_layout.addLayout(chooser)
        heat_layout.addWidget(self.heatmap, 1)
        lower = QSplitter(Qt.Horizontal)
        lower.addWidget(results)
        lower.addWidget(heat)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        lower.setSizes([760, 600])

        layout = QVBoxLayout(self)
        layout.addLayout(data_row)
        layout.addWidget(settings_box)
        layout.addLayout(run_row)
        layout.addWidget(self.message)
        layout.addWidget(lower, 1)

    # ----- inputs -----------------------------------------------------------------------------

    def set_param(self, key: str, values: str, ticked: bool = True) -> None:
        for row in range(self.params.rowCount()):
            if self.params.item(row, 0).data(Qt.UserRole) == key:
                self.params.item(row, 0).setCheckState(Qt.Checked if ticked else Qt.Unchecked)
                self.params.item(row, 1).setText(values)
                return
        raise KeyError(key)

    def set_dates(self, start: QDate, end: QDate) -> None:
        self.inputs.set_dates(start, end)

    def chosen_params(self) -> tuple[str, ...]:
        return tuple(f"{self.params.item(row, 0).data(Qt.UserRole)}={self.params.item(row, 1).text().strip()}"
                     for row in range(self.params.rowCount())
                     if self.params.item(row, 0).checkState() == Qt.Checked)

    def request(self) -> OptimizeRequest:
        self.inputs.require_folder()
        params = self.chosen_params()
        if not params:
            raise UserError(self.tr("Tick at least one setting to search"))
        settings = self._settings_source()
        parse_params(params, settings)  # a bad value is refused here, before anything runs
        start, end = self.inputs.range_ms()
        split = (self.train_days.value(), self.test_days.value()) if self.walk_forward.isChecked() else None
        return OptimizeRequest(settings, self.inputs.folder(), params,
                               self.objective.currentData(), self.method.currentData(), self.trials.value(),
                               start, end, split, self.jobs.value())

    # ----- running ----------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._job is not None and self._job.isRunning()

    def start(self) -> None:
        if self.is_running():
            return
        try:
            request = self.request()
        except UserError as exc:
            self._say(str(exc), error=True)
            return
        self.rows, self.result = [], None
        self._keys = [text.split("=", 1)[0] for text in request.params]
        self._reset_table(request.walk_forward is not None)
        self._reset_heatmap_choices(request.walk_forward is not None)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first backtest ends
        self._say(self.tr("Loading the data and starting the search…"))
        self._job = OptimizeJob(request, self)
        self._job.row_ready.connect(self._on_row)
        self._job.progressed.connect(self._on_progress)
        self._job.succeeded.connect(self._on_done)
        self._job.failed.connect(lambda text: self._say(text, error=True))
        self._job.cancelled.connect(lambda: self._say(
            self.tr("Cancelled: the %n finished row(s) are kept.", "", len(self.rows))))
        self._job.finished.connect(self._on_finished)
        self._job.start()

    def cancel(self) -> None:
        if self.is_running():
            self.cancel_button.setEnabled(False)
            self._say(self.tr("Cancelling…"))
            self._job.cancel()

    def stop_and_wait(self, ms: int = 60_000) -> None:
        """Closing the window: stop the search and its workers."""
        if self._job is not None:
            self._job.cancel()
            self._job.wait(ms)

    def _reset_table(self, walk_forward: bool) -> None:
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setRowCount(0)
        # Names a trader reads; the results.csv name (a settings key, a metric) in the tooltip and the item data.
        header = results_header(self._keys, walk_forward)
        self._columns = header
        self.table.setColumnCount(len(header))
        for column, name in enumerate(header):
            item = QTableWidgetItem(column_name(name))
            item.setData(Qt.UserRole, name)
            item.setToolTip(name)
            self.table.setHorizontalHeaderItem(column, item)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)  # no header cut off
        for column in range(len(header)):  # the window's days: in the window cell's tooltip
            self.table.setColumnHidden(column, walk_forward and 1 <= column <= 4)
        self.table.setSortingEnabled(True)

    def _reset_heatmap_choices(self, walk_forward: bool) -> None:
        for combo in (self.heat_x, self.heat_y, self.heat_side):
            combo.blockSignals(True)
        self.heat_x.clear()
        self.heat_y.clear()
        for key in self._keys:
            self.heat_x.addItem(column_name(key), key)
            self.heat_y.addItem(column_name(key), key)
        self.heat_y.setCurrentIndex(1 if len(self._keys) > 1 else 0)
        while self.heat_side.count() > 1:
            self.heat_side.removeItem(1)
        if walk_forward:
            self.heat_side.addItem(self.tr("out-of-sample"), True)
        for combo in (self.heat_x, self.heat_y, self.heat_side):
            combo.blockSignals(False)

    def _on_row(self, row: Row) -> None:
        self.rows.append(row)
        cells: list[Any] = []
        if row.window is not None:
            w = row.window
            cells += [w.index + 1, day_text(w.train_start), day_text(w.train_end - 1), day_text(w.test_start),
                      day_text(w.test_end - 1)]
        cells += [value for _, value in row.assignment]
        cells += [getattr(row.metrics, name) for name in METRIC_COLUMNS]
        if row.oos is not None:
            cells += [getattr(row.oos, name) for name in METRIC_COLUMNS]
        self.table.setSortingEnabled(False)
        index = self.table.rowCount()
        self.table.insertRow(index)
        for column, value in enumerate(cells):
            item = _number_item(value)
            color = money_color(self._columns[column], value)
            if color is not None:
                item.setForeground(QBrush(QColor(color)))
            if column == 0:
                item.setData(Qt.UserRole + 1, len(self.rows) - 1)  # which Row this line shows
                if row.window is not None:
                    item.setToolTip(self.tr("in-sample {a} to {b}, out-of-sample {c} to {d}").format(
                        a=cells[1], b=cells[2], c=cells[3], d=cells[4]))
            self.table.setItem(index, column, item)
        self.table.setSortingEnabled(True)
        self.refresh_heatmap()
        self.row_added.emit()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, total))

    def _on_done(self, result: SearchResult) -> None:
        self.result = result
        # The rows again, now with the search's dsr and pbo (known only once every row is).
        self._reset_table(bool(result.windows))
        self.rows = []
        for row in result.rows:
            self._on_row(row)
        best = ", ".join(f"{key}={value}" for key, value in result.best)
        if result.chained is not None:
            text = self.tr("Done. Walk-forward, chosen settings out-of-sample: net PnL {pnl} USDT, max DD {dd} %. "
                           "Last window's choice: {best}.")
            self._say(text.format(pnl=f"{result.chained.net_pnl:+,.2f}", dd=f"{result.chained.max_dd_pct:.2f}",
                                  best=best))
        else:
            text = self.tr("Done. Best {objective}: {best} (net PnL {pnl} USDT, in-sample).")
            self._say(text.format(objective=self.objective.currentData(), best=best,
                                  pnl=f"{result.best_metrics.net_pnl:+,.2f}") + " " + luck_sentence(result))

    def _on_finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if self.result is not None else 0)
        self.job_finished.emit()

    # ----- heatmap ----------------------------------------------------------------------------

    def refresh_heatmap(self, *_args) -> None:
        if not self.rows or self.heat_x.count() == 0:
            return
        x_key, y_key = self.heat_x.currentData(), self.heat_y.currentData()
        out_of_sample = bool(self.heat_side.currentData())
        objective = self.objective.currentData()
        xs, ys, z = pair_grid(self.rows, x_key, y_key, objective, out_of_sample)
        side = self.tr("out-of-sample") if out_of_sample else self.tr("in-sample")
        title = (self.tr("{objective} ({side}, mean over the windows), best over the other settings")
                 if self.rows[0].window is not None else self.tr("{objective} ({side}), best over the other settings"))
        name = QCoreApplication.translate("OptimizeTab", OBJECTIVE_NAMES.get(objective, objective))
        self.heatmap.show_grid(xs, ys, z, x_key, y_key, title.format(objective=name, side=side), objective)

    # ----- using a row ------------------------------------------------------------------------

    def selected_row(self) -> Row | None:
        chosen = self.table.selectionModel().selectedRows()
        if not chosen:
            return None
        return self.rows[self.table.item(chosen[0].row(), 0).data(Qt.UserRole + 1)]

    def use_selected(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        values = ", ".join(f"{key}={value}" for key, value in row.assignment)
        if self._is_trading() and not self._ask(
                self.tr("Use these settings"),
                self.tr("The bot is trading. Put {values} into the strategy panel? They apply at the next "
                        "Start; the running bot keeps its settings.").format(values=values)):
            return
        skipped = apply_to_panel(self._panel, row.assignment)
        text = self.tr("Put into the strategy panel: {values}.").format(values=values)
        if skipped:
            text += " " + self.tr("Not in the strategy panel, so not changed there: {keys}.").format(
                keys=", ".join(skipped))
        self._say(text)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c62828;" if error else "")
        self.message.setText(text)


def apply_to_panel(panel, assignment: Assignment) -> list[str]:
    """Put each (key, value) into the strategy panel's field; returns the keys it has no field for."""
    skipped = []
    for key, value in assignment:
        combo = {"strategy.signal.reference": panel.reference, "strategy.signal.entry": panel.entry,
                 "exchange.guard_mode": panel.guard_mode}.get(key)
        parts = key.split(".")
        if key in panel.fields:
            field = panel.fields[key]
            field.set_value(value)
            field.value_changed.emit(value)  # the panel re-checks its warnings ([S3]) as after a typed value
        elif combo is not None:
            combo.setCurrentIndex(combo.findData(value))
        elif len(parts) == 3 and parts[0] == "symbols" and parts[2] == "call_size":
            sizes = panel.symbols.sizes()
            sizes[parts[1]] = float(value)
            panel.symbols.set_sizes(sizes)
        else:
            skipped.append(key)
    return skipped
