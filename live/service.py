"""The trading service: closed candles in, confirmed orders out, state on disk.

One service runs every configured symbol. Per closed 5m candle and symbol:

1. the driver extends the candle buffers and asks the strategy (daily close
   first [G4]); the strategy records its intents as pending in its state;
2. the state is saved *before* any order is sent [O2];
3. each intent goes through the order executor; every confirmed fill is
   journaled, applied to the strategy and saved at once [O3];
4. events (log lines, fills, status rows) go to the listener.

A close that decided nothing is saved in live and paper trading only. A replay of
simulated trading saves a bar with decisions once, before its first order, a quiet
bar not at all, and everything at shutdown: see :meth:`TradingService._save_step`.

At start-up each symbol loads its state, looks up the orders left pending by
client id (nothing is sent), reconciles with the exchange's positions (the
exchange wins) [O7], and only then decides what to do with the remainder of a
pending order [O5]; it warms its indicators up and sets or catches up its regime
[G2, G1]. While running, the positions are re-read before every decision whose
last exchange check is older than the bar [O7].

The unknown-outcome rule [O4]: an order whose outcome is unknown (timeout, 5xx,
-1006, -1007, or still open after polling) is never re-sent. It stays pending and
the symbol decides nothing until it is resolved by client id: found -> its
executed quantity is applied (only the part not applied yet); not found -> it
counts as never executed only once its request can no longer be accepted (the
saved send time + the broker's ``recv_window_ms`` + a clock margin has passed on the
exchange's clock) *and* the exchange's positions agree with the state. Only then may
the strategy decide again, and every new order has a new client id.

A symbol whose state file is unreadable, or whose orders the exchange
rejects, is put in the ERROR state alone: the other symbols keep trading.
The service has no Qt and no clock of its own: both are injected.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Callable

from config.paths import FolderError, ensure_writable, why_not_writable
from core.executor import ExecutionResult, ExecutionStatus, OrderExecutor, resend_id, to_decimal
from core.model import FIVE_MINUTES_MS, Action, Candle, Fill, OrderIntent, Side
from core.ports import (
    PASSING_REFUSAL_CODES, Broker, BrokerError, ForcedClose, OrderReport, TradeUpdate, UserStream,
)
from core.rules import pnl, pnl_pct
from core.state import QTY_EPSILON, PendingOrder, PositionState, StateFileError, StateStore, SymbolState
from core.strategy import HedgeStrategy, exact_sum
from core.trades import iso_utc
from live.events import (
    Event,
    EventListener,
    FillEvent,
    ForcedCloseEvent,
    LogEvent,
    PositionDifference,
    ProgressEvent,
    ServiceStateEvent,
    StatusRow,
    SymbolRunState,
)
from live.cockpit import CockpitReporter
from live.feeds import CandleFeed, FeedFinished
from live.journal import FillJournal
from live.reasons import describe
from live.symbol_driver import SymbolDriver, buffer_length

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
    # Close time of the latest bar the exchange's positions were read for [O7]; -1: never.
    positions_checked_bar: int = -1

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
    # Added to the broker's recv_window_ms before a missing order counts as never executed:
    # the error of the clock offset estimate, and the gap between saving the send time and the
    # request's timestamp.
    clock_margin_ms: int = 1000
    max_startup_wait_s: float = 65.0  # the longest start-up wait for an order's window to pass
    # How long a fill waits for its execution on the user-data stream (real commission) before
    # the taker-rate estimate of the order's REST answer is kept.
    commission_wait_s: float = 2.0
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
        user_stream: UserStream | None = None,
    ):
        self.params = params
        # Optional user-data stream (adapters/binance_user_stream.py): real commissions, and
        # position changes seen as they happen. REST stays the authority [O7].
        self.user_stream = user_stream
        self._trades: dict[str, list] = {}  # exchange order id -> its executions from the stream
        self._position_updates: list = []
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
        self._wait = wait
        self.executor = OrderExecutor(broker, sleep=wait, log=self._executor_log, log_fills=False)
        budget = getattr(broker, "budget", None)
        if budget is not None:  # the shared request budget tells about an IP ban (HTTP 418)
            budget.on_ban.append(self._on_ban)
        self.slots: dict[str, SymbolSlot] = {}
        # Commands from other threads (the window's buttons). A deque's append and popleft are
        # atomic in CPython, and an empty one is seen without a lock on every loop turn.
        self._commands: deque[Callable[[], None]] = deque()
        self._current_symbol: str | None = None
        self._write_problem: str | None = None  # set while the state folder cannot be written
        self.cockpit = CockpitReporter(self, self._emit)  # account, heartbeat, live candles for the window

    # ----- control (thread-safe) ----------------------------------------------------------

    def stop(self) -> None:
        """Stop after the current step; state is saved."""
        self._stop.set()

    def pause(self, symbol: str | None = None) -> None:
        self._commands.append(lambda: self._set_paused(symbol, True))

    def resume(self, symbol: str | None = None) -> None:
        self._commands.append(lambda: self._set_paused(symbol, False))

    def flatten(self, symbol: str | None = None) -> None:
        """Close every position of ``symbol`` (or of all symbols), reason 'manual'."""
        self._commands.append(lambda: self._flatten(symbol))

    def set_call_size(self, symbol: str, qty: float) -> None:
        """Applies to the next order of ``symbol``."""
        if qty <= 0:
            raise ValueError(f"{symbol}: CALL_SIZE must be > 0, got {qty}")
        self._commands.append(lambda: self._set_call_size(symbol, qty))

    # ----- main loop ------------------------------------------------------------------------

    def run(self) -> None:
        """Start every symbol, then process closed candles until stop() or the replay ends."""
        self._emit(ServiceStateEvent(True, "starting"))
        if self.user_stream is not None:
            self.user_stream.start()
        self.feed.start()  # connect while the symbols warm up, so no close falls between the two
        try:
            for symbol in self.call_sizes:
                self._guard(symbol, lambda s=symbol: self._start_symbol(s))
            self._emit(ServiceStateEvent(True, ""))  # started: every symbol is trading or says why not
            self._drain_commands()
            total = getattr(self.feed, "total", 0)
            progress_step = max(1, -(-total // 1000))  # at most 1,000 progress events, not one per candle
            next_progress = 0
            while not self._stop.is_set():
                self._drain_commands()
                if self.user_stream is not None:
                    self._handle_user_stream()
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
                if self._write_problem is not None and not self._writable_again():
                    slot.driver.skip_bar(closed.candle)  # paused: indicators keep up, nothing is decided
                    continue
                self._guard(closed.symbol, lambda: self._on_bar(slot, closed.candle))
                if total:
                    done = getattr(self.feed, "emitted", 0)
                    if done >= next_progress or done >= total:
                        self._emit(ProgressEvent(done, total))
                        next_progress = done + progress_step
            self._drain_commands()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        for slot in self.slots.values():
            if slot.driver is not None:
                try:
                    self._save(slot)
                except OSError as exc:
                    self._pause_unwritable(exc)
                if slot.run_state is not SymbolRunState.ERROR:
                    slot.run_state = SymbolRunState.STOPPED
                self._emit_status(slot)
        self.feed.close()
        if self.user_stream is not None:
            self.user_stream.close()
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
        except OSError as exc:  # the state folder or the journal cannot be written
            slot = self.slots.get(symbol)
            if slot is None or slot.driver is None:
                self._fail(symbol, f"{exc.filename or self.options.state_dir} cannot be written ({why_not_writable(exc)})")
            else:
                self._pause_unwritable(exc)
        except Exception as exc:  # noqa: BLE001 - isolate the symbol, keep the traceback in the file log
            log.exception("unexpected error on %s", symbol)
            self._fail(symbol, f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self._current_symbol = None

    def _pause_unwritable(self, exc: OSError) -> None:
        """[P] No decision may be taken that cannot be saved first: every symbol pauses, said once.

        Each later close only feeds the indicators until the folder can be written again
        (:meth:`_writable_again`); orders decided but not saved are settled then, as after a restart.
        """
        if self._write_problem is not None:
            return
        self._write_problem = (f"trading paused: the state folder {self.options.state_dir} cannot be written "
                               f"({why_not_writable(exc)}); no decisions until it can, positions are kept")
        self._log("ERROR", None, self._write_problem)
        for slot in self.slots.values():
            if slot.driver is not None and slot.run_state is not SymbolRunState.ERROR:
                slot.run_state, slot.detail = SymbolRunState.PAUSED, self._write_problem
                self._emit_status(slot)

    def _writable_again(self) -> bool:
        """Probe the state and journal folders; on success resume the symbols the pause stopped."""
        try:
            ensure_writable(self.options.state_dir, "state")
            ensure_writable(self.journal.path.parent, "journal")
        except FolderError:
            return False
        self._write_problem = None
        self._log("INFO", None, f"{self.options.state_dir} can be written again: trading resumes")
        for slot in self.slots.values():
            if slot.driver is not None and slot.run_state is SymbolRunState.PAUSED and slot.detail.startswith("trading paused:"):
                slot.run_state = SymbolRunState.RUNNING if slot.strategy.opens_allowed else SymbolRunState.PAUSED
                slot.detail = "" if slot.strategy.opens_allowed else slot.strategy.state.pause_reason
                self._emit_status(slot)
        return True

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
        self._start_pending(slot)  # [O7] look up, reconcile, then re-send or give up remainders [O5]

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
        if any(f"(code {code}:" in strategy.state.pause_reason for code in PASSING_REFUSAL_CODES):
            # Saved by an earlier version for a refusal that passes by itself: not a user pause.
            self._log("INFO", symbol, f"{symbol}: the saved pause ({strategy.state.pause_reason}) was for a refusal "
                      "that passes by itself; it is lifted, the positions were just reconciled")
            strategy.state.pause_reason = ""
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

    # ----- orders left pending [O4, O5, O7] -------------------------------------------------

    def _start_pending(self, slot: SymbolSlot) -> None:
        """Start-up: resolve what the state left pending, then reconcile [O7]. An order that may
        still execute is waited for (its window is short), so the symbol starts resolved."""
        resolved = self._resolve_pending(slot, starting=True)
        wait_s = self._longest_window_s(slot)
        if not resolved and 0 < wait_s <= self.options.max_startup_wait_s:
            self._log("INFO", slot.symbol, f"[O4] {slot.symbol}: an order sent just before the stop may still "
                      f"execute; waiting {wait_s:.1f}s until the exchange can no longer accept it")
            self._wait(wait_s)
            resolved = self._resolve_pending(slot, starting=True)
        if self.options.reconcile and slot.positions_checked_bar < 0:
            self._check_positions(slot)
        if not resolved:
            self._log("WARNING", slot.symbol, f"{slot.symbol}: an order's outcome is still unknown; no decision is "
                      "made until it is resolved by its client id (looked up on every close)")

    def _try_resolve(self, slot: SymbolSlot) -> bool:
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
        self._save(slot)
        if unresolved:
            if self.options.reconcile:  # the other sides can be checked; these wait for their order
                self._check_positions(slot, skip={order.side for order in unresolved})
            return False
        changed = self._check_positions(slot) if self.options.reconcile else set()
        for order in orders:
            self._settle(slot, order, changed, starting)
        self._save(slot)
        return not strategy.state.pending

    def _look_up(self, slot: SymbolSlot, order: PendingOrder) -> bool:
        """[O7] Apply what the exchange executed for ``order``. True when none of its exchange
        orders can execute any more (each is final, or missing past its window)."""
        result = self.executor.resolve_in_flight(order, symbol=slot.symbol, ids=list(order.sends) or None)
        self._apply_reports(slot, order, result.reports)
        if result.still_open:
            return False
        now = self.clock()
        for order_id, report in result.reports.items():
            if report is None and order_id in order.sends and now <= self._window_end(order, order_id):
                return False  # not visible yet, and it may still be accepted: wait
        return True

    def _window_end(self, order: PendingOrder, order_id: str) -> int:
        """Exchange time after which the request of ``order_id`` can no longer be accepted."""
        recv_window = int(getattr(self.broker, "recv_window_ms", 0) or 0)
        margin = self.options.clock_margin_ms if recv_window else 0
        return order.sends[order_id] + recv_window + margin

    def _longest_window_s(self, slot: SymbolSlot) -> float:
        now = self.clock()
        ends = [self._window_end(order, order_id) for order in slot.strategy.state.pending.values()
                for order_id in order.sends]
        return max([(end - now) / 1000 + 0.05 for end in ends if end >= now], default=0.0)

    def _apply_reports(self, slot: SymbolSlot, order: PendingOrder, reports: dict[str, OrderReport | None]) -> None:
        """[O3, O5] Apply only the increase of each exchange order's cumulative executed quantity."""
        found = [(order_id, report) for order_id, report in reports.items()
                 if report is not None and report.executed_qty > 0]
        if not order.applied and order.filled_qty > 0:
            # A state saved before per-order tracking: what was applied came in send order.
            left = to_decimal(order.filled_qty)
            for order_id, report in found:
                take = min(left, report.executed_qty)
                if take > 0:
                    order.applied[order_id] = (float(take), float(take * report.avg_price))
                left -= take
        for order_id, report in found:
            done_qty, done_quote = order.applied.get(order_id, (0.0, 0.0))
            increase = report.executed_qty - to_decimal(done_qty)
            if increase <= 0:
                continue
            quote = report.executed_qty * report.avg_price - to_decimal(done_quote)
            price = quote / increase if quote > 0 else report.avg_price
            fill = Fill(client_id=order.client_id, symbol=slot.symbol, side=order.side, action=order.action,
                        qty=float(increase), price=float(price),
                        fee=float(report.fee * increase / report.executed_qty), time=report.update_time,
                        reason=order.reason, decision_time=order.decision_time, order_id=order_id)
            self._log("INFO", slot.symbol, f"[O7] {slot.symbol}: order {order_id} ({order.action.value} "
                      f"{order.side.value}) executed {report.executed_qty} on the exchange, {increase} of it not "
                      f"recorded yet; recorded now (status {report.status.value})")
            self._record_fill(slot, fill, just_executed=False)

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
            self._log("WARNING", symbol, f"[O5] {what}: {done}; the exchange's {order.side.value} position differed "
                      f"from the state and was taken, so the remainder {remainder:g} is not re-sent")
            return
        if order.action is Action.CLOSE:
            qty = min(remainder, strategy.state.positions[order.side].qty)
            if qty <= QTY_EPSILON:
                strategy.finish_order(order.client_id)
                self._log("INFO", symbol, f"[O5] {what}: {done}; nothing is left to close")
                return
        else:
            age = (slot.last_time or self.clock()) - order.decision_time
            if not starting or age > self.options.stale_intent_ms:
                strategy.finish_order(order.client_id)
                why = ("decided on a close too long ago" if starting else
                       "its outcome was unknown until now; the strategy decides again on this close")
                self._log("WARNING", symbol, f"[O5] {what}: {done}; the remainder {remainder:g} is given up: {why}")
                return
            qty = remainder
        index = 1
        while resend_id(order.client_id, index) in order.sends:
            index += 1
        first = 0 if not order.sends else index
        self._log("INFO", symbol, f"[O5] {what}: {done}; the remainder {qty:g} is sent now as "
                  f"{resend_id(order.client_id, first) if first else order.client_id}")
        intent = OrderIntent(symbol, order.side, order.action, qty, order.reason, order.decision_time,
                             order.client_id)
        set_price = getattr(self.broker, "set_price", None)
        if set_price is not None and slot.last_price is not None:
            set_price(symbol, slot.last_price, slot.last_time)
        result = self._send(slot, intent, slot.last_price or 0.0, resend_index=first)
        self._after_send(slot, intent, result, [])

    def _check_positions(self, slot: SymbolSlot, skip: set[Side] | None = None) -> set[Side]:
        """[O7] Read the exchange's positions now; the exchange wins. Returns the sides that differed."""
        changed = self._reconcile_positions(slot, skip or set())
        slot.positions_checked_bar = max(slot.positions_checked_bar, slot.last_time)
        return changed

    def _reconcile_positions(self, slot: SymbolSlot, skip: set[Side]) -> set[Side]:
        """[O7] The exchange's LONG and SHORT positions win over the state's (one line per difference:
        a liquidation, an auto-deleverage, a trade made by hand, or an order executed late)."""
        strategy = slot.strategy
        exchange = self.broker.positions(strategy.symbol)
        changed: set[Side] = set()
        for side in Side:
            if side in skip:
                continue
            mine = strategy.state.positions[side]
            theirs = exchange[side]
            their_qty = float(theirs.qty)
            if Decimal(repr(mine.qty)) == theirs.qty:
                if their_qty > 0 and theirs.entry_price > 0 and abs(mine.entry_price - float(theirs.entry_price)) > 1e-9 * max(1.0, mine.entry_price):
                    self._log("INFO", strategy.symbol, f"[O7] {strategy.symbol} {side.value}: entry price "
                              f"{mine.entry_price:g} in state, {theirs.entry_price} on the exchange; using the exchange's")
                    mine.entry_price = float(theirs.entry_price)
                continue
            changed.add(side)
            self._log("WARNING", strategy.symbol, f"[O7] {strategy.symbol} {side.value}: state holds {mine.qty:g}, "
                      f"the exchange {their_qty:g}; the exchange's position is taken")
            self._emit(PositionDifference(strategy.symbol, side.value, mine.qty, their_qty, self.clock()))
            if their_qty <= 0:
                strategy.state.positions[side] = PositionState()
            elif mine.qty <= 0:
                strategy.state.positions[side] = PositionState(
                    qty=their_qty, entry_price=float(theirs.entry_price),
                    entry_time=strategy.state.last_bar_close, best_price=float(theirs.entry_price))
            else:
                mine.qty = their_qty
                mine.entry_price = float(theirs.entry_price)
        if changed:
            self._save(slot)
        return changed

    # ----- per bar --------------------------------------------------------------------------

    def _on_bar(self, slot: SymbolSlot, candle: Candle) -> None:
        driver = slot.driver
        assert driver is not None
        slot.last_price = candle.close
        slot.last_time = candle.close_time
        if slot.strategy.state.pending and not self._try_resolve(slot):
            self._skip(slot, candle, "an order's outcome is still unknown; it is looked up again on the next close")
            return
        if self.options.reconcile and slot.positions_checked_bar < candle.close_time:
            # [O7] the last known exchange state is older than this bar: read it before deciding.
            try:
                self._check_positions(slot)
            except BrokerError as exc:
                self._skip(slot, candle, f"the exchange's positions could not be read ({exc.message}); "
                           "they are read again on the next close")
                return
        if slot.detail and slot.run_state is SymbolRunState.RUNNING:
            slot.detail = ""  # an unknown outcome is resolved
        intents = driver.on_bar(candle)
        self._execute(slot, intents, candle.close, candle.close_time)
        self.cockpit.on_bar(slot.symbol, candle, slot.strategy.state.regime.value if slot.strategy.state.regime else "")
        self._emit_status(slot)

    def _skip(self, slot: SymbolSlot, candle: Candle, why: str) -> None:
        """No decision on this close: the indicators still see it [I3]."""
        assert slot.driver is not None
        slot.driver.skip_bar(candle)
        self._save(slot)
        self._log("WARNING", slot.symbol, f"{slot.symbol}: no decision on the {iso_utc(candle.close_time)} close: {why}")
        self._emit_status(slot)

    def _execute(self, slot: SymbolSlot, intents: list[OrderIntent], price: float, at: int) -> None:
        """Send ``intents`` in order. After a rejection that pauses the symbol, or an unknown
        outcome, the rest are dropped; an open on a side whose close did not fully fill is
        dropped too, so two positions never merge on one side."""
        strategy = slot.strategy
        if not intents and not self.options.durable:
            # A close that decided nothing changed only what replaying it again decides the same
            # way (last close, best prices [X3], regime): a replay of simulated trading does not
            # save it (a replay's save costs about 35 us, twice the rest of a quiet bar). Live and
            # paper trading save every close, so a restart never counts a processed close as
            # missed [max_catch_up_bars].
            return
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
            result = self._send(slot, intent, price)
            if not self._after_send(slot, intent, result, intents[index + 1:]):
                return
            if result.status is not ExecutionStatus.FILLED and intent.action is Action.CLOSE:
                unfinished_close_sides.add(intent.side)

    def _save_step(self, slot: SymbolSlot) -> None:
        """A save between the sends of one bar. Live and paper trading save at every step (each
        exchange id with its send time before its request leaves [O2], each fill at once [O3]).
        A replay of simulated trading (not durable: its exchange is in-process and forgets on
        restart) saves once per bar with decisions, before its first order is sent [O2]; the
        bar's outcome reaches the file with the next such save or at shutdown. A replay's save
        costs about 35 us (StateStore's quick save); a fsync'd one about 0.6 ms on ext4."""
        if self.options.durable:
            self._save(slot)

    def _send(self, slot: SymbolSlot, intent: OrderIntent, price: float, resend_index: int = 0) -> ExecutionResult:
        """One intent through the executor; each exchange id is saved with its send time before
        the request leaves [O2], so a restart knows which orders may exist and until when."""
        pending = slot.strategy.state.pending.get(intent.client_id)

        def on_send(order_id: str) -> None:
            if pending is not None:
                pending.sends[order_id] = self.clock()
                self._save_step(slot)

        result = self.executor.execute(intent, price, on_fill=lambda fill: self._record_fill(slot, fill),
                                       on_send=on_send, resend_index=resend_index)
        if result.outcome_unknown and pending is not None and result.unknown_order_id in pending.sends:
            # The request's timestamp is not later than now: the window ends at the latest from here.
            pending.sends[result.unknown_order_id] = max(pending.sends[result.unknown_order_id], self.clock())
            self._save(slot)
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
            self._save(slot)
            self._emit_status(slot)
            return False
        strategy.finish_order(intent.client_id)
        self._save_step(slot)
        if result.status is ExecutionStatus.FILLED:
            return True
        level = "ERROR" if result.pauses_symbol else "WARNING"
        self._log(level, intent.symbol, f"{intent.symbol} {intent.action.value} {intent.side.value} "
                  f"{intent.qty:g} ({intent.reason}): {result.message}")
        if result.pauses_symbol:
            for dropped in rest:
                strategy.finish_order(dropped.client_id)
            self._enter_error(slot, result.message)
            return False
        if result.error is not None and result.error.code == -2022 and self.options.reconcile:
            # The close was larger than the exchange's position: read the positions now [O7].
            self._check_positions(slot)
        return True

    def _enter_error(self, slot: SymbolSlot, why: str) -> None:
        """A definitive refusal the user must act on: no new entries or hedges until the user
        resumes; exits keep running. Saved, so a restart does not quietly resume opening."""
        strategy = slot.strategy
        strategy.opens_allowed = False
        strategy.state.pause_reason = why
        slot.run_state = SymbolRunState.ERROR
        slot.detail = why
        self._save(slot)
        self._emit_status(slot)

    def _record_fill(self, slot: SymbolSlot, fill: Fill, just_executed: bool = True) -> None:
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
        self.journal.record(fill, cumulative, commission)
        self.cockpit.on_fill(fill, slot.strategy.state.positions[fill.side].entry_price)
        slot.strategy.apply_fill(fill)
        if just_executed:
            self._save_step(slot)  # saved with the bar's outcome in a replay
        else:
            self._save(slot)
        self._emit(FillEvent(fill))
        self._log("INFO", fill.symbol, f"[O3] {fill.symbol} filled {fill.action.value} {fill.side.value} "
                  f"{fill.qty:g} @ {fill.price:g} fee {fee_note} ({fill.reason}, order {fill.journal_key})",
                  rule=fill.reason, at=fill.time)

    # ----- user-data stream ---------------------------------------------------------------------

    def _pull_user_stream(self, timeout: float = 0.0) -> None:
        """Take what the stream received: executions by order id now, position changes for later."""
        if self.user_stream is None:
            return
        records = self.user_stream.wait(timeout) if timeout else self.user_stream.drain()
        for record in records:
            if isinstance(record, TradeUpdate):
                if len(self._trades) > 2000:  # old orders' executions are no longer asked for
                    self._trades.clear()
                self._trades.setdefault(record.order_id, []).append(record)
            elif isinstance(record, ForcedClose):  # the positions are read at the ACCOUNT_UPDATE that follows
                what = "liquidated" if record.kind == "liquidation" else "auto-deleveraged"
                self._log("WARNING", record.symbol, f"[O7] {record.symbol} {record.side.value} {record.qty} {what} "
                          f"by the exchange at {record.price} ({record.client_id})")
                self._emit(ForcedCloseEvent(record.symbol, record.side.value, float(record.qty), float(record.price),
                                            record.kind, record.time))
            else:
                self._position_updates.append(record)

    def _with_real_commission(self, fill: Fill, before: float, cumulative: float,
                              wait: bool = True) -> tuple[Fill, str, tuple | None]:
        """[O3] The fill with Binance's commission from the user-data stream: the executions of its
        exchange order whose cumulative quantity lies in (before, cumulative]. Waits a moment for
        them while the stream is up (``wait``: the order executed just now); otherwise the REST
        answer's taker-rate estimate stays."""
        if self.user_stream is None:
            return fill, f"{fill.fee:.4f} (estimate)", None
        low, high = Decimal(repr(before)), Decimal(repr(cumulative))
        deadline = time.monotonic() + (self.options.commission_wait_s if wait else 0.0)
        while True:
            self._pull_user_stream()
            trades = [t for t in self._trades.get(fill.journal_key, []) if low < t.cumulative_qty <= high]
            if sum((t.last_qty for t in trades), Decimal(0)) >= high - low:
                break
            if not self.user_stream.connected.is_set() or time.monotonic() >= deadline:
                return fill, f"{fill.fee:.4f} (estimate)", None
            self._pull_user_stream(timeout=0.1)
        assets = {t.commission_asset for t in trades}
        commission = sum((t.commission for t in trades), Decimal(0))
        asset = assets.pop() if len(assets) == 1 else "mixed"
        if asset == "USDT":
            return replace(fill, fee=float(commission)), f"{commission.normalize():f} USDT", (float(commission), asset)
        return fill, f"{commission.normalize():f} {asset} (estimate {fill.fee:.4f} USDT)", (float(commission), asset)

    def _handle_user_stream(self) -> None:
        """A position changed on the exchange outside our own orders (liquidation, auto-deleverage,
        a trade by hand): read the positions over REST now, not at the next close [O7]."""
        self._pull_user_stream()
        updates, self._position_updates = self._position_updates, []
        for update in updates:
            slot = self.slots.get(update.symbol)
            if slot is None or slot.driver is None or slot.strategy.state.pending:
                continue  # our own order in flight: resolved and checked before the next decision
            if Decimal(repr(slot.strategy.state.positions[update.side].qty)) == update.qty:
                continue
            self._log("INFO", update.symbol, f"[O7] {update.symbol} {update.side.value} changed on the exchange "
                      f"({update.reason or 'update'}): now {update.qty}; reading the positions")
            self._guard(update.symbol, lambda s=slot: self._check_positions(s))
            self._emit_status(slot)

    def _on_ban(self, sentence: str) -> None:
        """The shared request budget says Binance banned the IP (HTTP 418): one line, and the
        window's state line."""
        self._log("ERROR", None, sentence)
        self._emit(ServiceStateEvent(True, sentence))

    # ----- commands ---------------------------------------------------------------------------

    def _drain_commands(self) -> None:
        while self._commands:
            command = self._commands.popleft()
            try:
                command()
            except OSError as exc:  # a pause, resume or size change that cannot be saved
                self._pause_unwritable(exc)

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
        self._log("WARNING", self._current_symbol, message)  # fills are logged by _record_fill

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
        main = _side_figures(state, main_side, price)
        hedge = _side_figures(state, main_side.opposite if main_side is not None else None, price)
        # Positional (a third faster than keywords, once per bar): main_side ... main_pnl_pct,
        # then hedge_side ... hedge_pnl, in StatusRow's field order.
        return StatusRow(slot.symbol, regime.value if regime else "", slot.run_state, slot.detail, price,
                         *main, *hedge[:4], self.call_sizes.get(slot.symbol, 0.0))

    def _emit_status(self, slot: SymbolSlot) -> None:
        self._emit(self.status_row(slot))


_NO_POSITION: tuple[str | None, float, float | None, float | None, float | None] = (None, 0.0, None, None, None)


def _side_figures(state: SymbolState | None, side: Side | None,
                  price: float | None) -> tuple[str | None, float, float | None, float | None, float | None]:
    """(side, quantity, entry, PnL, PnL %) of one side's open position for the status table."""
    if side is None or state is None:
        return _NO_POSITION
    position = state.positions[side]
    if not position.is_open:
        return _NO_POSITION
    if price is None:
        return side.value, position.qty, position.entry_price, None, None
    return (side.value, position.qty, position.entry_price, pnl(side, position.entry_price, price, position.qty),
            pnl_pct(side, position.entry_price, price))


def build_service(settings, listener: EventListener, **kwargs) -> TradingService:
    """See :func:`live.assemble.build_service` (kept here as the GUI's entry point)."""
    from live.assemble import build_service as build

    return build(settings, listener, **kwargs)
