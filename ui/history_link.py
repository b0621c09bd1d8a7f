"""The History tab inside the window: which account's ledger it shows, and when it reads it again.

The tab (ui/history_tab.py) reads a ledger file; this module points it at the ledger of the
account the window trades (the same path the trading service writes, live/ledger_link.py) and
refreshes it when the tab is shown, a short moment after fills (many fills of one bar are one
read), and when the service stops (its round trips are rebuilt then).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from live.assemble import default_state_dir
from live.ledger_link import account_ledger_path
from ui.history_tab import HistoryTab

REFRESH_AFTER_FILL_MS = 1_000


def window_ledger_path(settings, mode: str, api_key: str | None) -> Path:
    return account_ledger_path(default_state_dir(settings, mode), mode, api_key)


class HistoryLink(QObject):
    def __init__(self, tab: HistoryTab, parent: QObject | None = None):
        super().__init__(parent)
        self.tab = tab
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_AFTER_FILL_MS)
        self._timer.timeout.connect(self.refresh_if_shown)

    def show_account(self, settings, mode: str, api_key: str | None) -> None:
        """Point the tab at this account's ledger (on start, and when the mode or key changes)."""
        path = window_ledger_path(settings, mode, api_key)
        if path != self.tab.ledger_path:
            self.tab.ledger_path = path
            self.refresh_if_shown()

    def fill_seen(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refresh_if_shown(self) -> None:
        if self.tab.isVisible():
            self.tab.refresh()
