"""What the rooms of the trading service share: the symbols' slots, the options, the exchange,
the clock, state and journal on disk, and one way to log, emit, save and isolate a failure.

The rooms (live/orders.py, live/reconcile.py, live/commands.py, live/service.py) each hold a
reference to one :class:`ServiceContext`; none of them holds another's data. Saving is here too:
[P] no decision may be taken that cannot be saved first (:meth:`ServiceContext.pause_unwritable`).
One symbol's failure never stops another (:meth:`ServiceContext.guard`).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from config.paths import FolderError, ensure_writable, why_not_writable
from core.executor import OrderExecutor
from core.model import FIVE_MINUTES_MS
from core.ports import Broker, BrokerError, UserStream
from core.state import StateFileError, StateStore
from core.strategy import HedgeStrategy
from live.events import Event, EventListener, LogEvent, SymbolRunState
from live.feeds import CandleFeed
from live.journal import FillJournal
from live.ledger_link import LedgerLink
from live.status import status_row
from live.symbol_driver import SymbolDriver

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
    # Why handling the last close failed (a bug, an answer nobody expected); "" when it went
    # through. The symbol's next close is handled again; other symbols never wait for it [Build 3].
    failure: str = ""
    leverage: int | None = None  # the exchange's leverage, once an ACCOUNT_CONFIG_UPDATE told it
    failed_at: int = 0  # the service clock (ms) when its start-up last failed: tried again a minute later

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
    override_limits: bool = False  # the user resumes new mains despite a loss limit breached today [L1, L2]


class ServiceContext:
    """The shared parts of one trading service, and the helpers every room uses."""

    def __init__(self, symbols: dict[str, float], params, feed: CandleFeed, broker: Broker,
                 listener: EventListener, options: ServiceOptions, clock: Callable[[], int],
                 wait: Callable[[float], None], user_stream: UserStream | None,
                 stop: threading.Event):
        self.params = params
        self.call_sizes = dict(symbols)
        self.leverage: dict[str, float] = {}  # per symbol, the settings' (the assembler sets it): for the ROE
        self.feed = feed
        self.broker = broker
        self.listener = listener
        self.options = options
        self.clock = clock
        self.wait = wait  # back-off waits end early on stop(), so Stop never hangs behind a retry
        self.user_stream = user_stream
        self.stop_event = stop
        self.store = StateStore(options.state_dir, durable=options.durable)
        self.journal = FillJournal(options.journal_path or Path(options.state_dir) / "fills.jsonl",
                                   durable=options.durable)
        self.ledger = LedgerLink(None, self.log)  # money records; the assembler opens the account's ledger
        # Called when money moved outside the bot's orders (funding, a forced close): the service
        # points it at the cockpit, so the account strip shows it at once, not at the next refresh.
        self.money_changed: Callable[[], None] = lambda: None
        self.executor = OrderExecutor(broker, sleep=wait, log=self._executor_log, log_fills=False)
        self.slots: dict[str, SymbolSlot] = {}
        self.current_symbol: str | None = None
        self.write_problem: str | None = None  # set while the state folder cannot be written

    # ----- events -----------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        try:
            self.listener(event)
        except Exception:  # noqa: BLE001 - a broken listener must not stop trading
            log.exception("event listener failed")

    def log(self, level: str, symbol: str | None, message: str, rule: str | None = None,
            at: int | None = None) -> None:
        log.log(getattr(logging, level), message)
        self.emit(LogEvent(at if at is not None else self.clock(), level, message, symbol, rule))

    def _executor_log(self, message: str) -> None:
        self.log("WARNING", self.current_symbol, message)  # fills are logged by OrderRoom.record_fill

    def emit_status(self, slot: SymbolSlot) -> None:
        """A status row for the listener; drawing it can never raise (live/status.py, and this guard)."""
        try:
            row = status_row(slot, self.call_sizes, self.leverage)
        except Exception:  # noqa: BLE001 - a row that cannot be drawn must not stop trading
            log.exception("status row of %s failed", getattr(slot, "symbol", "?"))
            return
        self.emit(row)

    # ----- saving [O2, P] -----------------------------------------------------------------------

    def save(self, slot: SymbolSlot) -> None:
        if slot.driver is not None:
            self.store.save(slot.strategy.state)

    def save_step(self, slot: SymbolSlot) -> None:
        """A save between the sends of one bar. Live and paper trading save at every step (each
        exchange id with its send time before its request leaves [O2], each fill at once [O3]).
        A replay of simulated trading (not durable: its exchange is in-process and forgets on
        restart) saves once per bar with decisions, before its first order is sent [O2]; the
        bar's outcome reaches the file with the next such save or at shutdown. A replay's save
        costs about 35 us (StateStore's quick save); a fsync'd one about 0.6 ms on ext4."""
        if self.options.durable:
            self.save(slot)

    def pause_unwritable(self, exc: OSError) -> None:
        """[P] No decision may be taken that cannot be saved first: every symbol pauses, said once.

        Each later close only feeds the indicators until the folder can be written again
        (:meth:`writable_again`); orders decided but not saved are settled then, as after a restart.
        """
        if self.write_problem is not None:
            return
        self.write_problem = (f"trading paused: the state folder {self.options.state_dir} cannot be written "
                              f"({why_not_writable(exc)}); no decisions until it can, positions are kept")
        self.log("ERROR", None, self.write_problem)
        for slot in self.slots.values():
            if slot.driver is not None and slot.run_state is not SymbolRunState.ERROR:
                slot.run_state, slot.detail = SymbolRunState.PAUSED, self.write_problem
                self.emit_status(slot)

    def writable_again(self) -> bool:
        """Probe the state and journal folders; on success resume the symbols the pause stopped."""
        try:
            ensure_writable(self.options.state_dir, "state")
            ensure_writable(self.journal.path.parent, "journal")
        except FolderError:
            return False
        self.write_problem = None
        self.log("INFO", None, f"{self.options.state_dir} can be written again: trading resumes")
        for slot in self.slots.values():
            if slot.driver is not None and slot.run_state is SymbolRunState.PAUSED and slot.detail.startswith("trading paused:"):
                slot.run_state = SymbolRunState.RUNNING if slot.strategy.opens_allowed else SymbolRunState.PAUSED
                slot.detail = "" if slot.strategy.opens_allowed else slot.strategy.state.pause_reason
                self.emit_status(slot)
        return True

    # ----- isolation --------------------------------------------------------------------------

    def guard(self, symbol: str, action: Callable[[], None]) -> None:
        """One symbol's failure never stops the others."""
        self.current_symbol = symbol
        try:
            action()
        except StateFileError as exc:  # the user must repair or remove the file: not retried
            self.fail(symbol, str(exc), retry=False)
        except BrokerError as exc:
            self.fail(symbol, f"exchange error{f' {exc.code}' if exc.code is not None else ''}: {exc.message}")
        except OSError as exc:  # the state folder or the journal cannot be written
            slot = self.slots.get(symbol)
            if slot is None or slot.driver is None:
                self.fail(symbol, f"{exc.filename or self.options.state_dir} cannot be written ({why_not_writable(exc)})")
            else:
                self.pause_unwritable(exc)
        except Exception as exc:  # noqa: BLE001 - isolate the symbol, keep the traceback in the file log
            log.exception("unexpected error on %s", symbol)
            self.fail(symbol, f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self.current_symbol = None

    def fail(self, symbol: str, why: str, retry: bool = True) -> None:
        """One sentence in the log and the window; never raises. A symbol whose start-up failed
        trades nothing (its state is not known to be whole); with ``retry`` its start-up is tried
        again on its next close. A started one stops only its new entries and hedges until a close
        goes through again: its exits, and the other symbols, go on, and the next close is handled
        again (:meth:`recovered`)."""
        try:
            slot = self.slots.setdefault(symbol, SymbolSlot(symbol, None))
            starting = slot.driver is None or slot.run_state is SymbolRunState.STARTING
            slot.run_state = SymbolRunState.ERROR
            if starting:
                slot.driver = None  # a half-done start-up never trades
                slot.failure = why if retry else ""
                slot.failed_at = self.clock()
                slot.detail = why
                again = "; its start-up is tried again in a minute or on its next close" if retry else ""
                self.log("ERROR", symbol, f"{symbol} stopped trading: {why}{again}")
            else:
                slot.failure = why
                slot.detail = (f"handling the last close failed ({why}); no new entries or hedges until a close "
                               "goes through, exits and other symbols go on; tried again on the next close")
                self.log("ERROR", symbol, f"{symbol}: {slot.detail}")
            self.emit_status(slot)
        except Exception:  # noqa: BLE001 - telling about a failure must not become one
            log.exception("reporting the failure of %s failed", symbol)

    def recovered(self, slot: SymbolSlot) -> None:
        """A close went through after a failure: the symbol trades as before (a user's pause stays)."""
        if not slot.failure:
            return
        slot.failure = ""
        paused = slot.driver is not None and not slot.strategy.opens_allowed
        slot.run_state = SymbolRunState.ERROR if slot.strategy.state.pause_reason else (
            SymbolRunState.PAUSED if paused else SymbolRunState.RUNNING)
        slot.detail = slot.strategy.state.pause_reason
        self.log("INFO", slot.symbol, f"{slot.symbol}: this close went through; trading as before")

    def safely(self, what: str, action: Callable[[], object]) -> None:
        """A step of the service loop outside any one symbol: a failure is logged, the loop goes on."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - run() ends only when asked [Build 3]
            self.report_failure(what, exc)

    def report_failure(self, what: str, exc: Exception) -> None:
        """One line for a failure outside any one symbol (the traceback goes to the file log only)."""
        log.error("%s failed", what, exc_info=exc)
        try:
            self.log("ERROR", None, f"{what} failed ({type(exc).__name__}: {exc}); trading goes on")
        except Exception:  # noqa: BLE001 - a broken log handler must not stop trading either
            pass
