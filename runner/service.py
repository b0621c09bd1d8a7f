"""The trading service: closed candles in, confirmed orders out, state on disk.

One service runs every configured symbol. Per closed 5m candle and symbol:

1. the driver extends the candle buffers and asks the strategy (daily close
   first [G4]); the strategy records its intents as pending in its state;
2. the state is saved *before* any order is sent [O2];
3. each intent goes through the order executor; every confirmed fill is
   journaled, applied to the strategy and saved at once [O3];
4. events (log lines, fills, status rows) go to the listener.

At start-up each symbol loads its state, resolves orders left in flight by
client id, reconciles with the exchange's positions (the exchange wins) [O7],
warms its indicators up, and sets or catches up its regime [G2, G1].

A symbol whose state file is unreadable, or whose orders the exchange
rejects, is put in the ERROR state alone: the other symbols keep trading.
The service has no Qt and no clock of its own: both are injected.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable

from core.executor import ExecutionStatus, OrderExecutor
from core.model import FIVE_MINUTES_MS, Action, Candle, Fill, OrderIntent, Side
from core.ports import Broker, BrokerError
from core.rules import pnl, pnl_pct
from core.state import PositionState, StateFileError, StateStore
from core.strategy import HedgeStrategy
from core.trades import iso_utc
from runner.events import (
    Event,
    EventListener,
    FillEvent,
    LogEvent,
    ProgressEvent,
    ServiceStateEvent,
    StatusRow,
    SymbolRunState,
)
from runner.cockpit import CockpitReporter
from runner.feeds import CandleFeed, FeedFinished
from runner.journal import FillJournal
from runner.reasons import describe
from runner.symbol_driver import SymbolDriver, buffer_length

log = logging.getLogger("autohedge")


@dataclass
class SymbolSlot:
    """Everything the service keeps for one symbol."""

    symbol: str
    driver: SymbolDriver | None
    run_state: SymbolRunState = SymbolRunState.STARTING
    detail: str = ""
    last_price: float | None = None
    last_time: int = 0

    @property
    def strategy(self) -> HedgeStrategy:
        assert self.driver is not None
        return self.driver.strategy

    @property
    def tradable(self) -> bool:
        """Started (state loaded). A symbol paused by a rejected order still manages its
        positions (exits, G3); only opens are blocked until the user resumes it."""
        return self.driver is not None


@dataclass
class ServiceOptions:
    state_dir: Path
    journal_path: Path | None = None  # default: <state_dir>/fills.jsonl
    max_catch_up_bars: int = 3  # missed 5m closes processed after a restart; beyond this, skipped
    stale_intent_ms: int = 2 * FIVE_MINUTES_MS  # an unsent intent older than this is dropped at start-up
    poll_seconds: float = 0.25
    reconcile: bool = True  # False for paper/replay: the simulated exchange forgets on restart
    durable: bool = True  # fsync state and journal; False only for replays of simulated trading


class TradingService:
    def __init__(
        self,
        symbols: dict[str, float],
        params,
        feed: CandleFeed,
        broker: Broker,
        listener: EventListener,
        options: ServiceOptions,
        clock: Callable[[], int] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.params = params
        self.call_sizes = dict(symbols)
        self.feed = feed
        self.broker = broker
        self.listener = listener
        self.options = options
        self.clock = clock or (lambda: int(time.time() * 1000))
        self.store = StateStore(options.state_dir, durable=options.durable)
        self.journal = FillJournal(options.journal_path or Path(options.state_dir) / "fills.jsonl",
                                   durable=options.durable)
        self._stop = threading.Event()
        # Back-off waits end early on stop(), so Stop never hangs behind a retry.
        wait = self._stop.wait if sleep is time.sleep else sleep
        self.executor = OrderExecutor(broker, sleep=wait, log=self._executor_log)
        self.slots: dict[str, SymbolSlot] = {}
        self._commands: queue.Queue[Callable[[], None]] = queue.Queue()
        self._current_symbol: str | None = None
        self.cockpit = CockpitReporter(self, self._emit)  # account, heartbeat, live candles for the window

    # ----- control (thread-safe) ----------------------------------------------------------

    def stop(self) -> None:
        """Stop after the current step; state is saved."""
        self._stop.set()

    def pause(self, symbol: str | None = None) -> None:
        self._commands.put(lambda: self._set_paused(symbol, True))

    def resume(self, symbol: str | None = None) -> None:
        self._commands.put(lambda: self._set_paused(symbol, False))

    def flatten(self, symbol: str | None = None) -> None:
        """Close every position of ``symbol`` (or of all symbols), reason 'manual'."""
        self._commands.put(lambda: self._flatten(symbol))

    def set_call_size(self, symbol: str, qty: float) -> None:
        """Applies to the next order of ``symbol``."""
        if qty <= 0:
            raise ValueError(f"{symbol}: CALL_SIZE must be > 0, got {qty}")
        self._commands.put(lambda: self._set_call_size(symbol, qty))

    # ----- main loop ------------------------------------------------------------------------

    def run(self) -> None:
        """Start every symbol, then process closed candles until stop() or the replay ends."""
        self._emit(ServiceStateEvent(True, "starting"))
        self.feed.start()  # connect while the symbols warm up, so no close falls between the two
        try:
            for symbol in self.call_sizes:
                self._guard(symbol, lambda s=symbol: self._start_symbol(s))
            self._emit(ServiceStateEvent(True, ""))  # started: every symbol is trading or says why not
            self._drain_commands()
            total = getattr(self.feed, "total", 0)
            while not self._stop.is_set():
                self._drain_commands()
                self.cockpit.tick()
                try:
                    closed = self.feed.next_candle(self.options.poll_seconds)
                except FeedFinished:
                    self._log("INFO", None, "replay finished: no more candles")
                    break
                if closed is None:
                    continue
                slot = self.slots.get(closed.symbol)
                if slot is None or not slot.tradable:
                    continue
                self._guard(closed.symbol, lambda: self._on_bar(slot, closed.candle))
                if total:
                    self._emit(ProgressEvent(getattr(self.feed, "emitted", 0), total))
            self._drain_commands()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        for slot in self.slots.values():
            if slot.driver is not None:
                self._save(slot)
                if slot.run_state is not SymbolRunState.ERROR:
                    slot.run_state = SymbolRunState.STOPPED
                self._emit_status(slot)
        self.feed.close()
        self.cockpit.flush()  # the account as the bot leaves it
        self._emit(ServiceStateEvent(False, "stopped; state saved"))

    def _guard(self, symbol: str, action: Callable[[], None]) -> None:
        """One symbol's failure never stops the others."""
        self._current_symbol = symbol
        try:
            action()
        except StateFileError as exc:
            self._fail(symbol, str(exc))
        except BrokerError as exc:
            self._fail(symbol, f"exchange error{f' {exc.code}' if exc.code is not None else ''}: {exc.message}")
        except Exception as exc:  # noqa: BLE001 - isolate the symbol, keep the traceback in the file log
            log.exception("unexpected error on %s", symbol)
            self._fail(symbol, f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self._current_symbol = None

    def _fail(self, symbol: str, why: str) -> None:
        slot = self.slots.setdefault(symbol, SymbolSlot(symbol, None))
        slot.run_state = SymbolRunState.ERROR
        slot.detail = why
        self._log("ERROR", symbol, f"{symbol} stopped trading: {why}")
        self._emit_status(slot)

    # ----- start-up [G2, O7] ---------------------------------------------------------------

    def _start_symbol(self, symbol: str) -> None:
        self.slots[symbol] = SymbolSlot(symbol, None)
        state = self.store.load(symbol)  # StateFileError -> ERROR for this symbol only
        fresh = state is None
        strategy = HedgeStrategy(symbol, self.params, self.call_sizes[symbol], state)
        driver = SymbolDriver(strategy, self.params.signal)
        slot = SymbolSlot(symbol, driver)
        self.slots[symbol] = slot
        for warning in self.params.signal.warnings():
            self._log("WARNING", symbol, warning, rule="S3")

        if not fresh:
            self.feed.resume_after(symbol, strategy.state.last_bar_close)  # a replay's history ends where we stopped
        limit = buffer_length(self.params.signal)
        daily = self.feed.history(symbol, "1d", limit)
        bars = self.feed.history(symbol, "5m", limit)
        if fresh:  # everything is warm-up history; nothing was missed
            known, missed, days_known, days_missed = bars, [], daily, []
        else:  # split at what the saved state had processed
            last_bar, last_day = strategy.state.last_bar_close, strategy.state.last_daily_close
            known = [bar for bar in bars if bar.close_time <= last_bar]
            missed = [bar for bar in bars if bar.close_time > last_bar]
            days_known = [day for day in daily if day.close_time <= last_day]
            days_missed = [day for day in daily if day.close_time > last_day]
        driver.load_history(days_known, known)
        self.cockpit.on_history(symbol, known, strategy.state.regime.value if strategy.state.regime else "")
        if bars:  # the market's latest close: reference price and "now" for stale orders
            slot.last_price = bars[-1].close
            slot.last_time = bars[-1].close_time
        self._resolve_in_flight(slot)
        if self.options.reconcile:
            self._reconcile_positions(slot)

        if fresh or strategy.state.regime is None:
            regime = driver.initial_regime() if daily else None
            if regime is not None:
                strategy.state.regime = regime
                self._log("INFO", symbol, f"[G2] {symbol} regime at start-up: {regime.value} (last daily signal)", rule="G2")
            if daily:
                strategy.state.last_daily_close = max(strategy.state.last_daily_close, daily[-1].close_time)
            if bars:
                strategy.state.last_bar_close = max(strategy.state.last_bar_close, bars[-1].close_time)
            if bars:
                self.feed.resume_after(symbol, bars[-1].close_time)
        else:
            self._catch_up(slot, days_missed, missed)
        self._save(slot)
        slot.run_state = SymbolRunState.RUNNING
        if strategy.state.pause_reason:
            strategy.opens_allowed = False
            slot.run_state = SymbolRunState.ERROR
            slot.detail = strategy.state.pause_reason
            self._log("WARNING", symbol, f"{symbol} is still paused from before the restart: "
                      f"{strategy.state.pause_reason} (Resume to trade it again)")
        self._log("INFO", symbol, self._position_summary(slot))
        self._emit_status(slot)

    def _catch_up(self, slot: SymbolSlot, days_missed: list[Candle], missed: list[Candle]) -> None:
        """After a restart: closes that happened while the bot was down."""
        symbol = slot.symbol
        driver = slot.driver
        assert driver is not None
        if len(missed) > self.options.max_catch_up_bars:
            # Too old to act on: take the regime from the missed days, skip the bars.
            for day in days_missed:
                self._execute(slot, driver.on_daily_close(day.close_time, day.close), day.close, day.close_time)
            driver.load_history([], missed)
            slot.strategy.state.last_bar_close = missed[-1].close_time
            self.feed.resume_after(symbol, missed[-1].close_time)
            self._log("WARNING", symbol, f"{symbol}: {len(missed)} 5m closes passed while the bot was stopped; "
                      f"acting from the latest close on (more than {self.options.max_catch_up_bars} are not replayed)")
            return
        # Days that closed before the first missed bar (a bar crossing a day is handled by the driver).
        first_bar = missed[0].close_time if missed else None
        for day in days_missed:
            if first_bar is None or day.close_time < first_bar:
                self._execute(slot, driver.on_daily_close(day.close_time, day.close), day.close, day.close_time)
        for bar in missed:
            self._log("INFO", symbol, f"{symbol}: catching up the close of {iso_utc(bar.close_time)} missed while stopped")
            self._on_bar(slot, bar)

    def _resolve_in_flight(self, slot: SymbolSlot) -> None:
        """[O7] Orders the state says were in flight: find out what happened to each.

        Fills already applied before a crash (``filled_qty``) are not applied again;
        fills the journal already holds are not journaled again.
        """
        strategy = slot.strategy
        for order in list(strategy.state.pending.values()):
            intent = OrderIntent(strategy.symbol, order.side, order.action, order.qty, order.reason,
                                 order.decision_time, order.client_id)
            fills = self._look_up_fills(intent)
            if fills:
                already_applied = order.filled_qty
                for fill in fills:
                    if already_applied >= fill.qty * (1 - 1e-9):
                        already_applied -= fill.qty
                        self.journal.record(fill)
                        continue
                    self._record_fill(slot, fill)
                self._log("INFO", strategy.symbol, f"[O7] {strategy.symbol}: order {order.client_id} left in flight "
                          f"was filled on the exchange ({sum(f.qty for f in fills):g}); recorded")
                strategy.finish_order(order.client_id)
                continue
            age = (slot.last_time or self.clock()) - order.decision_time
            if order.filled_qty == 0 and age <= self.options.stale_intent_ms:
                self._log("INFO", strategy.symbol, f"[O7] {strategy.symbol}: order {order.client_id} was decided but "
                          "never reached the exchange; sending it now")
                self._execute(slot, [intent], slot.last_price or 0.0, order.decision_time)
            else:
                strategy.finish_order(order.client_id)
                self._log("WARNING", strategy.symbol, f"[O7] {strategy.symbol}: order {order.client_id} "
                          f"({order.action.value} {order.side.value} {order.qty:g}, {order.reason}) never reached "
                          "the exchange and is too old to send now; dropped")
        self._save(slot)

    def _try_resolve(self, slot: SymbolSlot) -> bool:
        """Resolve orders left pending by an unknown outcome. False while the exchange cannot tell."""
        try:
            self._resolve_in_flight(slot)
        except BrokerError as exc:
            slot.detail = f"order outcome unknown, exchange not answering: {exc.message}"
            return False
        return not slot.strategy.state.pending

    def _look_up_fills(self, intent: OrderIntent) -> list[Fill]:
        """Fills the exchange has for ``intent`` (its client id and its -r<n> resends).

        Raises BrokerError when an order is still open on the exchange: neither
        finished nor re-sent, the symbol stops until the user looks at it.
        """
        found: list[Fill] = []
        result = self.executor.resolve_in_flight(intent, found.append)
        if result.still_open:
            raise BrokerError(f"order {intent.client_id} is still open on the exchange ({result.message}); "
                              "cancel it on Binance, then restart")
        return found

    def _reconcile_positions(self, slot: SymbolSlot) -> None:
        """[O7] The exchange's LONG and SHORT positions win over the state's."""
        strategy = slot.strategy
        exchange = self.broker.positions(strategy.symbol)
        for side in Side:
            mine = strategy.state.positions[side]
            theirs = exchange[side]
            their_qty = float(theirs.qty)
            if Decimal(repr(mine.qty)) == theirs.qty:
                if their_qty > 0 and theirs.entry_price > 0 and abs(mine.entry_price - float(theirs.entry_price)) > 1e-9 * max(1.0, mine.entry_price):
                    self._log("INFO", strategy.symbol, f"[O7] {strategy.symbol} {side.value}: entry price "
                              f"{mine.entry_price:g} in state, {theirs.entry_price} on the exchange; using the exchange's")
                    mine.entry_price = float(theirs.entry_price)
                continue
            self._log("WARNING", strategy.symbol, f"[O7] {strategy.symbol} {side.value}: state holds {mine.qty:g}, "
                      f"the exchange {their_qty:g}; the exchange's position is taken")
            if their_qty <= 0:
                strategy.state.positions[side] = PositionState()
            elif mine.qty <= 0:
                strategy.state.positions[side] = PositionState(
                    qty=their_qty, entry_price=float(theirs.entry_price),
                    entry_time=strategy.state.last_bar_close, best_price=float(theirs.entry_price))
            else:
                mine.qty = their_qty
                mine.entry_price = float(theirs.entry_price)

    # ----- per bar --------------------------------------------------------------------------

    def _on_bar(self, slot: SymbolSlot, candle: Candle) -> None:
        driver = slot.driver
        assert driver is not None
        slot.last_price = candle.close
        slot.last_time = candle.close_time
        if slot.strategy.state.pending and not self._try_resolve(slot):
            driver.skip_bar(candle)  # the indicators still see the close [I3]; nothing is decided
            self._save(slot)
            self._log("WARNING", slot.symbol, f"{slot.symbol}: no decision on the {iso_utc(candle.close_time)} close: "
                      "an order's outcome is still unknown; it is looked up again on the next close")
            self._emit_status(slot)
            return
        intents = driver.on_bar(candle)
        self._execute(slot, intents, candle.close, candle.close_time)
        self.cockpit.on_bar(slot.symbol, candle, slot.strategy.state.regime.value if slot.strategy.state.regime else "")
        self._emit_status(slot)

    def _execute(self, slot: SymbolSlot, intents: list[OrderIntent], price: float, at: int) -> None:
        """Send ``intents`` in order. After a rejection that pauses the symbol the rest are
        dropped; an open on a side whose close did not fully fill is dropped too, so two
        positions never merge on one side."""
        strategy = slot.strategy
        self._save(slot)  # [O2] intents are in state before anything is sent
        unfinished_close_sides: set[Side] = set()
        for index, intent in enumerate(intents):
            if intent.action is Action.OPEN and intent.side in unfinished_close_sides:
                strategy.finish_order(intent.client_id)
                self._log("WARNING", intent.symbol, f"{intent.symbol} {intent.side.value}: the close before it did "
                          f"not fill completely, so the {intent.reason} open of {intent.qty:g} is not sent")
                continue
            self._log_decision(slot, intent, price)
            set_price = getattr(self.broker, "set_price", None)
            if set_price is not None:
                set_price(intent.symbol, price, at)
            result = self.executor.execute(intent, price, on_fill=lambda fill: self._record_fill(slot, fill))
            if result.outcome_unknown:
                # The exchange may hold this order: keep it pending [O2] and look it up by client id
                # before any further decision on this symbol [O4, O7]. Later intents are dropped.
                for dropped in intents[index + 1:]:
                    strategy.finish_order(dropped.client_id)
                self._enter_error(slot, result.message)
                return
            strategy.finish_order(intent.client_id)
            self._save(slot)
            if result.status is ExecutionStatus.FILLED:
                continue
            if intent.action is Action.CLOSE:
                unfinished_close_sides.add(intent.side)
            level = "ERROR" if result.pauses_symbol else "WARNING"
            self._log(level, intent.symbol, f"{intent.symbol} {intent.action.value} {intent.side.value} "
                      f"{intent.qty:g} ({intent.reason}): {result.message}")
            if result.pauses_symbol:
                for dropped in intents[index + 1:]:
                    strategy.finish_order(dropped.client_id)
                self._enter_error(slot, result.message)
                return

    def _enter_error(self, slot: SymbolSlot, why: str) -> None:
        """No new entries or hedges until the user resumes; exits keep running. Saved, so a
        restart does not quietly resume opening."""
        strategy = slot.strategy
        strategy.opens_allowed = False
        strategy.state.pause_reason = why
        slot.run_state = SymbolRunState.ERROR
        slot.detail = why
        self._save(slot)
        self._emit_status(slot)

    def _record_fill(self, slot: SymbolSlot, fill: Fill) -> None:
        """Journal first, then state: a crash in between is repaired at start-up, because
        journaling is idempotent per exchange order and the state knows what it applied."""
        self.journal.record(fill)
        self.cockpit.on_fill(fill, slot.strategy.state.positions[fill.side].entry_price)
        slot.strategy.apply_fill(fill)
        self._save(slot)
        self._emit(FillEvent(fill))
        self._log("INFO", fill.symbol, f"[O3] {fill.symbol} filled {fill.action.value} {fill.side.value} "
                  f"{fill.qty:g} @ {fill.price:g} fee {fill.fee:.4f} ({fill.reason}, order {fill.journal_key})",
                  rule=fill.reason, at=fill.time)

    # ----- commands ---------------------------------------------------------------------------

    def _drain_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            command()

    def _targets(self, symbol: str | None) -> list[SymbolSlot]:
        return [slot for name, slot in self.slots.items() if slot.driver is not None and symbol in (None, name)]

    def _set_paused(self, symbol: str | None, paused: bool) -> None:
        for slot in self._targets(symbol):
            if slot.run_state is SymbolRunState.ERROR and not paused:
                slot.detail = ""
            slot.strategy.opens_allowed = not paused
            slot.run_state = SymbolRunState.PAUSED if paused else SymbolRunState.RUNNING
            slot.detail = "paused by the user: no new entries or hedges" if paused else ""
            slot.strategy.state.pause_reason = slot.detail
            self._save(slot)
            self._log("INFO", slot.symbol, f"{slot.symbol} {'paused' if paused else 'resumed'} by the user")
            self._emit_status(slot)

    def _flatten(self, symbol: str | None) -> None:
        for slot in self._targets(symbol):
            at = max(slot.last_time, slot.strategy.state.last_bar_close)
            intents = slot.strategy.close_all("manual", at)
            if not intents:
                self._log("INFO", slot.symbol, f"{slot.symbol}: flatten requested, no open position")
            self._guard(slot.symbol, lambda s=slot, i=intents: self._execute(s, i, s.last_price or 0.0, at))
            self._emit_status(slot)

    def _set_call_size(self, symbol: str, qty: float) -> None:
        self.call_sizes[symbol] = qty
        slot = self.slots.get(symbol)
        if slot is not None and slot.driver is not None:
            slot.strategy.call_size = qty
            self._emit_status(slot)
        self._log("INFO", symbol, f"{symbol}: CALL_SIZE set to {qty:g} (applies to the next order)")

    # ----- events -----------------------------------------------------------------------------

    def _save(self, slot: SymbolSlot) -> None:
        if slot.driver is not None:
            self.store.save(slot.strategy.state)

    def _executor_log(self, message: str) -> None:
        if message.startswith("[O3]"):
            log.debug(message)  # the service logs each fill itself, with its fee, once applied
            return
        self._log("WARNING", self._current_symbol, message)

    def _log(self, level: str, symbol: str | None, message: str, rule: str | None = None, at: int | None = None) -> None:
        log.log(getattr(logging, level), message)
        self._emit(LogEvent(at if at is not None else self.clock(), level, message, symbol, rule))

    def _emit(self, event: Event) -> None:
        try:
            self.listener(event)
        except Exception:  # noqa: BLE001 - a broken listener must not stop trading
            log.exception("event listener failed")

    def _log_decision(self, slot: SymbolSlot, intent: OrderIntent, price: float) -> None:
        self._log("INFO", intent.symbol,
                  f"[{intent.reason}] {intent.symbol} {intent.action.value} {intent.side.value} {intent.qty:g} "
                  f"@ {price:g}: {describe(intent.reason, intent.action)}", rule=intent.reason, at=intent.decision_time)

    def _position_summary(self, slot: SymbolSlot) -> str:
        state = slot.strategy.state
        parts = [f"{slot.symbol} ready: regime {state.regime.value if state.regime else 'unknown (warming up)'}"]
        for side in Side:
            position = state.positions[side]
            if position.is_open:
                parts.append(f"{side.value} {position.qty:g} @ {position.entry_price:g}")
        return ", ".join(parts)

    def status_row(self, slot: SymbolSlot) -> StatusRow:
        state = slot.strategy.state if slot.driver is not None else None
        price = slot.last_price
        regime = state.regime if state is not None else None
        main_side = regime.main_side if regime is not None else None

        def describe_side(side: Side | None):
            if side is None or state is None or not state.positions[side].is_open:
                return None, 0.0, None, None, None
            position = state.positions[side]
            value = pnl(side, position.entry_price, price, position.qty) if price is not None else None
            percent = pnl_pct(side, position.entry_price, price) if price is not None else None
            return side.value, position.qty, position.entry_price, value, percent

        m_side, m_qty, m_entry, m_pnl, m_pct = describe_side(main_side)
        h_side, h_qty, h_entry, h_pnl, _ = describe_side(main_side.opposite if main_side else None)
        return StatusRow(
            symbol=slot.symbol, regime=regime.value if regime else "", state=slot.run_state, detail=slot.detail,
            price=price, main_side=m_side, main_qty=m_qty, main_entry=m_entry, main_pnl=m_pnl, main_pnl_pct=m_pct,
            hedge_side=h_side, hedge_qty=h_qty, hedge_entry=h_entry, hedge_pnl=h_pnl,
            call_size=self.call_sizes.get(slot.symbol, 0.0),
        )

    def _emit_status(self, slot: SymbolSlot) -> None:
        self._emit(self.status_row(slot))



def build_service(settings, listener: EventListener, **kwargs) -> TradingService:
    """See :func:`runner.factory.build_service` (kept here as the GUI's entry point)."""
    from runner.factory import build_service as build

    return build(settings, listener, **kwargs)
