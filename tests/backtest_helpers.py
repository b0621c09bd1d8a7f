"""Hand-made candle series for the backtester tests.

Scenario A (regime UP from daily closes 1, 2, 3; CALL_SIZE 10): 5m closes
100, 101, 102, 101, 101, 103, 104.5, 104, 103, 102, 105. RSI(2) signals, worked
out by hand from Wilder's smoothing: bars 0-1 warm-up (none), 2 up, 3 none,
4 none, 5 up, 6 up, 7 up, 8 down, 9 down, 10 up.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.model import FIVE_MINUTES_MS, ONE_DAY_MS

T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC
SYMBOL = "DOGEUSDT"
SIZE = 10.0

SCENARIO_A_CLOSES = [100, 101, 102, 101, 101, 103, 104.5, 104, 103, 102, 105]


def candles(closes: list[float], first_open: int = T0, opens: list[float] | None = None) -> pd.DataFrame:
    """5m candles opening every 5 minutes from ``first_open``; open = ``opens`` or the previous close."""
    closes_array = np.asarray(closes, dtype=np.float64)
    if opens is None:
        opens = [closes[0]] + list(closes[:-1])
    opens_array = np.asarray(opens, dtype=np.float64)
    return pd.DataFrame({
        "open_time": first_open + np.arange(len(closes), dtype=np.int64) * FIVE_MINUTES_MS,
        "open": opens_array,
        "high": np.maximum(opens_array, closes_array),
        "low": np.minimum(opens_array, closes_array),
        "close": closes_array,
        "volume": np.ones(len(closes)),
    })


def daily(closes: list[float], last_close_time: int = T0) -> pd.DataFrame:
    """Daily candles whose last one closes at ``last_close_time``."""
    first_open = last_close_time - len(closes) * ONE_DAY_MS
    frame = candles(closes, first_open)
    frame["open_time"] = first_open + np.arange(len(closes), dtype=np.int64) * ONE_DAY_MS
    return frame


def close_time(first_open: int, bar: int) -> int:
    return first_open + (bar + 1) * FIVE_MINUTES_MS
