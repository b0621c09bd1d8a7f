"""HedgeStrategy: one symbol's trading rules [SPEC S, G, R, X].

The strategy is pure: it is told about closed candles and fills, and answers
with :class:`OrderIntent` records. It places no orders, reads no clock and does
no I/O. Backtest, paper and live trading all drive it the same way:

    intents = strategy.on_daily_close(close_time, daily_signal)   # [G4] daily first
    intents += strategy.on_bar_close(BarClose(...))
    ... executor turns intents into fills ...
    strategy.apply_fill(fill); strategy.finish_order(client_id)

Positions (qty, entry price, entry time) change only in :meth:`apply_fill`.
Decisions take effect at once for the *rules*, though [B4]: a side with a close
in flight counts as flat, a side with an open in flight counts as taken (no
second open) but is not examined (its entry price is not known yet).

UP and DOWN are one code path: ``main = regime.main_side``, ``hedge =
main.opposite``, and the signal that favours the regime is ``regime.favourable_signal``.
"""
from __future__ import annotations

from decimal import Decimal
from enum import Enum

import numpy as np

from core.model import Action, BarClose, Fill, OrderIntent, Regime, Side, Signal
from core.params import StrategyParams
from core.rules import exit_rule_hit, improve_best, pnl
from core.state import QTY_EPSILON, PendingOrder, PositionState, SymbolState
from core import indicators


class SideStatus(Enum):
    FLAT = "flat"  # nothing held, or what is held is being closed
    OPEN = "open"  # held, nothing in flight: the rules may examine it
    OPENING = "opening"  # an open order is in flight: taken, but not examined


def exact_sum(a: float, b: float) -> float:
    """a + b computed in decimal from the shortest reprs: quantities are exchange step
    multiples, and 0.1 + 0.7 must hold 0.8, not 0.7999999999999999 (which the executor
    would round down a whole step, leaving an unclosable remainder)."""
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

    # ----- events ---------------------------------------------------------------------------

    def on_daily_close(self, close_time: int, signal: Signal) -> list[OrderIntent]:
        """[G1] Update the regime from the daily candle that just closed; [G3] on a change,
        close every open position on the new hedge side. Already-seen closes are ignored."""
        if close_time <= self.state.last_daily_close:
            return []
        self.state.last_daily_close = close_time
        new_regime = regime_from_signal(signal)
        old_regime = self.state.regime
        if new_regime is None or new_regime is old_regime:
            return []
        self.state.regime = new_regime
        if old_regime is None:
            return []  # [G2] first regime known: nothing held under an old one
        intents: list[OrderIntent] = []
        new_hedge = new_regime.main_side.opposite
        if self.status(new_hedge) is SideStatus.OPEN:
            intents.append(self._close(new_hedge, "G3", close_time))
        return intents

    def on_bar_close(self, bar: BarClose) -> list[OrderIntent]:
        """[R1-R5] The per-bar rules, in SPEC order, for the current regime."""
        if bar.close_time <= self.state.last_bar_close:
            return []
        self.state.last_bar_close = bar.close_time
        self._track_best_prices(bar.close)
        regime = self.state.regime
        if regime is None:
            return []  # [G2] no trading before the first daily signal
        main = regime.main_side
        hedge = main.opposite
        favourable = regime.favourable_signal
        adverse = favourable.opposite
        signal = bar.signal
        price = bar.close
        at = bar.close_time
        intents: list[OrderIntent] = []

        # [R1] favourable signal: drop the hedge, whatever its PnL.
        if signal is favourable and self.status(hedge) is SideStatus.OPEN:
            intents.append(self._close(hedge, "R1", at))

        # [R2] favourable signal (level or cross, [S4]) and no main: open one.
        if self._entry_signal(bar, favourable) and self.status(main) is SideStatus.FLAT:
            if self.opens_allowed:
                intents.append(self._open(main, self.call_size, "R2", at))
        if self.status(main) is not SideStatus.OPEN:
            return intents  # no main, or one opened on this bar: nothing to examine

        main_position = self.state.positions[main]
        main_pnl = pnl(main, main_position.entry_price, price, main_position.qty)
        if signal is adverse:
            # [R3] adverse signal: lock a profit, or hedge a loss.
            if main_pnl >= 0:
                intents.append(self._close(main, "R3", at))
            elif self.status(hedge) is SideStatus.FLAT and self.opens_allowed:
                intents.append(self._open(hedge, main_position.qty, "R3", at))  # [R6]
        elif main_pnl >= 0:
            # [R4] main recovered: release the hedge, then apply the exit rules [X].
            if self.status(hedge) is SideStatus.OPEN:
                intents.append(self._close(hedge, "R4", at))
            exit_reason = exit_rule_hit(main, main_position, price, at, self.params.exit)
            if exit_reason is not None:
                intents.append(self._close(main, exit_reason, at))
        elif signal is Signal.NONE and self.status(hedge) is SideStatus.FLAT and self.opens_allowed:
            # [R5] no signal and the main is losing: hedge it.
            intents.append(self._open(hedge, main_position.qty, "R5", at))  # [R6]
        return intents

    def close_all(self, reason: str, at: int) -> list[OrderIntent]:
        """Close every open position (user's 'flatten' = ``manual``, or ``stop``)."""
        return [self._close(side, reason, at) for side in Side if self.status(side) is SideStatus.OPEN]

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
        """How the rules see a side, counting orders in flight [B4]."""
        in_flight = [order.action for order in self.state.pending.values() if order.side is side]
        if Action.OPEN in in_flight:
            return SideStatus.OPENING
        if Action.CLOSE in in_flight or not self.state.positions[side].is_open:
            return SideStatus.FLAT
        return SideStatus.OPEN

    def position(self, side: Side) -> PositionState:
        return self.state.positions[side]

    # ----- helpers ---------------------------------------------------------------------------

    def _entry_signal(self, bar: BarClose, favourable: Signal) -> bool:
        """[S4] level: the bar's signal favours the regime; cross: and the previous bar's did not."""
        if bar.signal is not favourable:
            return False
        if self.params.signal.entry == "cross":
            return bar.prev_signal is not favourable
        return True

    def _track_best_prices(self, price: float) -> None:
        """[X3] best close since entry, updated with this bar's close before any test."""
        for side, position in self.state.positions.items():
            if position.is_open:
                position.best_price = improve_best(side, position.best_price, price)

    def _open(self, side: Side, qty: float, reason: str, at: int) -> OrderIntent:
        return self._intent(side, Action.OPEN, qty, reason, at)

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
