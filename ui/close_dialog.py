"""Safe close: what to do with open positions when the window closes while trading.

Three answers: flatten every position and stop, stop and keep the positions
(the state is saved; the next start reconciles with the exchange), or cancel
(the window stays open and the bot keeps trading).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

FLATTEN, KEEP, CANCEL = "flatten", "keep", "cancel"


class CloseDialog(QMessageBox):
    def __init__(self, positions: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setIcon(QMessageBox.Warning)
        self.setWindowTitle(self.tr("Positions are open"))
        self.setText(self.tr("The bot holds open positions:"))
        self.setInformativeText("\n".join(positions) + "\n\n" + self.tr(
            "Flatten them at market and stop, or stop and keep them (they stay open on the exchange, "
            "without the bot watching them until it is started again)?"))
        self.flatten_button = self.addButton(self.tr("Flatten and stop"), QMessageBox.DestructiveRole)
        self.keep_button = self.addButton(self.tr("Stop and keep positions"), QMessageBox.AcceptRole)
        self.cancel_button = self.addButton(self.tr("Cancel"), QMessageBox.RejectRole)
        self.setDefaultButton(self.cancel_button)
        self.setEscapeButton(self.cancel_button)

    def choice(self) -> str:
        clicked = self.clickedButton()
        if clicked is self.flatten_button:
            return FLATTEN
        if clicked is self.keep_button:
            return KEEP
        return CANCEL


def ask_close(parent: QWidget, positions: list[str]) -> str:
    dialog = CloseDialog(positions, parent)
    dialog.exec()
    return dialog.choice()


def confirm_stop(window: Any, flatten_message: str) -> bool:
    """Stop and closing the window ask the same (issue 19, item 6): with positions open, the
    question; Flatten sends the flatten before the stop (the service drains its commands last).
    False when the trader cancelled. A deliberate stop forgets that it was trading (ui/resume.py)."""
    from ui.resume import forget_trading

    positions = window.open_positions()
    choice = window.ask_close(positions) if positions else KEEP
    if choice == CANCEL:
        return False
    if choice == FLATTEN:
        window.runner.flatten(None)
        window.show_message(flatten_message)
    forget_trading(window)
    return True
