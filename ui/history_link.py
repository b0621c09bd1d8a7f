"""The History tab inside the window: which account's ledger it shows, and when it reads it again.

The tab (ui/history_tab.py) reads a ledger file; this module points it at the ledger of the
account the window trades (the same path the trading service writes, live/ledger_link.py) and
refreshes it when the tab is shown, a short moment after fills (many fills of one bar are one
read), and when the service stops (its round trips are rebuilt then).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from config.paths import keep_previous
from live.assemble import default_state_dir
from live.journal import FillJournal
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
        self.state_dir = default_state_dir(settings, mode)
        path = window_ledger_path(settings, mode, api_key)
        if path != self.tab.ledger_path:
            self.tab.ledger_path = path
            self.refresh_if_shown()

    def write_trades_csv(self) -> Path | None:
        """When the bot stops: the same trades.csv [B3] as ``main.py run``, in the mode's state
        folder, rendered from its fills journal; the previous file is kept as trades.csv.bak."""
        state_dir = getattr(self, "state_dir", None)
        journal_path = state_dir / "fills.jsonl" if state_dir is not None else None
        if journal_path is None or not journal_path.exists():
            return None
        target = state_dir / "trades.csv"
        keep_previous(target)
        FillJournal(journal_path, durable=False).write_trades_csv(target)
        return target

    def after_run(self, warn) -> None:
        """The bot stopped: refresh the History tab (the service rebuilt the round trips) and write
        trades.csv; a file that cannot be written is one sentence through ``warn``."""
        self.refresh_if_shown()
        try:
            self.write_trades_csv()
        except OSError as exc:
            warn(self.tr("trades.csv not written: {reason}").format(reason=exc))

    def fill_seen(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def refresh_if_shown(self) -> None:
        if self.tab.isVisible():
            self.tab.refresh()
