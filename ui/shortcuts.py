"""Keyboard shortcuts of the trader's window: Ctrl+Enter Start, Ctrl+P Pause/Resume, F5 refresh.

A shortcut presses the button itself (``click``), so it does exactly what the
button does and nothing while the button is disabled (Start while running...).
F5 calls the window's ``refresh()`` when it has one (the account view), else it
runs the connection test, which re-reads the account and the exchange's symbols.
The buttons' tooltips name their shortcut.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow

from ui.accessibility import describe

# (button attribute, key sequences, accessible name, tooltip)
BUTTONS = (
    ("start_button", ("Ctrl+Return", "Ctrl+Enter"), QT_TRANSLATE_NOOP("Shortcuts", "Start trading"),
     QT_TRANSLATE_NOOP("Shortcuts", "Start trading in the chosen mode (Ctrl+Enter)")),
    ("pause_button", ("Ctrl+P",), QT_TRANSLATE_NOOP("Shortcuts", "Pause or resume"),
     QT_TRANSLATE_NOOP("Shortcuts", "Pause: no new entries or hedges, positions kept and still exited by the "
                                    "rules; press again to resume (Ctrl+P)")),
    ("stop_button", (), QT_TRANSLATE_NOOP("Shortcuts", "Stop trading"),
     QT_TRANSLATE_NOOP("Shortcuts", "Stop after the current step; the state is saved, positions stay open")),
    ("flatten_button", (), QT_TRANSLATE_NOOP("Shortcuts", "Flatten all"),
     QT_TRANSLATE_NOOP("Shortcuts", "Close every open position at market now (asks first)")),
)
REFRESH_KEY = "F5"


def _tr(text: str) -> str:
    return QCoreApplication.translate("Shortcuts", text)


def refresh(window: QMainWindow) -> None:
    own = getattr(window, "refresh", None)
    if callable(own):
        own()
    elif window.api.test_button.isEnabled():
        window.api.test_connection()


def install_shortcuts(window: QMainWindow) -> list[QShortcut]:
    shortcuts = []
    for attribute, keys, name, tip in BUTTONS:
        button = getattr(window, attribute, None)
        if button is None:
            continue
        describe(button, _tr(name), _tr(tip))
        for key in keys:
            shortcut = QShortcut(QKeySequence(key), window)
            shortcut.activated.connect(button.click)
            shortcuts.append(shortcut)
    shortcut = QShortcut(QKeySequence(REFRESH_KEY), window)
    shortcut.activated.connect(lambda: refresh(window))
    shortcuts.append(shortcut)
    return shortcuts
