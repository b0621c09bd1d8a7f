"""A one-line text progress bar for the command line (backtest, download).

It stays silent for the first ``delay`` seconds, so quick runs print nothing,
and redraws at most ``refresh`` times a second. The clock is injected for tests.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


class ProgressBar:
    def __init__(
        self,
        label: str,
        unit: str = "",
        stream: TextIO | None = None,
        delay: float = 1.0,
        refresh: float = 0.1,
        width: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.refresh = refresh
        self.width = width
        self.clock = clock
        self.started = clock()
        self.shown = False
        self._last_draw = float("-inf")
        self._last = (0, 0)

    def update(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` (total 0 = unknown)."""
        self._last = (done, total)
        now = self.clock()
        if now - self.started < self.delay or now - self._last_draw < self.refresh:
            return
        self._draw(done, total)
        self._last_draw = now

    def finish(self) -> None:
        """Draw the final state and end the line, if the bar was ever shown."""
        if self.shown:
            self._draw(*self._last)
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, done: int, total: int) -> None:
        unit = f" {self.unit}" if self.unit else ""
        if total > 0:
            fraction = min(1.0, done / total)
            filled = int(round(fraction * self.width))
            bar = "#" * filled + "." * (self.width - filled)
            text = f"\r{self.label} [{bar}] {fraction * 100:5.1f}% {done:,}/{total:,}{unit}"
        else:
            text = f"\r{self.label} {done:,}{unit}"
        self.stream.write(text)
        self.stream.flush()
        self.shown = True
