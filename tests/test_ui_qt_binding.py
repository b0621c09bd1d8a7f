"""Guard for the pinned Qt binding: PySide6-Essentials 6.12.0 on Python 3.11 drops a
reference to None on every void method call (setText, setToolTip, ...), so a window
that updates its table for a while aborts with 'none_dealloc'. This fails on such a
binding, before the GUI tests crash the whole run."""
from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_void_qt_calls_keep_the_reference_count_of_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
        label.setToolTip("")
    assert sys.getrefcount(None) >= before - 50  # allow unrelated churn, not one loss per call
