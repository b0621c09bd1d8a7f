"""The replay's default pace and its progress bar.

A day of 5m candles is 288 bars; at ``DEFAULT_REPLAY_SPEED`` (1,440 x real time) a
replayed day passes in one minute (86,400 s / 1,440 = 60 s, about 5 bars a second), so
a newcomer sees the bot trade and the day change. The bar shows tenths of a percent,
because a year of data at that pace moves one whole percent only every few minutes.
"""
from __future__ import annotations

from PySide6.QtWidgets import QProgressBar

SECONDS_PER_DAY = 86_400
REPLAYED_DAY_SECONDS = 60  # one replayed day per minute of the trader's time
DEFAULT_REPLAY_SPEED = float(SECONDS_PER_DAY // REPLAYED_DAY_SECONDS)  # 1,440 x real time


class ReplayProgress(QProgressBar):
    """'replay 12.3 %': a tenth of a percent is visible, so the bar is seen to move."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMaximumWidth(200)
        self.setMinimumWidth(90)
        self.setValue(0)

    def text(self) -> str:  # noqa: D401 - QProgressBar's virtual, drawn by the style
        span = self.maximum() - self.minimum()
        share = 0.0 if span <= 0 else 100.0 * (self.value() - self.minimum()) / span
        return self.tr("replay {percent} %").format(percent=f"{share:.1f}")

    def show_progress(self, done: int, total: int) -> None:
        self.setRange(0, max(total, 1))
        self.setValue(min(done, max(total, 1)))
        self.setToolTip(self.tr("{done} of {total} candles replayed").format(done=f"{done:,}", total=f"{total:,}"))
