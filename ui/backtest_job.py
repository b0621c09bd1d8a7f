"""The backtest the Backtest tab runs: load a data folder, run core.backtest, shape the result.

Runs in a worker thread (see ui.worker.BackgroundCall); pure Python, no Qt.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP  # marks texts for lupdate; returns them unchanged

from research.backtest_data import load_backtest_inputs
from research.backtest_report import summary_cells
from config.settings import AppSettings
from core.backtest import BacktestConfig, BacktestResult, run_backtest
from core.errors import UserError
from core.model import FIVE_MINUTES_MS
from ui.chart import TradeMarker, marker_kind

# Column titles (English sources; the Backtest tab shows them translated in the "BacktestTab" context).
SUMMARY_COLUMNS = ("", QT_TRANSLATE_NOOP("BacktestTab", "Net PnL"), QT_TRANSLATE_NOOP("BacktestTab", "Return %"),
                   QT_TRANSLATE_NOOP("BacktestTab", "Max DD %"), "Sharpe", QT_TRANSLATE_NOOP("BacktestTab", "Trades"),
                   QT_TRANSLATE_NOOP("BacktestTab", "Win %"), QT_TRANSLATE_NOOP("BacktestTab", "Fees"),
                   QT_TRANSLATE_NOOP("BacktestTab", "Hedges"), QT_TRANSLATE_NOOP("BacktestTab", "In market %"))


@dataclass(frozen=True)
class BacktestRequest:
    settings: AppSettings
    data_dir: Path
    symbols: tuple[str, ...]
    start_ms: int | None
    end_ms: int | None  # exclusive


@dataclass
class BacktestView:
    result: BacktestResult
    prices: dict[str, tuple[np.ndarray, np.ndarray]]  # symbol -> (close times ms, closes) in range

    def summary_rows(self) -> list[tuple[str, ...]]:
        rows = [summary_cells(s) for s in self.result.summaries.values()]
        if len(self.result.summaries) > 1:
            rows.append(summary_cells(self.result.total))
        return rows

    def markers(self, symbol: str) -> list[TradeMarker]:
        return [TradeMarker(f.time, f.price, marker_kind(f.side.value, f.action.value, f.reason))
                for f in self.result.fills if f.symbol == symbol]


def run_backtest_job(request: BacktestRequest, progress: Callable[[int, int], None]) -> BacktestView:
    if not request.symbols:
        raise UserError("Tick at least one symbol to backtest")
    settings = request.settings
    inputs = load_backtest_inputs(request.data_dir, list(request.symbols))
    frames, daily = inputs.candles_5m, inputs.candles_1d
    config = BacktestConfig(
        fill=settings.backtest.fill,
        fee_pct=settings.backtest.fee_pct,
        slippage_bps=settings.backtest.slippage_bps,
        initial_capital=settings.backtest.initial_capital,
        funding=inputs.funding,  # the data folder's <SYMBOL>-fundingRate.csv, when there
        start_ms=request.start_ms,
        end_ms=request.end_ms,
    )
    sizes = {s: settings.symbols[s].call_size for s in request.symbols}
    result = run_backtest(frames, settings.strategy, sizes, config, daily, progress)
    _ = result.fills  # the fill records, built here in the job's thread rather than by the window's first chart
    prices = {}
    for symbol, frame in frames.items():
        opens = frame["open_time"].to_numpy()
        keep = np.ones(opens.size, dtype=bool)
        if request.start_ms is not None:
            keep &= opens >= request.start_ms
        if request.end_ms is not None:
            keep &= opens < request.end_ms
        prices[symbol] = (opens[keep] + FIVE_MINUTES_MS, frame["close"].to_numpy(dtype=float)[keep])
    return BacktestView(result, prices)

