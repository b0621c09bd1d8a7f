"""The decision rules [SPEC G, R, X, S4] as pure functions over plain numbers.

This module is the one source of the rules. Two drivers call it:

- :class:`core.strategy.HedgeStrategy` (live, paper and the exact backtest) turns its
  state into numbers, calls :func:`decide_daily` / :func:`decide_bar` interpreted, and
  turns the answer into :class:`core.model.OrderIntent` records;
- :mod:`core.kernel` (the fast backtest) calls the same functions from a loop that
  numba compiles (or runs interpreted where numba is missing).

Everything here is numbers: sides, actions, statuses, signals, regimes and rule ids
are small integer codes (below), times are int ms, prices and quantities floats.
Per-side values come as ``(long, short)`` tuples indexed by the side code. The
functions only read their arguments and return named tuples; numba compiles them
as they are (no classes, no strings, no exceptions).

UP and DOWN are one code path: ``main = main_side(regime)``, ``hedge = 1 - main``,
and the favourable signal code equals the regime code.
"""
from __future__ import annotations

from collections import namedtuple

from core.kernel_jit import jitable
from core.model import FIVE_MINUTES_MS

# ----- codes ---------------------------------------------------------------------------------------

LONG, SHORT = 0, 1  # side codes: index into the (long, short) tuples
OPEN, CLOSE = 0, 1  # action codes
UP, DOWN, NONE = 1, -1, 0  # signal codes (as core.indicators) and regime codes (NONE = not known yet)
FLAT, HELD, OPENING = 0, 1, 2  # how the rules see a side [B4]: see side_status

# Rule ids an order carries; the code is the index in REASONS.
# C1/C2 (CALL_SIZE cap), L1-L5 (limits) and E1 (the exchange-side guard) are appended so the
# older codes keep their values.
REASONS = ("", "R1", "R2", "R3", "R4", "R5", "X1", "X2", "X3", "G3", "C1", "C2", "L1", "L2", "L3", "L4", "L5",
           "E1")
NO_RULE, R1, R2, R3, R4, R5, X1, X2, X3, G3, C1, C2, L1, L2, L3, L4, L5, E1 = range(len(REASONS))
REASON_CODES = {name: code for code, name in enumerate(REASONS) if name}

# Quantities at or below this are treated as zero (as core.state.QTY_EPSILON).
QTY_EPSILON = 1e-12
# Percent thresholds are compared with this slack so that a price exactly at the
# threshold (e.g. entry * 1.01 for a 1 % take profit) counts as reached despite
# binary floating point.
PCT_TOLERANCE = 1e-9

# Up to two orders: a driver reads order 0, then order 1, up to ``count``.
Orders = namedtuple("Orders", "count side0 action0 reason0 qty0 side1 action1 reason1 qty1")
# The bar rules' answer: the orders and each side's best close since entry [X3].
BarDecision = namedtuple("BarDecision", "orders best_long best_short")
# The daily rules' answer: the regime from now on and the orders (G3 closes only).
DailyDecision = namedtuple("DailyDecision", "regime orders")


# ----- position arithmetic [R7, X] ------------------------------------------------------------------


@jitable
def direction(side: int) -> int:
    """+1 for LONG, -1 for SHORT: the sign of PnL per unit of price rise [R7]."""
    return 1 - 2 * side


@jitable
def main_side(regime: int) -> int:
    """The side that matches the regime: call (LONG) in UP, put (SHORT) in DOWN."""
    return LONG if regime == UP else SHORT


@jitable
def pnl(side_direction: int, entry_price: float, price: float, qty: float) -> float:
    """[R7] call: (p - entry) * qty; put: (entry - p) * qty. Fees excluded."""
    return (price - entry_price) * qty * side_direction


@jitable
def pnl_pct(side_direction: int, entry_price: float, price: float) -> float:
    """Profit in percent of the entry price, positive when the position gains.

    An entry price that is not above 0 (0 or NaN: a fill whose price was never known) gives 0.0,
    never a division by zero: a status row or a decision over such a position cannot raise."""
    if not entry_price > 0.0:
        return 0.0
    return (price - entry_price) / entry_price * 100.0 * side_direction


@jitable
def improve_best(side_direction: int, best: float, price: float) -> float:
    """[X3] The better of ``best`` and ``price``: higher for a call, lower for a put."""
    return price if (price - best) * side_direction > 0 else best


@jitable
def bars_held(entry_time: int, bar_close_time: int) -> float:
    """[X2] (this bar's close time - the entry decision bar's close time) / 5 min."""
    return (bar_close_time - entry_time) / FIVE_MINUTES_MS


@jitable
def trailing_stop_hit(side_direction: int, entry_price: float, best: float, price: float,
                      trailing_pct: float, trailing_activation_pct: float) -> bool:
    """[X3] Once best has been ``trailing_activation_pct`` in profit, exit when price
    has given back ``trailing_pct`` from best (``best`` already includes ``price``)."""
    if not best > 0.0:  # a best price never known (0 or NaN): the trailing test cannot hold
        return False
    activated = pnl_pct(side_direction, entry_price, best) >= trailing_activation_pct - PCT_TOLERANCE
    if not activated:
        return False
    given_back_pct = (best - price) / best * 100.0 * side_direction
    return given_back_pct >= trailing_pct - PCT_TOLERANCE


@jitable
def exit_rule(side_direction: int, entry_price: float, entry_time: int, best: float, price: float,
              bar_close_time: int, take_profit_pct: float, max_hold_bars: int, trailing_pct: float,
              trailing_activation_pct: float) -> int:
    """exit_rule_hit [X]: the code of the first exit rule that holds for the main, or NO_RULE.

    Only evaluated by R4, i.e. with PnL >= 0. X4 (RSI rollover) is R3's job.
    """
    if pnl_pct(side_direction, entry_price, price) >= take_profit_pct - PCT_TOLERANCE:
        return X1
    if bars_held(entry_time, bar_close_time) >= max_hold_bars:
        return X2
    if trailing_stop_hit(side_direction, entry_price, best, price, trailing_pct, trailing_activation_pct):
        return X3
    return NO_RULE


@jitable
def side_status(qty: float, open_in_flight: bool, close_in_flight: bool) -> int:
    """[B4] A side with an open in flight is taken but not examined (OPENING); one with a
    close in flight, or nothing held, is FLAT; otherwise HELD (the rules may examine it)."""
    if open_in_flight:
        return OPENING
    if close_in_flight or not qty > QTY_EPSILON:
        return FLAT
    return HELD


# ----- never above CALL_SIZE [C1, C2, R6] ----------------------------------------------------------


@jitable
def hedge_qty(main_qty: float, call_size: float) -> float:
    """[R6] The hedge covers the main's quantity, capped at CALL_SIZE: a main made larger
    by hand or by a late execution never makes the bot's own hedge larger than CALL_SIZE."""
    return main_qty if main_qty < call_size else call_size


@jitable
def managed_qty(qty: float, unmanaged: float) -> float:
    """What the bot manages on a side: the held quantity less the excess the trader chose
    to keep unmanaged (never below zero)."""
    managed = qty - unmanaged
    return managed if managed > 0.0 else 0.0


@jitable
def excess_qty(qty: float, call_size: float, unmanaged: float) -> float:
    """[C1] How much of a side is above CALL_SIZE and not kept unmanaged by the trader."""
    excess = managed_qty(qty, unmanaged) - call_size
    return excess if excess > QTY_EPSILON else 0.0


@jitable
def decide_own_excess(side: int, qty: float, call_size: float, unmanaged: float, closing: bool) -> Orders:
    """[C1] A side found larger than intended by the bot's OWN late execution (its client id):
    close the excess at once. One function for LONG and SHORT (``side``). A side with a
    close already in flight decides nothing (the close in flight is not repeated)."""
    orders = no_orders()
    excess = excess_qty(qty, call_size, unmanaged)
    if excess > 0.0 and not closing:
        orders = add_order(orders, side, CLOSE, C1, excess)
    return orders


@jitable
def decide_orphan_hedge(regime: int, qty: tuple, opening: tuple, closing: tuple,
                        main_gone_externally: bool) -> Orders:
    """[C2] A hedge whose main vanished NOT by the bot's hand (liquidation, ADL, by hand)
    is closed at the next close. ``main_gone_externally`` comes from reconciliation: the
    rules themselves may leave a lone hedge (R3 closing a main in profit), which is not
    an orphan and is left to R1/R4/G3."""
    orders = no_orders()
    if regime == NONE or not main_gone_externally:
        return orders
    main = main_side(regime)
    hedge = 1 - main
    if side_status(qty[main], opening[main], closing[main]) != FLAT:
        return orders
    if side_status(qty[hedge], opening[hedge], closing[hedge]) == HELD:
        orders = add_order(orders, hedge, CLOSE, C2, qty[hedge])
    return orders


@jitable
def order_within_call_size(action: int, side_qty: float, in_flight_open_qty: float, order_qty: float,
                           call_size: float, unmanaged: float) -> bool:
    """Pre-order invariant: no order of the bot takes a side above CALL_SIZE.

    ``side_qty`` is what the exchange holds on the order's side, ``in_flight_open_qty``
    opens already sent there and not finished, ``unmanaged`` the excess the trader keeps.
    A CLOSE only reduces a side and always passes; an OPEN passes when the managed
    quantity after it stays within CALL_SIZE."""
    if action == CLOSE:
        return True
    after = managed_qty(side_qty, unmanaged) + in_flight_open_qty + order_qty
    return after <= call_size * (1.0 + PCT_TOLERANCE) + QTY_EPSILON


# ----- loss limits and protections [L1-L5] ---------------------------------------------------------
# Pure functions; 0 (or a negative value) in a limit means "off", so the defaults change nothing.

DAY_MS = 86_400_000
ON_BREACH_STOP_ENTRIES, ON_BREACH_FLATTEN = 0, 1  # what a breach of L1 or L2 does (setting; L3 only refuses the open)


@jitable
def utc_day(time_ms: int) -> int:
    """The UTC day number of a time in ms (days since 1970-01-01)."""
    return time_ms // DAY_MS


@jitable
def daily_loss_breached(day_start_equity: float, equity: float, max_loss_usdt: float,
                        max_loss_pct: float) -> bool:
    """[L1] The loss since the UTC day's start (equity with fees, realised and open) reached
    ``max_loss_usdt`` or ``max_loss_pct`` % of the day's starting equity."""
    loss = day_start_equity - equity
    if max_loss_usdt > 0.0 and loss >= max_loss_usdt - QTY_EPSILON:
        return True
    if max_loss_pct > 0.0 and day_start_equity > 0.0:
        return loss / day_start_equity * 100.0 >= max_loss_pct - PCT_TOLERANCE
    return False


@jitable
def drawdown_breached(peak_equity: float, equity: float, max_drawdown_pct: float) -> bool:
    """[L2] Equity fell ``max_drawdown_pct`` % or more below its peak."""
    if max_drawdown_pct <= 0.0 or peak_equity <= 0.0:
        return False
    return (peak_equity - equity) / peak_equity * 100.0 >= max_drawdown_pct - PCT_TOLERANCE


@jitable
def notional_allowed(symbol_notional: float, total_notional: float, order_notional: float,
                     max_symbol_notional: float, max_total_notional: float) -> bool:
    """[L3] An OPEN of ``order_notional`` (qty x price) keeps the symbol's and the account's
    open notional within their caps."""
    if max_symbol_notional > 0.0 and symbol_notional + order_notional > max_symbol_notional * (1.0 + PCT_TOLERANCE):
        return False
    if max_total_notional > 0.0 and total_notional + order_notional > max_total_notional * (1.0 + PCT_TOLERANCE):
        return False
    return True


@jitable
def cooldown_active(last_close_time: int, bar_close_time: int, cooldown_bars: int) -> bool:
    """[L4] Fewer than ``cooldown_bars`` bars since the main was last closed: no new entry.
    ``last_close_time`` 0 = never closed."""
    if cooldown_bars <= 0 or last_close_time <= 0:
        return False
    return bars_held(last_close_time, bar_close_time) < cooldown_bars


@jitable
def entries_today_after(entries_day: int, entries_today: int, bar_close_time: int) -> int:
    """[L5] The count of entries of the current UTC day (a new day starts again at 0)."""
    return entries_today if utc_day(bar_close_time) == entries_day else 0


@jitable
def entry_count_allowed(entries_today: int, max_entries_per_day: int) -> bool:
    """[L5] Another main may open today."""
    return max_entries_per_day <= 0 or entries_today < max_entries_per_day


@jitable
def breach_blocks(breach_day: int, bar_close_time: int, override: bool) -> bool:
    """[L1-L3] A breach saved for a UTC day blocks that day, across restarts, until the user
    overrides it; the next UTC day starts clean. ``breach_day`` -1 = no breach."""
    return breach_day >= 0 and utc_day(bar_close_time) == breach_day and not override


@jitable
def entry_gate(last_main_close_time: int, entries_day: int, entries_today: int, bar_close_time: int,
               cooldown_bars: int, max_entries_per_day: int) -> bool:
    """[L4, L5] Whether [R2] may open a main on this bar."""
    if cooldown_active(last_main_close_time, bar_close_time, cooldown_bars):
        return False
    return entry_count_allowed(entries_today_after(entries_day, entries_today, bar_close_time), max_entries_per_day)


@jitable
def _track_one(action: int, reason: int, close_time: int, last_close: int, day: int, count: int) -> tuple:
    if action == OPEN and reason == R2:
        count = entries_today_after(day, count, close_time) + 1
        day = utc_day(close_time)
    elif action == CLOSE and (reason == R3 or reason == X1 or reason == X2 or reason == X3):
        last_close = close_time
    return last_close, day, count


@jitable
def track_protections(orders: Orders, close_time: int, last_main_close_time: int, entries_day: int,
                      entries_today: int) -> tuple:
    """[L4, L5] After a bar's decision: an [R2] open counts as one entry of the UTC day, a main
    close ([R3], [X1]-[X3]) starts the cool-down. Counted at the decision (an entry decided
    counts even if it later fails: conservative). Returns (last_main_close_time, entries_day,
    entries_today)."""
    last_close, day, count = last_main_close_time, entries_day, entries_today
    if orders.count >= 1:
        last_close, day, count = _track_one(orders.action0, orders.reason0, close_time, last_close, day, count)
    if orders.count >= 2:
        last_close, day, count = _track_one(orders.action1, orders.reason1, close_time, last_close, day, count)
    return last_close, day, count


# ----- [L1-L3] in the engines: one source for the exact engine, the kernel and live ---------------
# The equity these read is marked at each 5m close before that close's decisions (fees and funding
# included). In a backtest each symbol is its own account (see docs/RULES.md [L]).

ON_BREACH_CHOICES = ("stop_entries", "flatten")  # setting text, index = ON_BREACH_* code


@jitable
def limit_breach_rule(day_start_equity: float, peak_equity: float, equity: float, max_daily_loss_usdt: float,
                      max_daily_loss_pct: float, max_drawdown_pct: float) -> int:
    """[L1, L2] The code of the limit ``equity`` breaches (L1 tested first), or NO_RULE."""
    if daily_loss_breached(day_start_equity, equity, max_daily_loss_usdt, max_daily_loss_pct):
        return L1
    if drawdown_breached(peak_equity, equity, max_drawdown_pct):
        return L2
    return NO_RULE


@jitable
def track_limits(limit_day: int, day_start_equity: float, peak_equity: float, breach_day: int, equity: float,
                 bar_close_time: int, max_daily_loss_usdt: float, max_daily_loss_pct: float,
                 max_drawdown_pct: float) -> tuple:
    """[L1, L2] At a 5m close, with ``equity`` marked at this close before its decisions.

    The UTC day's starting equity is the mark at the day's first close (the 00:00 close when
    no candle is missing); the peak is the highest mark ever (never restarted: a drawdown stop
    of 10 % must not allow another 10 % every day, so while equity stays below the line each
    new UTC day is breached again at its first close). A day already breached is not tested
    again. Returns (limit_day,
    day_start_equity, peak_equity, breach_day, rule) where ``rule`` is the code of a breach
    decided at THIS close (L1 or L2), else NO_RULE; ``limit_day`` -1 = nothing marked yet."""
    today = utc_day(bar_close_time)
    if today != limit_day:
        limit_day = today
        day_start_equity = equity
    if equity > peak_equity:
        peak_equity = equity
    rule = NO_RULE
    if breach_day != today:
        rule = limit_breach_rule(day_start_equity, peak_equity, equity, max_daily_loss_usdt, max_daily_loss_pct,
                                 max_drawdown_pct)
        if rule != NO_RULE:
            breach_day = today
    return limit_day, day_start_equity, peak_equity, breach_day, rule


@jitable
def symbol_notional(qty: tuple, price: float) -> float:
    """[L3] A symbol's open notional at ``price``: both sides counted (long + short), as margin is."""
    return (qty[LONG] + qty[SHORT]) * price


@jitable
def limits_entry_gate(entries_allowed: bool, breach_day: int, bar_close_time: int, qty: tuple, price: float,
                      call_size: float, other_notional: float, max_symbol_notional: float,
                      max_total_notional: float) -> bool:
    """Whether [R2] may open a main: the [L4, L5] gate (``entries_allowed``), no breach of
    [L1, L2] on this UTC day, and [L3] the main's notional (CALL_SIZE x this close) fits under
    the symbol's cap and, with ``other_notional`` (the other symbols'), the account's cap."""
    if not entries_allowed or breach_blocks(breach_day, bar_close_time, False):
        return False
    held = symbol_notional(qty, price)
    return notional_allowed(held, held + other_notional, call_size * price, max_symbol_notional,
                            max_total_notional)


@jitable
def decide_flatten(qty: tuple, opening: tuple, closing: tuple, reason: int) -> Orders:
    """[L1, L2] on_breach = flatten: close every held side (not one already being closed)."""
    orders = no_orders()
    if side_status(qty[LONG], opening[LONG], closing[LONG]) == HELD:
        orders = add_order(orders, LONG, CLOSE, reason, qty[LONG])
    if side_status(qty[SHORT], opening[SHORT], closing[SHORT]) == HELD:
        orders = add_order(orders, SHORT, CLOSE, reason, qty[SHORT])
    return orders


# ----- the guard held on the exchange [E1], as a backtest models it -----------------------------------
# Live, the guard is a STOP_MARKET order on Binance's Algo Order service (live/guard.py places it, the
# exchange fires it). A backtest has no exchange: both engines ask :func:`decide_guard` once per 5m bar,
# after the orders of the previous close have filled and before the bar's own closes (daily, then 5m),
# whether the bar's low (LONG main) or high (SHORT main) reached the guard's trigger.

GUARD_MODES = ("off", "hedge", "stop")  # setting text, index = GUARD_* code
GUARD_OFF, GUARD_HEDGE, GUARD_STOP = 0, 1, 2
NO_SIDE = -1

# The guard's answer for one bar: its order (at most one), the price that order fills at before
# slippage, and the guard left standing after the bar (``side`` NO_SIDE = none; a guard that fired
# is gone), which the driver hands back at the next bar.
GuardDecision = namedtuple("GuardDecision", "orders price side qty trigger")


@jitable
def guarded_side(qty: tuple, entry_time: tuple) -> int:
    """[E1] The side the guard protects, as live/guard_room.held_mains picks it: the only side held,
    or with both held the side entered first (the hedge answers the main's loss, so it comes later),
    a tie going to the larger side, then to LONG. NO_SIDE when nothing is held. A lone hedge (left by
    [R3] taking the main's profit) is guarded as live guards it: it is the only side held."""
    long_held = qty[LONG] > QTY_EPSILON
    short_held = qty[SHORT] > QTY_EPSILON
    if long_held != short_held:
        return LONG if long_held else SHORT
    if not long_held:
        return NO_SIDE
    if entry_time[LONG] != entry_time[SHORT]:
        return LONG if entry_time[LONG] < entry_time[SHORT] else SHORT
    if qty[LONG] != qty[SHORT]:
        return LONG if qty[LONG] > qty[SHORT] else SHORT
    return LONG


@jitable
def guard_trigger_price(side: int, entry_price: float, distance_pct: float) -> float:
    """[E1] ``distance_pct`` % from the entry against ``side``: below it for LONG, above for SHORT
    (live/guard.trigger_price is the same in Decimal, rounded to the tick away from the entry)."""
    return entry_price * (1.0 - direction(side) * distance_pct / 100.0)


@jitable
def beyond_trigger(side: int, trigger: float, price: float) -> bool:
    """[E1] ``price`` is at or past the trigger of a ``side`` main's guard (at or below it for LONG,
    at or above it for SHORT): a STOP_MARKET guard fires there."""
    return (trigger - price) * direction(side) >= 0.0


@jitable
def guard_fill_base(side: int, trigger: float, bar_open: float, bar_high: float, bar_low: float) -> float:
    """[E1] The price a standing guard of a ``side`` main fills at in a bar, before slippage: the
    bar's open when the bar opened at or beyond the trigger (a gap through it), else the trigger
    when the bar's low (LONG) or high (SHORT) reached it; -1.0 when the bar never reached it."""
    if beyond_trigger(side, trigger, bar_open):
        return bar_open
    if beyond_trigger(side, trigger, bar_low if side == LONG else bar_high):
        return trigger
    return -1.0


@jitable
def guard_hedge_qty(main_qty: float, opposite_qty: float, call_size: float) -> float:
    """[E1, R6] What a hedge guard opens: the main's quantity capped at CALL_SIZE, less what the
    other side already holds (live/guard.wanted_guard); 0 = a hedged main has no hedge guard."""
    hedge = hedge_qty(main_qty, call_size) - opposite_qty
    return hedge if hedge > QTY_EPSILON else 0.0


@jitable
def no_guard() -> tuple:
    return NO_SIDE, 0.0, 0.0


@jitable
def wanted_guard(mode: int, distance_pct: float, call_size: float, qty: tuple, entry_price: tuple,
                 entry_time: tuple, opening: tuple, closing: tuple) -> tuple:
    """[E1] The guard the positions should have, as live/guard.wanted_guard: (the main's side, the
    quantity it opens (hedge) or closes (stop), its trigger), or (NO_SIDE, 0, 0) when none (mode off,
    nothing held, a main already hedged, or an order in flight: live replaces the guard once the
    order has finished)."""
    if mode == GUARD_OFF or not distance_pct > 0.0:
        return no_guard()
    main = guarded_side(qty, entry_time)
    if main == NO_SIDE or not entry_price[main] > 0.0:
        return no_guard()
    other = 1 - main
    if opening[main] or closing[main] or opening[other] or closing[other]:
        return no_guard()
    guard_qty = qty[main]
    if mode == GUARD_HEDGE:
        guard_qty = guard_hedge_qty(qty[main], qty[other], call_size)
        if guard_qty <= 0.0:
            return no_guard()
    return main, guard_qty, guard_trigger_price(main, entry_price[main], distance_pct)


@jitable
def decide_guard(mode: int, distance_pct: float, call_size: float, qty: tuple, entry_price: tuple,
                 entry_time: tuple, opening: tuple, closing: tuple, standing_side: int, standing_qty: float,
                 standing_trigger: float, placing_price: float, bar_open: float, bar_high: float,
                 bar_low: float) -> GuardDecision:
    """[E1] One 5m bar of the guard held on the exchange, as live keeps it.

    The guard wanted (:func:`wanted_guard`) is either the one already standing (``standing_*``, the
    previous bar's answer: it fires at the bar's open when the bar gaps through its trigger), or a
    new one placed once the last close's orders have filled, at ``placing_price`` (the price then:
    the bar's open with ``fill: next_open``, the last close with ``fill: close``). Binance refuses
    a guard whose trigger is already passed (-2021): live then has no guard until a later close
    finds the price back inside it, and so has this model. A guard that fires: mode ``hedge`` opens
    the hedge on the other side (the main is then hedged and wants no guard), mode ``stop`` closes
    the whole main. One function for both sides (the main's side is a parameter)."""
    orders = no_orders()
    main, guard_qty, trigger = wanted_guard(mode, distance_pct, call_size, qty, entry_price, entry_time, opening,
                                            closing)
    if main == NO_SIDE:
        return GuardDecision(orders, 0.0, NO_SIDE, 0.0, 0.0)
    standing = standing_side == main and standing_qty == guard_qty and standing_trigger == trigger
    if not standing and beyond_trigger(main, trigger, placing_price):  # -2021: not placed this time
        return GuardDecision(orders, 0.0, NO_SIDE, 0.0, 0.0)
    price = guard_fill_base(main, trigger, bar_open, bar_high, bar_low)
    if price < 0.0:
        return GuardDecision(orders, 0.0, main, guard_qty, trigger)
    if mode == GUARD_STOP:
        orders = add_order(orders, main, CLOSE, E1, guard_qty)
    else:
        orders = add_order(orders, 1 - main, OPEN, E1, guard_qty)
    return GuardDecision(orders, price, NO_SIDE, 0.0, 0.0)


# ----- decisions ------------------------------------------------------------------------------------


@jitable
def no_orders() -> Orders:
    return Orders(0, 0, 0, NO_RULE, 0.0, 0, 0, NO_RULE, 0.0)


@jitable
def add_order(orders: Orders, side: int, action: int, reason: int, qty: float) -> Orders:
    """``orders`` with one more (at most two per call: the rules never decide more)."""
    if orders.count == 0:
        return Orders(1, side, action, reason, qty, orders.side1, orders.action1, orders.reason1, orders.qty1)
    return Orders(2, orders.side0, orders.action0, orders.reason0, orders.qty0, side, action, reason, qty)


@jitable
def regime_from_signal(regime: int, signal: int) -> int:
    """[G1] up -> UP, down -> DOWN, none -> unchanged."""
    return regime if signal == NONE else signal


@jitable
def decide_daily(regime: int, signal: int, qty: tuple, opening: tuple, closing: tuple) -> DailyDecision:
    """[G1-G3] A daily candle closed with ``signal``: the new regime, and on a change the
    close of every open position on the new hedge side [G3]. The first regime known
    closes nothing [G2]."""
    orders = no_orders()
    new_regime = regime_from_signal(regime, signal)
    if new_regime == regime or regime == NONE:
        return DailyDecision(new_regime, orders)
    hedge = 1 - main_side(new_regime)
    if side_status(qty[hedge], opening[hedge], closing[hedge]) == HELD:
        orders = add_order(orders, hedge, CLOSE, G3, qty[hedge])
    return DailyDecision(new_regime, orders)


@jitable
def entry_signal(signal: int, prev_signal: int, favourable: int, cross_entry: bool) -> bool:
    """[S4] level: the bar's signal favours the regime; cross: and the previous bar's did not."""
    if signal != favourable:
        return False
    if cross_entry:
        return prev_signal != favourable
    return True


@jitable
def decide_bar(regime: int, signal: int, prev_signal: int, price: float, close_time: int,
               call_size: float, opens_allowed: bool, entries_allowed: bool,
               qty: tuple, entry_price: tuple, entry_time: tuple, best: tuple, opening: tuple, closing: tuple,
               cross_entry: bool, take_profit_pct: float, max_hold_bars: int, trailing_pct: float,
               trailing_activation_pct: float) -> BarDecision:
    """[X3, R1-R6, S4] A 5m bar closed: the best closes updated with ``price``, then the
    per-bar rules in SPEC order for ``regime``.

    ``qty``, ``entry_price``, ``entry_time``, ``best`` are the filled positions;
    ``entries_allowed`` gates [R2] only ([L4], [L5]: see :func:`entry_gate`); hedges of a
    losing main are protective and stay allowed. ``opening`` / ``closing`` say whether an open / a close is in flight on each side
    (decided and not yet finished). Orders decided here take effect for the rules at
    once [B4]: a side being closed counts as flat, one being opened as taken.
    """
    # [X3] best close since entry, updated with this bar's close before any test.
    best_long = improve_best(1, best[LONG], price) if qty[LONG] > QTY_EPSILON else best[LONG]
    best_short = improve_best(-1, best[SHORT], price) if qty[SHORT] > QTY_EPSILON else best[SHORT]
    orders = no_orders()
    if regime == NONE:
        return BarDecision(orders, best_long, best_short)  # [G2] no trading before the first daily signal
    main = main_side(regime)
    hedge = 1 - main
    favourable = regime
    adverse = -regime
    main_status = side_status(qty[main], opening[main], closing[main])
    hedge_status = side_status(qty[hedge], opening[hedge], closing[hedge])

    # [R1] favourable signal: drop the hedge, whatever its PnL.
    if signal == favourable and hedge_status == HELD:
        orders = add_order(orders, hedge, CLOSE, R1, qty[hedge])
        hedge_status = FLAT

    # [R2] favourable signal (level or cross, [S4]) and no main: open one.
    if entry_signal(signal, prev_signal, favourable, cross_entry) and main_status == FLAT and opens_allowed \
            and entries_allowed:
        orders = add_order(orders, main, OPEN, R2, call_size)
        main_status = OPENING
    if main_status != HELD:
        return BarDecision(orders, best_long, best_short)  # no main, or one opened on this bar

    main_direction = direction(main)
    main_qty = qty[main]
    main_pnl = pnl(main_direction, entry_price[main], price, main_qty)
    if signal == adverse:
        # [R3] adverse signal: lock a profit, or hedge a loss.
        if main_pnl >= 0:
            orders = add_order(orders, main, CLOSE, R3, main_qty)
        elif hedge_status == FLAT and opens_allowed:
            orders = add_order(orders, hedge, OPEN, R3, hedge_qty(main_qty, call_size))  # [R6]
    elif main_pnl >= 0:
        # [R4] main recovered: release the hedge, then apply the exit rules [X].
        if hedge_status == HELD:
            orders = add_order(orders, hedge, CLOSE, R4, qty[hedge])
        main_best = best_long if main == LONG else best_short
        reason = exit_rule(main_direction, entry_price[main], entry_time[main], main_best, price, close_time,
                           take_profit_pct, max_hold_bars, trailing_pct, trailing_activation_pct)
        if reason != NO_RULE:
            orders = add_order(orders, main, CLOSE, reason, main_qty)
    elif signal == NONE and hedge_status == FLAT and opens_allowed:
        # [R5] no signal and the main is losing: hedge it.
        orders = add_order(orders, hedge, OPEN, R5, hedge_qty(main_qty, call_size))  # [R6]
    return BarDecision(orders, best_long, best_short)


@jitable
def decide_guarded_bar(breach_rule_now: int, on_breach: int, regime: int, signal: int, prev_signal: int,
                       price: float, close_time: int, call_size: float, opens_allowed: bool, entries_allowed: bool,
                       qty: tuple, entry_price: tuple, entry_time: tuple, best: tuple, opening: tuple,
                       closing: tuple, cross_entry: bool, take_profit_pct: float, max_hold_bars: int,
                       trailing_pct: float, trailing_activation_pct: float) -> BarDecision:
    """[L1, L2] A breach decided at this close (``breach_rule_now``) with on_breach = flatten closes
    every held side under the breach's rule id and decides nothing else on this bar; otherwise
    the bar rules :func:`decide_bar` (``entries_allowed`` from :func:`limits_entry_gate`)."""
    if breach_rule_now != NO_RULE and on_breach == ON_BREACH_FLATTEN:
        return BarDecision(decide_flatten(qty, opening, closing, breach_rule_now), best[LONG], best[SHORT])
    return decide_bar(regime, signal, prev_signal, price, close_time, call_size, opens_allowed, entries_allowed,
                      qty, entry_price, entry_time, best, opening, closing, cross_entry, take_profit_pct,
                      max_hold_bars, trailing_pct, trailing_activation_pct)
