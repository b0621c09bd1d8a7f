"""Loading a data folder for a backtest: one place for the CLI and the GUI's backtest tab."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from adapters import kline_files
from core.candle_columns import CandleColumns

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class BacktestInputs:
    candles_5m: dict[str, pd.DataFrame | CandleColumns] = field(default_factory=dict)
    candles_1d: dict[str, pd.DataFrame | CandleColumns] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # gaps, duplicates, resampled days: told to the user
    funding: dict[str, pd.DataFrame] | None = None  # from <SYMBOL>-fundingRate*.csv in the folder; None: none


def load_backtest_inputs(folder: Path | str, symbols: list[str], columns: bool = False) -> BacktestInputs:
    """Each symbol's 5m candles (required) and 1d candles (optional: resampled from 5m otherwise [B5]);
    as :class:`CandleColumns` with ``columns`` (a search: no pandas when the binary cache has them)."""
    inputs = BacktestInputs()
    for symbol in symbols:
        loaded = kline_files.load_symbol(folder, symbol, "5m", columns=columns)
        inputs.candles_5m[symbol] = loaded.frame
        inputs.notes += [text for text in (loaded.gap_summary(),) if text]
        if loaded.duplicates_dropped:
            inputs.notes.append(f"{symbol} 5m: {loaded.duplicates_dropped} duplicate candles dropped")
        daily = kline_files.load_symbol(folder, symbol, "1d", required=False, columns=columns)
        if daily is not None:
            inputs.candles_1d[symbol] = daily.frame
        else:
            inputs.notes.append(f"{symbol}: no 1d file, daily candles resampled from 5m by UTC day [B5]")
    inputs.funding, note = load_folder_funding(folder, symbols)
    inputs.notes.append(note)
    return inputs


def load_folder_funding(folder: Path | str, symbols: list[str]) -> tuple[dict[str, pd.DataFrame] | None, str]:
    """Funding rates of ``symbols`` from ``<SYMBOL>-fundingRate*.csv`` (.gz, .zip) in ``folder``
    (what ``download`` writes, or data.binance.vision's monthly files), and the one line that
    says what is charged."""
    found: dict[str, pd.DataFrame] = {}
    for symbol in symbols:
        paths = sorted(p for p in Path(folder).glob(f"{symbol}-fundingRate*")
                       if p.name.endswith((".csv", ".csv.gz", ".zip")))
        frames = [kline_files.load_funding_csv(path).get(symbol) for path in paths]
        frames = [frame for frame in frames if frame is not None and not frame.empty]
        if frames:
            import pandas as pd

            frame = pd.concat(frames, ignore_index=True).drop_duplicates("funding_time", keep="last")
            found[symbol] = frame.sort_values("funding_time").reset_index(drop=True)
    missing = [symbol for symbol in symbols if symbol not in found]
    if not found:
        return None, (f"funding NOT charged: no <SYMBOL>-fundingRate.csv in {folder} "
                      "(python main.py download fetches it, or give --funding)")
    charged = ", ".join(f"{symbol} ({len(frame):,} payments)" for symbol, frame in found.items())
    rest = f"; NOT charged for {', '.join(missing)} (no funding file)" if missing else ""
    return found, f"funding charged from {folder}: {charged}{rest}"


def available_symbols(folder: Path | str) -> list[str]:
    return kline_files.available_symbols(folder, "5m")
