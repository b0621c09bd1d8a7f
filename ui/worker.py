"""Run one blocking call (connection test, backtest) off the GUI thread.

``progress`` is handed to the call as a ``callback(done, total)``; it emits a
Qt signal, so progress bars update from the GUI thread. Errors a user can act
on arrive as one sentence on ``failed``; anything else too, with its type,
and the traceback goes to the program log (never to a dialog).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from core.errors import UserError

log = logging.getLogger(__name__)


def failure_sentence(exc: Exception, logger: logging.Logger, what: str) -> str:
    """What a failed background call tells the user: a :class:`UserError`'s own sentence, anything
    else with its type (its traceback goes to ``logger`` as ``what``, never to a dialog)."""
    if isinstance(exc, UserError):
        return str(exc)
    logger.error(what, exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


class BackgroundCall(QThread):
    succeeded = Signal(object)
    failed = Signal(str)
    progressed = Signal(int, int)

    def __init__(self, call: Callable[[Callable[[int, int], None]], Any], parent=None):
        super().__init__(parent)
        self._call = call

    def run(self) -> None:
        try:
            result = self._call(self.progressed.emit)
        except Exception as exc:  # a background failure must reach the user, not kill the window
            self.failed.emit(failure_sentence(exc, log, "background task failed"))
        else:
            self.succeeded.emit(result)
