"""The window fits the screen (issue 20): the first opening within the available area (taskbar
excluded), remembered afterwards; usable at 1024x640 and at 150 % scaling."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_ui_window import home, make_window, settings  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


def test_first_opening_lies_inside_the_available_screen_area_and_is_remembered(qtbot, home, settings):
    window = make_window(qtbot, settings)
    area = window.screen().availableGeometry()
    assert area.contains(window.frameGeometry()) or area.contains(window.geometry())
    assert window.width() <= area.width() and window.height() <= area.height()
    window.resize(760, 520)
    window.move(area.left() + 30, area.top() + 40)
    window.save_ui_state()
    again = make_window(qtbot, settings)
    assert (again.width(), again.height()) == (760, 520), "the size chosen by the user is kept"


def test_every_tab_is_usable_in_1024_by_640(qtbot, home, settings):
    window = make_window(qtbot, settings)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        hint = window.minimumSizeHint()
        assert hint.width() <= 1024 and hint.height() <= 640, window.tabs.tabText(index)
    window.tabs.setCurrentWidget(window.trading_tab)
    window.resize(1024, 640)
    qtbot.wait(10)
    assert window.log_pane.isVisible() and window.live_chart.isVisible()
    assert window.live_chart.height() > 80 and window.status_table.height() > 60


SCALED = """
import json, os
from PySide6.QtWidgets import QApplication
app = QApplication([])
from ui import app as ui_app
from ui.main_window import MainWindow
window = MainWindow(ui_app.service_builder())
window.show()
app.processEvents()
hints = []
for index in range(window.tabs.count()):
    window.tabs.setCurrentIndex(index)
    hints.append([window.minimumSizeHint().width(), window.minimumSizeHint().height()])
print(json.dumps({"ratio": window.devicePixelRatio(), "hints": hints}))
window.close()
"""


def test_at_150_percent_scaling_the_window_fits_a_1366_by_768_laptop(tmp_path):
    env = {**os.environ, "QT_SCALE_FACTOR": "1.5", "QT_QPA_PLATFORM": "offscreen", "AUTOHEDGE_HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    answer = subprocess.run([sys.executable, "-c", SCALED], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert answer.returncode == 0, answer.stderr[-2000:]
    figures = json.loads(answer.stdout.strip().splitlines()[-1])
    assert figures["ratio"] == 1.5
    for width, height in figures["hints"]:  # logical pixels x 1.5 = the screen's pixels
        assert width * 1.5 <= 1366 and height * 1.5 <= 768
