"""The mode banner: which money the bot trades, always visible above the tabs.

PAPER (replay or live prices) grey, TESTNET amber, LIVE red. The colour is the
first thing a trader sees, so LIVE can never be mistaken for paper.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

# mode -> (background, text colour)
BANNER_COLORS: dict[str, tuple[str, str]] = {
    "replay": ("#757575", "#ffffff"),
    "paper": ("#757575", "#ffffff"),
    "testnet": ("#ffb300", "#000000"),
    "live": ("#c62828", "#ffffff"),
}


def banner_text(mode: str) -> str:
    tr = lambda text: QCoreApplication.translate("ModeBanner", text)  # noqa: E731
    return {
        "replay": tr("PAPER — replay of a data folder, simulated fills, no money"),
        "paper": tr("PAPER — live prices, simulated fills, no money"),
        "testnet": tr("TESTNET — real orders on Binance's test exchange, test money"),
        "live": tr("LIVE — REAL MONEY on Binance"),
    }.get(mode, mode)


class ModeBanner(QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignVCenter | Qt.AlignLeft)
        self.setMinimumHeight(26)
        self.mode = ""
        self.set_mode("replay")

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        background, foreground = BANNER_COLORS.get(mode, BANNER_COLORS["paper"])
        self.setText(banner_text(mode))
        self.setAccessibleName(self.text())
        self.setStyleSheet(f"QLabel {{ background: {background}; color: {foreground}; font-weight: bold; "
                           "padding: 3px 10px; border-radius: 3px; }")

    def background_color(self) -> QColor:
        return QColor(BANNER_COLORS.get(self.mode, BANNER_COLORS["paper"])[0])
