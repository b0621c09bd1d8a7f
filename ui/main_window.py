"""The trader's window: mode banner and controls on top; Trading, Settings and Backtest tabs.

The Trading tab is the cockpit: the account strip, the status table, the
heartbeat (stream state, last close, countdowns, next-decision preview), the
live chart and the log. Settings holds the connection and the strategy.

The trading service runs in a :class:`RunnerThread`; the window only receives
its events through Qt signals and sends it controls through the service's
thread-safe TradingControl methods. Closing the window with positions open asks
whether to flatten them, keep them, or not close; it then stops the service
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
    QHBoxLayout, QLabel, QMainWindow, QMessageBox, QPushButton, QScrollArea, QSplitter,
    QTabWidget, QVBoxLayout, QWidget,
)

from config.settings import AppSettings
from core.errors import UserError
from live.events import Event, LogEvent, ServiceStateEvent, StartRetry, StreamState
from ui import gui_gc, paths, window_extras
from ui.cockpit_events import show_cockpit_event, show_stopped
from ui.autostart import AutoStartBox
from ui.resume import forget_trading, remember_trading
from ui.window_state import restore_window_state, save_window_state
from live.accounts import ApiCredentials, install_log_redaction
from ui.api_panel import ApiPanel, ConnectionChecker, CredentialStore
from ui.backtest_tab import BacktestRunner, BacktestTab
from ui.backtest_job import run_backtest_job
from ui.account_strip import AccountStrip
from ui.banner import ModeBanner
from ui.close_dialog import ask_close, confirm_stop
from ui.forced_marks import ForcedMarks
from ui.heartbeat import HeartbeatPanel
from ui.history_link import HistoryLink
from ui.history_tab import HistoryTab
from ui.hedge_question import ask_hedge_switch
from ui.limits_question import override_if_asked
from ui.live_chart import LiveChart
from ui.live_confirm import live_question
from ui.replay_progress import ReplayProgress
from ui.log_pane import LogPane
from ui.optimize_tab import OptimizeTab
from ui.saved_positions import saved_rows
from ui.runner_thread import START_RETRY_DELAYS_S, RunnerThread
from ui.status_table import StatusTable
from ui.strategy_panel import StrategyPanel

# (settings, listener, mode, replay_dir, speed, credentials, state_dir) -> service with run() + TradingControl
ServiceBuilder = Callable[..., Any]
STOP_WAIT_MS = 15_000


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
        self._switch_hedge_mode = False  # the user agreed to switch a one-way account (next start)
        self.ask: Callable[[str, str], bool] = lambda title, question: ask_user(self, title, question)
        # positions ("DOGEUSDT LONG 100") -> "flatten" | "keep" | "cancel"
        self.ask_close: Callable[[list[str]], str] = lambda positions: ask_close(self, positions)
        self.start_retry_delays = START_RETRY_DELAYS_S
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
        self.banner = ModeBanner()
        self.account_strip = AccountStrip()
        self.heartbeat = HeartbeatPanel()
        self.live_chart = LiveChart()
        self.backtest = BacktestTab(self._settings_for_backtest, backtest_runner)
        self.optimize = OptimizeTab(self._settings_for_backtest, self.strategy, self.is_running,
                                    lambda title, question: self.ask(title, question))
        self.history = HistoryLink(HistoryTab(""), self)  # pointed at the account's ledger by the mode
        self.forced_marks = ForcedMarks(self.status_table)  # a liquidated side marked in the table

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
        self.replay_progress = ReplayProgress()  # "replay day 12 of 410 · 2.9 %", the bar the day

        self.strategy.call_size_changed.connect(self._on_call_size_changed)
        self.strategy.symbols.symbols_changed.connect(self._on_symbols_changed)
        self.api.mode_changed.connect(lambda _mode: self._update_buttons())
        self.api.mode_changed.connect(self._on_mode_changed)

        self._build_layout()
        restore_window_state(self)
        self._on_symbols_changed(list(settings.symbols))
        self._on_mode_changed(self.api.current_mode())
        self._update_buttons()
        self._builder = window_extras.install(self, self._builder)  # Settings menu, alerts, shortcuts
        gui_gc.install()  # cycles holding Qt objects are freed on this thread, never the service's
        if load_problem:
            self.show_message(load_problem, level="WARNING")

    # ----- layout and persistence ------------------------------------------------------------

    def _build_layout(self) -> None:
        """Banner and controls above the tabs (always visible); every part fits 1024 px."""
        controls = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button, self.flatten_button):
            controls.addWidget(button)
        controls.addSpacing(12)
        controls.addWidget(self.state_label, 1)
        controls.addWidget(self.replay_progress)
        self.banner.setWordWrap(True)

        self.splitter = QSplitter(Qt.Horizontal)  # live chart | log
        self.splitter.addWidget(self.live_chart)
        self.splitter.addWidget(self.log_pane)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        trading = QWidget()
        trading_layout = QVBoxLayout(trading)
        trading_layout.setContentsMargins(4, 4, 4, 4)
        trading_layout.addWidget(self.account_strip)
        trading_layout.addWidget(self.status_table)
        trading_layout.addWidget(self.heartbeat)
        trading_layout.addWidget(self.splitter, 1)

        settings_page = QWidget()
        settings_layout = QHBoxLayout(settings_page)
        settings_layout.setContentsMargins(4, 4, 4, 4)
        left = QVBoxLayout()
        left.addWidget(self.api)
        self.autostart = AutoStartBox()  # issue 19, item 8: start at sign-in (Windows)
        left.addWidget(self.autostart)
        left.addStretch(1)
        settings_layout.addLayout(left, 0)
        settings_layout.addWidget(self.strategy, 1)
        scroll = QScrollArea()
        scroll.setWidget(settings_page)
        scroll.setWidgetResizable(True)

        self.tabs = QTabWidget()
        self.trading_tab = trading
        self.settings_tab = scroll
        self.tabs.addTab(trading, self.tr("&Trading"))
        self.tabs.addTab(scroll, self.tr("S&ettings"))
        self.tabs.addTab(self.backtest, self.tr("&Backtest"))
        self.tabs.addTab(self.optimize, self.tr("&Optimize"))
        self.tabs.addTab(self.history.tab, self.tr("&History"))
        self.tabs.currentChanged.connect(lambda _index: self.history.refresh_if_shown())
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(self.banner)
        layout.addLayout(controls)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

    def save_ui_state(self) -> None:
        """Geometry and the GUI's own non-secret choices (QSettings); strategy settings as YAML."""
        save_window_state(self)

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
            self.show_message(self.tr("The trading service is not available in this build"), level="ERROR")
            return
        mode = self.api.current_mode()
        try:
            settings = self.current_settings()
            credentials = self.api.credentials()
            replay_dir = paths.resolve_data_path(self.api.replay_dir.text().strip() or settings.paper.replay_data)
            if mode == "replay" and not replay_dir.is_dir():
                raise UserError(self.tr("The replay data folder {folder} does not exist").format(folder=replay_dir))
        except UserError as exc:
            self.show_message(str(exc), level="ERROR")
            return
        if mode == "live" and not self.ask(self.tr("Start LIVE trading"),
                                           self._live_question(credentials, settings, "Start")):
            self.show_message(self.tr("Live start cancelled"))
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
        symbols = list(settings.symbols)
        self.status_table.set_symbols(symbols, self.tr("starting…"))
        self.heartbeat.set_symbols(symbols)
        self.heartbeat.set_stream(StreamState("starting"))
        self.live_chart.set_symbols(symbols, reset=True)
        self.account_strip.clear()
        self.forced_marks.clear()
        self.replay_progress.restart()
        builder, speed = self._builder, self.api.speed.value()
        agreed = {"switch_hedge_mode": True} if self._switch_hedge_mode else {}  # the user said yes [O1]
        self._switch_hedge_mode = False
        agreed |= override_if_asked(self.ask, settings, mode)  # a loss limit breached today and saved [L1, L2]

        def factory(listener):
            return builder(settings, listener, mode=mode, replay_dir=replay_dir if mode == "replay" else None,
                           speed=speed, credentials=credentials, state_dir=None, **agreed)  # own state folder [P]

        self.history.show_account(settings, mode, getattr(credentials, "api_key", None))
        runner = self.runner = RunnerThread(factory, self, self.start_retry_delays)
        runner.events_ready.connect(self._on_events)
        runner.failed.connect(self._on_failed)
        runner.finished.connect(lambda: self._on_runner_finished(runner))
        self._paused = False
        self._last_failure = ""
        self.runner.start()
        remember_trading(self, mode)  # forgotten by a Stop or close the user chose [issue 19, item 8]
        self.state_label.setText(self.tr("Starting…"))
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
        self.state_label.setText(self.tr("Paused: no new entries or hedges; positions kept and tracked")
                                 if self._paused else self.tr("Running"))

    def refresh(self) -> None:
        """F5: while trading, the heartbeat and the account figures now; while stopped, the
        connection test (which re-reads the account and the exchange's symbols) when the mode has one."""
        if self.is_running():
            self.runner.refresh()
            self.statusBar().showMessage(self.tr("Refreshing the account and the heartbeat…"), 5_000)
        elif self.api.test_button.isEnabled():
            self.api.test_connection()

    def stop(self) -> None:
        """Stop asks what closing the window asks when positions are open [issue 19, item 6]."""
        if self.is_running():
            if not confirm_stop(self, self.tr("Flatten all and stop requested")):
                return
            self.state_label.setText(self.tr("Stopping…"))
            self.stop_button.setEnabled(False)
            self.runner.stop()

    def symbol_action(self, action: str, symbol: str) -> None:
        """Pause, resume or flatten one symbol (the status table's right-click menu)."""
        if not self.is_running():
            return
        if action == "flatten":
            if not self.ask(self.tr("Flatten {symbol}").format(symbol=symbol),
                            self.tr("Close every open position (main and hedge) of {symbol} at market now?").format(
                                symbol=symbol)):
                return
            self.runner.flatten(symbol)
        elif action in ("pause", "resume"):
            getattr(self.runner, action)(symbol)
        words = {"flatten": self.tr("Flatten {symbol} requested by the user"),
                 "pause": self.tr("Pause {symbol} requested by the user"),
                 "resume": self.tr("Resume {symbol} requested by the user")}
        self.show_message(words[action].format(symbol=symbol), symbol=symbol)

    def flatten_all(self) -> None:
        if not self.is_running():
            return
        symbols = ", ".join(self.status_table.latest or self._settings.symbols)
        if self.ask(self.tr("Flatten all"), self.tr(
                "Close every open position (main and hedge) of {symbols} at market now?").format(symbols=symbols)):
            self.runner.flatten(None)
            self.show_message(self.tr("Flatten all requested by the user"))

    def _on_call_size_changed(self, symbol: str, qty: float) -> None:
        if self.is_running():
            # The service logs the change once, at its own clock; the window only tells the status bar.
            self.runner.set_call_size(symbol, qty)
            self.statusBar().showMessage(self.tr("CALL_SIZE of {symbol} set to {qty}; applies to the next order")
                                         .format(symbol=symbol, qty=f"{qty:g}"), 15_000)

    def _on_symbols_changed(self, symbols: list[str]) -> None:
        self.log_pane.set_symbols(symbols)
        self.backtest.set_symbols(symbols)
        if not self.is_running():
            self.status_table.set_symbols(symbols)
            self.heartbeat.set_symbols(symbols)
            self.live_chart.set_symbols(symbols)

    def _on_mode_changed(self, mode: str) -> None:
        self.banner.set_mode(mode)
        self.replay_progress.setVisible(mode == "replay")
        try:
            credentials = self.api.credentials_if_entered()
            self.history.show_account(self.current_settings(), mode, getattr(credentials, "api_key", None))
            if not self.is_running():  # the positions held when the bot stopped, before Start
                for row in saved_rows(self.current_settings(), mode):
                    self.status_table.update_row(row)
        except UserError:
            pass  # settings not valid yet: the tab keeps the account it showed

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
            self.state_label.setText(self.tr("Stopped"))

    # ----- confirmations ---------------------------------------------------------------------

    def _live_question(self, credentials: ApiCredentials | None, settings: AppSettings, verb: str) -> str:
        return live_question(credentials, settings, verb, self.strategy.symbols.prices())

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
            elif isinstance(event, StartRetry):
                self.state_label.setText(event.message)
                self.status_table.set_waiting(self.tr("waiting for the network"))
                lines.append(LogEvent(int(time.time() * 1000), "WARNING", event.message))
            elif isinstance(event, ServiceStateEvent):
                self._show_state(event)
            else:
                show_cockpit_event(self, event)  # rows, heartbeat, chart, account, progress
        if lines:
            self.log_pane.append_many(lines)

    def _show_state(self, event: ServiceStateEvent) -> None:
        if event.running:
            text = self.tr("Starting…") if event.detail == "starting" else self.tr("Running")
            self.state_label.setText(self.tr("Paused: no new entries or hedges; positions kept and tracked")
                                     if self._paused and event.detail != "starting" else text)
        else:
            # The service's "stopped; state saved": one sentence, no doubled word.
            self.state_label.setText(self.tr("Stopped; state saved") if "saved" in event.detail
                                     else self.tr("Stopped"))
            show_stopped(self)  # the cockpit's last figures stay, not called stale

    def _on_failed(self, text: str) -> None:
        self._last_failure = text
        self.show_message(text, level="ERROR")
        if self.runner is not None and self.runner.hedge_mode_off and ask_hedge_switch(self.ask):
            self._switch_hedge_mode = True  # start again once this runner has finished
        self.status_table.set_waiting(self.tr("not started"))

    def _on_runner_finished(self, runner: RunnerThread | None = None) -> None:
        if runner is not None and runner is not self.runner:
            return  # a previous run's late signal: the current run is not affected
        forget_trading(self)  # it ended while the window watched: nothing to resume next time
        self._on_events()  # the last events (final status, "stopped")
        self.history.after_run(lambda text: self.show_message(text, level="WARNING"))  # History, trades.csv
        detail = self.state_label.text()
        self._update_buttons()
        if self._switch_hedge_mode:
            return self.start()
        if self._last_failure:
            self.state_label.setText(self._last_failure)
        elif detail.startswith(self.tr("Stopped")):
            self.state_label.setText(detail)

    def show_message(self, text: str, level: str = "INFO", symbol: str | None = None) -> None:
        """A line from the window itself (not the service) in the log pane and the status bar."""
        self.log_pane.append_many([LogEvent(int(time.time() * 1000), level, text, symbol)])
        self.statusBar().showMessage(text, 15_000)

    # ----- closing ---------------------------------------------------------------------------

    def open_positions(self) -> list[str]:
        """The positions the status table shows, e.g. "DOGEUSDT LONG 100", "DOGEUSDT SHORT 100"."""
        return self.status_table.held_positions()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.is_running() and not confirm_stop(self, self.tr("Flatten all and stop requested on closing the window")):
            event.ignore()
            return
        self.save_ui_state()
        if self.is_running():
            self.runner.stop()
            if not self.runner.wait(STOP_WAIT_MS):
                self.show_message(self.tr("The trading service did not stop in time; close again to retry"),
                                  level="ERROR")
                event.ignore()
                return
            self._on_events()  # the service's last lines ("stopped; state saved")
        self.backtest.wait()
        self.optimize.stop_and_wait()
        self.api.wait_for_test()
        event.accept()
