"""The trading service: closed candles in, confirmed orders out, state on disk.

This module is the loop that turns a closed candle into a decision, and it wires the rooms:
live/orders.py (in-flight orders [O2-O5]), live/reconcile.py (positions against the exchange,
stream events not ours [O7]), live/commands.py (pause, resume, flatten, CALL_SIZE) and
live/status.py (rows and figures, cannot raise); live/context.py holds what they share.

One service runs every configured symbol. Per closed 5m candle and symbol:

1. an order left with an unknown outcome is looked up first [O4]; the positions are re-read
   when the last exchange check is older than the bar [O7];
2. paper trading only: the simulated exchange's guard acts inside the candle [E1]
   (live/paper_guard.py); then the driver extends the candle buffers and asks the strategy
   (daily close first [G4]);
   the strategy records its intents as pending in its state;
3. the state is saved *before* any order is sent [O2], and the orders go out (live/orders.py);
4. events (log lines, fills, status rows) go to the listener.

A close that decided nothing is saved in live and paper trading only. A replay of
simulated trading saves a bar with decisions once, before its first order, a quiet
bar not at all, and everything at shutdown: see :meth:`ServiceContext.save_step`.

At start-up each symbol loads its state, looks up the orders left pending by
client id (nothing is sent), reconciles with the exchange's positions (the
exchange wins) [O7], and only then decides what to do with the remainder of a
pending order [O5]; it warms its indicators up and sets or catches up its regime
[G2, G1]. Rule ids owned here: [G1, G2, G4] (start-up regime, catch-up, daily first),
[I3] (a close without a decision still feeds the indicators), [P] (a pause while state
cannot be saved).

A symbol whose state file is unreadable, or whose orders the exchange
rejects, is put in the ERROR state alone: the other symbols keep trading.
The service has no Qt and no clock of its own: both are injected.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from core.model import Candle
from core.ports import PASSING_REFUSAL_CODES, Broker, BrokerError, UserStream
from core.strategy import HedgeStrategy
from core.trades import iso_utc
from live.cockpit import CockpitReporter
from live.account_events import handle_account_events
from live.account_limits import AccountLimits
from live.commands import CommandRoom
from live.context import ServiceContext, ServiceOptions, SymbolSlot
from live.excess import ExcessRoom
from live.events import EventListener, ProgressEvent, ServiceStateEvent, StatusRow, SymbolRunState
from live.feeds import CandleFeed, FeedFinished
from live.orders import OrderRoom
from live.paper_guard import PaperGuard
from live.reconcile import Reconciler
from live.status import position_summary, status_row
from live.symbol_driver import SymbolDriver, buffer_length
from live.wake import Asleep, KeepAwake, WakeWatch

START_RETRY_MS = 60_000  # a failed start-up is tried again this long after it failed (and at every close)

__all__ = ["ServiceOptions", "SymbolSlot", "TradingService"]


def _shared(name: str) -> property:
    """The service's attribute ``name`` is its context's: one object, read and set in one place."""
    return property(lambda self: getattr(self.ctx, name), lambda self, value: setattr(self.ctx, name, value),
                    doc=f"The shared {name} (live/context.py).")


class TradingService:
    """Runs every configured symbol: the candle loop, wired to its rooms (see the module docstring)."""

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
        self._stop = threading.Event()
        # Back-off waits end early on stop(), so Stop never hangs behind a retry.
        wait = self._stop.wait if sleep is time.sleep else sleep
        # Optional user-data stream (adapters/binance_user_stream.py): real commissions, and
        # position changes seen as they happen. REST stays the authority [O7].
        self.ctx = ServiceContext(symbols, params, feed, broker, listener, options,
                                  clock or (lambda: int(time.time() * 1000)), wait, user_stream, self._stop)
        budget = getattr(broker, "budget", None)
        if budget is not None:  # the shared request budget tells about an IP ban (HTTP 418)
            budget.on_ban.append(self._on_ban)
        self.cockpit = CockpitReporter(self, self.ctx.emit)  # account, heartbeat, live candles for the window
        self.ctx.money_changed = self.cockpit.refresh_soon
        self.reconciler = Reconciler(self.ctx)
        self.orders = OrderRoom(self.ctx, self.reconciler, self.cockpit)
        self.commands = CommandRoom(self.ctx, self.orders)
        # [L1-L3] on the whole account: marked once per close, a breach applies to every symbol.
        self.limits = AccountLimits(self.ctx, self.orders, self.stop,
                                    lambda: getattr(self, "account_view", None) or self.ctx.broker,
                                    lambda: self.guards.keep() if self.guards is not None else None)
        self.excess = ExcessRoom(self.ctx, self.orders)  # [C1-C3] never above CALL_SIZE (live/excess.py)
        self.excess.install(self.reconciler, self.commands)
        # Exchange modes only (live/assemble.py sets them): the guard held on the exchange [E1, E2]
        # (live/guard_room.py) and the sleep watch [W1] (live/wake.py).
        self.guards = None
        # Paper modes only (live/assemble.py sets it): the simulated exchange's guard [E1] (live/paper_guard.py).
        self.paper_guard: PaperGuard | None = None
        self.wake: WakeWatch | None = None
        self._woke_at_ms = 0  # closes before this (minus the catch-up allowance) are not acted on

    # ----- shared parts, read by the cockpit, the tools and the tests -------------------------

    params = _shared("params")
    call_sizes = _shared("call_sizes")
    feed = _shared("feed")
    broker = _shared("broker")
    listener = _shared("listener")
    clock = _shared("clock")
    user_stream = _shared("user_stream")
    executor = _shared("executor")
    options = _shared("options")
    store = _shared("store")
    journal = _shared("journal")
    slots = _shared("slots")

    # ----- control (thread-safe) ----------------------------------------------------------

    def stop(self) -> None:
        """Stop after the current step; state is saved."""
        self._stop.set()

    def pause(self, symbol: str | None = None) -> None:
        self.commands.pause(symbol)

    def resume(self, symbol: str | None = None) -> None:
        self.commands.resume(symbol)

    def flatten(self, symbol: str | None = None) -> None:
        """Close every position of ``symbol`` (or of all symbols), reason 'manual'."""
        self.commands.flatten(symbol)

    def set_call_size(self, symbol: str, qty: float) -> None:
        """Applies to the next order of ``symbol``."""
        self.commands.set_call_size(symbol, qty)

    def answer_excess(self, symbol: str, side: str, keep: bool) -> None:
        """[C3] Keep the excess of ``side`` unmanaged, or close it."""
        self.commands.answer_excess(symbol, side, keep)

    def status_row(self, slot: SymbolSlot) -> StatusRow:
        """The status table's row for ``slot`` (live/status.py: cannot raise)."""
        return status_row(slot, self.ctx.call_sizes, self.ctx.leverage)

    # ----- main loop ------------------------------------------------------------------------

    def run(self) -> None:
        """Start every symbol, then process closed candles until stop() or the replay ends.
        While it runs, the OS is asked not to sleep (Windows; a no-op elsewhere) [W1]."""
        with KeepAwake():
            self._run()

    def _run(self) -> None:
        ctx = self.ctx
        ctx.emit(ServiceStateEvent(True, "starting"))
        if ctx.user_stream is not None:
            ctx.user_stream.start()
        ctx.feed.start()  # connect while the symbols warm up, so no close falls between the two
        try:
            ctx.safely("the loss limits", lambda: self.limits.start(ctx.options.override_limits))  # before any decision
            for symbol in ctx.call_sizes:
                ctx.guard(symbol, lambda s=symbol: self._start_symbol(s))
            if self.guards is not None:  # [E1, E2] after every symbol's reconciliation
                ctx.safely("the exchange-side guards", self.guards.start)
            ctx.emit(ServiceStateEvent(True, ""))  # started: every symbol is trading or says why not
            self.commands.drain()
            total = getattr(ctx.feed, "total", 0)
            # paced (speed > 0): a progress event per candle, so the bar moves; unpaced: at most 1,000
            progress_step = 1 if getattr(ctx.feed, "speed", 0) > 0 else max(1, -(-total // 1000))
            next_progress = 0
            while not self._stop.is_set():
                ctx.safely("a command", self.commands.drain)  # run() ends only when asked [Build 3]
                if self.wake is not None:
                    ctx.safely("the sleep watch", lambda: self._woke(self.wake.tick()))
                if ctx.user_stream is not None:
                    ctx.safely("reading the user-data stream", self.reconciler.handle_user_stream)
                    ctx.safely("an account event", lambda: handle_account_events(ctx))
                ctx.safely("the account view", self.cockpit.tick)
                try:
                    closed = ctx.feed.next_candle(ctx.options.poll_seconds)
                except FeedFinished:
                    ctx.log("INFO", None, "replay finished: no more candles")
                    break
                except Exception as exc:  # noqa: BLE001 - a broken feed step is told, and waited out
                    ctx.report_failure("the candle feed", exc)
                    ctx.wait(ctx.options.poll_seconds)
                    continue
                if closed is None:
                    ctx.safely("a failed start-up", self._retry_failed_starts)
                    continue
                if self.wake is not None:  # [W1] a pause that ended inside next_candle is told before its closes
                    ctx.safely("the sleep watch", lambda: self._woke(self.wake.tick()))
                    ctx.safely("the sleep watch", lambda: self._woke(self.wake.on_close(closed.candle.close_time)))
                slot = ctx.slots.get(closed.symbol)
                if slot is not None and slot.driver is None and slot.failure:  # its start-up failed [Build 3]
                    self._start_again(slot)
                    continue
                if slot is None or not slot.tradable:
                    continue
                if closed.candle.close_time < self._woke_at_ms - ctx.options.max_catch_up_bars * 300_000:
                    slot.driver.skip_bar(closed.candle)  # [W1] missed while asleep: too old to act on, as after a restart
                    continue
                if ctx.write_problem is not None and not ctx.writable_again():
                    slot.driver.skip_bar(closed.candle)  # paused: indicators keep up, nothing is decided
                    continue
                ctx.guard(closed.symbol, lambda: self._on_bar(slot, closed.candle))
                if self.guards is not None:  # [E1] after the close's orders and reconciliation
                    ctx.safely("the exchange-side guards", lambda: self.guards.keep([closed.symbol]))
                if total:
                    done = getattr(ctx.feed, "emitted", 0)
                    if done >= next_progress or done >= total:
                        feed = ctx.feed
                        ctx.emit(ProgressEvent(done, total, getattr(feed, "now", 0), getattr(feed, "first_ms", 0),
                                               getattr(feed, "last_ms", 0)))
                        next_progress = done + progress_step
            ctx.safely("a command", self.commands.drain)
        finally:
            self._shutdown()

    def _retry_failed_starts(self) -> None:
        """A symbol whose start-up failed is tried again a minute after (besides at each of its closes):
        a start-up refused by a spent request budget ('waiting 34 s for the next minute') or a passing
        exchange error then resolves the orders it left in flight within that minute, not at the next
        5m close."""
        ctx = self.ctx
        now = ctx.clock()
        for slot in list(ctx.slots.values()):
            if slot.driver is None and slot.failure and now - slot.failed_at >= START_RETRY_MS:
                self._start_again(slot)

    def _start_again(self, slot: SymbolSlot) -> None:
        """The start-up of a symbol whose start-up failed, once more (at its close, or a minute on)."""
        self.ctx.log("INFO", slot.symbol, f"{slot.symbol}: starting again after: {slot.failure}")
        self.ctx.guard(slot.symbol, lambda: self._start_symbol(slot.symbol))

    def _woke(self, asleep: Asleep | None) -> None:
        """[W1] The process did not run: one line and an alert, every symbol's positions read from
        the exchange and its guards checked before any decision, then on as after a restart."""
        if asleep is None:
            return
        ctx = self.ctx
        ctx.log("WARNING", None, asleep.sentence(), rule="W1")
        ctx.emit(ServiceStateEvent(True, asleep.sentence()))
        usual = self.wake.usual_delay_ms if self.wake is not None else None
        self._woke_at_ms = max(self._woke_at_ms, ctx.clock() - max(0, usual or 0))  # in the market's close times
        for slot in list(ctx.slots.values()):
            if slot.tradable and ctx.options.reconcile:
                ctx.guard(slot.symbol, lambda s=slot: self.reconciler.check_positions(s))
                ctx.emit_status(slot)
        if self.guards is not None:
            self.guards.keep()

    def _shutdown(self) -> None:
        """Save and close everything; each step on its own, so none can stop the others (nor raise)."""
        ctx = self.ctx
        for slot in list(ctx.slots.values()):
            if slot.driver is not None:
                ctx.safely(f"saving {slot.symbol}", lambda s=slot: self._save_at_stop(s))
        ctx.safely("closing the candle feed", ctx.feed.close)
        if ctx.user_stream is not None:
            ctx.safely("closing the user-data stream", ctx.user_stream.close)
        ctx.safely("the account view", self.cockpit.flush)  # the account as the bot leaves it
        ctx.safely("closing the ledger", ctx.ledger.close)  # round trips rebuilt from the fills, then closed
        ctx.emit(ServiceStateEvent(False, "stopped; state saved"))

    def _save_at_stop(self, slot: SymbolSlot) -> None:
        try:
            self.ctx.save(slot)
        except OSError as exc:
            self.ctx.pause_unwritable(exc)
        if slot.run_state is not SymbolRunState.ERROR:
            slot.run_state = SymbolRunState.STOPPED
        self.ctx.emit_status(slot)

    # ----- start-up [G2, O7] and per bar ------------------------------------------------------

    def _start_symbol(self, symbol: str) -> None:
        self.ctx.slots[symbol] = SymbolSlot(symbol, None)
        state = self.ctx.store.load(symbol)  # StateFileError -> ERROR for this symbol only
        fresh = state is None
        strategy = HedgeStrategy(symbol, self.ctx.params, self.ctx.call_sizes[symbol], state)
        driver = SymbolDriver(strategy, self.ctx.params.signal)
        slot = SymbolSlot(symbol, driver)
        self.ctx.slots[symbol] = slot
        for warning in self.ctx.params.signal.warnings():
            self.ctx.log("WARNING", symbol, warning, rule="S3")

        if not fresh:
            self.ctx.feed.resume_after(symbol, strategy.state.last_bar_close)  # a replay's history ends where we stopped
        limit = buffer_length(self.ctx.params.signal)
        daily = self.ctx.feed.history(symbol, "1d", limit)
        bars = self.ctx.feed.history(symbol, "5m", limit)
        if fresh:  # everything is warm-up history; nothing was missed
            known, missed, days_known, days_missed = bars, [], daily, []
        else:  # split at what the saved state had processed
            last_bar, last_day = strategy.state.last_bar_close, strategy.state.last_daily_close
            known = [bar for bar in bars if bar.close_time <= last_bar]
            missed = [bar for bar in bars if bar.close_time > last_bar]
            days_known = [day for day in daily if day.close_time <= last_day]
            days_missed = [day for day in daily if day.close_time > last_day]
        driver.load_history(days_known, known)
        self.limits.apply_to(strategy)  # a breach saved for the account blocks this symbol's mains too
        self.cockpit.on_history(symbol, known, strategy.state.regime.value if strategy.state.regime else "")
        if bars:  # the market's latest close: reference price and "now" for stale orders
            slot.last_price = bars[-1].close
            slot.last_time = bars[-1].close_time
        self.orders.start_pending(slot)  # [O7] look up, reconcile, then re-send or give up remainders [O5]

        if fresh or strategy.state.regime is None:
            regime = driver.initial_regime() if daily else None
            if regime is not None:
                strategy.state.regime = regime
                self.ctx.log("INFO", symbol, f"[G2] {symbol} regime at start-up: {regime.value} (last daily signal)", rule="G2")
            if daily:
                strategy.state.last_daily_close = max(strategy.state.last_daily_close, daily[-1].close_time)
            if bars:
                strategy.state.last_bar_close = max(strategy.state.last_bar_close, bars[-1].close_time)
            if bars:
                self.ctx.feed.resume_after(symbol, bars[-1].close_time)
        else:
            self._catch_up(slot, days_missed, missed)
        self.ctx.save(slot)
        slot.run_state = SymbolRunState.RUNNING
        if any(f"(code {code}:" in strategy.state.pause_reason for code in PASSING_REFUSAL_CODES):
            # Saved by an earlier version for a refusal that passes by itself: not a user pause.
            self.ctx.log("INFO", symbol, f"{symbol}: the saved pause ({strategy.state.pause_reason}) was for a refusal "
                      "that passes by itself; it is lifted, the positions were just reconciled")
            strategy.state.pause_reason = ""
        if strategy.state.pause_reason:
            strategy.opens_allowed = False
            slot.run_state = SymbolRunState.ERROR
            slot.detail = strategy.state.pause_reason
            self.ctx.log("WARNING", symbol, f"{symbol} is still paused from before the restart: "
                      f"{strategy.state.pause_reason} (Resume to trade it again)")
        self.ctx.log("INFO", symbol, position_summary(slot))
        self.ctx.emit_status(slot)

    def _catch_up(self, slot: SymbolSlot, days_missed: list[Candle], missed: list[Candle]) -> None:
        """After a restart: closes that happened while the bot was down."""
        symbol = slot.symbol
        driver = slot.driver
        assert driver is not None
        if len(missed) > self.ctx.options.max_catch_up_bars:
            # Too old to act on: take the regime from the missed days, skip the bars.
            if self.paper_guard is not None:  # [E1] the simulated exchange's guard acted while the bot was stopped
                self.paper_guard.while_stopped(slot, missed)
            for day in days_missed:
                self.orders.execute(slot, driver.on_daily_close(day.close_time, day.close), day.close, day.close_time)
            driver.load_history([], missed)
            slot.strategy.state.last_bar_close = missed[-1].close_time
            self.ctx.feed.resume_after(symbol, missed[-1].close_time)
            self.ctx.log("WARNING", symbol, f"{symbol}: {len(missed)} 5m closes passed while the bot was stopped; "
                      f"acting from the latest close on (more than {self.ctx.options.max_catch_up_bars} are not replayed)")
            return
        # Days that closed before the first missed bar (a bar crossing a day is handled by the driver).
        first_bar = missed[0].close_time if missed else None
        for day in days_missed:
            if first_bar is None or day.close_time < first_bar:
                self.orders.execute(slot, driver.on_daily_close(day.close_time, day.close), day.close, day.close_time)
        for bar in missed:
            self.ctx.log("INFO", symbol, f"{symbol}: catching up the close of {iso_utc(bar.close_time)} missed while stopped")
            self._on_bar(slot, bar)

    def _on_bar(self, slot: SymbolSlot, candle: Candle) -> None:
        driver = slot.driver
        assert driver is not None
        slot.last_price = candle.close
        slot.last_time = candle.close_time
        if slot.strategy.state.pending and not self.orders.try_resolve(slot):
            self._skip(slot, candle, "an order's outcome is still unknown; it is looked up again on the next close")
            return
        if self.ctx.options.reconcile and slot.positions_checked_bar < candle.close_time:
            # [O7] the last known exchange state is older than this bar: read it before deciding.
            try:
                self.reconciler.check_positions(slot)
            except BrokerError as exc:
                self._skip(slot, candle, f"the exchange's positions could not be read ({exc.message}); "
                           "they are read again on the next close")
                return
        if not self.excess.correct(slot, candle.close, candle.close_time):  # [C1, C2] before the bar rules
            self._skip(slot, candle, "an order's outcome is still unknown; it is looked up again on the next close")
            return
        if slot.detail and slot.run_state is SymbolRunState.RUNNING:
            slot.detail = ""  # an unknown outcome is resolved
        if self.paper_guard is not None:  # [E1] inside the candle, before its closes (as the backtest)
            self.paper_guard.before_close(slot, candle)
        if not self.limits.before_decisions(slot, candle.close_time):  # [L1, L2] measured before any decision
            driver.skip_bar(candle)  # a flatten breach closes instead of deciding; the indicators keep up
            intents = []
        else:
            intents = driver.on_bar(candle)
        self.orders.execute(slot, intents, candle.close, candle.close_time)
        self.cockpit.on_bar(slot.symbol, candle, slot.strategy.state.regime.value if slot.strategy.state.regime else "")
        self.ctx.recovered(slot)  # a failure on an earlier close is over [Build 3]
        self.ctx.emit_status(slot)

    def _skip(self, slot: SymbolSlot, candle: Candle, why: str) -> None:
        """No decision on this close: the indicators still see it [I3]."""
        assert slot.driver is not None
        slot.driver.skip_bar(candle)
        self.ctx.save(slot)
        self.ctx.log("WARNING", slot.symbol, f"{slot.symbol}: no decision on the {iso_utc(candle.close_time)} close: {why}")
        self.ctx.emit_status(slot)

    def _on_ban(self, sentence: str) -> None:
        """The shared request budget says Binance banned the IP (HTTP 418): one line, and the
        window's state line."""
        self.ctx.log("ERROR", None, sentence)
        self.ctx.emit(ServiceStateEvent(True, sentence))

