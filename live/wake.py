"""Sleep, wake and clock: notice when the process did not run, keep the PC awake, show the offset.

A home PC sleeps, hibernates, or the process is frozen (a debugger, SIGSTOP, a hung VM).
When it runs again, candles have closed that nobody acted on and the exchange may have
moved positions (a guard triggered, a liquidation). The service must then say so once
("asleep from … to …"), reconcile with the exchange before any decision, and act as after
a restart. This module decides *that* it happened, from numbers only:

- :class:`WakeWatch` is called on every turn of the service loop (``tick``) and on every
  closed candle (``on_close``). It compares the wall clock with the monotonic clock and the
  time between turns with the longest turn expected, and a candle's close time with the
  moment it arrived. Clocks are injected: tests drive them by hand.
- :class:`KeepAwake` asks Windows not to sleep while trading
  (``SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)``), a no-op elsewhere.
- :func:`clock_offset` is the offset of this computer's clock to Binance's server time,
  as a figure the heartbeat shows.

Why both clocks: on Linux the monotonic clock stops while the machine is suspended, so the
wall clock runs ahead of it; on Windows (Python 3.11, GetTickCount64) it keeps counting
through sleep, and a frozen process (SIGSTOP) sees both clocks move together. So a gap is
"the loop did not turn for longer than it can": the larger of the two clocks' steps against
``max_turn_s``; a wall clock that moved *back* is told apart (the clock was set, not slept).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

ES_CONTINUOUS = 0x80000000
ES_SYSTEM_REQUIRED = 0x00000001


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Asleep:
    """The process did not run from ``start_ms`` to ``end_ms`` (wall clock, ms UTC).

    ``cause``: ``"paused"`` (the loop did not turn: sleep, hibernation or a frozen process),
    ``"late closes"`` (candles arrived long after they closed: the feed or the process
    stalled) or ``"clock jump"`` (the wall clock was set back or forward while running)."""

    start_ms: int
    end_ms: int
    cause: str

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000

    def sentence(self) -> str:
        """The one log line and alert."""
        if self.cause == "clock jump":
            return (f"[W1] this computer's clock jumped from {_utc(self.start_ms)} to {_utc(self.end_ms)} "
                    f"({self.seconds:+.0f} s); positions are read from the exchange before any decision")
        what = "asleep" if self.cause == "paused" else "behind (candles arrived late)"
        return (f"[W1] {what} from {_utc(self.start_ms)} to {_utc(self.end_ms)} ({self.seconds:.0f} s); "
                "positions are read from the exchange before any decision, then trading goes on as after a restart")


class WakeWatch:
    """Detects the gaps in the service's life. Not thread-safe: the service thread owns it.

    ``max_turn_s``: the longest the loop can take between two ``tick`` calls when the process
    runs (its longest wait plus its slowest step). ``late_close_s``: how long after its close a
    candle may arrive before it counts as late (the stream usually delivers within a second;
    REST back-fill after a reconnect within a few).
    """

    def __init__(self, wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 max_turn_s: float = 30.0, late_close_s: float = 90.0, close_clock: Callable[[], float] | None = None):
        """``close_clock``: the clock closes are measured against (seconds; default ``wall``). A
        close counts as late against the *usual* delay, the smallest seen so far: on Binance about
        0, and a market whose close times are not today's (a replay, the fake exchange's stepped
        market) is not late merely for being old."""
        self._wall = wall
        self._monotonic = monotonic
        self._close_clock = close_clock or wall
        self.max_turn_s = max_turn_s
        self.late_close_s = late_close_s
        self.usual_delay_ms: int | None = None
        self._last_wall = wall()
        self._last_mono = monotonic()
        self._covered_until_ms = 0  # closes inside an event already told do not make another
        self._newest_close_ms = 0  # closes not newer than this one (back-fills, another symbol's) say nothing

    def tick(self) -> Asleep | None:
        """Call on every turn of the loop; an :class:`Asleep` when the time since the last turn
        says the process did not run (or the wall clock was set)."""
        wall, mono = self._wall(), self._monotonic()
        wall_step, mono_step = wall - self._last_wall, mono - self._last_mono
        start_ms, end_ms = int(self._last_wall * 1000), int(wall * 1000)
        self._last_wall, self._last_mono = wall, mono
        if max(wall_step, mono_step) > self.max_turn_s and wall_step >= mono_step - self.max_turn_s:
            # the loop did not turn: suspended (wall ran ahead of a stopped monotonic clock) or
            # frozen (both ran). Told as a pause from the last turn to now.
            return self._told(Asleep(start_ms, end_ms, "paused"))
        if abs(wall_step - mono_step) > self.max_turn_s:
            return self._told(Asleep(start_ms, end_ms, "clock jump"))
        return None

    def on_close(self, close_time_ms: int) -> Asleep | None:
        """Call when a closed candle is taken; an :class:`Asleep` when it arrived more than
        ``late_close_s`` after its close and no event told already covers that time."""
        if close_time_ms <= self._newest_close_ms:
            # A close older than one already taken (a REST back-fill after a reconnect delivers the
            # missed closes after the newest one; the same close of another symbol): its age is
            # the market's past, not this process's lateness.
            return None
        self._newest_close_ms = close_time_ms
        now_ms = int(self._close_clock() * 1000)
        delay = now_ms - close_time_ms
        usual = delay if self.usual_delay_ms is None else min(self.usual_delay_ms, delay)
        self.usual_delay_ms = usual
        if delay - max(0, usual) <= self.late_close_s * 1000 or close_time_ms <= self._covered_until_ms:
            return None
        return self._told(Asleep(close_time_ms, now_ms, "late closes"))

    def _told(self, event: Asleep) -> Asleep:
        self._covered_until_ms = max(self._covered_until_ms, event.end_ms)
        return event


class KeepAwake:
    """While trading, ask Windows not to put the machine to sleep; elsewhere nothing.

    ``SetThreadExecutionState`` is per thread: call :meth:`start` and :meth:`stop` on the
    thread that runs the service (the state ends with that thread in any case). The display
    may still turn off (ES_DISPLAY_REQUIRED is not asked). ``kernel32``: injected by tests.
    """

    def __init__(self, platform: str = sys.platform, kernel32: Any = None):
        self.platform = platform
        self._kernel32 = kernel32
        self.active = False

    def _api(self) -> Any:
        if self._kernel32 is None and self.platform == "win32":
            import ctypes
            self._kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        return self._kernel32

    def start(self) -> bool:
        """True when the OS was asked (and accepted)."""
        if self.platform != "win32":
            return False
        self.active = bool(self._api().SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED))
        return self.active

    def stop(self) -> None:
        if self.platform == "win32" and self.active:
            self._api().SetThreadExecutionState(ES_CONTINUOUS)
        self.active = False

    def __enter__(self) -> "KeepAwake":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class ClockOffset:
    """This computer's clock against Binance's: ``offset_ms`` > 0 means Binance is ahead."""

    offset_ms: int
    round_trip_ms: int
    measured_at_ms: int  # local wall clock

    def text(self) -> str:
        """For the heartbeat: ``clock +120 ms vs Binance (±15 ms)``."""
        return f"clock {self.offset_ms:+d} ms vs Binance (±{max(1, self.round_trip_ms // 2)} ms)"


def clock_offset(server_time_ms: int, sent_ms: float, received_ms: float) -> ClockOffset:
    """From one ``GET /fapi/v1/time``: the server's time against the middle of the round trip."""
    middle = (sent_ms + received_ms) / 2
    return ClockOffset(int(round(server_time_ms - middle)), int(round(received_ms - sent_ms)), int(received_ms))


def measure_clock_offset(server_time: Callable[[], int], wall: Callable[[], float] = time.time) -> ClockOffset:
    """Ask the exchange (``server_time`` returns its ms, e.g. ``adapter.client.futures_time()['serverTime']``)."""
    sent = wall() * 1000
    server = server_time()
    return clock_offset(server, sent, wall() * 1000)
