"""Regenerate the README screenshots: ``python -m ui.screenshots [OUT_DIR]``.

Opens the window offscreen with a throw-away user folder, replays the bundled
sample with the real trading service until both symbols hold a position and one
is hedged, and saves the Trading tab (the cockpit) at 1366 x 768 (a common
laptop screen) and at 1024 x 640 (the smallest supported width), the Settings
tab, the History tab (the replay's ledger) after the bot stops, the Backtest tab after a two-month backtest (both sizes), and the Optimize tab after
the README's worked example (walk-forward over 9 settings). ``--language ko``
makes the same shots with the Korean translation loaded (files named ``*_ko*.png``).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

SIZES = {"": (1366, 768), "_1024": (1024, 640)}


def _wait(app, condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)


def main(out_dir: str = "docs/screenshots", language: str = "en", cockpit_only: bool = False) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="autohedge-shots-")
    os.environ["AUTOHEDGE_HOME"] = home
    from PySide6.QtCore import QDate
    from PySide6.QtWidgets import QApplication

    from config.settings import load_settings
    from ui import app as ui_app
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    from ui import i18n
    i18n.install(language, app)
    settings = load_settings(overrides=[f"paths.state_dir={home}/state", f"paths.log_dir={home}/logs"])
    window = MainWindow(ui_app.service_builder(), settings=settings)
    window.ask_close = lambda positions: "keep"
    window.resize(*SIZES[""])
    window.show()
    window.api.speed.setValue(20_000)
    window.start()

    def both_in_a_position() -> bool:
        rows = window.status_table.latest.values()
        return len(window.log_pane.lines()) > 40 and len(rows) == 2 and all(r.main_qty for r in rows) \
            and any(r.hedge_qty for r in rows)

    _wait(app, both_in_a_position, 120)
    # Slow the replay to one 5m bar a second, so the shots show these positions while running.
    window.runner._service.feed.speed = 300  # noqa: SLF001 - a screenshot tool, not the program
    _wait(app, lambda: False, 2.5)  # the heartbeat, account and chart catch up
    symbol = next((r.symbol for r in window.status_table.latest.values() if r.hedge_qty), None)
    if symbol:
        window.live_chart.symbol.setCurrentText(symbol)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lang = "" if language == "en" else f"_{language}"
    for size_suffix, size in SIZES.items():
        window.resize(*size)
        _wait(app, lambda: False, 0.5)
        window.grab().save(str(out / f"main_window{lang}{size_suffix}.png"))
    window.resize(*SIZES[""])
    window.tabs.setCurrentWidget(window.settings_tab)
    _wait(app, lambda: False, 0.5)
    window.grab().save(str(out / f"settings_tab{lang}.png"))

    window.stop()
    _wait(app, lambda: not window.is_running(), 30)
    # The History tab: the replay's ledger (round trips, fills, per-day PnL, equity curve).
    window.tabs.setCurrentWidget(window.history.tab)
    _wait(app, lambda: False, 1.0)
    for size_suffix, size in SIZES.items():
        window.resize(*size)
        _wait(app, lambda: False, 0.5)
        window.grab().save(str(out / f"history_tab{lang}{size_suffix}.png"))
    if cockpit_only:
        window.close()
        print(f"screenshots written to {out}")
        return 0
    window.tabs.setCurrentWidget(window.backtest)
    window.backtest.data_dir.setText("data/sample")
    window.backtest.set_dates(QDate(2023, 7, 1), QDate(2023, 8, 31))
    window.backtest.start()
    _wait(app, lambda: not window.backtest.is_running() and window.backtest.view is not None, 120)
    for size_suffix, size in SIZES.items():
        window.resize(*size)
        window.backtest.charts.setCurrentIndex(0)
        _wait(app, lambda: False, 0.5)
        window.grab().save(str(out / f"backtest_tab{lang}{size_suffix}.png"))
        window.backtest.charts.setCurrentIndex(1)
        _wait(app, lambda: False, 0.5)
        window.grab().save(str(out / f"backtest_trades{lang}{size_suffix}.png"))

    # The Optimize tab after the README's worked example (9 settings, walk-forward 120:30).
    window.resize(*SIZES[""])
    window.tabs.setCurrentWidget(window.optimize)
    optimize = window.optimize
    optimize.data_dir.setText("data/sample")
    optimize.whole_range.setChecked(True)
    optimize.set_param("strategy.exit.take_profit_pct", "0.5,1,2")
    optimize.set_param("strategy.signal.centerline", "45,50,55")
    optimize.walk_forward.setChecked(True)
    optimize.train_days.setValue(120)
    optimize.test_days.setValue(30)
    optimize.start()
    _wait(app, lambda: not optimize.is_running() and optimize.result is not None, 600)
    optimize.table.selectRow(0)
    _wait(app, lambda: False, 0.5)
    window.grab().save(str(out / f"optimize_tab{lang}.png"))
    window.close()
    dialogs(out_dir, language)
    print(f"screenshots written to {out}")
    return 0


def dialogs(out_dir: str = "docs/screenshots", language: str = "en") -> None:
    """The Stop / close question (issue 19, item 6), as the window asks it with two positions open."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from ui import i18n
    from ui.close_dialog import CloseDialog

    app = QApplication.instance() or QApplication([])
    i18n.install(language, app)
    lang = "" if language == "en" else f"_{language}"
    dialog = CloseDialog(["DOGEUSDT SHORT 100", "DOGEUSDT LONG 100", "XRPUSDT LONG 20"])
    dialog.show()
    _wait(app, lambda: False, 0.3)
    dialog.grab().save(str(Path(out_dir) / f"stop_dialog{lang}.png"))
    dialog.close()
    stale_table(out_dir, lang)


def stale_table(out_dir: str, lang: str) -> None:
    """Stale is visible (issue 19, item 5) when nothing arrived for 12 minutes: the account strip
    (its figures in the age colour, "Account figures from 13:05 UTC, 12 min old"), the status
    table (one symbol stale: figures with their age, "no data since"; the other fresh) and the
    heartbeat ("no heartbeat since", the clock offset to Binance)."""
    from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

    from live.events import AccountUpdate, Heartbeat, PositionRisk, StatusRow, StreamState, SymbolRunState
    from ui.account_strip import AccountStrip
    from ui.heartbeat import HeartbeatPanel
    from ui.status_table import StatusTable, fit_height

    app = QApplication.instance()
    moment = [1_764_853_500_000]  # 2025-12-04 13:05 UTC
    box = QWidget()
    layout = QVBoxLayout(box)
    strip, table, heartbeat = AccountStrip(), StatusTable(), HeartbeatPanel()
    for widget in (strip, table, heartbeat):
        widget.clock = lambda: moment[0]
        layout.addWidget(widget)
    strip.update_account(AccountUpdate(moment[0], 1000.0, 1001.2, 1.2, 0.4, 0.1, 0.8, (
        PositionRisk("DOGEUSDT", "LONG", 100.0, 0.3, 0.31234, 1.234, 0.2405, leverage=5),), funding_today=-0.0123))
    table.update_row(StatusRow("DOGEUSDT", "UP", SymbolRunState.RUNNING, "", 0.31234, "LONG", 100.0, 0.3,
                               1.234, 4.11, None, 0.0, None, None, 100.0, main_roe_pct=19.75))
    heartbeat.set_symbols(["DOGEUSDT", "XRPUSDT"])
    heartbeat.set_stream(StreamState("connected"))
    heartbeat.update_heartbeat(Heartbeat("DOGEUSDT", moment[0], moment[0], "UP", None, (), 120))
    moment[0] += 12 * 60_000
    table.update_row(StatusRow("XRPUSDT", "DOWN", SymbolRunState.RUNNING, "", 2.1034, "SHORT", 20.0, 2.1102,
                               0.136, 0.32, "LONG", 20.0, 2.1201, -0.334, 20.0, main_roe_pct=1.62,
                               hedge_roe_pct=-3.97))
    heartbeat.update_heartbeat(Heartbeat("XRPUSDT", moment[0], moment[0], "DOWN", None, (), 120))
    table.refresh_ages()
    strip.refresh_age()
    heartbeat.refresh_ages()
    fit_height(table)
    box.setFixedWidth(1200)
    box.show()
    _wait(app, lambda: False, 0.3)
    heartbeat._show_countdowns()  # noqa: SLF001 - the timer's line, drawn now
    box.grab().save(str(Path(out_dir) / f"stale_state{lang}.png"))
    box.close()


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(prog="python -m ui.screenshots")
    parser.add_argument("out_dir", nargs="?", default="docs/screenshots")
    parser.add_argument("--language", choices=("en", "ko"), default="en",
                        help="the window's language; Korean files are named *_ko*.png")
    parser.add_argument("--dialogs", action="store_true", help="only the dialogs (no trading session)")
    parser.add_argument("--cockpit-only", action="store_true",
                        help="only the Trading, Settings and History tabs (no backtest or optimization run)")
    args = parser.parse_args()
    if args.dialogs:
        dialogs(args.out_dir, args.language)
        sys.exit(0)
    sys.exit(main(args.out_dir, args.language, args.cockpit_only))
