"""A position the exchange closed by itself (liquidation, auto-deleverage, settlement) marked in
the status table: the State cell says so in the loss colour, never "running" in green, until the
next Start. Kept apart from ui/status_table.py: it only overrides that one cell."""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QBrush, QColor

from live.events import ForcedCloseEvent, StatusRow
from ui.formatting import LOSS_COLOR


WHAT = {"liquidation": QT_TRANSLATE_NOOP("ForcedMarks", "liquidated"),
        "adl": QT_TRANSLATE_NOOP("ForcedMarks", "auto-deleveraged"),
        "settlement": QT_TRANSLATE_NOOP("ForcedMarks", "settled")}
MARK = QT_TRANSLATE_NOOP("ForcedMarks", "⚠ {side} {what} by the exchange")


def _tr(text: str) -> str:
    return QCoreApplication.translate("ForcedMarks", text)


class ForcedMarks:
    def __init__(self, table):
        self.table = table
        self.marks: dict[str, str] = {}

    def clear(self) -> None:
        self.marks.clear()

    def add(self, event: ForcedCloseEvent) -> None:
        what = _tr(WHAT[event.kind]) if event.kind in WHAT else event.kind
        self.marks[event.symbol] = _tr(MARK).format(side=event.side, what=what)
        row = self.table.latest.get(event.symbol)
        if row is not None:
            self.apply(row)

    def apply(self, row: StatusRow) -> None:
        mark = self.marks.get(row.symbol)
        index = getattr(self.table, "_rows", {}).get(row.symbol)
        if mark is None or index is None:
            return
        item = self.table.item(index, self.table.columnCount() - 1)
        text = f"{mark} · {item.text()}" if not item.text().startswith(mark) else item.text()
        item.setText(text)
        item.setToolTip(text)
        item.setForeground(QBrush(QColor(LOSS_COLOR)))
