"""The trading service in a worker QThread, talking to the window through Qt signals.

The service (runner/service.py) never imports Qt: it calls a listener from its
own thread. Here the listener queues the event and emits ``events_ready`` only
when the queue goes from empty to non-empty, so a fast replay sending
thousands of events a second costs the GUI one wake-up per batch instead of
one per event, and the window never falls behind or freezes.

Controls (pause, resume, stop, flatten, set_call_size) go to the service's
thread-safe TradingControl methods; a stop asked for before the service exists
(or any other control) is remembered and applied as soon as it does.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from core.errors import UserError
from runner.events import Event, EventListener

log = logging.getLogger(__name__)

ServiceFactory = Callable[[EventListener], Any]  # returns an object with run() and TradingControl


class RunnerThread(QThread):
    events_ready = Signal()
    failed = Signal(str)  # one sentence: why the service could not start or stopped on an error

    def __init__(self, factory: ServiceFactory, parent=None):
        super().__init__(parent)
        self._factory = factory
        self._lock = threading.Lock()
        self._queue: list[Event] = []
        self._service: Any = None
        self._stop_requested = False
        self._pending: list[tuple[str, tuple[Any, ...]]] = []

    # ----- worker side ------------------------------------------------------------------------

    def run(self) -> None:  # noqa: D401 - QThread entry point
        try:
            service = self._factory(self._listen)
            with self._lock:
                self._service = service
                stop_now = self._stop_requested
                pending, self._pending = self._pending, []
            for name, args in pending:
                getattr(service, name)(*args)
            if stop_now:
                service.stop()
            service.run()
        except UserError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # the window must survive any service failure and say what happened
            log.exception("trading service failed")
            self.failed.emit(f"The trading service stopped on an unexpected error: {type(exc).__name__}: {exc}")

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

    def _control(self, name: str, *args: Any) -> None:
        with self._lock:
            service = self._service
            if service is None:  # still being built: apply as soon as it exists
                self._pending.append((name, args))
                return
        getattr(service, name)(*args)
