"""The trader-facing log: newest line last, filterable by symbol.

Lines are kept (up to ``MAX_LINES``) so changing the filter re-shows history.
"""
from __future__ import annotations

from collections import deque

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from runner.events import LogEvent
from ui.formatting import utc_text

MAX_LINES = 20_000
ALL = "All symbols"


def format_line(event: LogEvent) -> str:
    """'2025-11-19 10:05 [R2] DOGEUSDT: ...': the service's messages already name the rule and symbol."""
    level = "" if event.level == "INFO" else f"{event.level} "
    return f"{utc_text(event.time_ms)}  {level}{event.message}"


class LogPane(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._events: deque[LogEvent] = deque(maxlen=MAX_LINES)
        self.filter = QComboBox()
        self.filter.addItem(ALL)
        self.filter.currentIndexChanged.connect(self._render)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.WidgetWidth)
        top = QHBoxLayout()
        top.addWidget(QLabel("Log"))
        top.addStretch(1)
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.text)

    def set_symbols(self, symbols: list[str]) -> None:
        current = self.filter.currentText()
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.addItems([ALL, *symbols])
        self.filter.setCurrentText(current if current in symbols else ALL)
        self.filter.blockSignals(False)
        self._render()

    def append_many(self, events: list[LogEvent]) -> None:
        self._events.extend(events)
        lines = [format_line(e) for e in events if self._shown(e)]
        if lines:
            self.text.appendPlainText("\n".join(lines))
            self.text.moveCursor(QTextCursor.End)

    def lines(self) -> list[str]:
        text = self.text.toPlainText()
        return text.split("\n") if text else []

    def _shown(self, event: LogEvent) -> bool:
        wanted = self.filter.currentText()
        return wanted == ALL or event.symbol in (None, wanted)

    def _render(self, *_args) -> None:
        self.text.setPlainText("\n".join(format_line(e) for e in self._events if self._shown(e)))
        self.text.moveCursor(QTextCursor.End)
