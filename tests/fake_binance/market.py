"""Replayed kline series and the simulated market clock.

Candles come from ``<SYMBOL>-<interval>.csv(.gz)`` files with the header
``open_time,open,high,low,close,volume``. Intervals that have no file are
resampled from the 5m series (whole periods only). A candle is *closed* when
``open_time + interval <= now``; only closed candles are ever served, and the
current price of a symbol is the close of its last closed 5m candle.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

INTERVAL_MS = {
    "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
    "12h": 43_200_000, "1d": 86_400_000,
}
BASE_INTERVAL = "5m"
_FILE_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<interval>\d+[mhd])\.csv(\.gz)?$")


@dataclass
class Series:
    """One symbol's candles at one interval, as parallel numpy arrays sorted by open time."""

    interval_ms: int
    open_time: np.ndarray
    ohlcv: np.ndarray  # shape (n, 5): open, high, low, close, volume

    def closed_count(self, now_ms: int) -> int:
        """How many candles have closed at ``now_ms``."""
        return int(np.searchsorted(self.open_time + self.interval_ms, now_ms, side="right"))


def _resample(base: Series, interval_ms: int) -> Series:
    """Aggregate the 5m series into ``interval_ms`` candles; partial periods are dropped."""
    period = base.open_time // interval_ms
    starts = np.flatnonzero(np.r_[True, period[1:] != period[:-1]])
    sizes = np.diff(np.r_[starts, len(period)])
    o = base.ohlcv
    rows = np.column_stack([
        o[starts, 0],
        np.maximum.reduceat(o[:, 1], starts),
        np.minimum.reduceat(o[:, 2], starts),
        o[starts + sizes - 1, 3],
        np.add.reduceat(o[:, 4], starts),
    ])
    full = sizes == interval_ms // base.interval_ms
    return Series(interval_ms, period[starts][full] * interval_ms, rows[full])


class Market:
    """All loaded series plus the simulated clock (``now_ms``)."""

    def __init__(self, data_dir: Path | str, symbols: list[str] | None = None):
        self.series: dict[tuple[str, str], Series] = {}
        for path in sorted(Path(data_dir).iterdir()):
            match = _FILE_NAME.match(path.name)
            if not match or match["interval"] not in INTERVAL_MS:
                continue
            if symbols and match["symbol"] not in symbols:
                continue
            frame = pd.read_csv(path)
            frame = frame.sort_values("open_time")
            self.series[(match["symbol"], match["interval"])] = Series(
                INTERVAL_MS[match["interval"]],
                frame["open_time"].to_numpy(dtype=np.int64),
                frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float),
            )
        self.symbols = sorted({symbol for symbol, interval in self.series if interval == BASE_INTERVAL})
        if not self.symbols:
            raise ValueError(f"no <SYMBOL>-5m.csv(.gz) kline files in {data_dir}")
        first = min(self.series[(s, BASE_INTERVAL)].open_time[0] for s in self.symbols)
        self.now_ms = int(first) + 30 * INTERVAL_MS["1d"]  # a month of history by default

    def get(self, symbol: str, interval: str) -> Series | None:
        if symbol not in self.symbols or interval not in INTERVAL_MS:
            return None
        key = (symbol, interval)
        if key not in self.series:
            self.series[key] = _resample(self.series[(symbol, BASE_INTERVAL)], INTERVAL_MS[interval])
        return self.series[key]

    def price(self, symbol: str) -> float:
        """Close of the last closed 5m candle: what a MARKET order fills at now."""
        series = self.series[(symbol, BASE_INTERVAL)]
        count = series.closed_count(self.now_ms)
        if count == 0:
            raise ValueError(f"{symbol}: no candle has closed yet at {self.now_ms}")
        return float(series.ohlcv[count - 1, 3])

    def closed_between(self, symbol: str, interval: str, after_ms: int, until_ms: int) -> list[tuple[int, np.ndarray]]:
        """Candles that close in (after_ms, until_ms]: what a clock step publishes on the streams."""
        series = self.get(symbol, interval)
        if series is None:
            return []
        lo, hi = series.closed_count(after_ms), series.closed_count(until_ms)
        return [(int(series.open_time[i]), series.ohlcv[i]) for i in range(lo, hi)]

    def klines(self, symbol: str, interval: str, start_ms: int | None, end_ms: int | None,
               limit: int) -> list[tuple[int, np.ndarray]]:
        """Closed candles with open_time in [start, end], oldest first, at most ``limit``.

        Like Binance: with only endTime (or neither), the *last* ``limit`` candles are returned.
        """
        series = self.get(symbol, interval)
        if series is None:
            return []
        hi = series.closed_count(self.now_ms)
        if end_ms is not None:
            hi = min(hi, int(np.searchsorted(series.open_time, end_ms, side="right")))
        if start_ms is not None:
            lo = int(np.searchsorted(series.open_time, start_ms, side="left"))
            hi = min(hi, lo + limit)
        else:
            lo = max(0, hi - limit)
        return [(int(series.open_time[i]), series.ohlcv[i]) for i in range(lo, max(lo, hi))]

    def forming(self, symbol: str, interval: str, now_ms: int) -> tuple[int, np.ndarray] | None:
        """The candle still open at ``now_ms`` (None when ``now_ms`` is exactly on a boundary).

        Built from the 5m candles that closed inside it plus the current 5m candle *in proportion*:
        the files hold no trades inside a 5m candle, so its close is taken to move in a straight
        line from its open to its final close, its volume in proportion to the elapsed time (high
        and low follow that line). Never beyond what the final candle will show.
        """
        step = INTERVAL_MS[interval]
        open_time = now_ms // step * step
        base = self.series.get((symbol, BASE_INTERVAL))
        if open_time == now_ms or base is None:
            return None
        lo = int(np.searchsorted(base.open_time, open_time, side="left"))
        hi = base.closed_count(now_ms)
        rows = [base.ohlcv[i] for i in range(lo, hi)]
        current = now_ms // INTERVAL_MS[BASE_INTERVAL] * INTERVAL_MS[BASE_INTERVAL]
        index = int(np.searchsorted(base.open_time, current, side="left"))
        if current < now_ms and index < len(base.open_time) and base.open_time[index] == current:
            o, h, low, c, v = base.ohlcv[index]
            share = (now_ms - current) / INTERVAL_MS[BASE_INTERVAL]
            price = o + (c - o) * share
            rows.append(np.array([o, max(o, price), min(o, price), price, v * share]))
        if not rows:
            return None
        stacked = np.vstack(rows)
        return open_time, np.array([stacked[0, 0], stacked[:, 1].max(), stacked[:, 2].min(), stacked[-1, 3],
                                    stacked[:, 4].sum()])
