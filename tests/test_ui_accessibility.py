"""Issue 13 item 9 (part): every input has a tooltip and an accessible name, labels are tied to
their fields, and Ctrl+Enter / Ctrl+P / F5 do what the buttons do.

The walk visits whatever inputs the window holds, so inputs added later are covered too.
"""
from __future__ import annotations

import threading

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox, QHeaderView, QLabel, QLineEdit, QPlainTextEdit, QTabBar,
    QMenuBar, QTextEdit, QWidget,
)

from config.settings import load_settings
from live.events import ServiceStateEvent
from ui.alerts_dialog import AlertsDialog
from ui.main_window import MainWindow

INPUTS = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QPlainTextEdit, QTextEdit, QAbstractItemView)
# Parts of other widgets: a spin box's line edit, a tab bar's arrows, a menu bar's overflow button, an item
# view's editors and headers, a chart's own controls.
PARTS_OF = (QAbstractSpinBox, QComboBox, QTabBar, QMenuBar, QAbstractItemView, pg.GraphicsView)


def is_input(widget: QWidget) -> bool:
    if not isinstance(widget, INPUTS):
        return False
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, PARTS_OF):
            return False
        parent = parent.parentWidget()
    return True


def inputs_of(root: QWidget) -> list[QWidget]:
    found = []
    for widget in root.findChildren(QWidget):
        if not is_input(widget) or isinstance(widget, QHeaderView):
            continue
        if isinstance(widget, QAbstractItemView) and widget.editTriggers() == QAbstractItemView.NoEditTriggers:
            continue  # a read-only table (status, backtest summary) shows results; it is not an input
        found.append(widget)
    return found


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path))
    FakeService.last = None  # nothing carried over from another test
    window = MainWindow(FakeService.build, settings=load_settings())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def describe(widget: QWidget) -> str:
    return f"{type(widget).__name__} {widget.objectName()!r} text={getattr(widget, 'text', lambda: '')()!r}"


def test_every_input_of_the_window_has_a_tooltip_and_an_accessible_name(window):
    inputs = inputs_of(window)
    assert len(inputs) >= 45  # connection, strategy, symbols, log filter, controls, backtest, optimize, chart
    optimize = window.optimize
    for widget in (window.live_chart.symbol, optimize.data_dir, optimize.objective, optimize.method, optimize.trials,
                   optimize.walk_forward, optimize.train_days, optimize.test_days, optimize.jobs, optimize.params,
                   optimize.run_button, optimize.heat_x, optimize.heat_y, optimize.heat_side):
        assert widget in inputs, describe(widget)  # the cockpit's and the Optimize tab's inputs are walked
    assert [describe(w) for w in inputs if not w.toolTip().strip()] == []
    assert [describe(w) for w in inputs if not w.accessibleName().strip()] == []


def test_every_input_of_the_alerts_dialog_has_a_tooltip_and_an_accessible_name(qtbot):
    dialog = AlertsDialog(load_settings().alerts, True, load_urls=lambda: [], save_urls=lambda urls: None)
    qtbot.addWidget(dialog)
    inputs = inputs_of(dialog)
    assert len(inputs) >= 8
    assert [describe(w) for w in inputs if not (w.toolTip().strip() and w.accessibleName().strip())] == []


def test_labels_are_tied_to_their_fields(window):
    buddies = {label.buddy() for label in window.findChildren(QLabel) if label.buddy() is not None}
    fields = [window.api.mode, window.api.replay_dir, window.api.speed, window.api.api_key, window.api.api_secret,
              window.strategy.reference, window.strategy.entry, *window.strategy.fields.values(),
              window.log_pane.filter, window.backtest.data_dir, window.backtest.start_date, window.backtest.end_date,
              window.backtest.symbols, window.live_chart.symbol, window.optimize.data_dir,
              window.optimize.start_date, window.optimize.end_date, window.optimize.objective,
              window.optimize.trials, window.optimize.train_days, window.optimize.test_days, window.optimize.jobs,
              window.optimize.heat_x, window.optimize.heat_y]
    assert [describe(f) for f in fields if f not in buddies] == []


def test_a_validated_field_keeps_its_tooltip_under_an_error_message(window, qtbot):
    field = window.strategy.field("strategy.exit.take_profit_pct")
    help_text = field.toolTip()
    assert "[X1]" in help_text
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "abc")
    assert "not a number" in field.toolTip() and help_text in field.toolTip()
    field.editingFinished.emit()  # refused: the last valid value is back
    field.setText("1")
    field.editingFinished.emit()
    assert field.toolTip() == help_text


# ----- shortcuts ---------------------------------------------------------------------------------

class FakeService:
    """Stands in for the trading service: runs until stopped, records pauses (the window is under test)."""

    last: "FakeService | None" = None

    def __init__(self, listener):
        self.listener = listener
        self.stopped = threading.Event()
        self.calls: list[str] = []
        self.cockpit = self  # F5 asks the cockpit for a refresh

    def refresh_soon(self):
        self.calls.append("refresh")

    @classmethod
    def build(cls, settings, listener, **kwargs):
        cls.last = cls(listener)
        return cls.last

    def run(self):
        self.listener(ServiceStateEvent(True, "starting"))
        self.stopped.wait(60)
        self.listener(ServiceStateEvent(False, "stopped; state saved"))

    def stop(self):
        self.stopped.set()

    def pause(self, symbol=None):
        self.calls.append("pause")

    def resume(self, symbol=None):
        self.calls.append("resume")

    def flatten(self, symbol=None):
        self.calls.append("flatten")

    def set_call_size(self, symbol, qty):
        self.calls.append("set_call_size")


def press(qtbot, window, key, modifier=Qt.NoModifier):
    window.activateWindow()
    qtbot.keyClick(window.status_table, key, modifier)


def test_ctrl_enter_starts_ctrl_p_pauses_and_resumes(window, qtbot, tmp_path):
    window.api.replay_dir.setText(str(tmp_path))  # an existing folder: the fake service reads nothing
    press(qtbot, window, Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.is_running() and FakeService.last is not None, timeout=10_000)
    press(qtbot, window, Qt.Key_Return, Qt.ControlModifier)  # Start is disabled while running: nothing happens
    press(qtbot, window, Qt.Key_P, Qt.ControlModifier)
    assert window.pause_button.text() == "Resume"
    press(qtbot, window, Qt.Key_P, Qt.ControlModifier)
    qtbot.waitUntil(lambda: FakeService.last.calls == ["pause", "resume"], timeout=10_000)
    window.stop()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=10_000)


def test_f5_refreshes_the_cockpit_while_trading_and_tests_the_connection_while_stopped(
        window, qtbot, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(window.api, "test_connection", lambda: calls.append("test"))
    window.api.set_mode("replay")
    press(qtbot, window, Qt.Key_F5)
    assert calls == []  # nothing to refresh in a stopped replay: the test button is disabled
    window.api.test_button.setEnabled(True)
    press(qtbot, window, Qt.Key_F5)
    assert calls == ["test"]
    window.api.replay_dir.setText(str(tmp_path))
    window.start()
    qtbot.waitUntil(lambda: window.is_running() and FakeService.last is not None, timeout=10_000)
    qtbot.waitUntil(lambda: window.runner._service is not None, timeout=10_000)  # noqa: SLF001
    press(qtbot, window, Qt.Key_F5)
    assert FakeService.last.calls == ["refresh"] and calls == ["test"]  # the running bot's cockpit, no test
    window.stop()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=10_000)
