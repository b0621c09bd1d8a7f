"""In-flight orders: send, look up, resolve, settle, remainders [O2, O3, O4, O5].

Owns:
- [O2] every intent is in the saved state, and each exchange id with its send time, before
  its request leaves (:meth:`OrderRoom.execute`, :meth:`OrderRoom._send`);
- [O3] every confirmed fill is journaled, applied to the strategy and saved at once, with
  Binance's real commission from the user-data stream when it arrives in time
  (:meth:`OrderRoom.record_fill`);
- [O4] the unknown-outcome rule: an order whose outcome is unknown (timeout, 5xx, -1006,
  -1007, or still open after polling) is never re-sent. It stays pending and the symbol
  decides nothing until it is resolved by client id (:meth:`OrderRoom.try_resolve`): found ->
  its executed quantity is applied (only the part not applied yet); not found -> it counts as
  never executed only once its request can no longer be accepted (the saved send time + the
  broker's ``recv_window_ms`` + a clock margin has passed on the exchange's clock) *and* the
  exchange's positions agree with the state (live/reconcile.py). Every new order has a new
  client id;
- [O5] the remainder of an order that can no longer execute is re-sent or given up, with one
  line saying why (:meth:`OrderRoom._settle`), at start-up (:meth:`OrderRoom.start_pending`)
  and on a close.
A definitive refusal puts the symbol in ERROR alone (:meth:`OrderRoom.enter_error`).
"""
from __future__ import annotations

import time
from typing import Callable
from dataclasses import replace
from decimal import Decimal

from core.executor import ExecutionResult, ExecutionStatus, resend_id, to_decimal
from core.model import Action, Fill, OrderIntent, Side
from core.ports import BrokerError, OrderReport
from core.state import QTY_EPSILON, PendingOrder
from core.strategy import exact_sum
from live.cockpit import CockpitReporter
from live.context import ServiceContext, SymbolSlot
from live.events import FillEvent, SymbolRunState
from live.limits import open_breach
from live.fill_prices import priced_from_stream
from live.reasons import describe
from live.reconcile import Reconciler



def unrecorded_fill(symbol: str, order: PendingOrder, order_id: str, report: OrderReport) -> Fill | None:
    """What ``report`` says one exchange order of ``order`` executed beyond what the state already
    applied (``order.applied``), as a fill at the average price of that part; None when nothing new."""
    done_qty, done_quote = order.applied.get(order_id, (0.0, 0.0))
    increase = report.executed_qty - to_decimal(done_qty)
    if increase <= 0:
        return None
    quote = report.executed_qty * report.avg_price - to_decimal(done_quote)
    price = quote / increase if quote > 0 else report.avg_price
    return Fill(client_id=order.client_id, symbol=symbol, side=order.side, action=order.action,
                qty=float(increase), price=float(price), fee=float(report.fee * increase / report.executed_qty),
                time=report.update_time, reason=order.reason, decision_time=order.decision_time, order_id=order_id)

class OrderRoom:
    """The order book of one service's in-flight orders."""

    def __init__(self, ctx: ServiceContext, reconciler: Reconciler, cockpit: CockpitReporter):
        self.ctx = ctx
        self.reconciler = reconciler
        self.cockpit = cockpit
        # [C1] told each OPEN given up [O5] (live/excess.py looks it up when its side grows)
        self.on_given_up: Callable[[SymbolSlot, PendingOrder], None] = lambda slot, order: None

    def execute(self, slot: SymbolSlot, intents: list[OrderIntent], price: float, at: int) -> None:
        """Send ``intents`` in order. After a rejection that pauses the symbol, or an unknown
        outcome, the rest are dropped; an open on a side whose close did not fully fill is
        dropped too, so two positions never merge on one side."""
        strategy = slot.strategy
        if not intents and not self.ctx.options.durable:
            # A close that decided nothing changed only what replaying it again decides the same
            # way (last close, best prices [X3], regime): a replay of simulated trading does not
            # save it (a replay's save costs about 35 us, twice the rest of a quiet bar). Live and
            # paper trading save every close, so a restart never counts a processed close as
            # missed [max_catch_up_bars].
            return
        self.ctx.save(slot)  # [O2] intents are in state before anything is sent
        unfinished_close_sides: set[Side] = set()
        for index, intent in enumerate(intents):
            if intent.action is Action.OPEN and intent.side in unfinished_close_sides:
                strategy.finish_order(intent.client_id)
                self.ctx.log("WARNING", intent.symbol, f"{intent.symbol} {intent.side.value}: the close before it did "
                          f"not fill completely, so the {intent.reason} open of {intent.qty:g} is not sent")
                continue
            if intent.action is Action.OPEN and not self._within_call_size(slot, intent):
                continue
            self._log_decision(slot, intent, price)
            set_price = getattr(self.ctx.broker, "set_price", None)
            if set_price is not None:
                set_price(intent.symbol, price, at)
            result = self._send(slot, intent, price)
            if not self._after_send(slot, intent, result, intents[index + 1:]):
                return
            if result.status is not ExecutionStatus.FILLED and intent.action is Action.CLOSE:
                unfinished_close_sides.add(intent.side)

    def _within_call_size(self, slot: SymbolSlot, intent: OrderIntent) -> bool:
        """[C0] An open that would take its side above CALL_SIZE is not sent; the entries pause."""
        held = slot.strategy.managed(intent.side)  # an excess the trader keeps is not the bot's [C3]
        breach = open_breach(intent.symbol, intent.side, held, intent.qty, self.ctx.call_sizes[intent.symbol])
        if breach is None:
            return True
        slot.strategy.finish_order(intent.client_id)
        self.ctx.log("ERROR", intent.symbol, breach, rule="C0")
        self.enter_error(slot, breach)
        return False

    def _send(self, slot: SymbolSlot, intent: OrderIntent, price: float, resend_index: int = 0) -> ExecutionResult:
        """One intent through the executor; each exchange id is saved with its send time before
        the request leaves [O2], so a restart knows which orders may exist and until when."""
        pending = slot.strategy.state.pending.get(intent.client_id)

        def on_send(order_id: str) -> None:
            if pending is not None:
                pending.sends[order_id] = self.ctx.clock()
                self.ctx.save_step(slot)

        result = self.ctx.executor.execute(intent, price, on_fill=lambda fill: self.record_fill(slot, fill),
                                       on_send=on_send, resend_index=resend_index)
        if result.outcome_unknown and pending is not None and result.unknown_order_id in pending.sends:
            # The request's timestamp is not later than now: the window ends at the latest from here.
            pending.sends[result.unknown_order_id] = max(pending.sends[result.unknown_order_id], self.ctx.clock())
            self.ctx.save(slot)
        return result

    def _after_send(self, slot: SymbolSlot, intent: OrderIntent, result: ExecutionResult,
                    rest: list[OrderIntent]) -> bool:
        """Finish the order (or keep it pending when its outcome is unknown). False when the
        intents after it must not be sent."""
        strategy = slot.strategy
        if result.outcome_unknown:
            # [O4] The exchange may hold this order: keep it pending and look it up by client id
            # before any further decision on this symbol. Not a pause: nothing for the user to do.
            for dropped in rest:
                strategy.finish_order(dropped.client_id)
            slot.detail = "an order's outcome is unknown; it is looked up by client id before the next decision"
            self.ctx.save(slot)
            self.ctx.emit_status(slot)
            return False
        strategy.finish_order(intent.client_id)
        self.ctx.save_step(slot)
        if result.status is ExecutionStatus.FILLED:
            return True
        level = "ERROR" if result.pauses_symbol else "WARNING"
        self.ctx.log(level, intent.symbol, f"{intent.symbol} {intent.action.value} {intent.side.value} "
                  f"{intent.qty:g} ({intent.reason}): {result.message}")
        if result.pauses_symbol:
            for dropped in rest:
                strategy.finish_order(dropped.client_id)
            self.enter_error(slot, result.message)
            return False
        if result.error is not None and result.error.code == -2022 and self.ctx.options.reconcile:
            # The close was larger than the exchange's position: read the positions now [O7].
            self.reconciler.check_positions(slot)
        return True

    def enter_error(self, slot: SymbolSlot, why: str) -> None:
        """A definitive refusal the user must act on: no new entries or hedges until the user
        resumes; exits keep running. Saved, so a restart does not quietly resume opening."""
        strategy = slot.strategy
        strategy.opens_allowed = False
        strategy.state.pause_reason = why
        slot.run_state = SymbolRunState.ERROR
        slot.detail = why
        self.ctx.save(slot)
        self.ctx.emit_status(slot)

    def _log_decision(self, slot: SymbolSlot, intent: OrderIntent, price: float) -> None:
        self.ctx.log("INFO", intent.symbol,
                  f"[{intent.reason}] {intent.symbol} {intent.action.value} {intent.side.value} {intent.qty:g} "
                  f"@ {price:g}: {describe(intent.reason, intent.action)}", rule=intent.reason, at=intent.decision_time)

    def record_fill(self, slot: SymbolSlot, fill: Fill, just_executed: bool = True) -> None:
        """Journal first, then state: a crash in between is repaired at start-up, because the
        journal is idempotent per exchange order and cumulative quantity, and the state knows
        per exchange order what it applied."""
        pending = slot.strategy.state.pending.get(fill.client_id)
        order_id = fill.journal_key
        before = 0.0
        if pending is not None:
            before, done_quote = pending.applied.get(order_id, (0.0, 0.0))
        cumulative = exact_sum(before, fill.qty)
        if pending is not None:
            pending.applied[order_id] = (cumulative, done_quote + fill.qty * fill.price)
        fill, fee_note, commission = self._with_real_commission(fill, before, cumulative, wait=just_executed)
        self.ctx.journal.record(fill, cumulative, commission)
        self.ctx.ledger.record_bot_fill(fill, cumulative, commission)  # money; never stops trading
        self.cockpit.on_fill(fill, slot.strategy.state.positions[fill.side].entry_price)
        slot.strategy.apply_fill(fill)
        if just_executed:
            self.ctx.save_step(slot)  # saved with the bar's outcome in a replay
        else:
            self.ctx.save(slot)
        self.ctx.emit(FillEvent(fill))
        self.ctx.log("INFO", fill.symbol, f"[O3] {fill.symbol} filled {fill.action.value} {fill.side.value} "
                  f"{fill.qty:g} @ {fill.price:g} fee {fee_note} ({fill.reason}, order {fill.journal_key})",
                  rule=fill.reason, at=fill.time)

    def _with_real_commission(self, fill: Fill, before: float, cumulative: float,
                              wait: bool = True) -> tuple[Fill, str, tuple | None]:
        """[O3] The fill with Binance's commission from the user-data stream: the executions of its
        exchange order whose cumulative quantity lies in (before, cumulative]. Waits a moment for
        them while the stream is up (``wait``: the order executed just now); otherwise the REST
        answer's taker-rate estimate stays."""
        if self.ctx.user_stream is None:
            return fill, f"{fill.fee:.4f} (estimate)", None
        low, high = Decimal(repr(before)), Decimal(repr(cumulative))
        deadline = time.monotonic() + (self.ctx.options.commission_wait_s if wait else 0.0)
        while True:
            self.reconciler.pull_user_stream()
            trades = [t for t in self.reconciler.trades.get(fill.journal_key, []) if low < t.cumulative_qty <= high]
            if sum((t.last_qty for t in trades), Decimal(0)) >= high - low:
                break
            if not self.ctx.user_stream.connected.is_set() or time.monotonic() >= deadline:
                if wait and self.ctx.user_stream.connected.is_set():  # a silent dead listenKey? [O3]
                    getattr(self.ctx.user_stream, "suspect", lambda: False)()
                return fill, f"{fill.fee:.4f} (estimate)", None
            self.reconciler.pull_user_stream(timeout=0.1)
        assets = {t.commission_asset for t in trades}
        commission = sum((t.commission for t in trades), Decimal(0))
        asset = assets.pop() if len(assets) == 1 else "mixed"
        if asset == "USDT":
            return replace(fill, fee=float(commission)), f"{commission.normalize():f} USDT", (float(commission), asset)
        return fill, f"{commission.normalize():f} {asset} (estimate {fill.fee:.4f} USDT)", (float(commission), asset)

    def start_pending(self, slot: SymbolSlot) -> None:
        """Start-up: resolve what the state left pending, then reconcile [O7]. An order that may
        still execute is waited for (its window is short), so the symbol starts resolved."""
        resolved = self._resolve_pending(slot, starting=True)
        wait_s = self._longest_window_s(slot)
        if not resolved and 0 < wait_s <= self.ctx.options.max_startup_wait_s:
            self.ctx.log("INFO", slot.symbol, f"[O4] {slot.symbol}: an order sent just before the stop may still "
                      f"execute; waiting {wait_s:.1f}s until the exchange can no longer accept it")
            self.ctx.wait(wait_s)
            resolved = self._resolve_pending(slot, starting=True)
        if self.ctx.options.reconcile and slot.positions_checked_bar < 0:
            try:
                self.reconciler.check_positions(slot)
            except BrokerError as exc:  # a failed read for this symbol only: read before its first decision
                self.ctx.log("WARNING", slot.symbol, f"[O7] {slot.symbol}: the exchange's positions could not be "
                             f"read at start-up ({exc.message}); they are read before the first decision")
        if not resolved:
            self.ctx.log("WARNING", slot.symbol, f"{slot.symbol}: an order's outcome is still unknown; no decision is "
                      "made until it is resolved by its client id (looked up on every close)")

    def try_resolve(self, slot: SymbolSlot) -> bool:
        """Resolve orders left pending by an unknown outcome. False while the exchange cannot tell."""
        try:
            return self._resolve_pending(slot, starting=False)
        except BrokerError as exc:
            slot.detail = f"order outcome unknown, exchange not answering: {exc.message}"
            return False

    def _resolve_pending(self, slot: SymbolSlot, starting: bool) -> bool:
        """Look every pending order up by its exchange ids (nothing is sent), apply what executed
        and was not applied yet, and when none may execute any more: reconcile the positions,
        then settle each order's remainder [O5]. True when nothing is left pending."""
        strategy = slot.strategy
        orders = list(strategy.state.pending.values())
        if not orders:
            return True
        unresolved = [order for order in orders if not self._look_up(slot, order)]
        self.ctx.save(slot)
        if unresolved:
            if self.ctx.options.reconcile:  # the other sides can be checked; these wait for their order
                self.reconciler.check_positions(slot, skip={order.side for order in unresolved})
            return False
        changed = self.reconciler.check_positions(slot) if self.ctx.options.reconcile else set()
        for order in orders:
            self._settle(slot, order, changed, starting)
        self.ctx.save(slot)
        return not strategy.state.pending

    def _look_up(self, slot: SymbolSlot, order: PendingOrder) -> bool:
        """[O7] Apply what the exchange executed for ``order``. True when none of its exchange
        orders can execute any more (each is final, or missing past its window)."""
        result = self.ctx.executor.resolve_in_flight(order, symbol=slot.symbol, ids=list(order.sends) or None)
        if any(report is not None and report.has_unpriced_fill for report in result.reports.values()):
            self.reconciler.pull_user_stream()  # [O3] the third source of a price: the stream's executions
            result.reports = {order_id: priced_from_stream(report, self.reconciler.trades.get(order_id, []))
                              for order_id, report in result.reports.items()}
            result.still_open = any(report is not None and (not report.status.is_final or report.has_unpriced_fill)
                                    for report in result.reports.values())
        self._apply_reports(slot, order, result.reports)
        if result.still_open:
            return False
        now = self.ctx.clock()
        for order_id, report in result.reports.items():
            if report is None and order_id in order.sends and now <= self._window_end(order, order_id):
                return False  # not visible yet, and it may still be accepted: wait
        return True

    def _window_end(self, order: PendingOrder, order_id: str) -> int:
        """Exchange time after which the request of ``order_id`` can no longer be accepted."""
        recv_window = int(getattr(self.ctx.broker, "recv_window_ms", 0) or 0)
        margin = self.ctx.options.clock_margin_ms if recv_window else 0
        return order.sends[order_id] + recv_window + margin

    def _longest_window_s(self, slot: SymbolSlot) -> float:
        now = self.ctx.clock()
        ends = [self._window_end(order, order_id) for order in slot.strategy.state.pending.values()
                for order_id in order.sends]
        return max([(end - now) / 1000 + 0.05 for end in ends if end >= now], default=0.0)

    def _apply_reports(self, slot: SymbolSlot, order: PendingOrder, reports: dict[str, OrderReport | None]) -> None:
        """[O3, O5] Apply only the increase of each exchange order's cumulative executed quantity."""
        found = [(order_id, report) for order_id, report in reports.items()  # never a fill at price 0 [O3]
                 if report is not None and report.executed_qty > 0 and not report.has_unpriced_fill]
        if not order.applied and order.filled_qty > 0:
            # A state saved before per-order tracking: what was applied came in send order.
            left = to_decimal(order.filled_qty)
            for order_id, report in found:
                take = min(left, report.executed_qty)
                if take > 0:
                    order.applied[order_id] = (float(take), float(take * report.avg_price))
                left -= take
        for order_id, report in found:
            fill = unrecorded_fill(slot.symbol, order, order_id, report)
            if fill is None:
                continue
            increase = to_decimal(fill.qty)
            self.ctx.log("INFO", slot.symbol, f"[O7] {slot.symbol}: order {order_id} ({order.action.value} "
                      f"{order.side.value}) executed {report.executed_qty} on the exchange, {increase} of it not "
                      f"recorded yet; recorded now (status {report.status.value})")
            self.record_fill(slot, fill, just_executed=False)

    def _settle(self, slot: SymbolSlot, order: PendingOrder, changed: set[Side], starting: bool) -> None:
        """[O5] An order that can no longer execute: finish it, re-sending its remainder when that
        still makes sense against the reconciled position, or saying in one line why not."""
        strategy = slot.strategy
        symbol = slot.symbol
        remainder = float(to_decimal(order.qty) - to_decimal(order.filled_qty))
        what = f"{symbol} {order.action.value} {order.side.value} {order.qty:g} ({order.reason}, {order.client_id})"
        if remainder <= QTY_EPSILON:
            strategy.finish_order(order.client_id)
            return
        done = f"{order.filled_qty:g} of {order.qty:g} executed"
        if order.side in changed:
            strategy.finish_order(order.client_id)
            self.on_given_up(slot, order)
            self.ctx.log("WARNING", symbol, f"[O5] {what}: {done}; the exchange's {order.side.value} position differed "
                      f"from the state and was taken, so the remainder {remainder:g} is not re-sent")
            return
        if order.action is Action.CLOSE:
            qty = min(remainder, strategy.state.positions[order.side].qty)
            if qty <= QTY_EPSILON:
                strategy.finish_order(order.client_id)
                self.ctx.log("INFO", symbol, f"[O5] {what}: {done}; nothing is left to close")
                return
        else:
            age = (slot.last_time or self.ctx.clock()) - order.decision_time
            if not starting or age > self.ctx.options.stale_intent_ms:
                strategy.finish_order(order.client_id)
                self.on_given_up(slot, order)
                why = ("decided on a close too long ago" if starting else
                       "its outcome was unknown until now; the strategy decides again on this close")
                self.ctx.log("WARNING", symbol, f"[O5] {what}: {done}; the remainder {remainder:g} is given up: {why}")
                return
            qty = remainder
            if not self._within_call_size(slot, OrderIntent(symbol, order.side, order.action, qty, order.reason,
                                                            order.decision_time, order.client_id)):
                return
        index = 1
        while resend_id(order.client_id, index) in order.sends:
            index += 1
        first = 0 if not order.sends else index
        self.ctx.log("INFO", symbol, f"[O5] {what}: {done}; the remainder {qty:g} is sent now as "
                  f"{resend_id(order.client_id, first) if first else order.client_id}")
        intent = OrderIntent(symbol, order.side, order.action, qty, order.reason, order.decision_time,
                             order.client_id)
        set_price = getattr(self.ctx.broker, "set_price", None)
        if set_price is not None and slot.last_price is not None:
            set_price(symbol, slot.last_price, slot.last_time)
        result = self._send(slot, intent, slot.last_price or 0.0, resend_index=first)
        self._after_send(slot, intent, result, [])

