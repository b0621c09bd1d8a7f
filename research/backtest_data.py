"""Loading a data folder for a backtest: one place for the CLI and the GUI's backtest tab."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from adapters import kline_files


@dataclass
class BacktestInputs:
    candles_5m: dict[str, pd.DataFrame] = field(default_factory=dict)
    candles_1d: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # gaps, duplicates, resampled days: told to the user


def load_backtest_inputs(folder: Path | str, symbols: list[str]) -> BacktestInputs:
    """Each symbol's 5m candles (required) and 1d candles (optional: resampled from 5m otherwise [B5])."""
    inputs = BacktestInputs()
    for symbol in symbols:
        loaded = kline_files.load_symbol(folder, symbol, "5m")
        inputs.candles_5m[symbol] = loaded.frame
        inputs.notes += [text for text in (loaded.gap_summary(),) if text]
        if loaded.duplicates_dropped:
            inputs.notes.append(f"{symbol} 5m: {loaded.duplicates_dropped} duplicate candles dropped")
        daily = kline_files.load_symbol(folder, symbol, "1d", required=False)
        if daily is not None:
            inputs.candles_1d[symbol] = daily.frame
        else:
            inputs.notes.append(f"{symbol}: no 1d file, daily candles resampled from 5m by UTC day [B5]")
    return inputs


def available_symbols(folder: Path | str) -> list[str]:
    return kline_files.available_symbols(folder, "5m")
