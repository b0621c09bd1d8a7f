"""The trader-facing log: newest line last, filterable by symbol.

Lines are kept (up to ``MAX_LINES``) so changing the filter re-shows history.
"""
from __future__ import annotations

from collections import deque

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPlainTextEdit, QVBoxLayout, QWidget

from ui.accessibility import describe, label_for

from live.events import LogEvent
from ui.formatting import utc_text

MAX_LINES = 20_000


def format_line(event: LogEvent) -> str:
    """'2025-11-19 10:05 [R2] DOGEUSDT: ...': the service's messages already name the rule and symbol."""
    level = "" if event.level == "INFO" else f"{event.level} "
    return f"{utc_text(event.time_ms)}  {level}{event.message}"


class LogPane(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._events: deque[LogEvent] = deque(maxlen=MAX_LINES)
        self.all_symbols = self.tr("All symbols")
        self.filter = QComboBox()
        self.filter.addItem(self.all_symbols, None)
        self.filter.currentIndexChanged.connect(self._render)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setLineWrapMode(QPlainTextEdit.WidgetWidth)
        describe(self.filter, self.tr("Log filter"), self.tr("Show the lines of one symbol, or of all symbols"))
        describe(self.text, self.tr("Log"), self.tr("One line per decision, order and fill, newest last"))
        top = QHBoxLayout()
        top.addWidget(label_for(self.tr("Log"), self.text))
        top.addStretch(1)
        top.addWidget(label_for(self.tr("Show"), self.filter))
        top.addWidget(self.filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.text)

    def set_symbols(self, symbols: list[str]) -> None:
        current = self.filter.currentData()
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.addItem(self.all_symbols, None)
        for symbol in symbols:
            self.filter.addItem(symbol, symbol)
        self.filter.setCurrentIndex(1 + symbols.index(current) if current in symbols else 0)
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
        wanted = self.filter.currentData()
        return wanted is None or event.symbol in (None, wanted)

    def _render(self, *_args) -> None:
        self.text.setPlainText("\n".join(format_line(e) for e in self._events if self._shown(e)))
        self.text.moveCursor(QTextCursor.End)
