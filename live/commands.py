"""The user's commands: pause, resume, flatten, CALL_SIZE, the answer to [C3].

Commands come from other threads (the window's buttons, a signal handler) and are queued;
the service's loop runs them between two candles (:meth:`CommandRoom.drain`), so a command
never runs in the middle of a decision. Owns no trading rule of its own: flatten closes with
reason 'manual' through live/orders.py (so [O2]-[O5] apply to it as to any order), a pause
blocks new entries and hedges only (exits keep running), and a CALL_SIZE change applies to
the next order (the invariant "never above CALL_SIZE" reads it there).
"""
from __future__ import annotations

from collections import deque
from typing import Callable

from live.context import ServiceContext, SymbolSlot
from live.events import SymbolRunState
from live.orders import OrderRoom


class CommandRoom:
    """Queues the user's commands (thread-safe) and runs them on the service's thread."""

    def __init__(self, ctx: ServiceContext, orders: OrderRoom):
        self.ctx = ctx
        self.orders = orders
        # A deque's append and popleft are atomic in CPython, and an empty one is seen without
        # a lock on every loop turn.
        self._commands: deque[Callable[[], None]] = deque()
        self.excess = None  # live/excess.py's room, which answers [C3] (set by its install)

    # ----- thread-safe entry points -------------------------------------------------------

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

    def answer_excess(self, symbol: str, side: str, keep: bool) -> None:
        """[C3] The trader's answer to a side found above CALL_SIZE not by the bot's hand: keep the
        excess (left unmanaged) or close it."""
        self._commands.append(lambda: self.excess.answer(symbol, side, keep) if self.excess is not None else None)

    # ----- on the service's thread ----------------------------------------------------------

    def drain(self) -> None:
        while self._commands:
            command = self._commands.popleft()
            try:
                command()
            except OSError as exc:  # a pause, resume or size change that cannot be saved
                self.ctx.pause_unwritable(exc)

    def _targets(self, symbol: str | None) -> list[SymbolSlot]:
        return [slot for name, slot in self.ctx.slots.items() if slot.driver is not None and symbol in (None, name)]

    def _set_paused(self, symbol: str | None, paused: bool) -> None:
        for slot in self._targets(symbol):
            if slot.run_state is SymbolRunState.ERROR and not paused:
                slot.detail = ""
            slot.strategy.opens_allowed = not paused
            slot.run_state = SymbolRunState.PAUSED if paused else SymbolRunState.RUNNING
            slot.detail = "paused by the user: no new entries or hedges" if paused else ""
            slot.strategy.state.pause_reason = slot.detail
            self.ctx.save(slot)
            self.ctx.log("INFO", slot.symbol, f"{slot.symbol} {'paused' if paused else 'resumed'} by the user")
            self.ctx.emit_status(slot)

    def _flatten(self, symbol: str | None) -> None:
        for slot in self._targets(symbol):
            at = max(slot.last_time, slot.strategy.state.last_bar_close)
            intents = slot.strategy.close_all("manual", at)
            if not intents:
                self.ctx.log("INFO", slot.symbol, f"{slot.symbol}: flatten requested, no open position")
            self.ctx.guard(slot.symbol, lambda s=slot, i=intents: self.orders.execute(s, i, s.last_price or 0.0, at))
            self.ctx.emit_status(slot)

    def _set_call_size(self, symbol: str, qty: float) -> None:
        self.ctx.call_sizes[symbol] = qty
        slot = self.ctx.slots.get(symbol)
        if slot is not None and slot.driver is not None:
            slot.strategy.call_size = qty
            self.ctx.emit_status(slot)
        self.ctx.log("INFO", symbol, f"{symbol}: CALL_SIZE set to {qty:g} (applies to the next order)")
