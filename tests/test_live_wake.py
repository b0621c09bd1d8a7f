"""Sleep, wake and clock [issue 19, item 4]: pure detection with hand-driven clocks."""
from __future__ import annotations

from live.wake import (ES_CONTINUOUS, ES_SYSTEM_REQUIRED, Asleep, ClockOffset, KeepAwake, WakeWatch, clock_offset,
                       measure_clock_offset)

T0 = 1_764_849_000.0  # 2025-12-04 11:50:00 UTC


class Clocks:
    def __init__(self) -> None:
        self.wall = T0
        self.mono = 1000.0

    def run(self, seconds: float) -> None:
        """The process runs: both clocks move."""
        self.wall += seconds
        self.mono += seconds

    def suspend(self, seconds: float) -> None:
        """The machine sleeps (Linux): the monotonic clock stops, the wall clock does not."""
        self.wall += seconds

    def watch(self, **kwargs: float) -> WakeWatch:
        return WakeWatch(lambda: self.wall, lambda: self.mono, **kwargs)


def test_a_running_loop_is_never_reported():
    clocks = Clocks()
    watch = clocks.watch(max_turn_s=30)
    for _ in range(500):
        clocks.run(1.0)
        assert watch.tick() is None
    clocks.run(29.9)  # the slowest turn still allowed
    assert watch.tick() is None


def test_a_frozen_process_sigstop_is_asleep_from_the_last_turn_to_now():
    clocks = Clocks()
    watch = clocks.watch(max_turn_s=30)
    clocks.run(1)
    assert watch.tick() is None
    clocks.run(70)  # stopped 70 s: both clocks moved, the loop did not turn
    event = watch.tick()
    assert event == Asleep(int((T0 + 1) * 1000), int((T0 + 71) * 1000), "paused")
    assert event.seconds == 70
    assert event.sentence().startswith("[W1] asleep from 2025-12-04 11:50:01 UTC to 2025-12-04 11:51:11 UTC (70 s)")
    clocks.run(1)
    assert watch.tick() is None  # told once


def test_a_suspended_machine_wall_clock_ahead_of_the_stopped_monotonic_clock_is_asleep():
    clocks = Clocks()
    watch = clocks.watch(max_turn_s=30)
    clocks.run(1)
    watch.tick()
    clocks.suspend(3600)
    clocks.run(0.5)
    event = watch.tick()
    assert event is not None and event.cause == "paused" and event.seconds == 3600.5


def test_a_wall_clock_set_back_while_running_is_a_clock_jump_not_a_sleep():
    clocks = Clocks()
    watch = clocks.watch(max_turn_s=30)
    clocks.run(1)
    watch.tick()
    clocks.run(1)
    clocks.wall -= 120  # NTP or the user set the clock back
    event = watch.tick()
    assert event is not None and event.cause == "clock jump" and event.seconds == -119
    assert "clock jumped" in event.sentence()


def test_closes_arriving_late_are_told_once_and_not_again_inside_a_told_sleep():
    clocks = Clocks()
    watch = clocks.watch(max_turn_s=30, late_close_s=90)
    close = int(T0 * 1000)
    clocks.run(2)
    assert watch.on_close(close) is None  # 2 s after its close: on time
    clocks.run(300)
    assert watch.on_close(close + 300_000) is None  # the next close, on time again
    # the feed stalls: the next two closes arrive 10 minutes late
    clocks.run(600)
    late = watch.on_close(close + 600_000)
    assert late == Asleep(close + 600_000, int(clocks.wall * 1000), "late closes")
    assert watch.on_close(close + 900_000) is None  # inside the event already told


def test_after_a_sleep_the_backlog_of_closes_makes_no_second_event():
    clocks = Clocks()
    watch = clocks.watch(max_turn_s=30, late_close_s=90)
    clocks.run(1)
    watch.tick()
    slept_from = clocks.wall
    clocks.run(1200)  # frozen across four closes
    assert watch.tick() is not None
    for k in range(1, 5):  # the backlog arrives now, each close long after its time
        assert watch.on_close(int((slept_from + k * 300) * 1000)) is None


def test_keep_awake_asks_windows_and_gives_it_back_and_is_a_no_op_elsewhere():
    class Kernel32:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def SetThreadExecutionState(self, flags: int) -> int:  # noqa: N802 - the Windows name
            self.calls.append(flags)
            return 0x80000000

    kernel = Kernel32()
    with KeepAwake("win32", kernel) as awake:
        assert awake.active
    assert kernel.calls == [ES_CONTINUOUS | ES_SYSTEM_REQUIRED, ES_CONTINUOUS]
    other = KeepAwake("linux", kernel)
    assert other.start() is False and not other.active
    other.stop()
    assert len(kernel.calls) == 2


def test_clock_offset_is_the_server_time_against_the_middle_of_the_round_trip():
    offset = clock_offset(server_time_ms=1_000_150, sent_ms=1_000_000, received_ms=1_000_040)
    assert offset == ClockOffset(130, 40, 1_000_040)
    assert offset.text() == "clock +130 ms vs Binance (±20 ms)"
    assert clock_offset(999_000, 1_000_000, 1_000_000).text() == "clock -1000 ms vs Binance (±1 ms)"
    walls = iter([1000.0, 1000.05])
    measured = measure_clock_offset(lambda: 1_000_500, lambda: next(walls))
    assert measured.offset_ms == 475 and measured.round_trip_ms == 50


def test_closes_of_a_market_whose_times_are_not_todays_are_late_only_against_their_usual_delay():
    """The fake exchange's stepped market (and a replay) closes years before the wall clock: a
    close is late against the smallest delay seen, not against its age."""
    clocks = Clocks()
    watch = clocks.watch(max_turn_s=30, late_close_s=90)
    years = 3 * 365 * 86_400_000
    close = int(T0 * 1000) - years
    clocks.run(1)
    assert watch.on_close(close) is None  # old, but this market's usual delay
    for k in range(1, 4):  # stepped faster than real time: no close is late
        clocks.run(2)
        assert watch.on_close(close + k * 300_000) is None
    clocks.run(600)  # then nothing arrives for 10 minutes: the next close is late by that much
    late = watch.on_close(close + 4 * 300_000)
    assert late is not None and late.cause == "late closes"


def test_a_close_older_than_one_already_taken_is_a_back_fill_not_a_late_close():
    """After a reconnect the feed back-fills missed closes over REST, and they can come after a newer
    close the stream already gave (seen in tools.chaos after a restart: "[W1] behind from 2022-12-01
    to 2026-12-04"); the same close also arrives once per symbol. Neither says the process was late."""
    clocks = Clocks()
    watch = clocks.watch(max_turn_s=30, late_close_s=90)
    years = 3 * 365 * 86_400_000
    close = int(T0 * 1000) - years
    clocks.run(1)
    assert watch.on_close(close + 600_000) is None  # the stream's newest close first
    assert watch.on_close(close + 600_000) is None  # the other symbol's same close
    assert watch.on_close(close) is None  # then the back-fill of two closes before it
    assert watch.on_close(close + 300_000) is None
    clocks.run(300)
    assert watch.on_close(close + 900_000) is None  # on time against the usual delay
    clocks.run(900)  # a real stall is still told
    late = watch.on_close(close + 1_200_000)
    assert late is not None and late.cause == "late closes"
