"""The trading service in a worker QThread, talking to the window through Qt signals.

The service (live/service.py) never imports Qt: it calls a listener from its
own thread. Here the listener queues the event and emits ``events_ready`` only
when the queue goes from empty to non-empty, so a fast replay sending
thousands of events a second costs the GUI one wake-up per batch instead of
one per event, and the window never falls behind or freezes.

Controls (pause, resume, stop, flatten, set_call_size) go to the service's
thread-safe TradingControl methods; a stop asked for before the service exists
(or any other control) is remembered and applied as soon as it does.

Start-up that fails on the network (no connection, timeout, Binance busy) is not
an error the user must fix: the thread says so in one sentence (a StartRetry
event) and tries again after 2, 5, 10, 30, then every 60 seconds until it
succeeds or Stop is pressed. A refused key or any other refusal stops at once
with one sentence saying which.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from adapters.binance_futures import HedgeModeOff
from core.errors import ExchangeStartError, UserError
from core.ports import OrderRejectedError, RetryableError
from live.events import Event, EventListener, StartRetry
from live.feeds import ReplayFeed
from cli.logging_setup import use_market_clock

log = logging.getLogger(__name__)

ServiceFactory = Callable[[EventListener], Any]  # returns an object with run() and TradingControl
START_RETRY_DELAYS_S = (2.0, 5.0, 10.0, 30.0, 60.0)


def refusal_sentence(error: OrderRejectedError) -> str:
    """Why Binance refused the start (the key, its permissions, the IP), in one sentence."""
    from adapters.binance_futures import _key_problem  # the adapter's one wording of key problems

    return _key_problem(error)


def network_sentence(error: RetryableError) -> str:
    """'network error: cannot reach Binance (connection failed)' -> 'Cannot reach Binance (connection failed)'."""
    text = error.message.split("network error: ", 1)[-1].strip()
    return text[:1].upper() + text[1:]


class RunnerThread(QThread):
    events_ready = Signal()
    failed = Signal(str)  # one sentence: why the service could not start or stopped on an error

    def __init__(self, factory: ServiceFactory, parent=None,
                 retry_delays: tuple[float, ...] = START_RETRY_DELAYS_S):
        super().__init__(parent)
        self._factory = factory
        self._retry_delays = retry_delays
        self._stopped = threading.Event()  # ends a start-up back-off wait at once
        self._lock = threading.Lock()
        self._queue: list[Event] = []
        self._service: Any = None
        self._stop_requested = False
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self.hedge_mode_off = False  # start-up stopped on a one-way account: the window asks first

    # ----- worker side ------------------------------------------------------------------------

    def run(self) -> None:  # noqa: D401 - QThread entry point
        try:
            service = self._build_with_retries()
            if service is None:
                return  # stopped while waiting to retry
            with self._lock:
                self._service = service
                stop_now = self._stop_requested
                pending, self._pending = self._pending, []
            for name, args in pending:
                getattr(service, name)(*args)
            if stop_now:
                service.stop()
            replay = isinstance(getattr(service, "feed", None), ReplayFeed)
            if replay:
                use_market_clock(service.clock)  # the log file: the replayed candle's time, not the wall clock
            try:
                service.run()
            finally:
                if replay:
                    use_market_clock(None)
        except (ExchangeStartError, OrderRejectedError) as exc:
            refusal = exc.cause if isinstance(exc, ExchangeStartError) else exc
            if isinstance(refusal, OrderRejectedError):  # the key, its permissions, the IP: say which
                self.failed.emit(self.tr("Not started: {reason}").format(reason=refusal_sentence(refusal)))
            else:
                self.failed.emit(str(exc))
        except UserError as exc:
            self.hedge_mode_off = isinstance(exc, HedgeModeOff)
            self.failed.emit(str(exc))
        except Exception as exc:  # the window must survive any service failure and say what happened
            log.exception("trading service failed")
            self.failed.emit(f"The trading service stopped on an unexpected error: {type(exc).__name__}: {exc}")

    def _build_with_retries(self) -> Any:
        attempt = 0
        while True:
            try:
                try:
                    return self._factory(self._listen)
                except ExchangeStartError as start_error:
                    if isinstance(start_error.cause, RetryableError):
                        raise start_error.cause from None  # the network: worth trying again
                    raise
            except RetryableError as exc:
                delay = self._retry_delays[min(attempt, len(self._retry_delays) - 1)]
                delay = max(delay, exc.retry_after or 0.0)  # never before the wait Binance asked for
                attempt += 1
                self._listen(StartRetry(self.tr("{reason}. Trying again in {seconds} s (attempt {attempt}); "
                                                "Stop gives up.").format(reason=network_sentence(exc),
                                                                         seconds=f"{delay:g}", attempt=attempt),
                                        attempt, delay))
                if self._stopped.wait(delay):
                    return None

    def _listen(self, event: Event) -> None:
        with self._lock:
            first = not self._queue
            self._queue.append(event)
        if first:
            self.events_ready.emit()

    # ----- GUI side ---------------------------------------------------------------------------

    def take_events(self) -> list[Event]:
        with self._lock:
            events, self._queue = self._queue, []
        return events

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            self._stop_requested = True
            service = self._service
        if service is not None:
            service.stop()

    def pause(self, symbol: str | None = None) -> None:
        self._control("pause", symbol)

    def resume(self, symbol: str | None = None) -> None:
        self._control("resume", symbol)

    def flatten(self, symbol: str | None = None) -> None:
        self._control("flatten", symbol)

    def set_call_size(self, symbol: str, qty: float) -> None:
        self._control("set_call_size", symbol, qty)

    def answer_excess(self, symbol: str, side: str, keep: bool) -> None:
        """[C3] The trader's answer: keep the excess of ``side`` unmanaged, or close it."""
        self._control("answer_excess", symbol, side, keep)

    def refresh(self) -> None:
        """F5 while running: the service's cockpit reports the heartbeat and the account soon."""
        with self._lock:
            service = self._service
        cockpit = getattr(service, "cockpit", None)
        if cockpit is not None:
            cockpit.refresh_soon()

    def _control(self, name: str, *args: Any) -> None:
        with self._lock:
            service = self._service
            if service is None:  # still being built: apply as soon as it exists
                self._pending.append((name, args))
                return
        getattr(service, name)(*args)
