"""The selftest's Qt check: the platform plugin loads and a window can be shown.

Lives in the GUI layer so the runner never imports Qt (``runner.selftest``
loads it by name). With no display (a Linux server or CI), Qt is told to use
its ``offscreen`` platform, which needs none; on Windows and macOS the real
platform plugin is loaded, which is what a frozen build most often lacks.
"""
from __future__ import annotations

import os
import sys

WINDOW_TITLE = "AutoHedge selftest"


def needs_offscreen(environ: dict[str, str] | os._Environ = os.environ, platform: str = sys.platform) -> bool:
    """True on Linux/BSD without an X or Wayland display and no platform chosen by the user."""
    if environ.get("QT_QPA_PLATFORM") or platform in ("win32", "darwin"):
        return False
    return not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def check_qt_window() -> str:
    """Show a small window, let Qt draw it, close it. Returns the PASS detail; raises on failure."""
    if needs_offscreen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "autohedge"])
    label = QLabel(WINDOW_TITLE)
    label.setWindowTitle(WINDOW_TITLE)
    label.show()
    app.processEvents()
    shown = label.isVisible() and label.width() > 0
    picture = label.grab()
    label.close()
    app.processEvents()
    if not shown or picture.isNull():
        raise RuntimeError(f"Qt platform {app.platformName()!r} loaded but could not show a window")
    return f"platform {app.platformName()}, a window was shown and closed"
