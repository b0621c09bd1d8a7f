"""HedgeStrategy: one symbol's trading rules [SPEC S, G, R, X] for the executor.

The rules themselves are :func:`core.decide.decide_daily` and
:func:`core.decide.decide_bar` (pure functions over numbers, also compiled into the
backtest kernel); this class holds the symbol's state, hands it to them, and turns
their answer into :class:`OrderIntent` records kept pending [O2].

The strategy is pure: it is told about closed candles and fills, and answers
with :class:`OrderIntent` records. It places no orders, reads no clock and does
no I/O. Paper, live trading and the exact backtest all drive it the same way:

    intents = strategy.on_daily_close(close_time, daily_signal)   # [G4] daily first
    intents += strategy.on_bar_close(BarClose(...))
    ... executor turns intents into fills ...
    strategy.apply_fill(fill); strategy.finish_order(client_id)

Positions (qty, entry price, entry time) change only in :meth:`apply_fill`.
Decisions take effect at once for the *rules*, though [B4]: a side with a close
in flight counts as flat, a side with an open in flight counts as taken (no
second open) but is not examined (its entry price is not known yet).

UP and DOWN are one code path (see core.decide).
"""
from __future__ import annotations

from decimal import Decimal
from enum import Enum

import numpy as np

from core.model import Action, BarClose, Fill, OrderIntent, Regime, Side, Signal
from core.params import StrategyParams
from core.state import QTY_EPSILON, PendingOrder, PositionState, SymbolState
from core import decide, indicators


_SIDES = (Side.LONG, Side.SHORT)  # index = core.decide side code
_ACTIONS = (Action.OPEN, Action.CLOSE)  # index = core.decide action code
_SIGNAL_CODES = {Signal.UP: decide.UP, Signal.DOWN: decide.DOWN, Signal.NONE: decide.NONE}
_REGIME_CODES = {None: decide.NONE, Regime.UP: decide.UP, Regime.DOWN: decide.DOWN}
_CODE_REGIMES = {code: regime for regime, code in _REGIME_CODES.items()}


class SideStatus(Enum):
    FLAT = "flat"  # nothing held, or what is held is being closed
    OPEN = "open"  # held, nothing in flight: the rules may examine it
    OPENING = "opening"  # an open order is in flight: taken, but not examined


_NONE_IN_FLIGHT = (False, False)
_STATUSES = {decide.FLAT: SideStatus.FLAT, decide.HELD: SideStatus.OPEN, decide.OPENING: SideStatus.OPENING}


_EXACT_WHOLE = 2.0 ** 53  # whole floats below this add exactly in binary


def exact_sum(a: float, b: float) -> float:
    """a + b computed in decimal from the shortest reprs: quantities are exchange step
    multiples, and 0.1 + 0.7 must hold 0.8, not 0.7999999999999999 (which the executor
    would round down a whole step, leaving an unclosable remainder)."""
    if float(a).is_integer() and float(b).is_integer() and abs(a) + abs(b) < _EXACT_WHOLE:
        return float(a + b)  # whole numbers below 2**53 add exactly in binary (the usual case, 5x faster)
    return float(Decimal(repr(a)) + Decimal(repr(b)))


def regime_from_signal(signal: Signal) -> Regime | None:
    """[G1] up -> UP, down -> DOWN, none -> no change (None)."""
    if signal is Signal.UP:
        return Regime.UP
    if signal is Signal.DOWN:
        return Regime.DOWN
    return None


def initial_regime(daily_signal_codes: np.ndarray) -> Regime | None:
    """[G2] The regime at start-up: the last closed day's signal, walking back over none.

    None while no daily signal is known yet (indicator warm-up): the bot does not trade.
    """
    for code in daily_signal_codes[::-1]:
        regime = regime_from_signal(indicators.code_to_signal(code))
        if regime is not None:
            return regime
    return None


class HedgeStrategy:
    """The rules for one symbol. ``call_size`` may be changed between bars (applies to the next order)."""

    def __init__(
        self,
        symbol: str,
        params: StrategyParams,
        call_size: float,
        state: SymbolState | None = None,
    ):
        if call_size <= 0:
            raise ValueError(f"{symbol}: call_size must be > 0, got {call_size}")
        self.symbol = symbol
        self.params = params
        self.call_size = float(call_size)
        self.state = state if state is not None else SymbolState(symbol=symbol)
        self.opens_allowed = True  # False while the user has paused the symbol
        # [L1, L2] equity tracking (core.decide.track_limits), fed by the driver's equity marks;
        # not saved: the breach itself is (state.breach_day / breach_rule).
        self.limit_day = -1
        self.day_start_equity = 0.0
        self.peak_equity = 0.0
        self.other_notional = 0.0  # [L3] the other symbols' open notional (0 in a backtest: see RULES.md)
        # [E1] the guard standing on the (simulated) exchange: (side, qty, trigger), side NO_SIDE = none.
        # The backtest and paper trading's simulated exchange (on_bar_guard, live/paper_guard.py); demo
        # trading and live read their guards from the exchange.
        self.guard_standing: tuple[int, float, float] = (decide.NO_SIDE, 0.0, 0.0)

    # ----- events ---------------------------------------------------------------------------

    def on_daily_close(self, close_time: int, signal: Signal) -> list[OrderIntent]:
        """[G1] Update the regime from the daily candle that just closed; [G3] on a change,
        close every open position on the new hedge side. Already-seen closes are ignored.
        The rules themselves are :func:`core.decide.decide_daily`."""
        if close_time <= self.state.last_daily_close:
            return []
        self.state.last_daily_close = close_time
        qty, opening, closing = self._side_views()
        decision = decide.decide_daily(_REGIME_CODES[self.state.regime], _SIGNAL_CODES[signal], qty, opening, closing)
        self.state.regime = _CODE_REGIMES[decision.regime]
        return self._intents(decision.orders, close_time)

    def on_bar_close(self, bar: BarClose, equity: float | None = None) -> list[OrderIntent]:
        """[X3, R1-R5, S4, L1-L5] The per-bar rules, in SPEC order, for the current regime.
        The rules themselves are :func:`core.decide.decide_guarded_bar`.

        ``equity``: the account's equity marked at this close before its decisions (fees and
        funding included), for [L1] and [L2]; None = not known (they are not tested then,
        though a breach already saved for today still blocks new mains)."""
        if bar.close_time <= self.state.last_bar_close:
            return []
        self.state.last_bar_close = bar.close_time
        positions = self.state.positions
        long, short = positions[Side.LONG], positions[Side.SHORT]
        qty, opening, closing = self._side_views()
        exit_params = self.params.exit
        protect = self.params.protect
        state = self.state
        breach_now = decide.NO_RULE
        if equity is not None:
            self.limit_day, self.day_start_equity, self.peak_equity, state.breach_day, breach_now = \
                decide.track_limits(self.limit_day, self.day_start_equity, self.peak_equity, state.breach_day,
                                    equity, bar.close_time, protect.max_daily_loss_usdt, protect.max_daily_loss_pct,
                                    protect.max_drawdown_pct)
            if breach_now != decide.NO_RULE:
                state.breach_rule = decide.REASONS[breach_now]
        entries_allowed = decide.limits_entry_gate(
            decide.entry_gate(state.last_main_close_time, state.entries_day, state.entries_today, bar.close_time,
                              protect.cooldown_bars, protect.max_entries_per_day),
            state.breach_day, bar.close_time, qty, bar.close, self.call_size, self.other_notional,
            protect.max_symbol_notional, protect.max_total_notional)
        decision = decide.decide_guarded_bar(
            breach_now, protect.on_breach_code,
            _REGIME_CODES[self.state.regime], _SIGNAL_CODES[bar.signal], _SIGNAL_CODES[bar.prev_signal],
            bar.close, bar.close_time, self.call_size, self.opens_allowed, entries_allowed,
            qty, (long.entry_price, short.entry_price), (long.entry_time, short.entry_time),
            (long.best_price, short.best_price), opening, closing,
            self.params.signal.entry == "cross", exit_params.take_profit_pct, exit_params.max_hold_bars,
            exit_params.trailing_pct, exit_params.trailing_activation_pct,
        )
        long.best_price, short.best_price = decision.best_long, decision.best_short  # [X3]
        state.last_main_close_time, state.entries_day, state.entries_today = decide.track_protections(
            decision.orders, bar.close_time, state.last_main_close_time, state.entries_day, state.entries_today)
        return self._intents(decision.orders, bar.close_time)

    def on_bar_guard(self, bar_open_time: int, placing_price: float, bar_open: float, bar_high: float,
                     bar_low: float) -> tuple[list[OrderIntent], float]:
        """[E1] The backtest's model of the guard held on the exchange, within one 5m bar
        (:func:`core.decide.decide_guard`): the guard's order (the hedge it opens, or the main it
        closes) and the price it fills at before slippage (the trigger, or the bar's open when the
        bar gapped through it); ``([], 0.0)`` when nothing fired. ``placing_price``: the price when
        the guard would be placed after the last close's fills. The order is decided at
        ``bar_open_time`` (the last close the bot had seen when the guard acted, as live's
        reconciliation dates the position it opened). Paper trading calls it too, for its simulated
        exchange (live/paper_guard.py); demo trading and live do not: the exchange itself fires the
        guard (live/guard.py, live/guard_room.py)."""
        guard = self.params.guard
        if guard.mode == "off":
            return [], 0.0
        positions = self.state.positions
        long, short = positions[Side.LONG], positions[Side.SHORT]
        qty, opening, closing = self._side_views()
        side, standing_qty, trigger = self.guard_standing
        decision = decide.decide_guard(guard.mode_code, guard.distance_pct, self.call_size, qty,
                                       (long.entry_price, short.entry_price), (long.entry_time, short.entry_time),
                                       opening, closing, side, standing_qty, trigger, placing_price, bar_open,
                                       bar_high, bar_low)
        self.guard_standing = (decision.side, decision.qty, decision.trigger)
        return self._intents(decision.orders, bar_open_time), decision.price

    def close_all(self, reason: str, at: int) -> list[OrderIntent]:
        """Close every open position (user's 'flatten' = ``manual``, or ``stop``)."""
        return [self._close(side, reason, at) for side in Side if self.status(side) is SideStatus.OPEN]

    def flatten(self, rule: str, at: int) -> list[OrderIntent]:
        """[L1, L2] on_breach = flatten decided outside this symbol's bar (live trading measures the
        whole account): every held side closed under ``rule`` (:func:`core.decide.decide_flatten`)."""
        qty, opening, closing = self._side_views()
        return self._intents(decide.decide_flatten(qty, opening, closing, decide.REASON_CODES[rule]), at)
    def close_part(self, side: Side, qty: float, reason: str, at: int) -> OrderIntent:
        """Close ``qty`` of ``side`` (the trader's answer to [C3]: close the excess), kept pending [O2]."""
        return self._intent(side, Action.CLOSE, qty, reason, at)

    def decide_corrections(self, at: int, own_excess: bool, main_gone: bool) -> list[OrderIntent]:
        """[C1, C2] Before the bar rules of a close, what reconciliation asks for: ``own_excess``
        (a side made larger than CALL_SIZE by the bot's own late execution) closes the excess of
        each side (core.decide.decide_own_excess); ``main_gone`` (the main vanished by
        liquidation, ADL or by hand) closes the orphan hedge (core.decide.decide_orphan_hedge)."""
        qty, opening, closing = self._side_views()
        intents: list[OrderIntent] = []
        if own_excess:
            for code in (decide.LONG, decide.SHORT):
                orders = decide.decide_own_excess(code, qty[code], self.call_size, 0.0, closing[code])
                intents += self._intents(orders, at)
        if main_gone:
            orders = decide.decide_orphan_hedge(_REGIME_CODES[self.state.regime], qty, opening, closing, True)
            intents += self._intents(orders, at)
        return intents

    def apply_fill(self, fill: Fill) -> None:
        """[O3] The only place positions change: from executed quantity and average price."""
        position = self.state.positions[fill.side]
        order = self.state.pending.get(fill.client_id)
        if order is not None:
            order.filled_qty = exact_sum(order.filled_qty, fill.qty)
        if fill.action is Action.OPEN:
            total = exact_sum(position.qty, fill.qty)
            if not position.is_open:
                position.entry_time = fill.decision_time
                position.entry_price = fill.price
                position.best_price = fill.price
            else:
                if self.managed(fill.side) <= QTY_EPSILON:  # a new main beside an excess kept unmanaged [C3]
                    position.entry_time = fill.decision_time
                    position.best_price = fill.price
                position.entry_price = (position.entry_price * position.qty + fill.price * fill.qty) / total
            position.qty = total
        else:
            remaining = exact_sum(position.qty, -fill.qty)
            if remaining <= QTY_EPSILON:
                self.state.positions[fill.side] = PositionState()
            else:
                position.qty = remaining

    def finish_order(self, client_id: str) -> PendingOrder | None:
        """The order will produce no more fills (done, rejected or given up): stop tracking it."""
        return self.state.pending.pop(client_id, None)

    # ----- views -----------------------------------------------------------------------------

    def status(self, side: Side) -> SideStatus:
        """How the rules see a side, counting orders in flight [B4] (core.decide.side_status)."""
        in_flight = [order.action for order in self.state.pending.values() if order.side is side]
        code = decide.side_status(self.state.positions[side].qty, Action.OPEN in in_flight, Action.CLOSE in in_flight)
        return _STATUSES[code]

    def position(self, side: Side) -> PositionState:
        return self.state.positions[side]

    # ----- helpers ---------------------------------------------------------------------------

    def managed(self, side: Side) -> float:
        """[C3] The quantity the rules manage on ``side``: what is held less the excess the trader
        chose to keep unmanaged (core.decide.managed_qty)."""
        unmanaged = self.state.unmanaged_long if side is Side.LONG else self.state.unmanaged_short
        qty = self.state.positions[side].qty
        return decide.managed_qty(qty, unmanaged) if unmanaged else qty

    def _side_views(self) -> tuple[tuple[float, float], tuple[bool, bool], tuple[bool, bool]]:
        """(managed qty, open in flight, close in flight) per side, as (long, short), for core.decide [B4, C3]."""
        state = self.state
        if state.unmanaged_long or state.unmanaged_short:
            qty = (self.managed(Side.LONG), self.managed(Side.SHORT))
        else:  # the usual case (every backtest): nothing kept unmanaged
            positions = state.positions
            qty = (positions[Side.LONG].qty, positions[Side.SHORT].qty)
        if not self.state.pending:  # the usual case: nothing in flight
            return qty, _NONE_IN_FLIGHT, _NONE_IN_FLIGHT
        in_flight = [(order.side, order.action) for order in self.state.pending.values()]
        return (
            qty,
            ((Side.LONG, Action.OPEN) in in_flight, (Side.SHORT, Action.OPEN) in in_flight),
            ((Side.LONG, Action.CLOSE) in in_flight, (Side.SHORT, Action.CLOSE) in in_flight),
        )

    def _intents(self, orders: decide.Orders, at: int) -> list[OrderIntent]:
        """The orders core.decide returned, as intents recorded pending in state [O2]."""
        if not orders.count:
            return []
        decided = [(orders.side0, orders.action0, orders.reason0, orders.qty0),
                   (orders.side1, orders.action1, orders.reason1, orders.qty1)][:orders.count]
        return [self._intent(_SIDES[side], _ACTIONS[action], qty, decide.REASONS[reason], at)
                for side, action, reason, qty in decided]

    def _close(self, side: Side, reason: str, at: int) -> OrderIntent:
        return self._intent(side, Action.CLOSE, self.state.positions[side].qty, reason, at)

    def _intent(self, side: Side, action: Action, qty: float, reason: str, at: int) -> OrderIntent:
        """Record the order as pending in state [O2] and return it."""
        self.state.order_seq += 1
        client_id = f"ah-{self.symbol[:12]}-{at // 1000}-{self.state.order_seq}"
        intent = OrderIntent(
            symbol=self.symbol,
            side=side,
            action=action,
            qty=qty,
            reason=reason,
            decision_time=at,
            client_id=client_id,
        )
        self.state.pending[client_id] = PendingOrder(
            client_id=client_id, side=side, action=action, qty=qty, reason=reason, decision_time=at
        )
        return intent
