"""The keep-or-close question [C3]: a side the exchange holds above CALL_SIZE not by the bot's hand.

The service (live/excess.py) sends one :class:`live.events.ExcessQuestion` when the reconciliation
finds a side made larger than CALL_SIZE by something other than the bot (a trade made by hand in
Binance's app or site). The window shows one non-modal question per symbol and side (trading and
the window go on meanwhile) with two answers:

- **Keep** the excess: the bot leaves it alone. It is saved as unmanaged, the status table shows
  it ("130 (30 unmanaged)"), and the bot's rules, its hedge and its checks see CALL_SIZE only.
- **Close** the excess: the bot closes it at market at once (rule id C3 in the log).

Until the trader answers, the bot's hedge covers CALL_SIZE only [R6]. A newer question for the
same side replaces the one on screen.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from live.events import ExcessQuestion


def _qty(value: float) -> str:
    return f"{value:g}"


class ExcessDialog(QMessageBox):
    """One question: keep the excess of ``event``'s side unmanaged, or close it."""

    def __init__(self, event: ExcessQuestion, parent: QWidget | None = None):
        super().__init__(parent)
        self.question = event
        self.setWindowModality(Qt.NonModal)
        self.setIcon(QMessageBox.Warning)
        self.setWindowTitle(self.tr("{symbol}: position above CALL_SIZE").format(symbol=event.symbol))
        self.setText(self.tr(
            "{symbol} {side} holds {held} on Binance: {excess} above CALL_SIZE {call_size}, not by the bot's hand "
            "(a trade made by hand?).").format(symbol=event.symbol, side=event.side, held=_qty(event.held),
                                               excess=_qty(event.excess), call_size=_qty(event.call_size)))
        self.setInformativeText(self.tr(
            "Keep: the bot leaves the {excess} alone (shown as unmanaged in the status table) and manages and "
            "hedges CALL_SIZE only.\nClose: the bot closes the {excess} at market now.\n\nUntil you answer, "
            "the bot's hedge covers CALL_SIZE only.").format(excess=_qty(event.excess)))
        self.keep_button = self.addButton(self.tr("Keep {excess} unmanaged").format(excess=_qty(event.excess)),
                                          QMessageBox.AcceptRole)
        self.close_button = self.addButton(self.tr("Close {excess} now").format(excess=_qty(event.excess)),
                                           QMessageBox.DestructiveRole)
        self.setDefaultButton(self.keep_button)  # Enter never sends an order
        self.setAccessibleName(self.windowTitle())

    def choice(self) -> bool | None:
        """True: keep; False: close; None: not answered (closed some other way)."""
        clicked = self.clickedButton()
        if clicked is self.keep_button:
            return True
        if clicked is self.close_button:
            return False
        return None


class ExcessQuestions:
    """The open questions of one window, one per (symbol, side); answers go to the running service."""

    def __init__(self, window: Any):
        self.window = window
        self.dialogs: dict[tuple[str, str], ExcessDialog] = {}

    def ask(self, event: ExcessQuestion) -> ExcessDialog:
        key = (event.symbol, event.side)
        old = self.dialogs.pop(key, None)
        if old is not None:  # a newer question for the same side replaces it, unanswered
            old.finished.disconnect()
            old.hide()
        dialog = ExcessDialog(event, self.window)
        dialog.finished.connect(lambda _result, d=dialog: self._answered(d))
        self.dialogs[key] = dialog
        dialog.show()  # not open(): that would block the window (Stop, Flatten) until answered
        return dialog

    def _answered(self, dialog: ExcessDialog) -> None:
        event = dialog.question
        if self.dialogs.get((event.symbol, event.side)) is dialog:
            del self.dialogs[(event.symbol, event.side)]
        keep = dialog.choice()
        runner = getattr(self.window, "runner", None)
        if keep is None or runner is None or not self.window.is_running():
            return
        runner.answer_excess(event.symbol, event.side, keep)
        text = (QCoreApplication.translate("ExcessDialog", "{symbol} {side}: keep {excess} above CALL_SIZE unmanaged, "
                                           "requested by the user") if keep else
                QCoreApplication.translate("ExcessDialog", "{symbol} {side}: close {excess} above CALL_SIZE, "
                                           "requested by the user"))
        self.window.show_message(text.format(symbol=event.symbol, side=event.side, excess=_qty(event.excess)),
                                 symbol=event.symbol)
