"""The mode banner: which money the bot trades, always visible above the tabs.

PAPER (replay or live prices) grey, TESTNET amber, LIVE red. The colour is the
first thing a trader sees, so LIVE can never be mistaken for paper.
"""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

# mode -> (background, text colour)
BANNER_COLORS: dict[str, tuple[str, str]] = {
    "replay": ("#757575", "#ffffff"),
    "paper": ("#757575", "#ffffff"),
    "demo": ("#ffb300", "#000000"),
    "live": ("#c62828", "#ffffff"),
}


# English sources marked for lupdate; shown through QCoreApplication.translate.
BANNER_TEXTS: dict[str, str] = {
    "replay": QT_TRANSLATE_NOOP("ModeBanner", "PAPER — replay of a data folder, simulated fills, no money"),
    "paper": QT_TRANSLATE_NOOP("ModeBanner", "PAPER — live prices, simulated fills, no money"),
    "demo": QT_TRANSLATE_NOOP("ModeBanner", "DEMO TRADING — real orders on Binance demo trading, test money"),
    "live": QT_TRANSLATE_NOOP("ModeBanner", "LIVE — REAL MONEY on Binance"),
}


def banner_text(mode: str) -> str:
    return QCoreApplication.translate("ModeBanner", BANNER_TEXTS[mode]) if mode in BANNER_TEXTS else mode


class ModeBanner(QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignVCenter | Qt.AlignLeft)
        self.setMinimumHeight(26)
        self.mode = ""
        self.set_mode("replay")

    def set_mode(self, mode: str) -> None:
        mode = "demo" if mode == "testnet" else mode  # the practice mode's old name
        self.mode = mode
        background, foreground = BANNER_COLORS.get(mode, BANNER_COLORS["paper"])
        self.setText(banner_text(mode))
        self.setAccessibleName(self.text())
        self.setStyleSheet(f"QLabel {{ background: {background}; color: {foreground}; font-weight: bold; "
                           "padding: 3px 10px; border-radius: 3px; }")

    def background_color(self) -> QColor:
        return QColor(BANNER_COLORS.get(self.mode, BANNER_COLORS["paper"])[0])
