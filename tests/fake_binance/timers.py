"""Delayed work of the fake (late executions, late fills, delayed visibility) on its own event loop.

Every timer is bound to the account *epoch* it was armed in. ``reset`` cancels the pending
timers and starts a new epoch under the engine lock, and a timer checks its epoch under the
same lock before it runs, so nothing scheduled before a reset can ever touch the account
after it (a test's late execution cannot leak into the next test's fresh account).
"""
from __future__ import annotations

import asyncio
import threading
from typing import Callable


class Timers:
    def __init__(self, lock: threading.RLock):
        self.loop: asyncio.AbstractEventLoop | None = None
        self.epoch = 0
        self._lock = lock
        self._handles: dict[asyncio.TimerHandle, Callable[[], None]] = {}
        self.pending = 0  # armed and not yet run or cancelled, for tests that wait for them

    def later(self, delay_ms: int, action: Callable[[], None]) -> None:
        """Run ``action`` under the engine lock ``delay_ms`` from now, unless a reset comes first."""
        loop = self.loop
        if loop is None:
            raise RuntimeError("the fake exchange is not running: delayed faults need its event loop")
        with self._lock:
            epoch = self.epoch
            self.pending += 1

        def fire() -> None:
            with self._lock:
                self._handles.pop(handle, None)  # type: ignore[arg-type]
                if epoch != self.epoch:
                    return
                self.pending -= 1
                action()

        def arm() -> None:
            nonlocal handle
            with self._lock:
                if epoch != self.epoch:
                    return
                handle = loop.call_later(max(delay_ms, 0) / 1000, fire)
                self._handles[handle] = fire

        handle: asyncio.TimerHandle | None = None
        if _running_in(loop):
            arm()
        else:
            loop.call_soon_threadsafe(arm)

    def fire_all(self) -> int:
        """Run every pending timer now, oldest deadline first (on the loop thread): lets a test
        say "the delay is over" without waiting on the wall clock."""
        with self._lock:
            due = sorted(self._handles.items(), key=lambda item: item[0].when())
            for handle, fire in due:
                handle.cancel()
                fire()
            return len(due)

    def cancel_all(self) -> None:
        """A new epoch: every pending timer is cancelled and, if already due, does nothing."""
        with self._lock:
            self.epoch += 1
            self.pending = 0
            for handle in self._handles:
                handle.cancel()
            self._handles.clear()


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
