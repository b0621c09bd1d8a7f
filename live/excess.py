"""Never above CALL_SIZE: what the reconciliation finds and how the bot answers it [C1, C2, C3]
(issue 19, item 7, the live half; the rules themselves are core/decide.py's).

- [C1] **The bot's own late execution.** An OPEN whose outcome was unknown and that [O5] gave up
  (not found once its window had passed) may still execute later (an exchange that lost track of
  it). The order room tells this room each order it gives up (:meth:`ExcessRoom.remember_given_up`).
  When the reconciliation [O7] finds a side larger than the state, the given-up orders of that
  side are looked up by their exchange ids first (:meth:`ExcessRoom.explain`, nothing is sent):
  what they executed is recorded as the bot's own fill (journal, ledger, state) under the order's
  rule id, so it is no difference at all. A side then above CALL_SIZE has its excess closed at
  once under [C1] (core.decide.decide_own_excess): at the close that found it, before the bar
  rules, or at the next close when the user-data stream found it between two closes.
- [C2] **An orphan hedge.** The reconciliation took the regime's main side to zero while the bot
  had not closed it (a liquidation, an auto-deleverage, a close by hand) and the other side is
  held: that hedge is closed at the next close under [C2] (core.decide.decide_orphan_hedge),
  before the bar rules.
- [C3] **A side made larger not by the bot's hand** (a trade by hand): one WARNING line and an
  alert (live/reconcile.py), and one :class:`ExcessQuestion` for the window, which asks the trader
  to keep the excess (recorded in the state as unmanaged: the rules, the hedge and the [C0] check
  see the side less it) or close it (a CLOSE of the excess under [C3]). Until the answer the hedge
  covers CALL_SIZE only ([R6], core.decide.hedge_qty).

Given-up orders are remembered in memory for a day (a restart forgets them: a late execution
found after a restart is then treated as a change not made by the bot, and asked about).
"""
from __future__ import annotations

from decimal import Decimal

from core import decide
from core.model import Action, Side
from core.ports import BrokerError
from core.state import QTY_EPSILON, PendingOrder
from live.context import ServiceContext, SymbolSlot
from live.events import ExcessQuestion
from live.orders import OrderRoom, unrecorded_fill

GIVEN_UP_KEPT_MS = 86_400_000  # a given-up order is looked up for a day after it was last sent (exchange time)
GIVEN_UP_MAX = 20  # per symbol: the oldest are forgotten first


class ExcessRoom:
    """[C1, C2, C3] for every symbol of one service."""

    def __init__(self, ctx: ServiceContext, orders: OrderRoom):
        self.ctx = ctx
        self.orders = orders
        self._given_up: dict[str, dict[str, PendingOrder]] = {}  # symbol -> client id -> order
        self.own_excess: set[str] = set()  # symbols with an excess of the bot's own to close [C1]
        self.main_gone: set[str] = set()  # symbols whose main vanished not by the bot's hand [C2]
        self.asked: dict[tuple[str, Side], float] = {}  # [C3] questions not answered yet: the excess asked about

    def install(self, reconciler, commands) -> None:  # noqa: ANN001 - live/reconcile.py, live/commands.py
        """Wire the hooks: the order room's give-ups, the reconciler's differences, the commands."""
        self.orders.on_given_up = self.remember_given_up
        reconciler.explain = self.explain
        reconciler.on_difference = self.on_difference
        reconciler.on_own_change = self.own_change
        commands.excess = self

    # ----- [C1] the bot's own late execution ------------------------------------------------------

    def remember_given_up(self, slot: SymbolSlot, order: PendingOrder) -> None:
        """[O5] gave ``order`` up: it is looked up again when its side grows (only opens can grow one)."""
        if order.action is not Action.OPEN or not order.sends:
            return
        kept = self._given_up.setdefault(slot.symbol, {})
        kept[order.client_id] = order
        oldest = self.ctx.clock() - GIVEN_UP_KEPT_MS
        for client_id in [key for key, value in kept.items() if max(value.sends.values()) < oldest]:
            kept.pop(client_id)
        while len(kept) > GIVEN_UP_MAX:
            kept.pop(next(iter(kept)))

    def explain(self, slot: SymbolSlot, side: Side) -> None:
        """Before a larger ``side`` is taken from the exchange as a difference: record what the
        bot's given-up orders of that side executed since, as the bot's own fills [C1]."""
        found = False
        for order in [order for order in self._given_up.get(slot.symbol, {}).values() if order.side is side]:
            try:
                result = self.ctx.executor.resolve_in_flight(order, symbol=slot.symbol, ids=list(order.sends))
            except BrokerError as exc:
                self.ctx.log("WARNING", slot.symbol, f"[C1] {slot.symbol}: the given-up order {order.client_id} "
                             f"could not be looked up ({exc.message}); looked up again at the next check")
                continue
            for order_id, report in result.reports.items():
                if report is None or report.executed_qty <= 0 or report.has_unpriced_fill:
                    continue
                fill = unrecorded_fill(slot.symbol, order, order_id, report)
                if fill is None:
                    continue
                order.applied[order_id] = (float(report.executed_qty), float(report.executed_qty * report.avg_price))
                self.ctx.log("WARNING", slot.symbol, f"[C1] {slot.symbol} {order.action.value} {order.side.value} "
                             f"{order.qty:g} ({order.reason}, {order_id}) was given up but executed "
                             f"{fill.qty:g} late on the exchange: recorded as the bot's own fill", rule="C1")
                self.orders.record_fill(slot, fill, just_executed=False)
                found = True
            if sum(qty for qty, _ in order.applied.values()) >= order.qty:  # all of it executed: nothing more to find
                self._given_up.get(slot.symbol, {}).pop(order.client_id, None)
        if found and slot.strategy.managed(side) > slot.strategy.call_size * (1 + decide.PCT_TOLERANCE):
            self.own_excess.add(slot.symbol)

    # ----- what a difference means [C2, C3] --------------------------------------------------------

    def on_difference(self, slot: SymbolSlot, side: Side, state_qty: float, exchange_qty: float) -> None:
        """The reconciliation took ``exchange_qty`` for ``side`` (the state held ``state_qty``)."""
        strategy = slot.strategy
        state = strategy.state
        self._clamp(slot)
        regime = state.regime
        if exchange_qty <= QTY_EPSILON < state_qty and regime is not None and side is regime.main_side \
                and state.positions[side.opposite].is_open:
            self.main_gone.add(slot.symbol)
            self.ctx.log("WARNING", slot.symbol, f"[C2] {slot.symbol} {side.value} main is gone, not by the bot's "
                         f"hand: the {side.opposite.value} hedge is an orphan and is closed at the next close",
                         rule="C2")
        excess = float(Decimal(repr(strategy.managed(side))) - Decimal(repr(strategy.call_size)))
        if exchange_qty > state_qty and excess > QTY_EPSILON:
            self.asked[(slot.symbol, side)] = excess
            self.ctx.emit(ExcessQuestion(slot.symbol, side.value, exchange_qty, strategy.call_size, excess,
                                         self.ctx.clock()))

    @staticmethod
    def _clamp(slot: SymbolSlot) -> None:
        """A kept excess never exceeds what the side holds (closed by hand, a liquidation, a flatten,
        a stop guard): the amount follows the side down, and is gone with it."""
        state = slot.strategy.state
        for side, name in ((Side.LONG, "unmanaged_long"), (Side.SHORT, "unmanaged_short")):
            held = state.positions[side].qty
            if getattr(state, name) > held:
                setattr(state, name, max(0.0, held))

    def own_change(self, symbol: str, side: Side) -> None:
        """A guard of the bot changed ``side`` [E2] (told after a start-up reading took it): a main it
        closed is not gone by another hand, so its hedge is no orphan [C2]."""
        slot = self.ctx.slots.get(symbol)
        regime = slot.strategy.state.regime if slot is not None and slot.driver is not None else None
        if symbol in self.main_gone and regime is not None and side is regime.main_side:
            self.main_gone.discard(symbol)
            self.ctx.log("INFO", symbol, f"[C2] {symbol} {side.value}: the main was closed by the bot's own guard, "
                         "so its hedge is not an orphan", rule="C2")

    # ----- at a close, before the bar rules [C1, C2] -------------------------------------------------

    def correct(self, slot: SymbolSlot, price: float, at: int) -> bool:
        """Close an excess of the bot's own [C1] and an orphan hedge [C2]. False when an order is
        left with an unknown outcome (the bar rules then wait, as for any order in flight)."""
        self._clamp(slot)
        own, gone = slot.symbol in self.own_excess, slot.symbol in self.main_gone
        if own or gone:
            self.own_excess.discard(slot.symbol)
            self.main_gone.discard(slot.symbol)
            intents = slot.strategy.decide_corrections(at, own, gone)
            if intents:
                self.orders.execute(slot, intents, price, at)
        if slot.strategy.state.pending:
            return False
        self._ask_again(slot)
        return True

    def _ask_again(self, slot: SymbolSlot) -> None:
        """[C3] A side still above CALL_SIZE that this run has not asked about (a question left
        unanswered before a restart): asked again, once per run, with one line and an alert."""
        strategy = slot.strategy
        for side in Side:
            excess = float(Decimal(repr(strategy.managed(side))) - Decimal(repr(strategy.call_size)))
            if excess <= QTY_EPSILON or (slot.symbol, side) in self.asked:
                continue
            held = strategy.state.positions[side].qty
            self.asked[(slot.symbol, side)] = excess
            self.ctx.log("WARNING", slot.symbol, f"[C3] {slot.symbol} {side.value} holds {held:g}, {excess:g} above "
                         f"CALL_SIZE {strategy.call_size:g}, not answered yet: keep it (left unmanaged) or close it; "
                         "the bot's hedge covers CALL_SIZE only", rule="C3")
            self.ctx.emit(ExcessQuestion(slot.symbol, side.value, held, strategy.call_size, excess, self.ctx.clock()))

    # ----- the trader's answer to [C3] ---------------------------------------------------------------

    def answer(self, symbol: str, side_name: str, keep: bool) -> None:
        """On the service's thread (live/commands.py): keep the excess unmanaged, or close it."""
        slot = self.ctx.slots.get(symbol)
        side = Side(side_name)
        self.asked.pop((symbol, side), None)
        if slot is None or slot.driver is None:
            return
        strategy = slot.strategy
        excess = float(Decimal(repr(strategy.managed(side))) - Decimal(repr(strategy.call_size)))
        if excess <= QTY_EPSILON:
            self.ctx.log("INFO", symbol, f"[C3] {symbol} {side.value}: nothing is above CALL_SIZE any more; "
                         "nothing to keep or close", rule="C3")
            return
        if keep:
            name = "unmanaged_long" if side is Side.LONG else "unmanaged_short"
            setattr(strategy.state, name, float(Decimal(repr(getattr(strategy.state, name))) + Decimal(repr(excess))))
            self.ctx.save(slot)
            self.ctx.log("INFO", symbol, f"[C3] {symbol} {side.value}: the trader keeps {excess:g} above CALL_SIZE "
                         f"{strategy.call_size:g}; it is left unmanaged (the bot manages and hedges "
                         f"{strategy.call_size:g})", rule="C3")
        else:
            at = max(slot.last_time, strategy.state.last_bar_close)
            self.ctx.log("INFO", symbol, f"[C3] {symbol} {side.value}: the trader chose to close the {excess:g} "
                         f"above CALL_SIZE {strategy.call_size:g}", rule="C3")
            intent = strategy.close_part(side, excess, "C3", at)
            self.ctx.guard(symbol, lambda: self.orders.execute(slot, [intent], slot.last_price or 0.0, at))
        self.ctx.emit_status(slot)
