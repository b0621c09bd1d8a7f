"""Sources of closed candles for the trading service.

A feed hands out *closed* 5m candles one at a time, oldest first, and can
answer "what closed candles do you have up to now" for warm-up and backfill.
Two feeds exist: :class:`ReplayFeed` (a kline folder, for demos, tests and
offline paper trading) and ``live.live_feed.BinanceKlineFeed`` (the
exchange's kline stream with REST backfill).
"""
from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from adapters import kline_files
from core.model import FIVE_MINUTES_MS, ONE_DAY_MS, Candle


class FeedFinished(Exception):
    """A replay has no more candles."""


@dataclass(frozen=True)
class ClosedCandle:
    symbol: str
    candle: Candle


class CandleFeed(Protocol):
    def history(self, symbol: str, interval: str, limit: int) -> list[Candle]:
        """Up to ``limit`` closed candles of ``interval`` ('5m' or '1d'), oldest first, as of now."""
        ...

    def next_candle(self, timeout: float) -> ClosedCandle | None:
        """The next closed 5m candle, or None when none closed within ``timeout`` seconds.
        Raises FeedFinished when a replay is over."""
        ...

    def start(self) -> None:
        """Begin receiving (a stream connects); called once before the symbols warm up."""
        ...

    def resume_after(self, symbol: str, close_time: int) -> None:
        """Candles of ``symbol`` up to ``close_time`` are processed already: never hand them out."""
        ...

    def close(self) -> None: ...


def candles_from_frame(frame, interval_ms: int) -> list[Candle]:
    """Rows of a kline DataFrame (open_time, open, high, low, close, volume) as Candles."""
    columns = [frame[name].tolist() for name in ("open_time", "open", "high", "low", "close", "volume")]
    return [
        Candle(int(t), float(o), float(h), float(l), float(c), float(v), int(t) + interval_ms)
        for t, o, h, l, c, v in zip(*columns)
    ]


class ReplayFeed:
    """Plays a kline folder's 5m candles in time order across symbols.

    ``speed`` 0 plays as fast as the service takes them; N plays at N x real
    time (a 5-minute candle every 300/N seconds). ``resume_after`` skips
    candles a previous run already processed, so a restarted replay continues.
    Daily history offered for warm-up is the folder's 1d file (or, without one,
    nothing: daily closes then come only from the 5m stream [B5]), limited to
    days that closed before the candle being played.
    """

    def __init__(
        self,
        folder: Path | str,
        symbols: list[str],
        speed: float = 0.0,
        start_ms: int | None = None,
        end_ms: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.folder = Path(folder)
        self.speed = speed
        self.sleep = sleep
        self._bars: dict[str, list[Candle]] = {}
        self._days: dict[str, list[Candle]] = {}
        self._position: dict[str, int] = {}
        self._stop_index: dict[str, int] = {}
        for symbol in symbols:
            frame = kline_files.load_symbol(self.folder, symbol, "5m").frame
            bars = candles_from_frame(frame, FIVE_MINUTES_MS)
            first = next((i for i, bar in enumerate(bars) if start_ms is None or bar.open_time >= start_ms), len(bars))
            stop = next((i for i, bar in enumerate(bars) if end_ms is not None and bar.open_time >= end_ms), len(bars))
            if stop <= first:
                raise kline_files.no_candles_in_range(symbol, self.folder, [b.open_time for b in bars], start_ms, end_ms)
            self._bars[symbol] = bars  # bars before ``first`` are warm-up history [I3]
            self._position[symbol] = first
            self._stop_index[symbol] = stop
            daily = kline_files.load_symbol(self.folder, symbol, "1d", required=False)
            self._days[symbol] = candles_from_frame(daily.frame, ONE_DAY_MS) if daily is not None else []
        self.total = sum(self._stop_index[s] - self._position[s] for s in symbols)
        # The span played (for the window's "day 12 of 410"): first open to last close.
        self.first_ms = min(self._bars[s][self._position[s]].open_time for s in symbols)
        self.last_ms = max(self._bars[s][self._stop_index[s] - 1].close_time for s in symbols)
        self.emitted = 0
        self._queue: list[tuple[int, int, str, int]] = []
        self._symbol_order = {symbol: i for i, symbol in enumerate(symbols)}
        self._now = min(self._bars[s][self._position[s]].open_time for s in symbols)
        for symbol in symbols:
            self._push(symbol)

    def start(self) -> None:
        """Nothing to connect: the folder was read at construction."""

    def resume_after(self, symbol: str, close_time: int) -> None:
        """Skip ``symbol``'s candles that closed at or before ``close_time``."""
        bars = self._bars[symbol]
        index = self._position[symbol]
        while index < self._stop_index[symbol] and bars[index].close_time <= close_time:
            index += 1
            self.emitted += 1
        self._position[symbol] = index
        self._queue = [item for item in self._queue if item[2] != symbol]
        heapq.heapify(self._queue)
        self._push(symbol)
        self._now = max(self._now, close_time)

    def _push(self, symbol: str) -> None:
        index = self._position[symbol]
        bars = self._bars[symbol]
        if index < self._stop_index[symbol]:
            heapq.heappush(self._queue, (bars[index].close_time, self._symbol_order[symbol], symbol, index))

    @property
    def now(self) -> int:
        """The replay's clock: the close time of the last candle handed out."""
        return self._now

    def history(self, symbol: str, interval: str, limit: int) -> list[Candle]:
        series = self._days[symbol] if interval == "1d" else self._bars[symbol]
        closed = [candle for candle in series if candle.close_time <= self._now]
        return closed[-limit:]

    def next_candle(self, timeout: float) -> ClosedCandle | None:
        if not self._queue:
            raise FeedFinished()
        close_time, _, symbol, index = heapq.heappop(self._queue)
        if self.speed > 0 and close_time > self._now:
            self.sleep((close_time - self._now) / 1000.0 / self.speed)
        self._now = max(self._now, close_time)
        self._position[symbol] = index + 1
        self._push(symbol)
        self.emitted += 1
        return ClosedCandle(symbol, self._bars[symbol][index])

    def close(self) -> None:
        self._queue.clear()
