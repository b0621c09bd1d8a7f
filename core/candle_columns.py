"""Candles as NumPy columns: what a parameter search reads, without pandas.

A search reads its candles only as columns (open times, opens, closes, highs, lows). The
DataFrame that holds them everywhere else costs the search command pandas' import, 0.2 s
of a command that takes about one second (issue 21's 27-setting search). ``optimize`` loads
its data as :class:`CandleColumns` from the binary cache (adapters.kline_cache), and the
kernel path of :mod:`core.backtest` reads either kind through ``frame[name]``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class CandleColumns:
    """Named columns of equal length (``open_time`` int64 ms, prices float64), in time order."""

    data: Mapping[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.data)

    def __len__(self) -> int:
        return len(self.data["open_time"])

    @property
    def empty(self) -> bool:
        return len(self) == 0

    def head(self, rows: int) -> CandleColumns:
        """The first ``rows`` candles (views, no copy), as ``DataFrame.head``."""
        return CandleColumns({name: column[:rows] for name, column in self.data.items()})

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> CandleColumns:
        return cls({str(name): frame[name].to_numpy() for name in frame.columns})

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(dict(self.data))
