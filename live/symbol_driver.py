"""Feeds one symbol's closed candles to its HedgeStrategy.

Keeps a bounded buffer of closed 5m closes and daily closes, computes the
signals on closed candles only [I3], and calls the strategy in the SPEC order:
the daily close first, then the 5m close of the same timestamp [G4].

The 5m signal is updated incrementally, one closed candle at a time
(:class:`core.indicators.IncrementalSignal`: the batch functions' operations in
the same order, so the codes are those of ``signal_codes`` over every close the
driver has seen since its warm-up); recomputing it over the whole buffer cost a
third of a millisecond per bar. The daily signal (once a day) is still computed
over the daily buffer.

Daily candles are derived from the 5m stream: a 5m candle closing at 00:00 UTC
closes the day, and the day's close is that candle's close [B5]. So the daily
close can never arrive after the 5m close of the same timestamp, whatever
order a stream delivers them in. Daily history for warm-up comes from the
exchange's (or the replay folder's) 1d candles.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from core import indicators
from core.model import ONE_DAY_MS, BarClose, Candle, OrderIntent, Signal
from core.params import SignalParams
from core.strategy import HedgeStrategy, initial_regime


def buffer_length(params: SignalParams) -> int:
    """Closes kept per timeframe: long enough that a Wilder/EMA seed has decayed to
    nothing, so the buffered signal equals the whole-history signal [I3]."""
    longest = max(params.rsi_length, params.macd_fast, params.macd_slow)
    return max(1000, 40 * longest)


@dataclass
class _Series:
    times: list[int]
    closes: list[float]

    def append(self, close_time: int, close: float, limit: int) -> None:
        self.times.append(close_time)
        self.closes.append(close)
        if len(self.times) > 2 * limit:  # trim in chunks, not on every bar
            del self.times[:-limit]
            del self.closes[:-limit]

    @property
    def last_time(self) -> int:
        return self.times[-1] if self.times else 0


class SymbolDriver:
    def __init__(self, strategy: HedgeStrategy, params: SignalParams):
        self.strategy = strategy
        self.params = params
        self.limit = buffer_length(params)
        self.bars = _Series([], [])
        self.days = _Series([], [])
        self.bar_signal = indicators.IncrementalSignal(params)  # over every 5m close in self.bars, in order

    def __deepcopy__(self, memo: dict) -> "SymbolDriver":
        """A copy to try a decision on (the cockpit's preview) that shares nothing mutable with
        this one. The buffers hold immutable numbers, so a flat copy of each list is a deep
        one; a generic deep copy would visit every number (0.6 ms, on the trading thread)."""
        twin = copy.copy(self)
        twin.strategy = copy.deepcopy(self.strategy, memo)
        twin.bar_signal = copy.deepcopy(self.bar_signal, memo)
        twin.bars = _Series(list(self.bars.times), list(self.bars.closes))
        twin.days = _Series(list(self.days.times), list(self.days.closes))
        return twin

    def _add_bar(self, close_time: int, close: float) -> None:
        """The only way a 5m close enters the buffer: the incremental signal sees each close once, in order."""
        self.bars.append(close_time, close, self.limit)
        self.bar_signal.update(close)

    @property
    def symbol(self) -> str:
        return self.strategy.symbol

    def load_history(self, daily: list[Candle], bars: list[Candle]) -> None:
        """Warm-up candles (closed, oldest first). Nothing is decided on them."""
        for candle in daily:
            if candle.close_time > self.days.last_time:
                self.days.append(candle.close_time, candle.close, self.limit)
        for candle in bars:
            if candle.close_time > self.bars.last_time:
                self._add_bar(candle.close_time, candle.close)

    def daily_signal(self) -> Signal:
        return indicators.last_signal(np.asarray(self.days.closes[-self.limit:]), self.params)

    def initial_regime(self):
        """[G2] Regime from the daily history, walking back over none."""
        codes = indicators.signal_codes(np.asarray(self.days.closes[-self.limit:]), self.params)
        return initial_regime(codes)

    def on_daily_close(self, close_time: int, close: float) -> list[OrderIntent]:
        """A day closed: extend the daily series and tell the strategy [G1, G3]."""
        if close_time > self.days.last_time:
            self.days.append(close_time, close, self.limit)
        elif close_time != self.days.last_time:
            return []  # older than what we hold: already processed
        return self.strategy.on_daily_close(close_time, self.daily_signal())

    def skip_bar(self, candle: Candle) -> None:
        """Take a closed candle into the buffers without asking the strategy (the symbol
        cannot decide now); it is never processed later."""
        if candle.close_time <= self.bars.last_time:
            return
        if candle.close_time % ONE_DAY_MS == 0 and candle.close_time > self.days.last_time:
            self.days.append(candle.close_time, candle.close, self.limit)
        self._add_bar(candle.close_time, candle.close)
        self.strategy.state.last_bar_close = max(self.strategy.state.last_bar_close, candle.close_time)

    def on_bar(self, candle: Candle) -> list[OrderIntent]:
        """A 5m candle closed: daily close first when it ends a UTC day [G4], then the bar rules."""
        close_time, last_time = candle.close_time, self.bars.last_time
        if close_time <= last_time:
            return []  # already seen: never process a close twice
        intents: list[OrderIntent] = []
        if close_time % ONE_DAY_MS == 0:
            intents += self.on_daily_close(close_time, candle.close)
        elif last_time and close_time // ONE_DAY_MS > last_time // ONE_DAY_MS:
            # A gap swallowed the day's last candle: the day closed on the last close we saw.
            day_end = (last_time // ONE_DAY_MS + 1) * ONE_DAY_MS
            intents += self.on_daily_close(day_end, self.bars.closes[-1])
        self._add_bar(close_time, candle.close)
        signal = self.bar_signal
        intents += self.strategy.on_bar_close(BarClose(close_time, candle.close, signal.signal(), signal.prev_signal()))
        return intents
