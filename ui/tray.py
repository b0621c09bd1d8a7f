"""Desktop notifications through the system tray (QSystemTrayIcon.showMessage).

Where the desktop has no tray (a server, the offscreen test platform) there is no
desktop sink at all: :func:`desktop_sink` returns None and alerts go only to the
other destinations. ``send`` may be called from the alert thread: it emits a
signal, and the notification is shown on the GUI thread.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QStyle, QSystemTrayIcon, QWidget

from live.alerts import Alert

SHOW_MS = 10_000


class TrayNotifier(QObject):
    name = "desktop notification"
    _show = Signal(str, str, bool)

    def __init__(self, window: QWidget):
        super().__init__(window)
        icon = window.windowIcon()
        if icon.isNull():
            icon = window.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)
        self.tray = QSystemTrayIcon(QIcon(icon), window)
        self.tray.setToolTip("AutoHedge")
        self.tray.show()
        self.shown: list[tuple[str, str]] = []
        self._show.connect(self._on_show)  # queued when emitted from the alert thread

    def send(self, alert: Alert) -> None:
        self._show.emit(alert.title, alert.body, alert.kind in ("errors", "liquidations", "stopped"))

    def _on_show(self, title: str, body: str, warning: bool) -> None:
        self.shown.append((title, body))
        icon = QSystemTrayIcon.MessageIcon.Warning if warning else QSystemTrayIcon.MessageIcon.Information
        self.tray.showMessage(title, body, icon, SHOW_MS)


def desktop_sink(window: QWidget) -> TrayNotifier | None:
    """A tray notifier, or None where this desktop has no system tray."""
    if not QSystemTrayIcon.isSystemTrayAvailable():
        return None
    return TrayNotifier(window)
