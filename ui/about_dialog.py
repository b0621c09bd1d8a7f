"""Help > About: the version, the commit it was built from and the data folder (as ``--version``)."""
from __future__ import annotations

import platform

import PySide6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from config.version import VERSION, build_commit, data_folder
from core.errors import UserError
from ui.accessibility import describe


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("About AutoHedge"))
        self.commit = build_commit()
        try:
            self.folder = str(data_folder())
        except (OSError, UserError) as exc:  # the folder cannot be made: the dialog still shows the version
            self.folder = self.tr("unavailable ({reason})").format(reason=exc)
        self.details = QLabel("\n".join([
            "AutoHedge",
            self.tr("Version {version}").format(version=VERSION),
            self.tr("Commit {commit}").format(commit=self.commit),
            self.tr("Data folder (settings, state, logs): {folder}").format(folder=self.folder),
            self.tr("Python {python}, Qt for Python {qt}").format(python=platform.python_version(),
                                                                 qt=PySide6.__version__),
        ]))
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)  # the folder can be copied
        describe(self.details, self.tr("About AutoHedge"),
                 self.tr("The version, the commit it was built from and where your files are"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        for button in buttons.buttons():
            describe(button, button.text(), self.tr("Close this window"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.details)
        layout.addWidget(buttons)

    def text(self) -> str:
        return self.details.text()
