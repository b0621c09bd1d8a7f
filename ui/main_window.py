"""The trader's window: connection, strategy, live status, log, controls, backtest.

The trading service runs in a :class:`RunnerThread`; the window only receives
its events through Qt signals and sends it controls through the service's
thread-safe TradingControl methods. Closing the window stops the service
cleanly (it saves its state on the way out) and remembers geometry and the
non-secret settings.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QMainWindow, QMessageBox, QProgressBar, QPushButton, QScrollArea, QSplitter,
    QTabWidget, QVBoxLayout, QWidget,
)

from config.settings import AppSettings, save_settings
from core.errors import UserError
from runner.events import Event, LogEvent, ProgressEvent, ServiceStateEvent, StatusRow
from ui import paths, window_extras
from runner.accounts import ApiCredentials, install_log_redaction, mask
from ui.api_panel import ApiPanel, ConnectionChecker, CredentialStore
from ui.backtest_tab import BacktestRunner, BacktestTab
from ui.backtest_job import run_backtest_job
from ui.log_pane import LogPane
from ui.runner_thread import RunnerThread
from ui.status_table import StatusTable
from ui.strategy_panel import StrategyPanel

# (settings, listener, mode, replay_dir, speed, credentials, state_dir) -> service with run() + TradingControl
ServiceBuilder = Callable[..., Any]
STOP_WAIT_MS = 15_000
DEFAULT_REPLAY_SPEED = 600.0  # one 5m bar every 0.5 s: a newcomer sees it trade


def ask_user(parent: QWidget, title: str, question: str) -> bool:
    answer = QMessageBox.question(parent, title, question, QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
    return answer == QMessageBox.Yes


class MainWindow(QMainWindow):
    def __init__(
        self,
        service_builder: ServiceBuilder | None,
        connection_checker: ConnectionChecker | None = None,
        credential_store: CredentialStore | None = None,
        backtest_runner: BacktestRunner = run_backtest_job,
        settings: AppSettings | None = None,
    ):
        super().__init__()
        self.setWindowTitle(self.tr("AutoHedge — Binance USDT-M hedge trader"))
        self._builder = service_builder
        self.runner: RunnerThread | None = None
        self._paused = False
        self.ask: Callable[[str, str], bool] = lambda title, question: ask_user(self, title, question)
        self._ui_state = QSettings(str(paths.ui_state_path()), QSettings.IniFormat)

        load_problem = None
        if settings is None:
            settings, load_problem = paths.load_user_settings()
        self._settings = settings

        self.api = ApiPanel(connection_checker, credential_store)
        self.api.confirm_live = self._confirm_live_switch
        self.strategy = StrategyPanel(settings)
        self.status_table = StatusTable()
        self.log_pane = LogPane()
        self.backtest = BacktestTab(self._settings_for_backtest, backtest_runner)

        self.start_button = QPushButton(self.tr("Start"))
        self.pause_button = QPushButton(self.tr("Pause"))
        self.stop_button = QPushButton(self.tr("Stop"))
        self.flatten_button = QPushButton(self.tr("Flatten all…"))
        self.flatten_button.setStyleSheet("QPushButton:enabled { color: #c62828; font-weight: bold; }")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.flatten_button.clicked.connect(self.flatten_all)
        self.status_table.symbol_action.connect(self.symbol_action)
        self.api.exchange_info.connect(
            lambda minimums: self.strategy.symbols.set_exchange_info(set(minimums), minimums))
        self.state_label = QLabel(self.tr("Stopped"))
        self.state_label.setWordWrap(True)
        self.state_label.setMinimumWidth(120)
        self.replay_progress = QProgressBar()
        self.replay_progress.setMaximumWidth(200)
        self.replay_progress.setMinimumWidth(90)
        self.replay_progress.setFormat(self.tr("replay %p%"))
        self.replay_progress.setValue(0)

        self.strategy.call_size_changed.connect(self._on_call_size_changed)
        self.strategy.symbols.symbols_changed.connect(self._on_symbols_changed)
        self.api.mode_changed.connect(lambda _mode: self._update_buttons())

        self._build_layout()
        self._restore_ui_state()
        self._on_symbols_changed(list(settings.symbols))
        self._update_buttons()
        self._builder = window_extras.install(self, self._builder)  # Settings menu, alerts, shortcuts
        if load_problem:
            self.show_message(load_problem, level="WARNING")

    # ----- layout and persistence ------------------------------------------------------------

    def _build_layout(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(4, 4, 4, 4)
        left_layout.addWidget(self.api)
        left_layout.addWidget(self.strategy, 1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(470)

        controls = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button, self.flatten_button):
            controls.addWidget(button)
        controls.addSpacing(12)
        controls.addWidget(self.state_label, 1)
        controls.addWidget(self.replay_progress)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(controls)
        top_layout.addWidget(self.status_table)
        right = QSplitter(Qt.Vertical)
        right.addWidget(top)
        right.addWidget(self.log_pane)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.splitter, self.tr("Trading"))
        self.tabs.addTab(self.backtest, self.tr("Backtest"))
        self.setCentralWidget(self.tabs)
        self.resize(1366, 768)

    def _restore_ui_state(self) -> None:
        state = self._ui_state
        geometry = state.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = state.value("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self.api.set_mode(str(state.value("mode", "replay")))
        self.api.replay_dir.setText(str(state.value("replay_dir", self._settings.paper.replay_data)))
        self.api.speed.setValue(float(state.value("replay_speed", DEFAULT_REPLAY_SPEED)))
        self.backtest.data_dir.setText(str(state.value("backtest_dir", self._settings.paper.replay_data)))

    def save_ui_state(self) -> None:
        """Geometry and the GUI's own non-secret choices (QSettings); strategy settings as YAML."""
        state = self._ui_state
        state.setValue("geometry", self.saveGeometry())
        state.setValue("splitter", self.splitter.saveState())
        state.setValue("mode", self.api.current_mode() if self.api.current_mode() != "live" else "replay")
        state.setValue("replay_dir", self.api.replay_dir.text())
        state.setValue("replay_speed", self.api.speed.value())
        state.setValue("backtest_dir", self.backtest.data_dir.text())
        state.sync()
        try:
            save_settings(self.current_settings(), paths.user_settings_path())
        except UserError as exc:
            self.show_message(f"Settings not saved: {exc}", level="WARNING")

    # ----- settings --------------------------------------------------------------------------

    def current_settings(self) -> AppSettings:
        """The settings on screen; ``mode`` is the settings-file mode (a replay is paper trading)."""
        mode = self.api.current_mode()
        return self.strategy.to_settings("paper" if mode == "replay" else mode)

    def _settings_for_backtest(self) -> AppSettings:
        return self.current_settings()

    # ----- controls --------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.runner is not None and self.runner.isRunning()

    def start(self) -> None:
        if self.is_running():
            return
        if self._builder is None:
            self.show_message("The trading service is not available in this build", level="ERROR")
            return
        mode = self.api.current_mode()
        try:
            settings = self.current_settings()
            credentials = self.api.credentials()
            replay_dir = paths.resolve_data_path(self.api.replay_dir.text().strip() or settings.paper.replay_data)
            if mode == "replay" and not replay_dir.is_dir():
                raise UserError(f"The replay data folder {replay_dir} does not exist")
        except UserError as exc:
            self.show_message(str(exc), level="ERROR")
            return
        if mode == "live" and not self.ask(self.tr("Start LIVE trading"),
                                           self._live_question(credentials, settings, "Start")):
            self.show_message("Live start cancelled")
            return
        if credentials is not None:
            install_log_redaction(credentials)  # no log record of this process may carry the key or secret
        self.api.remember_if_asked()
        self.save_ui_state()
        if mode == "paper":
            # Paper trading on live public prices.
            settings = replace(settings, paper=replace(settings.paper, source="live"))
        for warning in settings.warnings():
            self.show_message(warning, level="WARNING")
        self.status_table.set_symbols(list(settings.symbols))
        self.replay_progress.setValue(0)
        builder, speed = self._builder, self.api.speed.value()

        def factory(listener):
            return builder(settings, listener, mode=mode, replay_dir=replay_dir if mode == "replay" else None,
                           speed=speed, credentials=credentials, state_dir=None)  # the mode's own state folder [P]

        self.runner = RunnerThread(factory, self)
        self.runner.events_ready.connect(self._on_events)
        self.runner.failed.connect(lambda text: self.show_message(text, level="ERROR"))
        self.runner.finished.connect(self._on_runner_finished)
        self._paused = False
        self.runner.start()
        self.state_label.setText(self.tr("Starting ({mode})…").format(mode=self.api.mode.currentText()))
        self._update_buttons()

    def toggle_pause(self) -> None:
        if not self.is_running():
            return
        if self._paused:
            self.runner.resume()
        else:
            self.runner.pause()
        self._paused = not self._paused
        self._update_buttons()
        self.state_label.setText((self.tr("Paused (no new entries or hedges; positions kept and tracked) — {mode}")
                                  if self._paused else self.tr("Running — {mode}")).format(mode=self.api.mode.currentText()))

    def stop(self) -> None:
        if self.is_running():
            self.state_label.setText(self.tr("Stopping…"))
            self.stop_button.setEnabled(False)
            self.runner.stop()

    def symbol_action(self, action: str, symbol: str) -> None:
        """Pause, resume or flatten one symbol (the status table's right-click menu)."""
        if not self.is_running():
            return
        if action == "flatten":
            if not self.ask(self.tr("Flatten {symbol}").format(symbol=symbol),
                            self.tr("Close every open position (main and hedge) of {symbols} at market now?").format(
                                symbols=symbol)):
                return
            self.runner.flatten(symbol)
        elif action in ("pause", "resume"):
            getattr(self.runner, action)(symbol)
        self.show_message(f"{action.capitalize()} {symbol} requested by the user", symbol=symbol)

    def flatten_all(self) -> None:
        if not self.is_running():
            return
        symbols = ", ".join(self.status_table.latest or self._settings.symbols)
        if self.ask(self.tr("Flatten all"),
                    self.tr("Close every open position (main and hedge) of {symbols} at market now?").format(
                        symbols=symbols)):
            self.runner.flatten(None)
            self.show_message("Flatten all requested by the user")

    def _on_call_size_changed(self, symbol: str, qty: float) -> None:
        if self.is_running():
            self.runner.set_call_size(symbol, qty)
            self.show_message(f"CALL_SIZE of {symbol} set to {qty:g}; applies to the next order", symbol=symbol)

    def _on_symbols_changed(self, symbols: list[str]) -> None:
        self.log_pane.set_symbols(symbols)
        self.backtest.set_symbols(symbols)
        if not self.is_running():
            self.status_table.set_symbols(symbols)

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.pause_button.setText(self.tr("Resume") if running and self._paused else self.tr("Pause"))
        self.stop_button.setEnabled(running)
        self.flatten_button.setEnabled(running)
        self.api.set_running(running)
        self.strategy.set_running(running)
        if not running:
            self.state_label.setText(self.tr("Stopped — mode: {mode}").format(mode=self.api.mode.currentText()))

    # ----- confirmations ---------------------------------------------------------------------

    def _live_question(self, credentials: ApiCredentials | None, settings: AppSettings, verb: str) -> str:
        account = self.tr("the Binance USDT-M futures account of API key {key}").format(
            key=mask(credentials.api_key)) if credentials \
            else self.tr("the Binance USDT-M futures account of the key you will enter")
        sizes = ", ".join(f"{name} (CALL_SIZE {sym.call_size:g})" for name, sym in settings.symbols.items())
        question = (self.tr("Start LIVE trading with REAL MONEY on {account}, trading {sizes}?") if verb == "Start"
                    else self.tr("Switch to LIVE trading with REAL MONEY on {account}, trading {sizes}?"))
        return (question.format(account=account, sizes=sizes) + "\n"
                + self.tr("Orders will be sent to Binance as soon as the strategy decides."))

    def _confirm_live_switch(self) -> bool:
        try:
            credentials = self.api.credentials_if_entered()
            settings = self.strategy.to_settings("live")
        except UserError as exc:
            self.show_message(str(exc), level="ERROR")
            return False
        return self.ask(self.tr("Switch to LIVE"), self._live_question(credentials, settings, "Switch to"))

    # ----- events from the service -----------------------------------------------------------

    def _on_events(self) -> None:
        if self.runner is None:
            return
        self.handle_events(self.runner.take_events())

    def handle_events(self, events: list[Event]) -> None:
        lines: list[LogEvent] = []
        for event in events:
            if isinstance(event, LogEvent):
                lines.append(event)
            elif isinstance(event, StatusRow):
                self.status_table.update_row(event)
                self.strategy.symbols.set_price(event.symbol, event.price)
            elif isinstance(event, ProgressEvent):
                self.replay_progress.setRange(0, max(event.total, 1))
                self.replay_progress.setValue(event.done)
            elif isinstance(event, ServiceStateEvent):
                self._show_state(event)
        if lines:
            self.log_pane.append_many(lines)

    def _show_state(self, event: ServiceStateEvent) -> None:
        if event.running:
            self.state_label.setText(self.tr("Running — {mode}").format(mode=self.api.mode.currentText())
                                     + (f" ({event.detail})" if event.detail else ""))
        else:
            self.state_label.setText(self.tr("Stopped") + (f": {event.detail}" if event.detail else ""))

    def _on_runner_finished(self) -> None:
        self._on_events()  # the last events (final status, "stopped")
        detail = self.state_label.text()
        self._update_buttons()
        if detail.startswith(self.tr("Stopped") + ":"):
            self.state_label.setText(detail)

    def show_message(self, text: str, level: str = "INFO", symbol: str | None = None) -> None:
        """A line from the window itself (not the service) in the log pane and the status bar."""
        self.log_pane.append_many([LogEvent(int(time.time() * 1000), level, text, symbol)])
        self.statusBar().showMessage(text, 15_000)

    # ----- closing ---------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_ui_state()
        if self.is_running():
            self.runner.stop()
            if not self.runner.wait(STOP_WAIT_MS):
                self.show_message("The trading service did not stop in time; close again to retry", level="ERROR")
                event.ignore()
                return
            self._on_events()  # the service's last lines ("stopped; state saved")
        self.backtest.wait()
        self.api.wait_for_test()
        event.accept()
