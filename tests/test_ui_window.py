"""The trader's window, driven headless with pytest-qt against the REAL trading service (replay mode).

Issue 6 acceptance: fill the settings, start a replay, see rows and log lines
appear, pause, resume, stop; invalid input refused; closing stops the runner
and persists geometry and non-secret settings.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import Qt

from adapters import kline_files
from config.settings import load_settings, read_settings_file
from live.events import SymbolRunState
from ui import app as ui_app
from ui.main_window import MainWindow

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
SYMBOLS = ("DOGEUSDT", "ALGOUSDT")
REPLAY_DAYS = 3


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("AUTOHEDGE_HOME", str(path))
    return path


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory) -> Path:
    """The last days of the bundled sample (real klines), with the daily files for warm-up."""
    folder = tmp_path_factory.mktemp("replay")
    for symbol in SYMBOLS:
        frame = kline_files.load_symbol(SAMPLE, symbol, "5m").frame
        frame.tail(REPLAY_DAYS * 288).to_csv(folder / f"{symbol}-5m.csv", index=False)
        kline_files.load_symbol(SAMPLE, symbol, "1d").frame.to_csv(folder / f"{symbol}-1d.csv", index=False)
    return folder


@pytest.fixture
def settings(tmp_path):
    return load_settings(overrides=[f"paths.state_dir={tmp_path / 'state'}", f"paths.log_dir={tmp_path / 'logs'}"])


def make_window(qtbot, settings=None, **kwargs) -> MainWindow:
    window = MainWindow(ui_app.service_builder(), settings=settings, **kwargs)
    qtbot.addWidget(window)
    window.show()
    return window


def start_replay(qtbot, window: MainWindow, folder: Path, speed: float) -> None:
    window.api.set_mode("replay")
    window.api.replay_dir.setText(str(folder))
    window.api.speed.setValue(speed)
    qtbot.mouseClick(window.start_button, Qt.LeftButton)
    assert window.is_running()


def edit_field(qtbot, field, text: str) -> None:
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)
    field.editingFinished.emit()


def states(window: MainWindow) -> set[SymbolRunState]:
    return {row.state for row in window.status_table.latest.values()}


def test_replay_shows_rows_and_log_lines_then_pause_resume_stop(qtbot, home, settings, replay_dir):
    window = make_window(qtbot, settings)
    edit_field(qtbot, window.strategy.field("strategy.exit.take_profit_pct"), "0.8")
    size_item = window.strategy.symbols.table.item(0, 1)
    size_item.setText("120")  # DOGEUSDT CALL_SIZE
    assert window.strategy.symbols.sizes()["DOGEUSDT"] == 120

    start_replay(qtbot, window, replay_dir, speed=60_000)  # 5 ms per 5m bar: a few seconds in all
    qtbot.waitUntil(lambda: all(window.status_table.cell_text(s, "Price") for s in SYMBOLS), timeout=20_000)
    qtbot.waitUntil(lambda: any("[R2]" in line for line in window.log_pane.lines()), timeout=20_000)
    assert window.status_table.latest["DOGEUSDT"].call_size == 120
    assert window.status_table.cell_text("DOGEUSDT", "Regime") in ("UP", "DOWN")
    assert window.strategy.symbols.table.item(0, 2).text()  # the size editor shows the live price

    qtbot.mouseClick(window.pause_button, Qt.LeftButton)
    assert window.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: states(window) == {SymbolRunState.PAUSED}, timeout=10_000)

    qtbot.mouseClick(window.pause_button, Qt.LeftButton)
    assert window.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: states(window) == {SymbolRunState.RUNNING}, timeout=10_000)

    qtbot.mouseClick(window.stop_button, Qt.LeftButton)
    # The thread ends before its queued ``finished`` slot re-enables the buttons: wait for the slot.
    qtbot.waitUntil(lambda: not window.is_running() and window.start_button.isEnabled(), timeout=15_000)
    assert not window.stop_button.isEnabled()
    assert states(window) == {SymbolRunState.STOPPED}
    assert window.strategy.field("strategy.exit.take_profit_pct").isReadOnly() is False


def test_log_pane_filters_by_symbol(qtbot, home, settings, replay_dir):
    window = make_window(qtbot, settings)
    start_replay(qtbot, window, replay_dir, speed=0)
    qtbot.waitUntil(lambda: not window.is_running(), timeout=30_000)
    everything = window.log_pane.lines()
    assert any(" DOGEUSDT " in line for line in everything) and any(" ALGOUSDT " in line for line in everything)
    window.log_pane.filter.setCurrentText("ALGOUSDT")
    shown = window.log_pane.lines()
    assert shown and not any(" DOGEUSDT " in line for line in shown)
    assert len(shown) < len(everything)


def test_call_size_change_while_running_reaches_the_service(qtbot, home, settings, replay_dir):
    window = make_window(qtbot, settings)
    start_replay(qtbot, window, replay_dir, speed=20_000)
    qtbot.waitUntil(lambda: "ALGOUSDT" in window.status_table.latest, timeout=20_000)
    assert not window.strategy.symbols.add_button.isEnabled()  # symbols are fixed while running
    window.strategy.symbols.table.item(1, 1).setText("75")
    qtbot.waitUntil(lambda: window.status_table.latest["ALGOUSDT"].call_size == 75, timeout=15_000)
    qtbot.waitUntil(lambda: any("CALL_SIZE set to 75" in line for line in window.log_pane.lines()), timeout=5_000)
    assert sum("CALL_SIZE" in line and "75" in line for line in window.log_pane.lines()) == 1  # logged once
    window.stop()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=15_000)


def test_invalid_input_is_refused_at_the_field(qtbot, home, settings):
    window = make_window(qtbot, settings)
    tp = window.strategy.field("strategy.exit.take_profit_pct")
    tp.setFocus()
    tp.selectAll()
    qtbot.keyClicks(tp, "abc")
    assert not tp.is_valid() and "not a number" in window.strategy.messages.text()
    qtbot.mouseClick(window.start_button, Qt.LeftButton)  # refused while a field is invalid
    assert not window.is_running()
    tp.editingFinished.emit()
    assert tp.value() == 1.0 and tp.text() == "1"  # refused: back to the value in use

    window.strategy.leverage.setValue(500)  # a spin box: Binance's bounds, nothing else can be typed
    assert window.strategy.leverage.value() == 125
    window.strategy.leverage.setValue(5)
    edit_field(qtbot, window.strategy.field("strategy.rsi_length"), "2.5")
    assert "whole number" in window.strategy.messages.text()

    editor = window.strategy.symbols
    editor.table.item(0, 1).setText("-3")
    assert editor.sizes()["DOGEUSDT"] == 100 and editor.table.item(0, 1).text() == "100"
    assert "must be > 0" in editor.message.text()
    qtbot.keyClicks(editor.new_symbol, "doge")
    qtbot.keyClicks(editor.new_size, "10")
    qtbot.mouseClick(editor.add_button, Qt.LeftButton)
    assert "not a USDT-M futures symbol" in editor.message.text() and list(editor.sizes()) == list(SYMBOLS)
    editor.new_symbol.setText("xrpusdt")
    qtbot.mouseClick(editor.add_button, Qt.LeftButton)
    assert editor.sizes()["XRPUSDT"] == 10
    assert window.log_pane.filter.findText("XRPUSDT") >= 0  # the rest of the window follows


def test_macd_fast_equal_slow_shows_the_s3_warning(qtbot, home, settings):
    window = make_window(qtbot, settings)
    assert window.strategy.s3_warning.text() == ""
    window.strategy.reference.setCurrentIndex(window.strategy.reference.findData("macd"))
    assert "[S3]" in window.strategy.s3_warning.text() and "identically zero" in window.strategy.s3_warning.text()
    edit_field(qtbot, window.strategy.field("strategy.signal.macd.slow"), "26")
    assert window.strategy.s3_warning.text() == ""
    edit_field(qtbot, window.strategy.field("strategy.signal.macd.fast"), "30")
    with pytest.raises(Exception, match="must not exceed"):
        window.current_settings()


def test_notional_under_the_exchange_minimum_is_flagged(qtbot, home, settings):
    window = make_window(qtbot, settings)
    editor = window.strategy.symbols
    editor.set_price("DOGEUSDT", 0.06)  # 100 x 0.06 = 6 USDT: above 5
    assert editor.warnings() == []
    editor.table.item(0, 1).setText("50")  # 3 USDT
    assert "under the exchange minimum of 5 USDT" in editor.message.text()
    editor.set_exchange_info({"DOGEUSDT", "ALGOUSDT"}, {"DOGEUSDT": 2.0})
    assert editor.warnings() == []


def test_live_switch_and_flatten_ask_for_confirmation(qtbot, home, settings, replay_dir):
    window = make_window(qtbot, settings)
    questions: list[str] = []
    answers = iter([False, True])
    window.ask = lambda title, question: questions.append(question) or next(answers)
    window.api.api_key.setText("LIVEKEYABCDEFGH123456")
    window.api.api_secret.setText("not-the-real-secret")
    live = window.api.mode.findData("live")
    window.api.mode.setCurrentIndex(live)
    assert window.api.current_mode() == "replay"  # declined: nothing changed
    window.api.mode.setCurrentIndex(live)
    assert window.api.current_mode() == "live"
    assert "REAL MONEY" in questions[0] and "***3456" in questions[0]
    assert "DOGEUSDT: CALL_SIZE 100, 5x ISOLATED" in questions[0] and "ALGOUSDT: CALL_SIZE 50, 5x ISOLATED" in questions[0]
    assert "0.1 % per round trip" in questions[0]

    window.api.set_mode("replay")
    start_replay(qtbot, window, replay_dir, speed=5_000)
    asked: list[str] = []
    window.ask = lambda title, question: asked.append(question) or False
    qtbot.mouseClick(window.flatten_button, Qt.LeftButton)
    assert asked and "Close every open position" in asked[0]
    assert not any("Flatten all requested" in line for line in window.log_pane.lines())
    window.ask = lambda title, question: True
    qtbot.mouseClick(window.flatten_button, Qt.LeftButton)
    assert any("Flatten all requested" in line for line in window.log_pane.lines())
    window.stop()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=15_000)


def test_closing_stops_the_runner_and_settings_persist(qtbot, home, settings, replay_dir, tmp_path):
    window = make_window(qtbot, settings)
    edit_field(qtbot, window.strategy.field("strategy.exit.max_hold_bars"), "36")
    window.resize(window.width(), 560)  # the offscreen screen is 800 x 600: a height it can restore as is
    start_replay(qtbot, window, replay_dir, speed=2_000)
    qtbot.waitUntil(lambda: bool(window.status_table.latest), timeout=20_000)
    runner = window.runner
    window.ask_close = lambda positions: "keep"  # positions may be open: stop and keep them (the state is saved)
    size_at_close = (window.width(), window.height())
    window.close()
    assert runner.isFinished()
    assert sorted(p.name for p in (tmp_path / "state" / "replay").glob("*.json")) == ["ALGOUSDT.json", "DOGEUSDT.json"]
    saved = read_settings_file(home / "settings.yaml")
    assert saved["strategy"]["exit"]["max_hold_bars"] == 36 and saved["paths"]["state_dir"] == str(tmp_path / "state")

    again = MainWindow(ui_app.service_builder())  # loads the user's file, not the bundled defaults
    qtbot.addWidget(again)
    assert again.strategy.field("strategy.exit.max_hold_bars").value() == 36
    assert again.api.replay_dir.text() == str(replay_dir) and again.api.speed.value() == 2_000
    assert again.height() == size_at_close[1] == 560  # not the default 768: the geometry was restored


def test_symbols_can_be_added_and_removed_but_not_all(qtbot, home, settings):
    window = make_window(qtbot, settings)
    editor = window.strategy.symbols
    before = editor.sizes()
    editor.new_symbol.setText("XRPUSDT")
    editor.new_size.setText("40")
    editor.add_button.click()
    assert editor.sizes() == {**before, "XRPUSDT": 40.0}

    editor.table.selectRow(list(editor.sizes()).index("XRPUSDT"))
    editor.remove_button.click()
    assert editor.sizes() == before

    editor.table.selectAll()
    editor.remove_button.click()
    assert editor.sizes() == before, "the last symbols cannot all be removed"


def test_right_click_pauses_resumes_and_flattens_one_symbol(qtbot, home, settings, replay_dir):
    window = make_window(qtbot, settings)
    start_replay(qtbot, window, replay_dir, speed=2_000)
    qtbot.waitUntil(lambda: len(window.status_table.latest) == 2 and states(window) == {SymbolRunState.RUNNING},
                    timeout=20_000)

    def trigger(action_label: str) -> None:
        menu = window.status_table.menu_for("DOGEUSDT")
        next(a for a in menu.actions() if a.text() == action_label).trigger()

    def state_of(symbol: str) -> SymbolRunState:
        return window.status_table.latest[symbol].state

    trigger("Pause DOGEUSDT")
    qtbot.waitUntil(lambda: state_of("DOGEUSDT") is SymbolRunState.PAUSED, timeout=10_000)
    assert state_of("ALGOUSDT") is SymbolRunState.RUNNING

    trigger("Resume DOGEUSDT")
    qtbot.waitUntil(lambda: state_of("DOGEUSDT") is SymbolRunState.RUNNING, timeout=10_000)

    asked: list[str] = []
    window.ask = lambda title, question: asked.append(question) or True
    trigger("Flatten DOGEUSDT…")
    assert asked and "DOGEUSDT" in asked[0] and "ALGOUSDT" not in asked[0]
    qtbot.waitUntil(lambda: any("DOGEUSDT" in line and ("[manual]" in line or "flatten requested, no open position"
                                                         in line) for line in window.log_pane.lines()),
                    timeout=10_000)
    assert not any("ALGOUSDT" in line and "[manual]" in line for line in window.log_pane.lines())
    window.stop()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=15_000)


def test_cyclic_garbage_is_collected_on_the_gui_thread_only(qtbot):
    """A worker thread never runs the collector (it could free Qt objects there and deadlock);
    the GUI thread's timer does, so cycles are still freed."""
    import gc
    import weakref

    from ui import gui_gc

    collector = gui_gc.install()
    assert not gc.isenabled() and collector.timer.isActive()

    class Cycle:
        pass

    first = Cycle()
    first.other = Cycle()
    first.other.other = first
    alive = weakref.ref(first)
    del first
    keep = [Cycle() for _ in range(gc.get_threshold()[0] * 2)]  # generation 0 beyond its threshold
    assert alive() is not None  # no collection happened while allocating (on this or any other thread)
    qtbot.waitUntil(lambda: alive() is None, timeout=10_000)  # the GUI thread's timer collected it
    del keep
