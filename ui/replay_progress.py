"""The replay's default pace and its progress bar.

A day of 5m candles is 288 bars; at ``DEFAULT_REPLAY_SPEED`` (1,440 x real time) a
replayed day passes in one minute (86,400 s / 1,440 = 60 s, about 5 bars a second), so
a newcomer sees the bot trade and the day change. A year of data at that pace takes
hours, so a bar over the whole replay would hardly move: the bar fills over the replayed
UTC day (empty at 00:00, full at 24:00) and its text counts the days, "replay day 12 of
410 · 2.9 %", the whole replay's share in tenths of a percent.
"""
from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtWidgets import QProgressBar

from core.model import FIVE_MINUTES_MS as BAR_MS, ONE_DAY_MS as DAY_MS

SECONDS_PER_DAY = 86_400
REPLAYED_DAY_SECONDS = 60  # one replayed day per minute of the trader's time
DEFAULT_REPLAY_SPEED = float(SECONDS_PER_DAY // REPLAYED_DAY_SECONDS)  # 1,440 x real time
BARS_PER_DAY = DAY_MS // BAR_MS  # 288


class ReplayProgress(QProgressBar):
    """The replayed day passing (the bar) and 'replay day 12 of 410 · 2.9 %' (the text)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMaximumWidth(260)
        self.setMinimumWidth(90)
        self.setValue(0)
        self._text = ""

    def text(self) -> str:  # noqa: D401 - QProgressBar's virtual, drawn by the style
        if self._text:
            return self._text
        span = self.maximum() - self.minimum()
        share = 0.0 if span <= 0 else 100.0 * (self.value() - self.minimum()) / span
        return self.tr("replay {percent} %").format(percent=f"{share:.1f}")

    def restart(self) -> None:
        """A new run: nothing replayed yet."""
        self._text = ""
        self.setRange(0, 100)
        self.setValue(0)

    def show_progress(self, done: int, total: int, now_ms: int = 0, first_ms: int = 0, last_ms: int = 0) -> None:
        """``done`` of ``total`` candles; with the replay's clock and span, the day it is in."""
        tip = self.tr("{done} of {total} candles replayed").format(done=f"{done:,}", total=f"{total:,}")
        if not (0 < first_ms <= now_ms and last_ms > first_ms):  # no clock: the whole replay's share
            self._text = ""
            self.setRange(0, max(total, 1))
            self.setValue(min(done, max(total, 1)))
            self.setToolTip(tip)
            return
        share = 100.0 * min(done, total) / max(total, 1)
        day = (now_ms - 1) // DAY_MS - first_ms // DAY_MS + 1  # a close at 00:00 ends the day before
        days = (last_ms - 1) // DAY_MS - first_ms // DAY_MS + 1
        self._text = self.tr("replay day {day} of {days} · {percent} %").format(
            day=f"{min(day, days):,}", days=f"{days:,}", percent=f"{share:.1f}")
        self.setRange(0, BARS_PER_DAY)
        self.setValue(BARS_PER_DAY if now_ms % DAY_MS == 0 else (now_ms % DAY_MS) // BAR_MS)
        replayed_to = datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
        self.setToolTip(self.tr("Replayed to {time} UTC; the bar is that day passing").format(time=replayed_to)
                        + "\n" + tip)
        self.update()
