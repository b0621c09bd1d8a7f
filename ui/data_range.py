"""The data folder and date range inputs of the Backtest and Optimize tabs (one rule for both).

A data folder is typed or chosen; "All data" takes every candle of it, otherwise the
from/to dates (UTC days) bound the run, the end date included. An empty folder or a
'to' date before the 'from' date is refused with one sentence (:class:`UserError`).
The tabs keep their own tooltips (``describe``); the texts here are in the
``DataRangeInputs`` translation context.
"""
from __future__ import annotations

from datetime import datetime, time, timezone
from pathlib import Path

from PySide6.QtCore import QDate, QObject
from PySide6.QtWidgets import QCheckBox, QDateEdit, QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget

from core.errors import UserError
from ui.accessibility import label_for
from ui.paths import resolve_data_path


def day_ms(date: QDate) -> int:
    """00:00 UTC of ``date`` in ms."""
    return int(datetime.combine(date.toPython(), time(0, 0), tzinfo=timezone.utc).timestamp() * 1000)


class DataRangeInputs(QObject):
    """The widgets (``data_dir``, ``browse``, ``whole_range``, ``start_date``, ``end_date``) and
    what they mean; ``owner`` is the tab that shows them (the folder dialog's parent)."""

    def __init__(self, owner: QWidget):
        super().__init__(owner)
        self._owner = owner
        self.data_dir = QLineEdit()
        self.browse = QPushButton(self.tr("…"))
        self.browse.setFixedWidth(28)
        self.browse.clicked.connect(self.choose_folder)
        self.whole_range = QCheckBox(self.tr("All data"))
        self.whole_range.setChecked(True)
        self.start_date, self.end_date = QDateEdit(), QDateEdit()
        for edit in (self.start_date, self.end_date):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.whole_range.toggled.connect(lambda whole: [e.setEnabled(not whole) for e in (self.start_date, self.end_date)])

    def row(self) -> QHBoxLayout:
        """Folder, browse button, "All data", from and to, labelled, in one row."""
        row = QHBoxLayout()
        row.addWidget(label_for(self.tr("Data folder"), self.data_dir))
        row.addWidget(self.data_dir, 2)
        row.addWidget(self.browse)
        row.addWidget(self.whole_range)
        row.addWidget(label_for(self.tr("From"), self.start_date))
        row.addWidget(self.start_date)
        row.addWidget(label_for(self.tr("to"), self.end_date))
        row.addWidget(self.end_date)
        return row

    def set_dates(self, start: QDate, end: QDate) -> None:
        self.whole_range.setChecked(False)
        self.start_date.setDate(start)
        self.end_date.setDate(end)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self._owner, self.tr("Kline data folder"), self.data_dir.text())
        if folder:
            self.data_dir.setText(folder)

    def require_folder(self) -> None:
        """Refuse an empty data folder field."""
        if not self.data_dir.text().strip():
            raise UserError(self.tr("Choose a data folder with <SYMBOL>-5m.csv(.gz/.zip) files"))

    def folder(self) -> Path:
        """The data folder as typed (see :func:`ui.paths.resolve_data_path`)."""
        return resolve_data_path(self.data_dir.text().strip())

    def range_ms(self) -> tuple[int | None, int | None]:
        """(start, end) in ms, end exclusive; (None, None) for all data."""
        if self.whole_range.isChecked():
            return None, None
        start = day_ms(self.start_date.date())
        end = day_ms(self.end_date.date().addDays(1))  # the end date is included
        if end <= start:
            raise UserError(self.tr("The 'to' date must not be before the 'from' date"))
        return start, end
