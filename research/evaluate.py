"""The one seam between a search and the backtest engine: one settings object -> its figures.

Every backtest of a search (grid, Optuna, walk-forward, local pool, Dask) goes
through :func:`evaluate`, which makes the one call into the backtester
(:func:`core.backtest.run_backtest`, marked ENGINE below): another engine
returning the same results plugs in there. The figures are the backtest summary's TOTAL row
(``research.backtest_report``), so a row of a search equals ``python main.py
backtest`` run with the same settings and dates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

import numpy as np

from config.settings import AppSettings
from core.backtest import DEFAULT_ENGINE, BacktestConfig, daily_equity, drawdowns, run_backtest, sharpe_of_daily
from core.candle_columns import CandleColumns

if TYPE_CHECKING:
    import pandas as pd

OBJECTIVES = ("net_pnl", "sharpe", "calmar", "profit_factor")
BACKTEST_COLUMNS = ("net_pnl", "return_pct", "max_dd_pct", "sharpe", "trades", "fees", "hedges",
                    "calmar", "profit_factor")  # one backtest's figures: Metrics.row()
# The search's statistics of a row (research.overfitting): known once the whole search is, empty before.
SEARCH_COLUMNS = ("dsr", "pbo")
METRIC_COLUMNS = (*BACKTEST_COLUMNS, *SEARCH_COLUMNS)  # a row's figures in results.csv


@dataclass(frozen=True)
class MarketData:
    """Pre-loaded candles (and funding), sent once to each worker of a search: DataFrames, or
    :class:`CandleColumns` (``optimize`` loads those: no pandas import)."""

    candles_5m: Mapping[str, pd.DataFrame | CandleColumns]
    candles_1d: Mapping[str, pd.DataFrame | CandleColumns] = field(default_factory=dict)
    funding: Mapping[str, pd.DataFrame] | None = None

    @property
    def symbols(self) -> list[str]:
        return list(self.candles_5m)

    def span_ms(self) -> tuple[int, int]:
        """[first open, last close) over all symbols, ms UTC."""
        times = [np.asarray(frame["open_time"]) for frame in self.candles_5m.values()]
        firsts = [int(column[0]) for column in times]
        lasts = [int(column[-1]) for column in times]
        return min(firsts), max(lasts) + 5 * 60_000


@dataclass(frozen=True)
class Metrics:
    """One backtest's figures over all symbols (the summary's TOTAL), plus the two ratio objectives.

    ``calmar`` = return % / max drawdown % over the period (0 without a loss-free gain, +inf when
    there is a gain and no drawdown); ``profit_factor`` = sum of the gaining days' equity changes /
    sum of the losing days' (the same daily series the Sharpe uses; +inf without a losing day).
    ``equity`` (close times ms, total equity) is kept only when asked for. ``daily_returns`` are the
    Sharpe's daily series (not written anywhere; the search's overfitting statistics read them).
    ``dsr`` and ``pbo`` belong to the search, not to one backtest: NaN until the search has finished
    (research.overfitting): this setting's deflated Sharpe given every setting tried, and the search's
    probability of backtest overfitting (the same on every row of a search or walk-forward window).
    """

    net_pnl: float
    return_pct: float
    max_dd_pct: float
    sharpe: float
    trades: int
    fees: float
    hedges: int
    calmar: float
    profit_factor: float
    equity: tuple[np.ndarray, np.ndarray] | None = None
    dsr: float = math.nan
    pbo: float = math.nan
    daily_returns: np.ndarray | None = field(default=None, compare=False, repr=False)

    def objective(self, name: str) -> float:
        return float(getattr(self, name))

    def row(self) -> dict[str, float | int]:
        """The backtest's own figures (not the search's dsr and pbo)."""
        return {name: getattr(self, name) for name in BACKTEST_COLUMNS}


def calmar_ratio(return_pct: float, max_dd_pct: float) -> float:
    if max_dd_pct > 0:
        return return_pct / max_dd_pct
    return math.inf if return_pct > 0 else 0.0


def daily_returns(times: np.ndarray, equity: np.ndarray, capital: float) -> np.ndarray:
    """Each UTC day's return on the previous day's equity: the series the summary's Sharpe uses."""
    return returns_of_daily(daily_equity(times, equity, capital))


def returns_of_daily(daily: np.ndarray) -> np.ndarray:
    """The returns of :func:`core.backtest.daily_equity` (as its Sharpe computes them)."""
    return np.diff(daily) / daily[:-1]


def daily_profit_factor(times: np.ndarray, equity: np.ndarray, capital: float) -> float:
    return profit_factor_of_daily(daily_equity(times, equity, capital))


def profit_factor_of_daily(daily: np.ndarray) -> float:
    """Sum of the gaining days' equity changes / sum of the losing days' (+inf without a losing day)."""
    changes = np.diff(daily)
    gains, losses = float(changes[changes > 0].sum()), float(-changes[changes < 0].sum())
    if losses > 0:
        return gains / losses
    return math.inf if gains > 0 else 0.0


def curve_metrics(times: np.ndarray, equity: np.ndarray, capital: float, trades: int, fees: float,
                  hedges: int, keep_equity: bool = False) -> Metrics:
    """Figures of a total equity curve (also used for walk-forward's chained out-of-sample curve)."""
    net = (float(equity[-1]) if equity.size else float(capital)) - capital
    return_pct = net / capital * 100.0
    max_dd_pct = drawdowns(equity, capital)[1]
    daily = daily_equity(times, equity, capital)  # once for the Sharpe, the profit factor and the returns
    return Metrics(
        net_pnl=net, return_pct=return_pct, max_dd_pct=max_dd_pct,
        sharpe=sharpe_of_daily(daily) if times.size else 0.0,
        trades=trades, fees=fees, hedges=hedges,
        calmar=calmar_ratio(return_pct, max_dd_pct),
        profit_factor=profit_factor_of_daily(daily),
        equity=(times, equity) if keep_equity else None,
        daily_returns=returns_of_daily(daily),
    )


def evaluate(settings: AppSettings, data: MarketData, start_ms: int | None, end_ms: int | None,
             keep_equity: bool = False, engine: str = DEFAULT_ENGINE) -> Metrics:
    """Backtest ``settings`` on ``data``, trading bars with ``start_ms <= open < end_ms``
    (earlier candles warm up the indicators and the regime, as ``backtest --start`` does).
    ``engine`` as ``backtest --engine`` (both give the same figures)."""
    backtest = settings.backtest
    config = BacktestConfig(fill=backtest.fill, fee_pct=backtest.fee_pct, slippage_bps=backtest.slippage_bps,
                            initial_capital=backtest.initial_capital, funding=data.funding,
                            start_ms=start_ms, end_ms=end_ms)
    sizes = {symbol: settings.symbols[symbol].call_size for symbol in data.candles_5m}
    # ENGINE: the one call into the backtester. The kernel runs without per-fill records: a search
    # reads only the figures and the equity.
    result = run_backtest(dict(data.candles_5m), settings.strategy, sizes, config, dict(data.candles_1d) or None,
                          engine=engine, records=engine != "kernel")
    total, combined = result.total, result.combined
    daily = result.total_daily_equity  # the summary's daily series: not computed again
    # The summary's own figures, so a row equals the backtest report exactly.
    return Metrics(net_pnl=total.net_pnl, return_pct=total.return_pct, max_dd_pct=total.max_drawdown_pct,
                   sharpe=total.sharpe, trades=total.trades, fees=total.fees, hedges=total.hedges_opened,
                   calmar=calmar_ratio(total.return_pct, total.max_drawdown_pct),
                   profit_factor=profit_factor_of_daily(daily),
                   equity=(combined.times, combined.equity) if keep_equity else None,
                   daily_returns=returns_of_daily(daily))
