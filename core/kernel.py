"""The backtest kernel: one symbol's bars in one compiled loop [SPEC B], proven equal to the exact engine.

The exact engine (:class:`core.backtest._SymbolBacktest`) sends every decision through
the order executor and the simulated broker, with Decimal rounding and partial-fill
handling, at about 60k bars/s. In a backtest the broker never refuses and always
fills the whole quantity, so this loop does the same steps on plain numbers:

- the decisions come from :mod:`core.decide`, the functions HedgeStrategy calls —
  numba compiles that very source into this loop (no copy of any rule);
- fills are the simulated broker's (:func:`core.sim_broker.slipped`,
  :func:`core.sim_broker.fee_for`), and positions and the cash ledger are updated
  with the same float operations in the same order as ``HedgeStrategy.apply_fill``
  and ``core.backtest._Ledger``, so fills and equity are identical to the last bit
  (tests/test_kernel_equivalence.py).

Per bar, as the exact engine [B1, B4, G4, E1]: ``next_open`` orders of the previous bar
fill at this bar's open; the guard held on the exchange acts inside the bar
(:func:`core.decide.decide_guard`, with the bar's high and low); funding due by this
bar's close is charged; every daily close due is decided (daily first), then the bar;
``close`` orders fill at once; equity is marked at the close.

Full fills make two simplifications exact: a close always takes the whole
position (the rules close a side's full quantity and nothing else fills on that
side in between), and an open always starts from flat (the rules never open a side
that is held or being opened). Without numba (the EXE) :func:`simulate` is the same
source run by CPython.
"""
from __future__ import annotations

import threading
from collections import OrderedDict, namedtuple
from contextlib import contextmanager

import numpy as np

from core import decide, indicators, sim_broker
from core import kernel_jit
from core.decide import CLOSE, E1, GUARD_OFF, LONG, NO_RULE, NONE, OPEN, QTY_EPSILON, R3, R5, SHORT
from core.model import FIVE_MINUTES_MS
from core.sim_broker import buys_code, fee_for, slipped

MAX_ORDERS_PER_BAR = 8  # two daily G3 closes at most (the second change closes the other side) + two bar orders

# What one symbol's run returns. Fill arrays hold ``fill_count`` fills in execution order.
KernelRun = namedtuple("KernelRun", [
    "equity",  # float64 per traded bar: initial capital + cash + positions marked at the close
    "fill_count", "fill_decision_time", "fill_time", "fill_side", "fill_action", "fill_reason",
    "fill_qty", "fill_price", "fill_fee", "fill_seq",  # fill_seq: the order's number (client id suffix)
    "cash", "fees", "funding", "trades", "wins", "hedges_opened", "qty_long", "qty_short",
    "bars_in_market", "regime",
])


@kernel_jit.jitable_inline
def _fill(i_fill: int, side: int, action: int, reason: int, qty: float, decision_time: int, seq: int,
          base_price: float, fill_time: int, slippage_bps: float, fee_pct: float,
          pos_qty: np.ndarray, pos_entry: np.ndarray, pos_time: np.ndarray, pos_best: np.ndarray,
          led_qty: np.ndarray, led_entry: np.ndarray, led_open_fees: np.ndarray, money: np.ndarray,
          counts: np.ndarray, out_decision_time: np.ndarray, out_time: np.ndarray, out_side: np.ndarray,
          out_action: np.ndarray, out_reason: np.ndarray, out_qty: np.ndarray, out_price: np.ndarray,
          out_fee: np.ndarray, out_seq: np.ndarray) -> None:
    """One order filled in full: the broker's price and fee, the strategy's position, the ledger.

    ``money`` = [cash, fees, funding]; ``counts`` = [trades, wins, hedges opened].
    """
    buying = buys_code(side, action)
    price = slipped(base_price, buying, slippage_bps)  # SimulatedBroker.submit_market_order
    fee = fee_for(qty, price, fee_pct)
    # HedgeStrategy.apply_fill [O3]
    if action == OPEN:
        pos_qty[side] = qty  # from flat (see module docstring)
        pos_entry[side] = price
        pos_time[side] = decision_time
        pos_best[side] = price
    else:
        pos_qty[side] = 0.0  # the whole position (see module docstring)
        pos_entry[side] = 0.0
        pos_time[side] = 0
        pos_best[side] = 0.0
    # core.backtest._Ledger.record
    notional = qty * price
    money[0] += -notional if buying else notional
    money[0] -= fee
    money[1] += fee
    held = led_qty[side]
    if action == OPEN:
        led_entry[side] = (led_entry[side] * held + notional) / (held + qty)
        led_qty[side] = held + qty
        led_open_fees[side] += fee
        if reason == R3 or reason == R5 or reason == E1:  # E1: a hedge guard (a stop guard closes)
            counts[2] += 1
    else:
        share = min(1.0, qty / held) if held > 0 else 1.0
        opening_fee = led_open_fees[side] * share
        gross = (price - led_entry[side]) * qty * decide.direction(side)  # [R7]
        counts[0] += 1
        if gross - opening_fee - fee > 0:
            counts[1] += 1
        led_open_fees[side] -= opening_fee
        led_qty[side] = max(0.0, held - qty)
        if led_qty[side] <= 1e-12:
            led_qty[side] = 0.0
            led_entry[side] = 0.0
            led_open_fees[side] = 0.0
    out_decision_time[i_fill] = decision_time
    out_time[i_fill] = fill_time
    out_side[i_fill] = side
    out_action[i_fill] = action
    out_reason[i_fill] = reason
    out_qty[i_fill] = qty
    out_price[i_fill] = price
    out_fee[i_fill] = fee
    out_seq[i_fill] = seq


@kernel_jit.jitable
def _in_flight(batch_count: int, batch_side: np.ndarray, batch_action: np.ndarray, side: int, action: int) -> bool:
    """Is an order of ``action`` on ``side`` among this bar's decided orders (pending) [B4]?"""
    for k in range(batch_count):
        if batch_side[k] == side and batch_action[k] == action:
            return True
    return False


@kernel_jit.jitable
def _pending(batch_count: int, batch_side: np.ndarray, batch_action: np.ndarray, action: int) -> tuple[bool, bool]:
    """(long, short): is an order of ``action`` in flight on each side, as decide_* take it [B4]?"""
    return (_in_flight(batch_count, batch_side, batch_action, LONG, action),
            _in_flight(batch_count, batch_side, batch_action, SHORT, action))


@kernel_jit.jitable_inline
def _queue(orders, seq: int, decision_time: int, batch_count: int, batch_side: np.ndarray,
           batch_action: np.ndarray, batch_reason: np.ndarray, batch_qty: np.ndarray, batch_seq: np.ndarray,
           batch_time: np.ndarray) -> tuple[int, int]:
    """Append one decision's orders (``core.decide.Orders``, at most two) to the bar's batch, each
    numbered with the next ``seq``; returns the new ``(seq, batch_count)``."""
    for k in range(orders.count):
        seq += 1
        batch_side[batch_count] = orders.side0 if k == 0 else orders.side1
        batch_action[batch_count] = orders.action0 if k == 0 else orders.action1
        batch_reason[batch_count] = orders.reason0 if k == 0 else orders.reason1
        batch_qty[batch_count] = orders.qty0 if k == 0 else orders.qty1
        batch_seq[batch_count] = seq
        batch_time[batch_count] = decision_time
        batch_count += 1
    return seq, batch_count


def simulate(open_times, opens, closes, bar_codes, day_closes, day_codes, funding_times, funding_rates,
             first: int, stop: int, fill_at_close: bool, call_size: float, fee_pct: float, slippage_bps: float,
             capital: float, cross_entry: bool, take_profit_pct: float, max_hold_bars: int, trailing_pct: float,
             trailing_activation_pct: float, cooldown_bars: int, max_entries_per_day: int,
             max_daily_loss_usdt: float, max_daily_loss_pct: float, max_drawdown_pct: float,
             max_symbol_notional: float, max_total_notional: float, on_breach: int,
             limit_capital: float, highs, lows, guard_mode: int, guard_distance_pct: float) -> KernelRun:
    """Bars ``first..stop-1`` of one symbol. Signals are core.indicators codes (+1/-1/0) per
    5m bar and per daily candle; ``day_closes`` are the daily candles' close times (ms).
    [L1-L3] read this symbol's own notional and its equity on ``limit_capital`` (its share of the
    account: see core.backtest.account_share). [E1] the guard (``guard_mode`` a core.decide.GUARD_*
    code) reads the bars' ``highs`` and ``lows``."""
    count = stop - first
    equity = np.empty(count, dtype=np.float64)
    capacity = 2 * len(day_codes) + 4 * count + MAX_ORDERS_PER_BAR
    out_decision_time = np.empty(capacity, dtype=np.int64)
    out_time = np.empty(capacity, dtype=np.int64)
    out_side = np.empty(capacity, dtype=np.int8)
    out_action = np.empty(capacity, dtype=np.int8)
    out_reason = np.empty(capacity, dtype=np.int8)
    out_qty = np.empty(capacity, dtype=np.float64)
    out_price = np.empty(capacity, dtype=np.float64)
    out_fee = np.empty(capacity, dtype=np.float64)
    out_seq = np.empty(capacity, dtype=np.int64)
    # The strategy's positions [P] and the ledger, per side (index = side code).
    pos_qty = np.zeros(2, dtype=np.float64)
    pos_entry = np.zeros(2, dtype=np.float64)
    pos_time = np.zeros(2, dtype=np.int64)
    pos_best = np.zeros(2, dtype=np.float64)
    led_qty = np.zeros(2, dtype=np.float64)
    led_entry = np.zeros(2, dtype=np.float64)
    led_open_fees = np.zeros(2, dtype=np.float64)
    money = np.zeros(3, dtype=np.float64)  # cash, fees, funding
    counts = np.zeros(3, dtype=np.int64)  # trades, wins, hedges opened
    # Orders decided and not yet filled (this bar's; with next_open until the next bar's open).
    batch_side = np.zeros(MAX_ORDERS_PER_BAR, dtype=np.int64)
    batch_action = np.zeros(MAX_ORDERS_PER_BAR, dtype=np.int64)
    batch_reason = np.zeros(MAX_ORDERS_PER_BAR, dtype=np.int64)
    batch_qty = np.zeros(MAX_ORDERS_PER_BAR, dtype=np.float64)
    batch_seq = np.zeros(MAX_ORDERS_PER_BAR, dtype=np.int64)
    batch_time = np.zeros(MAX_ORDERS_PER_BAR, dtype=np.int64)  # decision time: the daily or 5m close
    batch_count = 0

    regime = NONE
    seq = 0
    fill_count = 0
    day_index = 0
    funding_index = 0
    bars_in_market = 0
    last_daily_close = 0
    last_bar_close = 0
    last_main_close = 0  # [L4, L5] as SymbolState's fields
    entries_day = 0
    entries_today = 0
    limit_day = -1  # [L1, L2] as HedgeStrategy's limit_day, day_start_equity, peak_equity
    day_start_equity = 0.0
    peak_equity = 0.0
    breach_day = -1  # as SymbolState.breach_day
    guard_side, guard_qty, guard_trigger = decide.NO_SIDE, 0.0, 0.0  # [E1] as HedgeStrategy.guard_standing
    n_days = len(day_closes)
    n_funding = len(funding_times)
    # [L1, L2] and [L4, L5] all off (0 = off, the defaults): their gates are known to pass
    limits_on = max_daily_loss_usdt > 0.0 or max_daily_loss_pct > 0.0 or max_drawdown_pct > 0.0
    protections_on = cooldown_bars > 0 or max_entries_per_day > 0
    for i in range(first, stop):
        close_time = open_times[i] + FIVE_MINUTES_MS
        price = closes[i]
        if batch_count > 0:  # [B1] next_open: the last bar's orders fill at this bar's open
            for k in range(batch_count):
                _fill(fill_count, batch_side[k], batch_action[k], batch_reason[k], batch_qty[k], batch_time[k],
                      batch_seq[k], opens[i], open_times[i], slippage_bps, fee_pct, pos_qty, pos_entry, pos_time,
                      pos_best, led_qty, led_entry, led_open_fees, money, counts, out_decision_time, out_time,
                      out_side, out_action, out_reason, out_qty, out_price, out_fee, out_seq)
                fill_count += 1
            batch_count = 0
        if guard_mode != GUARD_OFF:  # [E1] the guard acts within the bar, before its closes (daily and 5m)
            placing = closes[i - 1] if fill_at_close and i > 0 else opens[i]  # after the last close's fills
            guard = decide.decide_guard(
                guard_mode, guard_distance_pct, call_size, (pos_qty[LONG], pos_qty[SHORT]),
                (pos_entry[LONG], pos_entry[SHORT]), (pos_time[LONG], pos_time[SHORT]),
                _pending(batch_count, batch_side, batch_action, OPEN),
                _pending(batch_count, batch_side, batch_action, CLOSE), guard_side, guard_qty, guard_trigger,
                placing, opens[i], highs[i], lows[i])
            guard_side, guard_qty, guard_trigger = guard.side, guard.qty, guard.trigger
            if guard.orders.count > 0:  # decided at the last close seen (this bar's open), as HedgeStrategy
                seq += 1
                _fill(fill_count, guard.orders.side0, guard.orders.action0, guard.orders.reason0, guard.orders.qty0,
                      open_times[i], seq, guard.price, open_times[i], slippage_bps, fee_pct, pos_qty, pos_entry,
                      pos_time, pos_best, led_qty, led_entry, led_open_fees, money, counts, out_decision_time,
                      out_time, out_side, out_action, out_reason, out_qty, out_price, out_fee, out_seq)
                fill_count += 1
        while funding_index < n_funding and funding_times[funding_index] <= close_time:
            payment = funding_rates[funding_index] * (led_qty[LONG] - led_qty[SHORT]) * price
            money[0] -= payment
            money[2] += payment
            funding_index += 1
        while day_index < n_days and day_closes[day_index] <= close_time:  # [G4] daily first
            day_close = day_closes[day_index]
            if day_close > last_daily_close:
                last_daily_close = day_close
                daily = decide.decide_daily(
                    regime, day_codes[day_index], (pos_qty[LONG], pos_qty[SHORT]),
                    _pending(batch_count, batch_side, batch_action, OPEN),
                    _pending(batch_count, batch_side, batch_action, CLOSE))
                regime = daily.regime
                seq, batch_count = _queue(daily.orders, seq, day_close, batch_count, batch_side, batch_action,
                                          batch_reason, batch_qty, batch_seq, batch_time)
            day_index += 1
        if close_time > last_bar_close:
            last_bar_close = close_time
            previous = bar_codes[i - 1] if i > 0 else NONE
            breach_now = NO_RULE
            if limits_on:  # off, track_limits decides nothing: skipped, it costs two int64 divisions per bar
                marked = limit_capital + money[0] + (led_qty[LONG] - led_qty[SHORT]) * price  # as core.backtest
                limit_day, day_start_equity, peak_equity, breach_day, breach_now = decide.track_limits(
                    limit_day, day_start_equity, peak_equity, breach_day, marked, close_time, max_daily_loss_usdt,
                    max_daily_loss_pct, max_drawdown_pct)
            entries_allowed = decide.limits_entry_gate(
                not protections_on or decide.entry_gate(last_main_close, entries_day, entries_today, close_time,
                                                        cooldown_bars, max_entries_per_day),
                breach_day, close_time, (pos_qty[LONG], pos_qty[SHORT]), price, call_size, 0.0,
                max_symbol_notional, max_total_notional)
            bar = decide.decide_guarded_bar(
                breach_now, on_breach,
                regime, bar_codes[i], previous, price, close_time, call_size, True, entries_allowed,
                (pos_qty[LONG], pos_qty[SHORT]), (pos_entry[LONG], pos_entry[SHORT]),
                (pos_time[LONG], pos_time[SHORT]), (pos_best[LONG], pos_best[SHORT]),
                _pending(batch_count, batch_side, batch_action, OPEN),
                _pending(batch_count, batch_side, batch_action, CLOSE),
                cross_entry, take_profit_pct, max_hold_bars, trailing_pct, trailing_activation_pct)
            pos_best[LONG] = bar.best_long
            pos_best[SHORT] = bar.best_short
            last_main_close, entries_day, entries_today = decide.track_protections(
                bar.orders, close_time, last_main_close, entries_day, entries_today)
            seq, batch_count = _queue(bar.orders, seq, close_time, batch_count, batch_side, batch_action,
                                      batch_reason, batch_qty, batch_seq, batch_time)
        if batch_count > 0 and fill_at_close:
            for k in range(batch_count):
                _fill(fill_count, batch_side[k], batch_action[k], batch_reason[k], batch_qty[k], batch_time[k],
                      batch_seq[k], price, close_time, slippage_bps, fee_pct, pos_qty, pos_entry, pos_time,
                      pos_best, led_qty, led_entry, led_open_fees, money, counts, out_decision_time, out_time,
                      out_side, out_action, out_reason, out_qty, out_price, out_fee, out_seq)
                fill_count += 1
            batch_count = 0
        equity[i - first] = capital + money[0] + (led_qty[LONG] - led_qty[SHORT]) * price  # [B4] marked
        if led_qty[LONG] > 0.0 or led_qty[SHORT] > 0.0:
            bars_in_market += 1
    # [B4] orders decided on the last bar have no next open: dropped.
    return KernelRun(equity, fill_count, out_decision_time[:fill_count], out_time[:fill_count],
                     out_side[:fill_count], out_action[:fill_count], out_reason[:fill_count],
                     out_qty[:fill_count], out_price[:fill_count], out_fee[:fill_count], out_seq[:fill_count],
                     money[0], money[1], money[2], counts[0], counts[1], counts[2], led_qty[LONG], led_qty[SHORT],
                     bars_in_market, regime)


simulate_compiled = kernel_jit.compiled(simulate, depends_on=(decide, sim_broker, kernel_jit))


def run_symbol(open_times: np.ndarray, opens: np.ndarray, closes: np.ndarray, bar_codes: np.ndarray,
               day_closes: np.ndarray, day_codes: np.ndarray, funding_times: np.ndarray, funding_rates: np.ndarray,
               first: int, stop: int, fill_at_close: bool, call_size: float, fee_pct: float, slippage_bps: float,
               capital: float, params, limit_capital: float | None = None, highs: np.ndarray | None = None,
               lows: np.ndarray | None = None) -> KernelRun:
    """:func:`simulate` compiled (or interpreted without numba) for ``params`` (a StrategyParams).
    ``limit_capital``: the capital [L1, L2] mark equity on (None = ``capital``). ``highs``, ``lows``:
    the bars' extremes the guard [E1] reads (None = the opens: only when ``params.guard`` is off)."""
    loop = kernel_jit.loop_input
    exit_params = params.exit
    guard = getattr(params, "guard", None)
    guard_mode = guard.mode_code if guard is not None else GUARD_OFF
    if guard_mode != GUARD_OFF and (highs is None or lows is None):
        raise ValueError("the guard [E1] is modelled with the bars' highs and lows: pass them")
    highs = opens if highs is None else highs
    lows = opens if lows is None else lows
    return simulate_compiled(
        loop(np.ascontiguousarray(open_times, dtype=np.int64)), loop(np.ascontiguousarray(opens, dtype=np.float64)),
        loop(np.ascontiguousarray(closes, dtype=np.float64)), loop(np.ascontiguousarray(bar_codes, dtype=np.int8)),
        loop(np.ascontiguousarray(day_closes, dtype=np.int64)), loop(np.ascontiguousarray(day_codes, dtype=np.int8)),
        loop(np.ascontiguousarray(funding_times, dtype=np.int64)),
        loop(np.ascontiguousarray(funding_rates, dtype=np.float64)),
        int(first), int(stop), bool(fill_at_close), float(call_size), float(fee_pct), float(slippage_bps),
        float(capital), params.signal.entry == "cross", float(exit_params.take_profit_pct),
        int(exit_params.max_hold_bars), float(exit_params.trailing_pct), float(exit_params.trailing_activation_pct),
        int(params.protect.cooldown_bars), int(params.protect.max_entries_per_day),
        float(params.protect.max_daily_loss_usdt), float(params.protect.max_daily_loss_pct),
        float(params.protect.max_drawdown_pct), float(params.protect.max_symbol_notional),
        float(params.protect.max_total_notional), int(params.protect.on_breach_code),
        float(capital if limit_capital is None else limit_capital),
        loop(np.ascontiguousarray(highs, dtype=np.float64)), loop(np.ascontiguousarray(lows, dtype=np.float64)),
        int(guard_mode), float(guard.distance_pct if guard is not None else 0.0),
    )


def signal_codes(closes: np.ndarray, signal_params) -> np.ndarray:
    """The kernel's signals: core.indicators itself (its recursions run compiled); inside
    :func:`remembering_signals`, each distinct series and signal group is computed once."""
    memo = _SIGNAL_MEMO
    if memo is not None:
        return memo.codes(closes, signal_params)
    return indicators.signal_codes(closes, signal_params)


# ----- a search computes each signal series once ---------------------------------------------------


def _signal_group(params) -> tuple:
    """What the codes depend on (not the entry mode, not the exits): RSI length and the reference."""
    if params.reference == "centerline":
        return (params.rsi_length, "centerline", float(params.centerline))
    return (params.rsi_length, params.reference, params.macd_fast, params.macd_slow)


class SignalMemo:
    """Signal codes (and the RSI under them) remembered per candle series and signal group.

    A parameter search backtests the same candles again and again; settings that differ
    only in exits, sizes or fees share their signals, and settings that differ only in the
    centerline share their RSI. A series is recognised by its memory (address, length,
    stride) and the memo holds a reference to it, so while an entry lives no other array
    can occupy that memory; a few values are compared too, so a series changed in place
    is computed afresh. The values are :func:`core.indicators.signal_codes`'s own, bit
    for bit (the same functions compute them: core.indicators.rsi, reference_line and codes_from). Callers
    must not write into the returned arrays (the kernel only reads them).
    """

    def __init__(self, capacity: int = 256):
        self.capacity = capacity
        self._codes: OrderedDict = OrderedDict()
        self._rsi: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # code series computed (not found), for tests and the bench

    @staticmethod
    def _series_key(closes: np.ndarray) -> tuple:
        return (closes.__array_interface__["data"][0], closes.shape, closes.strides, closes.dtype.str)

    @staticmethod
    def _probe(closes: np.ndarray) -> tuple:
        """A few values, copied: a series written into since it was remembered no longer matches."""
        if closes.size == 0:
            return ()
        return (float(closes[0]), float(closes[closes.size // 2]), float(closes[-1]))

    def _lookup(self, table: OrderedDict, key: tuple, closes: np.ndarray):
        found = table.get(key)
        if found is None or found[1] != self._probe(closes):
            return None
        table.move_to_end(key)
        return found[2]

    def _store(self, table: OrderedDict, key: tuple, closes: np.ndarray, value: np.ndarray) -> None:
        table[key] = (closes, self._probe(closes), value)  # the series itself held: its memory stays its own
        while len(table) > self.capacity:
            table.popitem(last=False)

    def codes(self, closes: np.ndarray, params) -> np.ndarray:
        closes = np.asarray(closes, dtype=np.float64)
        if closes.ndim != 1:
            return indicators.signal_codes(closes, params)
        series = self._series_key(closes)
        key = (series, _signal_group(params))
        with self._lock:
            found = self._lookup(self._codes, key, closes)
        if found is not None:
            return found
        rsi_key = (series, params.rsi_length)
        with self._lock:
            rsi_values = self._lookup(self._rsi, rsi_key, closes)
        if rsi_values is None:
            rsi_values = indicators.rsi(closes, params.rsi_length)
        codes = indicators.codes_from(rsi_values, indicators.reference_line(closes, params))
        with self._lock:
            self._store(self._rsi, rsi_key, closes, rsi_values)
            self._store(self._codes, key, closes, codes)
            self.computed += 1
        return codes


_SIGNAL_MEMO: SignalMemo | None = None


@contextmanager
def remembering_signals(memo: SignalMemo | None = None):
    """Within this block :func:`signal_codes` computes each (series, signal group) once (a search's workers)."""
    global _SIGNAL_MEMO
    previous = _SIGNAL_MEMO
    _SIGNAL_MEMO = memo if memo is not None else SignalMemo()
    try:
        yield _SIGNAL_MEMO
    finally:
        _SIGNAL_MEMO = previous


def remember_signals_for_this_process() -> SignalMemo:
    """Turn the memo on for good (a search's worker process, which does nothing else)."""
    global _SIGNAL_MEMO
    if _SIGNAL_MEMO is None:
        _SIGNAL_MEMO = SignalMemo()
    return _SIGNAL_MEMO
