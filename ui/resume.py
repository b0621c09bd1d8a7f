"""Resume after a crash or a reboot (issue 19, item 8): the window remembers it was trading.

Start remembers the mode it trades in (QSettings ``trading_mode``, never a secret); a Stop or a
close the user chose forgets it. So when the window opens and the mode is still remembered, the
last session ended without the user stopping it (a crash, a reboot, a power cut, a kill), and
the window offers to start again. Saying yes only presses Start: the account lock, the live
question (for live) and the reconciliation with the exchange come first, as on every start.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

if TYPE_CHECKING:
    from ui.main_window import MainWindow

KEY = "trading_mode"


def remember_trading(window: MainWindow, mode: str) -> None:
    window._ui_state.setValue(KEY, mode)  # noqa: SLF001 - the window's QSettings
    window._ui_state.sync()  # noqa: SLF001 - on disk now: a crash a moment later still finds it


def forget_trading(window: MainWindow) -> None:
    window._ui_state.remove(KEY)  # noqa: SLF001
    window._ui_state.sync()  # noqa: SLF001


def was_trading(window: MainWindow) -> str:
    """The mode the last session traded in when it ended without Stop; "" otherwise."""
    return str(window._ui_state.value(KEY, "") or "")  # noqa: SLF001


def offer_resume(window: MainWindow) -> bool:
    """Ask once whether to trade again; True when Start was pressed."""
    mode = was_trading(window)
    if not mode:
        return False
    forget_trading(window)  # asked once: a "no" is not asked again
    names = {"replay": QCoreApplication.translate("Resume", "simulated trading"), "paper": QCoreApplication.translate("Resume", "paper trading"), "testnet": QCoreApplication.translate("Resume", "demo trading"),
             "demo": QCoreApplication.translate("Resume", "demo trading"), "live": QCoreApplication.translate("Resume", "LIVE trading")}
    question = QCoreApplication.translate("Resume", "AutoHedge was in {mode} when it last ended without Stop (a crash, a restart of the computer "
                   "or a power cut). Start it again now? The account lock and the reconciliation with the "
                   "exchange come first, as on every start.").format(mode=names.get(mode, mode))
    if not window.ask(QCoreApplication.translate("Resume", "Resume trading"), question):
        window.show_message(QCoreApplication.translate("Resume", "Not resumed; press Start to trade"))
        return False
    window.api.set_mode(mode)
    window.start()
    return True
