"""The reconciler: the exchange's positions win over the state's [O7].

Owns [O7]: the position check at start-up and before every decision whose last exchange check
is older than the bar (called by live/service.py and live/orders.py), one line and a
:class:`PositionDifference` event per difference (a liquidation, an auto-deleverage, a trade
made by hand, an order executed late); and the user-data stream's records that are not our
own orders' fills (position changes, liquidations, auto-deleverages), which trigger a REST
read at once instead of at the next close. It also keeps the stream's executions by order id
for live/orders.py's real commissions [O3].
"""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Callable

from core.model import Side
from core.ports import BrokerError, ForcedClose, TradeUpdate
from core.state import PositionState
from live.context import ServiceContext, SymbolSlot
from live.events import ForcedCloseEvent, PositionDifference, forced_close_words
from live.limits import side_excess


class Reconciler:
    """[O7] Position checks against the exchange, and the user-data stream's inbox."""

    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self.trades: dict[str, list] = {}  # exchange order id -> its executions from the stream
        self._position_updates: list = []
        # ALGO_UPDATE records (the guard held on the exchange): given to live/guard_room.py [E2]
        self.on_algo_update: Callable[[Any], None] | None = None
        # [C1, C2, C3] (live/excess.py): ``explain(slot, side)`` records the bot's own late executions
        # before a larger side is taken as a difference; ``on_difference(slot, side, state_qty,
        # exchange_qty)`` is told each difference taken.
        self.explain: Callable[[SymbolSlot, Side], None] | None = None
        self.on_difference: Callable[[SymbolSlot, Side, float, float], None] | None = None
        # [E1, E2] sides a triggered guard of the bot changed: (symbol, side) -> the guard's client id.
        # The next reading of the symbol takes such a difference as the bot's own.
        self.own_changes: dict[tuple[str, Side], str] = {}
        self.on_own_change: Callable[[str, Side], None] | None = None
        self._reading = False  # a reading in progress (the stream's guard words are taken first, once)

    def expect_own(self, symbol: str, side: Side, client_id: str) -> None:
        """A guard of the bot changed ``side`` of ``symbol`` [E2]: not a trade by hand."""
        self.own_changes[(symbol, side)] = client_id
        if self.on_own_change is not None:
            self.on_own_change(symbol, side)

    def check_positions(self, slot: SymbolSlot, skip: set[Side] | None = None) -> set[Side]:
        """[O7] Read the exchange's positions now; the exchange wins. Returns the sides that differed.

        With the guard wired, the user-data stream's records already received are taken first, so a
        guard's trigger the stream told is known as the bot's own before its side is read [E2]."""
        if self.on_algo_update is not None and self.ctx.user_stream is not None and not self._reading:
            self._reading = True
            try:
                self.pull_user_stream()
            finally:
                self._reading = False
        changed = self._reconcile_positions(slot, skip or set())
        slot.positions_checked_bar = max(slot.positions_checked_bar, slot.last_time)
        for side in Side:  # read now: an expected change of the bot's own guard is taken or was already
            if side not in (skip or set()):
                self.own_changes.pop((slot.symbol, side), None)
        return changed

    def _reconcile_positions(self, slot: SymbolSlot, skip: set[Side]) -> set[Side]:
        """[O7] The exchange's LONG and SHORT positions win over the state's (one line per difference:
        a liquidation, an auto-deleverage, a trade made by hand, or an order executed late)."""
        ctx = self.ctx
        strategy = slot.strategy
        exchange = ctx.broker.positions(strategy.symbol)
        changed: set[Side] = set()
        for side in Side:
            if side in skip:
                continue
            mine = strategy.state.positions[side]
            theirs = exchange[side]
            their_qty = float(theirs.qty)
            if self.explain is not None and theirs.qty > Decimal(repr(mine.qty)):
                self.explain(slot, side)  # [C1] the bot's own order executed late: its fill, not a difference
                mine = strategy.state.positions[side]
            if Decimal(repr(mine.qty)) == theirs.qty:
                if their_qty > 0 and theirs.entry_price > 0 and abs(mine.entry_price - float(theirs.entry_price)) > 1e-9 * max(1.0, mine.entry_price):
                    ctx.log("INFO", strategy.symbol, f"[O7] {strategy.symbol} {side.value}: entry price "
                            f"{mine.entry_price:g} in state, {theirs.entry_price} on the exchange; using the exchange's")
                    mine.entry_price = float(theirs.entry_price)
                self._repair_best_price(slot, side)
                continue
            changed.add(side)
            state_qty = mine.qty
            guard = self.own_changes.get((strategy.symbol, side))
            if guard is not None:  # [E2] the bot's own guard: no alert, not a trade by hand ([C2], [C3])
                ctx.log("INFO", strategy.symbol, f"[O7] {strategy.symbol} {side.value}: state holds {mine.qty:g}, the "
                        f"exchange {their_qty:g} after the bot's guard {guard} [E2]; the exchange's position is taken "
                        "as the bot's own", rule="O7")
            else:
                ctx.log("WARNING", strategy.symbol, f"[O7] {strategy.symbol} {side.value}: state holds {mine.qty:g}, "
                        f"the exchange {their_qty:g}; the exchange's position is taken")
                ctx.emit(PositionDifference(strategy.symbol, side.value, mine.qty, their_qty, ctx.clock()))
            if their_qty <= 0:
                strategy.state.positions[side] = PositionState()
            elif mine.qty <= 0:
                strategy.state.positions[side] = PositionState(
                    qty=their_qty, entry_price=float(theirs.entry_price),
                    entry_time=strategy.state.last_bar_close, best_price=float(theirs.entry_price))
            else:
                mine.qty = their_qty
                if theirs.entry_price > 0:  # never a price of 0 [O3]
                    mine.entry_price = float(theirs.entry_price)
                self._repair_best_price(slot, side)
            unmanaged = strategy.state.unmanaged_long if side is Side.LONG else strategy.state.unmanaged_short
            excess = side_excess(strategy.symbol, side, their_qty, ctx.call_sizes.get(strategy.symbol, their_qty),
                                 min(unmanaged, their_qty))
            if excess is not None and their_qty > state_qty and guard is None:  # [C3] one alert; the window asks
                ctx.log("WARNING", strategy.symbol, excess.sentence(), rule="C3")
            if self.on_difference is not None and guard is None:
                self.on_difference(slot, side, state_qty, their_qty)
        if changed:
            ctx.save(slot)
        return changed

    def _repair_best_price(self, slot: SymbolSlot, side: Side) -> None:
        """[X3] An open position's best price of 0 or NaN (a fill once recorded without a price, by a
        version before issue 18) starts again at the entry price, so the trailing test never divides
        by zero; one line says so."""
        position = slot.strategy.state.positions[side]
        if position.qty <= 0 or not _usable(position.entry_price) or _usable(position.best_price):
            return
        self.ctx.log("WARNING", slot.symbol, f"[O7] {slot.symbol} {side.value}: best price {position.best_price!r} in "
                     f"state is not a price; it starts again at the entry price {position.entry_price:g}")
        position.best_price = position.entry_price
        self.ctx.save(slot)

    # ----- user-data stream ---------------------------------------------------------------------

    def pull_user_stream(self, timeout: float = 0.0) -> None:
        """Take what the stream received: executions by order id now, position changes for later."""
        ctx = self.ctx
        if ctx.user_stream is None:
            return
        records = ctx.user_stream.wait(timeout) if timeout else ctx.user_stream.drain()
        for record in records:
            if isinstance(record, TradeUpdate):
                if len(self.trades) > 2000:  # old orders' executions are no longer asked for
                    self.trades.clear()
                self.trades.setdefault(record.order_id, []).append(record)
            elif isinstance(record, ForcedClose):  # the positions are read at the ACCOUNT_UPDATE that follows
                what = forced_close_words(record.kind)  # a settlement is a delisting/delivery, not an ADL
                ctx.log("WARNING", record.symbol, f"[O7] {record.symbol} {record.side.value} {record.qty} {what} "
                        f"by the exchange at {record.price} ({record.client_id})")
                ctx.ledger.record_forced_close(record)  # its loss and fee reach the strip's "today" at once
                ctx.money_changed()
                ctx.emit(ForcedCloseEvent(record.symbol, record.side.value, float(record.qty), float(record.price),
                                          record.kind, record.time))
            elif hasattr(record, "client_algo_id"):  # ALGO_UPDATE: the guard room's [E2]
                if self.on_algo_update is not None:
                    self.on_algo_update(record)
            else:
                self._position_updates.append(record)

    def handle_user_stream(self) -> None:
        """A position changed on the exchange outside our own orders (liquidation, auto-deleverage,
        a trade by hand): read the positions over REST now, not at the next close [O7]."""
        ctx = self.ctx
        self.pull_user_stream()
        updates, self._position_updates = self._position_updates, []
        for update in updates:
            slot = ctx.slots.get(update.symbol)
            if slot is None or slot.driver is None or slot.strategy.state.pending:
                continue  # our own order in flight: resolved and checked before the next decision
            if Decimal(repr(slot.strategy.state.positions[update.side].qty)) == update.qty:
                continue
            ctx.log("INFO", update.symbol, f"[O7] {update.symbol} {update.side.value} changed on the exchange "
                    f"({update.reason or 'update'}): now {update.qty}; reading the positions")
            ctx.guard(update.symbol, lambda s=slot: self._check_or_later(s))
            ctx.emit_status(slot)

    def _check_or_later(self, slot: SymbolSlot) -> None:
        """A failed read is a failed read for this symbol only: it is read again before its next decision."""
        try:
            self.check_positions(slot)
        except BrokerError as exc:
            slot.positions_checked_bar = -1
            self.ctx.log("WARNING", slot.symbol, f"[O7] {slot.symbol}: the exchange's positions could not be read "
                         f"({exc.message}); they are read again before the next decision")


def _usable(price: float) -> bool:
    return isinstance(price, (int, float)) and math.isfinite(price) and price > 0
