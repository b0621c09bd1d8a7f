"""The backtester: drives HedgeStrategy over history through the real order path [SPEC B].

Pure: candles come in as DataFrames (``open_time`` ms UTC, ``open``, ``close``
...), results go out as records; no files, no clock, no network.

Per symbol, for every 5m bar in time order [B2, G4, B1, B4]:

1. ``next_open`` only: orders decided on the previous bar are executed at this
   bar's open (``broker.set_price(open)``) before anything else.
2. [E1] The guard held on the exchange (``params.guard``, off by default in
   ``StrategyParams``) acts inside the bar, with its high and low
   (``strategy.on_bar_guard``): its order fills at once at the trigger, or at the
   open when the bar gapped through it, before the bar's closes below.
   Funding due at or before this bar's close is charged on the positions held.
3. Every daily candle that has closed by this bar's close is passed to
   ``on_daily_close`` (the daily close first [G4]), then the bar itself to
   ``on_bar_close``.
4. ``close`` only: the bar's orders are executed at once at its close.
5. Equity (cash + positions marked at the close) is recorded.

Orders go through :class:`core.executor.OrderExecutor` over
:class:`core.sim_broker.SimulatedBroker` — the same interface, executor and fill
model as paper and live trading — and fills come back through
``strategy.apply_fill``. No rule is re-implemented here.

Indicators are computed once over each whole series with
:func:`core.indicators.signal_codes`; they are causal [I3], so index i equals
what a live bot computes on its buffer at bar i. Symbols are independent
strategies, so each symbol runs on its own and the combined equity curve is the
per-symbol PnL aligned by time and summed. The account-wide loss limits [L1-L3] are
therefore split evenly between the symbols (:func:`account_share`).
"""
from __future__ import annotations

import math
import operator
from decimal import Decimal
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

import numpy as np

from core import indicators
from core.candle_columns import CandleColumns
from core.errors import UserError
from core.model import FIVE_MINUTES_MS, ONE_DAY_MS, Action, BarClose, Fill, OrderIntent, Side, Signal
from core.params import StrategyParams
from core.sim_broker import SimulatedBroker, buys
from core.decide import QTY_EPSILON
from core.trades import FillColumns, FundingCharge, TradeRecord, trade_records

if TYPE_CHECKING:  # candles come as DataFrames or, in a search, as CandleColumns (no pandas import)
    import pandas as pd

    from core.strategy import HedgeStrategy

FILL_MODES = ("next_open", "close")
ENGINES = ("kernel", "exact")
DEFAULT_ENGINE = "kernel"
HEDGE_OPEN_REASONS = frozenset({"R3", "R5", "E1"})  # E1: a hedge guard [E1] (a stop guard closes)
TRADING_DAYS_PER_YEAR = 365  # crypto trades every day
_PROGRESS_EVERY = 4096  # bars between progress callbacks

ProgressCallback = Callable[[int, int], None]


class BacktestInputError(UserError):
    """The backtest cannot run on what it was given (no candles in range, no size...)."""


@dataclass(frozen=True)
class BacktestConfig:
    """How orders fill and what is counted [B1].

    ``funding``: per symbol, a DataFrame with ``funding_time`` (ms UTC) and
    ``funding_rate`` (fraction, e.g. 0.0001); None = funding not modelled.
    ``start_ms`` / ``end_ms``: trade only bars with ``start_ms <= open_time < end_ms``;
    earlier candles still warm up the indicators and set the regime [B5, G2].
    """

    fill: str = "next_open"
    fee_pct: float = 0.05
    slippage_bps: float = 0.0
    initial_capital: float = 1000.0
    funding: Mapping[str, pd.DataFrame] | None = None
    start_ms: int | None = None
    end_ms: int | None = None

    def __post_init__(self) -> None:
        if self.fill not in FILL_MODES:
            raise BacktestInputError(f"fill = {self.fill!r} is not a fill model; use one of: {', '.join(FILL_MODES)}")
        if self.fee_pct < 0 or self.slippage_bps < 0:
            raise BacktestInputError("fee and slippage must not be negative")
        if not self.initial_capital > 0:
            raise BacktestInputError(f"initial capital must be > 0, got {self.initial_capital}")


@dataclass
class EquityCurve:
    """Equity (initial capital + PnL, fees and funding included) at each bar close."""

    times: np.ndarray  # close times, ms UTC, int64
    equity: np.ndarray  # float64

    @property
    def drawdown_pct(self) -> np.ndarray:
        """Percent below the running peak (<= 0) at each point."""
        if self.equity.size == 0:
            return self.equity.copy()
        peak = np.maximum.accumulate(self.equity)
        return (self.equity - peak) / peak * 100.0


@dataclass
class Summary:
    """The numbers of the summary table, for one symbol or the total."""

    name: str
    bars: int
    net_pnl: float
    return_pct: float
    max_drawdown: float  # USDT below the running peak
    max_drawdown_pct: float  # percent below the running peak (positive number)
    sharpe: float  # daily returns, annualised with sqrt(365)
    trades: int  # closing fills (round trips)
    wins: int  # closes whose PnL after both fills' fees was > 0
    fees: float
    funding: float  # paid (+) or received (-); 0 when not modelled
    hedges_opened: int
    fills: int
    time_in_market_pct: float
    open_positions: dict[str, float] = field(default_factory=dict)  # 'DOGEUSDT LONG' -> qty, at the end

    @property
    def win_rate_pct(self) -> float:
        return self.wins / self.trades * 100.0 if self.trades else 0.0


@dataclass
class BacktestResult:
    fill_columns: FillColumns  # every fill in time order (decision time, then symbol), as columns
    equity: dict[str, EquityCurve]  # per symbol (initial capital + that symbol's PnL)
    combined: EquityCurve  # initial capital + the sum of every symbol's PnL
    summaries: dict[str, Summary]
    total: Summary
    warnings: list[str]
    config: BacktestConfig
    funding_modelled: bool
    funding_charges: Mapping[str, list[FundingCharge]] | None = None  # per symbol; None: not modelled
    total_daily_equity: np.ndarray | None = None  # daily_equity() of ``combined``: the Sharpe's daily series

    # The records are built when first read: the backtest command writes trades.csv from the columns
    # (FillColumns.write_csv), and building a year's 37k fills and trades as objects costs more than
    # the simulation.
    @cached_property
    def fills(self) -> list[Fill]:
        """The fills in time order (decision time, then symbol)."""
        return self.fill_columns.records()

    @cached_property
    def trades(self) -> list[TradeRecord]:
        """The same, as trade rows [B3] with realised PnL and funding."""
        return trade_records(self.fill_columns, self.funding_charges)

    def write_trades_csv(self, path) -> None:
        """trades.csv [B3]: the same bytes as ``core.trades.write_trades_csv(self.trades, path)``."""
        self.fill_columns.write_csv(path, self.funding_charges)


# ----- accounting ---------------------------------------------------------------------------------


@dataclass
class _Ledger:
    """Cash-flow accounting of one symbol's fills: equity = cash + (long - short) x price."""

    cash: float = 0.0
    qty: dict[Side, float] = field(default_factory=lambda: {Side.LONG: 0.0, Side.SHORT: 0.0})
    entry: dict[Side, float] = field(default_factory=lambda: {Side.LONG: 0.0, Side.SHORT: 0.0})
    open_fees: dict[Side, float] = field(default_factory=lambda: {Side.LONG: 0.0, Side.SHORT: 0.0})
    fees: float = 0.0
    funding: float = 0.0
    trades: int = 0
    wins: int = 0
    hedges_opened: int = 0
    fills: list[Fill] = field(default_factory=list)
    fill_count: int = 0  # len(fills), or the count alone when the records are not kept

    @property
    def net_qty(self) -> float:
        return self.qty[Side.LONG] - self.qty[Side.SHORT]

    @property
    def in_market(self) -> bool:
        return self.qty[Side.LONG] > 0.0 or self.qty[Side.SHORT] > 0.0

    def record(self, fill: Fill) -> None:
        side = fill.side
        notional = fill.qty * fill.price
        self.cash += -notional if buys(side, fill.action) else notional
        self.cash -= fill.fee
        self.fees += fill.fee
        held = self.qty[side]
        if fill.action is Action.OPEN:
            self.entry[side] = (self.entry[side] * held + notional) / (held + fill.qty)
            self.qty[side] = held + fill.qty
            self.open_fees[side] += fill.fee
            if fill.reason in HEDGE_OPEN_REASONS:
                self.hedges_opened += 1
        else:
            share = min(1.0, fill.qty / held) if held > 0 else 1.0
            opening_fee = self.open_fees[side] * share
            gross = (fill.price - self.entry[side]) * fill.qty * side.direction  # [R7]
            self.trades += 1
            self.wins += gross - opening_fee - fill.fee > 0
            self.open_fees[side] -= opening_fee
            self.qty[side] = max(0.0, held - fill.qty)
            if self.qty[side] <= 1e-12:
                self.qty[side], self.entry[side], self.open_fees[side] = 0.0, 0.0, 0.0
        self.fills.append(fill)
        self.fill_count += 1

    def charge_funding(self, rate: float, mark: float) -> None:
        """Longs pay ``rate x notional`` to shorts (a negative rate reverses it)."""
        payment = rate * self.net_qty * mark
        self.cash -= payment
        self.funding += payment


# ----- daily candles ------------------------------------------------------------------------------


def resample_daily(frame_5m: pd.DataFrame | CandleColumns,
                   interval_ms: int = FIVE_MINUTES_MS) -> pd.DataFrame | CandleColumns:
    """Daily candles (open_time, open, high, low, close, volume) by UTC day from 5m candles [B5],
    of the same kind as ``frame_5m`` (a DataFrame, or CandleColumns in a search).

    A day counts only once it has closed, i.e. the data reaches its last 5m
    candle (23:55); a trailing partial day is left out so that no signal reads
    a candle that has not closed [I3]. Days with gaps inside are kept (the
    exchange's own daily candle spans them too).
    """
    open_times = _column(frame_5m, "open_time", np.int64)
    names = ("open_time", "open", "high", "low", "close", "volume")
    if open_times.size == 0:
        daily = {"open_time": open_times[:0], **{name: np.empty(0, dtype=np.float64) for name in names[1:]}}
    else:
        day = open_times // ONE_DAY_MS
        starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
        ends = np.r_[starts[1:], day.size] - 1
        daily = {
            "open_time": day[starts] * ONE_DAY_MS,
            "open": _column(frame_5m, "open", np.float64)[starts],
            "high": np.maximum.reduceat(_column(frame_5m, "high", np.float64), starts),
            "low": np.minimum.reduceat(_column(frame_5m, "low", np.float64), starts),
            "close": _column(frame_5m, "close", np.float64)[ends],
            "volume": np.add.reduceat(_column(frame_5m, "volume", np.float64), starts),
        }
        if open_times[-1] < (day[-1] + 1) * ONE_DAY_MS - interval_ms:
            daily = {name: column[:-1] for name, column in daily.items()}
    if isinstance(frame_5m, CandleColumns):
        return CandleColumns(daily)
    return CandleColumns(daily).to_frame()


def _column(frame: pd.DataFrame | CandleColumns, name: str, dtype: type) -> np.ndarray:
    return np.asarray(frame[name], dtype=dtype)


def _trading_range(open_times: np.ndarray, config: BacktestConfig) -> tuple[int, int]:
    """Indices [first, stop) of the bars with start_ms <= open_time < end_ms."""
    first = 0 if config.start_ms is None else int(np.searchsorted(open_times, config.start_ms, "left"))
    stop = open_times.size if config.end_ms is None else int(np.searchsorted(open_times, config.end_ms, "left"))
    return first, max(first, stop)


# ----- one symbol ---------------------------------------------------------------------------------


@dataclass
class _SymbolRun:
    ledger: _Ledger
    curve: EquityCurve
    bars_in_market: int
    warnings: list[str]
    open_positions: dict[str, float]
    fills: FillColumns  # in execution order


def account_share(params: StrategyParams, capital: float, symbols: int) -> tuple[StrategyParams, float]:
    """[L1-L3] in a backtest: symbols run one after the other, so an account-wide limit cannot see
    the others' equity. Each symbol gets an even share of the account: equity marked on
    ``capital / symbols`` (+ its own PnL), and 1/symbols of the USDT daily loss cap and of the
    total notional cap; percent limits and the per-symbol notional cap apply as they are. The
    shares never add up to more than the account's limit (with one symbol they are exactly the
    account's); a symbol can stop where the whole account would not have yet. Returns
    (the params each symbol runs with, the capital its limits mark equity on)."""
    if symbols <= 1:
        return params, capital
    protect = params.protect
    share = replace(protect, max_daily_loss_usdt=protect.max_daily_loss_usdt / symbols,
                    max_total_notional=protect.max_total_notional / symbols)
    return replace(params, protect=share), capital / symbols


class _SymbolBacktest:
    """One symbol's strategy, broker and executor, stepped bar by bar."""

    def __init__(self, symbol: str, params: StrategyParams, call_size: float, config: BacktestConfig,
                 limit_capital: float | None = None):
        # Imported here: only the exact engine runs the strategy object and the executor (the kernel
        # runs core.decide's rules), and the backtest command's start is shorter without them.
        from core.executor import ExecutionStatus, OrderExecutor
        from core.strategy import HedgeStrategy

        self.symbol = symbol
        self.config = config
        self.limit_capital = config.initial_capital if limit_capital is None else limit_capital  # [L1, L2]
        self.strategy: HedgeStrategy = HedgeStrategy(symbol, params, call_size)
        self.broker = SimulatedBroker(fee_pct=config.fee_pct, slippage_bps=config.slippage_bps)
        self.executor = OrderExecutor(self.broker, sleep=lambda seconds: None)
        self._filled = ExecutionStatus.FILLED
        self.ledger = _Ledger()
        self.warnings: list[str] = []

    def _on_fill(self, fill: Fill) -> None:
        self.strategy.apply_fill(fill)
        self.ledger.record(fill)

    def execute(self, intents: list[OrderIntent], price: float, time_ms: int) -> None:
        """Fill ``intents`` at ``price`` through the executor; tell the strategy each is finished."""
        self.broker.set_price(self.symbol, price, time_ms)
        for intent in intents:
            result = self.executor.execute(intent, price, self._on_fill)
            self.strategy.finish_order(intent.client_id)
            if result.status is not self._filled:
                self.warnings.append(f"{self.symbol} {intent.side.value} {intent.action.value} ({intent.reason}) "
                                     f"at {time_ms}: {result.status.value} {result.message}")

    def drop(self, intents: list[OrderIntent]) -> None:
        """[B4] Orders decided on the last bar have no next open: no fill."""
        for intent in intents:
            self.strategy.finish_order(intent.client_id)

    def run(self, frame_5m: pd.DataFrame, frame_1d: pd.DataFrame | None, tick: Callable[[int], None]) -> _SymbolRun:
        config = self.config
        signal_params = self.strategy.params.signal
        all_open_times = _column(frame_5m, "open_time", np.int64)
        all_closes = _column(frame_5m, "close", np.float64)
        first, stop = _trading_range(all_open_times, config)
        if stop <= first:
            raise BacktestInputError(f"{self.symbol} has no 5m candles in the chosen date range")
        # Indicators over everything up to the end of the range: causal [I3], warmed up by earlier bars [B5].
        closes = all_closes[:stop]
        signals = [indicators.code_to_signal(code) for code in (-1, 0, 1)]
        codes = indicators.signal_codes(closes, signal_params)
        bar_signals = [signals[code + 1] for code in codes.tolist()]
        if frame_1d is None:
            frame_1d = resample_daily(frame_5m.head(stop))
        day_closes = _column(frame_1d, "open_time", np.int64) + ONE_DAY_MS
        day_signals = [signals[code + 1] for code in indicators.signal_codes(_column(frame_1d, "close", np.float64),
                                                                              signal_params).tolist()]
        funding_times, funding_rates = self._funding_arrays()

        open_times = all_open_times.tolist()
        opens = _column(frame_5m, "open", np.float64).tolist()
        guarded = self.strategy.params.guard.mode != "off"
        highs, lows = _bar_extremes(frame_5m, stop, guarded, self.symbol)
        highs, lows = highs.tolist(), lows.tolist()
        close_list = closes.tolist()
        strategy, ledger = self.strategy, self.ledger
        fill_at_close = config.fill == "close"
        count = stop - first
        equity = np.empty(count, dtype=np.float64)
        times = all_open_times[first:stop] + FIVE_MINUTES_MS
        day_index, funding_index, in_market = 0, 0, 0
        queued: list[OrderIntent] = []
        capital = config.initial_capital
        for i in range(first, stop):
            close_time = open_times[i] + FIVE_MINUTES_MS
            price = close_list[i]
            if queued:  # [B1] next_open: last bar's orders fill at this bar's open
                self.execute(queued, opens[i], open_times[i])
                queued = []
            if guarded:  # [E1] the guard acts within the bar, before its closes (daily and 5m)
                placing = close_list[i - 1] if fill_at_close and i > 0 else opens[i]  # after the last fills
                guard_intents, guard_price = strategy.on_bar_guard(open_times[i], placing, opens[i], highs[i],
                                                                   lows[i])
                if guard_intents:
                    self.execute(guard_intents, guard_price, open_times[i])
            while funding_index < len(funding_times) and funding_times[funding_index] <= close_time:
                ledger.charge_funding(funding_rates[funding_index], price)
                funding_index += 1
            intents: list[OrderIntent] = []
            while day_index < len(day_closes) and day_closes[day_index] <= close_time:  # [G4] daily first
                intents += strategy.on_daily_close(int(day_closes[day_index]), day_signals[day_index])
                day_index += 1
            previous = bar_signals[i - 1] if i > 0 else Signal.NONE
            marked = self.limit_capital + ledger.cash + ledger.net_qty * price  # [L1, L2] before the decisions
            intents += strategy.on_bar_close(BarClose(close_time, price, bar_signals[i], previous), marked)
            if intents:
                if fill_at_close:
                    self.execute(intents, price, close_time)
                else:
                    queued = intents
            equity[i - first] = capital + ledger.cash + ledger.net_qty * price  # [B4] marked to market
            in_market += ledger.in_market
            if (i - first) % _PROGRESS_EVERY == _PROGRESS_EVERY - 1:
                tick(_PROGRESS_EVERY)
        tick(count % _PROGRESS_EVERY)
        self.drop(queued)
        if strategy.state.regime is None:
            self.warnings.append(f"[G2] {self.symbol}: no daily signal was known at any bar "
                                 f"({len(day_closes)} daily candles): the strategy never traded")
        open_positions = {f"{self.symbol} {side.value}": qty for side, qty in ledger.qty.items() if qty > 0}
        return _SymbolRun(ledger, EquityCurve(times, equity), in_market, self.warnings, open_positions,
                          FillColumns.from_records(ledger.fills))

    def _funding_arrays(self) -> tuple[list[int], list[float]]:
        return _funding_arrays(self.config, self.symbol)


def _bar_extremes(frame_5m: pd.DataFrame, stop: int, needed: bool, symbol: str) -> tuple[np.ndarray, np.ndarray]:
    """The bars' highs and lows up to ``stop``, which the guard's model reads [E1]. Candles without
    them are refused when the guard is modelled; otherwise the opens stand in (never read)."""
    if "high" in frame_5m.columns and "low" in frame_5m.columns:
        return _column(frame_5m, "high", np.float64)[:stop], _column(frame_5m, "low", np.float64)[:stop]
    if needed:
        raise BacktestInputError(f"{symbol}: the 5m candles have no high and low columns, which the guard's model "
                                 f"needs [E1]; set exchange.guard_mode to off or use full candles")
    opens = _column(frame_5m, "open", np.float64)[:stop]
    return opens, opens


def _funding_arrays(config: BacktestConfig, symbol: str) -> tuple[list[int], list[float]]:
    """The symbol's funding times (ms) and rates, in time order; empty when not modelled."""
    funding = config.funding
    if funding is None or symbol not in funding:
        return [], []
    frame = funding[symbol].sort_values("funding_time")
    return frame["funding_time"].astype("int64").tolist(), frame["funding_rate"].astype(float).tolist()


def _funding_charges(config: BacktestConfig, symbol: str, frame_5m: pd.DataFrame) -> list[FundingCharge]:
    """(bar close time, rate x that close) of each funding payment the run charged: at the first
    traded bar whose close is at or after the funding time, as both engines do."""
    times, rates = _funding_arrays(config, symbol)
    open_times = _column(frame_5m, "open_time", np.int64)
    first, stop = _trading_range(open_times, config)
    if not times or stop <= first:
        return []
    closes_at = open_times[first:stop] + FIVE_MINUTES_MS
    bars = np.maximum(np.searchsorted(closes_at, np.asarray(times, dtype=np.int64), side="left"), 0)
    prices = _column(frame_5m, "close", np.float64)[first:stop]
    return [(int(closes_at[bar]), rate * float(prices[bar])) for bar, rate in zip(bars.tolist(), rates)
            if bar < closes_at.size]


# ----- the kernel engine --------------------------------------------------------------------------

# A fill's fee goes through Decimal(repr(fee)) * qty / qty in the executor: exact (hence equal to
# the kernel's float) while the product fits Decimal's 28 digits, i.e. qty has at most 28 - 17.
_KERNEL_MAX_SIZE_DIGITS = 11


def kernel_unsupported(call_sizes: Mapping[str, float]) -> str | None:
    """Why the kernel cannot reproduce the exact engine for these settings, or None when it can."""
    for symbol, size in call_sizes.items():
        size = float(size)
        if not (math.isfinite(size) and size > QTY_EPSILON):
            return f"{symbol} call_size {size!r} is not a positive quantity"
        digits = len(Decimal(repr(size)).as_tuple().digits)
        if digits > _KERNEL_MAX_SIZE_DIGITS:
            return (f"{symbol} call_size {size!r} has {digits} significant digits "
                    f"(the kernel reproduces the executor's fee rounding up to {_KERNEL_MAX_SIZE_DIGITS})")
    return None


def _run_symbol_kernel(symbol: str, params: StrategyParams, call_size: float, config: BacktestConfig,
                       frame_5m: pd.DataFrame, frame_1d: pd.DataFrame | None, records: bool = True,
                       limit_capital: float | None = None) -> _SymbolRun:
    """One symbol through :func:`core.kernel.run_symbol`: the same inputs and results as
    :meth:`_SymbolBacktest.run`, fills and equity identical (fill records only if ``records``)."""
    from core import kernel  # imported here: compiling it is only worth it for a backtest

    all_open_times = _column(frame_5m, "open_time", np.int64)
    first, stop = _trading_range(all_open_times, config)
    if stop <= first:
        raise BacktestInputError(f"{symbol} has no 5m candles in the chosen date range")
    closes = _column(frame_5m, "close", np.float64)[:stop]
    codes = kernel.signal_codes(closes, params.signal)
    if frame_1d is None:
        frame_1d = resample_daily(frame_5m.head(stop))
    day_closes = _column(frame_1d, "open_time", np.int64) + ONE_DAY_MS
    day_codes = kernel.signal_codes(_column(frame_1d, "close", np.float64), params.signal)
    funding_times, funding_rates = _funding_arrays(config, symbol)
    highs, lows = _bar_extremes(frame_5m, stop, params.guard.mode != "off", symbol)
    run = kernel.run_symbol(
        all_open_times[:stop], _column(frame_5m, "open", np.float64)[:stop], closes, codes, day_closes, day_codes,
        np.asarray(funding_times, dtype=np.int64), np.asarray(funding_rates, dtype=np.float64),
        first, stop, config.fill == "close", call_size, config.fee_pct, config.slippage_bps,
        config.initial_capital, params, limit_capital, highs, lows,
    )
    fills = _kernel_fills(symbol, run) if records else FillColumns()
    ledger = _Ledger(
        cash=float(run.cash),
        qty={Side.LONG: float(run.qty_long), Side.SHORT: float(run.qty_short)},
        fees=float(run.fees),
        funding=float(run.funding),
        trades=int(run.trades),
        wins=int(run.wins),
        hedges_opened=int(run.hedges_opened),
        fill_count=int(run.fill_count),
    )
    warnings = []
    if run.regime == 0:
        warnings.append(f"[G2] {symbol}: no daily signal was known at any bar "
                        f"({len(day_closes)} daily candles): the strategy never traded")
    times = all_open_times[first:stop] + FIVE_MINUTES_MS
    open_positions = {f"{symbol} {side.value}": qty for side, qty in ledger.qty.items() if qty > 0}
    return _SymbolRun(ledger, EquityCurve(times, np.asarray(run.equity)), int(run.bars_in_market), warnings,
                      open_positions, fills)


def _kernel_fills(symbol: str, run) -> FillColumns:
    """The kernel's fill arrays as the columns of the fills the executor would have reported."""
    from core import decide

    sides, actions, reasons = (Side.LONG, Side.SHORT), (Action.OPEN, Action.CLOSE), decide.REASONS
    count = int(run.fill_count)
    return FillColumns(
        symbol=[symbol] * count,
        side=[sides[side] for side in np.asarray(run.fill_side).tolist()],
        action=[actions[action] for action in np.asarray(run.fill_action).tolist()],
        reason=[reasons[reason] for reason in np.asarray(run.fill_reason).tolist()],
        decision_time=np.asarray(run.fill_decision_time).tolist(),
        time=np.asarray(run.fill_time).tolist(),
        qty=np.asarray(run.fill_qty).tolist(),
        price=np.asarray(run.fill_price).tolist(),
        fee=np.asarray(run.fill_fee).tolist(),
        seq=np.asarray(run.fill_seq).tolist(),  # client ids as HedgeStrategy._intent numbers orders
    )


# ----- metrics ------------------------------------------------------------------------------------


def daily_equity(times: np.ndarray, equity: np.ndarray, capital: float,
                 last_of_day: np.ndarray | None = None) -> np.ndarray:
    """``capital``, then the equity at each UTC day's last bar: the series of the Sharpe, the daily
    returns and the profit factor. ``last_of_day``: :func:`last_bar_of_each_day` of ``times``, when known."""
    if times.size == 0:
        return np.array([capital], dtype=np.float64)
    if last_of_day is None:
        last_of_day = last_bar_of_each_day(times)
    daily = np.empty(last_of_day.size + 1, dtype=np.float64)  # np.r_[capital, equity[last_of_day]]
    daily[0] = capital
    np.take(equity, last_of_day, out=daily[1:])
    return daily


def last_bar_of_each_day(times: np.ndarray) -> np.ndarray:
    """Index of each UTC day's last bar close (a close at 00:00 belongs to the day it ends)."""
    day = (times - 1) // ONE_DAY_MS
    return np.r_[np.flatnonzero(day[1:] != day[:-1]), day.size - 1]


def sharpe_of_daily(daily: np.ndarray) -> float:
    """Sharpe of the returns of :func:`daily_equity`, annualised with sqrt(365)."""
    returns = np.diff(daily) / daily[:-1]
    if returns.size < 2:
        return 0.0
    spread = float(np.std(returns, ddof=1))
    if spread == 0.0 or not math.isfinite(spread):
        return 0.0
    return float(np.mean(returns)) / spread * math.sqrt(TRADING_DAYS_PER_YEAR)


def _daily_sharpe(curve: EquityCurve, capital: float) -> float:
    """Sharpe of daily returns (equity at each UTC day's last bar), annualised with sqrt(365)."""
    if curve.times.size == 0:
        return 0.0
    return sharpe_of_daily(daily_equity(curve.times, curve.equity, capital))


def drawdowns(equity: np.ndarray, capital: float) -> tuple[float, float]:
    """(max drawdown in USDT, in percent) of ``capital`` followed by ``equity``, below the running peak."""
    with_start = np.empty(equity.size + 1, dtype=np.float64)  # np.r_[capital, equity]
    with_start[0] = capital
    with_start[1:] = equity
    peak = np.maximum.accumulate(with_start)
    drop = np.subtract(peak, with_start, out=with_start)
    deepest = float(np.max(drop))
    return deepest, float(np.max(np.divide(drop, peak, out=drop))) * 100.0


@dataclass(frozen=True)
class _CurveFigures:
    """What a summary reads from its equity curve."""

    final: float
    max_drawdown: float
    max_drawdown_pct: float
    sharpe: float
    daily: np.ndarray  # daily_equity() of the curve


def _curve_figures(curve: EquityCurve, capital: float, daily: np.ndarray | None = None) -> _CurveFigures:
    """``daily``: :func:`daily_equity` of ``curve``, when known."""
    if daily is None:
        daily = daily_equity(curve.times, curve.equity, capital)
    return _CurveFigures(float(curve.equity[-1]) if curve.equity.size else float(capital),
                         *drawdowns(curve.equity, capital), sharpe_of_daily(daily) if curve.times.size else 0.0, daily)


def _same_bits(one: EquityCurve, other: EquityCurve) -> bool:
    """The same times and the same equity bit for bit (then every figure of theirs is the same)."""
    return (one.times.size == other.times.size and np.array_equal(one.times, other.times)
            and np.array_equal(one.equity.view(np.int64), other.equity.view(np.int64)))


def _summary(name: str, curve: EquityCurve, capital: float, ledgers: list[_Ledger], bars: int,
             bars_in_market: int, open_positions: dict[str, float], figures: _CurveFigures | None = None) -> Summary:
    """``figures``: :func:`_curve_figures` of ``curve``, when known."""
    if figures is None:
        figures = _curve_figures(curve, capital)
    final = figures.final
    return Summary(
        name=name,
        bars=bars,
        net_pnl=final - capital,
        return_pct=(final - capital) / capital * 100.0,
        max_drawdown=figures.max_drawdown,
        max_drawdown_pct=figures.max_drawdown_pct,
        sharpe=figures.sharpe,
        trades=sum(ledger.trades for ledger in ledgers),
        wins=sum(ledger.wins for ledger in ledgers),
        fees=sum(ledger.fees for ledger in ledgers),
        funding=sum(ledger.funding for ledger in ledgers),
        hedges_opened=sum(ledger.hedges_opened for ledger in ledgers),
        fills=sum(ledger.fill_count for ledger in ledgers),
        time_in_market_pct=bars_in_market / bars * 100.0 if bars else 0.0,
        open_positions=open_positions,
    )


def _union(arrays: Iterable[np.ndarray]) -> np.ndarray:
    """Sorted unique values of sorted int arrays (np.unique, without its hashing cost: the
    usual case, every symbol on the same bars, is one comparison)."""
    arrays = list(arrays)
    if all(np.array_equal(array, arrays[0]) for array in arrays[1:]):
        return arrays[0].copy()
    merged = np.sort(np.concatenate(arrays), kind="stable")
    return merged[np.r_[True, merged[1:] != merged[:-1]]]


def combine_curves(curves: list[EquityCurve], capital: float) -> EquityCurve:
    """Sum the PnL of several curves on the union of their times (each carried forward, 0 before it starts)."""
    if not curves:
        return EquityCurve(np.array([], dtype=np.int64), np.array([], dtype=np.float64))
    times = _union(curve.times for curve in curves)
    pnl = np.zeros(times.size, dtype=np.float64)
    for curve in curves:
        if curve.times.size == times.size and np.array_equal(curve.times, times):
            pnl += curve.equity - capital  # the usual case, every symbol on the same bars: the same values
            continue
        index = np.searchsorted(curve.times, times, side="right") - 1
        pnl += np.where(index >= 0, curve.equity[np.maximum(index, 0)] - capital, 0.0)
    return EquityCurve(times, capital + pnl)


# ----- entry point --------------------------------------------------------------------------------


def run_backtest(
    candles_5m: dict[str, pd.DataFrame],
    params: StrategyParams,
    call_sizes: dict[str, float],
    config: BacktestConfig,
    candles_1d: dict[str, pd.DataFrame] | None = None,
    progress: ProgressCallback | None = None,
    engine: str = DEFAULT_ENGINE,
    log: Callable[[str], None] | None = None,
    records: bool = True,
) -> BacktestResult:
    """Backtest every symbol of ``candles_5m`` (sorted, unique ``open_time``) [SPEC B].

    ``candles_1d[symbol]`` gives that symbol's daily candles; missing ones are
    resampled from the 5m data by UTC day [B5]. ``progress(done, total)`` is
    called every few thousand bars (once per symbol with the kernel).

    ``engine``: ``kernel`` (default) runs each symbol through the compiled loop of
    :mod:`core.kernel`, whose fills and equity equal the exact engine's;
    ``exact`` drives HedgeStrategy through the order executor and the simulated
    broker bar by bar. When a setting is one the kernel cannot reproduce
    (:func:`kernel_unsupported`), the exact engine runs and ``log`` is told why.

    ``records=False`` (kernel only; for searches that read the figures): the result's
    ``trades`` and ``fills`` are left empty; summaries, equity and warnings are complete.
    """
    if engine not in ENGINES:
        raise BacktestInputError(f"engine = {engine!r} is not a backtest engine; use one of: {', '.join(ENGINES)}")
    if not candles_5m:
        raise BacktestInputError("no symbols to backtest")
    missing = [symbol for symbol in candles_5m if symbol not in call_sizes]
    if missing:
        raise BacktestInputError(f"no call_size for {', '.join(missing)}; set symbols.<SYMBOL>.call_size")
    total_bars = 0
    for frame in candles_5m.values():
        first, stop = _trading_range(_column(frame, "open_time", np.int64), config)
        total_bars += stop - first
    done = 0

    def tick(bars: int) -> None:
        nonlocal done
        done += bars
        if progress is not None:
            progress(done, total_bars)

    if engine == "kernel":
        why = kernel_unsupported({symbol: call_sizes[symbol] for symbol in candles_5m})
        if why is not None:
            engine = "exact"
            (log or (lambda message: None))(f"backtest: using the exact engine: {why}")
    runs: dict[str, _SymbolRun] = {}
    symbol_params, limit_capital = account_share(params, config.initial_capital, len(candles_5m))
    for symbol, frame in candles_5m.items():
        daily = (candles_1d or {}).get(symbol)
        if engine == "kernel":
            runs[symbol] = _run_symbol_kernel(symbol, symbol_params, call_sizes[symbol], config, frame, daily,
                                              records, limit_capital)
            tick(runs[symbol].curve.times.size)
        else:
            runs[symbol] = _SymbolBacktest(symbol, symbol_params, call_sizes[symbol], config,
                                           limit_capital).run(frame, daily, tick)

    capital = config.initial_capital
    combined = combine_curves([run.curve for run in runs.values()], capital)
    # Each UTC day's last bar, found once per distinct time axis (usually one: every symbol on the same bars).
    days = _DayIndex(combined.times)
    figures = {symbol: _curve_figures(run.curve, capital, days.daily(run.curve, capital)) for symbol, run in runs.items()}
    summaries = {
        symbol: _summary(symbol, run.curve, capital, [run.ledger], run.curve.times.size, run.bars_in_market,
                         run.open_positions, figures[symbol])
        for symbol, run in runs.items()
    }
    all_open = {key: qty for run in runs.values() for key, qty in run.open_positions.items()}
    only_symbol, only_run = next(iter(runs.items()))
    if len(runs) == 1 and _same_bits(only_run.curve, combined):
        total_figures = figures[only_symbol]  # one symbol, its PnL + capital gave back its equity exactly
    else:
        total_figures = _curve_figures(combined, capital, days.daily(combined, capital))
    total_daily = total_figures.daily
    total = _summary("TOTAL", combined, capital, [run.ledger for run in runs.values()],
                     sum(run.curve.times.size for run in runs.values()),
                     sum(run.bars_in_market for run in runs.values()), all_open, total_figures)
    fills = _in_time_order(FillColumns.joined([run.fills for run in runs.values()]))
    warnings = list(params.signal.warnings())
    for run in runs.values():
        warnings.extend(run.warnings)
    charges = None
    if config.funding is not None:
        charges = {symbol: _funding_charges(config, symbol, frame) for symbol, frame in candles_5m.items()}
    return BacktestResult(
        fill_columns=fills,
        equity={symbol: run.curve for symbol, run in runs.items()},
        combined=combined,
        summaries=summaries,
        total=total,
        warnings=warnings,
        config=config,
        funding_modelled=config.funding is not None,
        funding_charges=charges,
        total_daily_equity=total_daily,
    )


class _DayIndex:
    """:func:`last_bar_of_each_day` of a time axis, reused for the curves on that same axis."""

    def __init__(self, times: np.ndarray):
        self.times = times
        self.last_of_day = last_bar_of_each_day(times) if times.size else None

    def daily(self, curve: EquityCurve, capital: float) -> np.ndarray:
        same = curve.times is self.times or (curve.times.size == self.times.size
                                             and np.array_equal(curve.times, self.times))
        return daily_equity(curve.times, curve.equity, capital, self.last_of_day if same else None)


def _in_time_order(fills: FillColumns) -> FillColumns:
    """The fills by decision time, then symbol (alphabetical); each symbol's in execution order."""
    times, symbols = fills.decision_time, fills.symbol
    if len(set(symbols)) <= 1:
        if all(map(operator.le, times, times[1:])):
            return fills  # the usual case of one symbol: already in order
        return fills.taken(sorted(range(len(times)), key=times.__getitem__))
    symbol_order = {symbol: n for n, symbol in enumerate(sorted(set(symbols)))}
    return fills.taken(sorted(range(len(times)), key=lambda i: (times[i], symbol_order[symbols[i]])))

