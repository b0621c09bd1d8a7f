"""Issue 12 item 6, the replay runner's per-bar path: what was made cheaper still does the same."""
from __future__ import annotations

import copy
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from config.settings import load_settings
from core.strategy import exact_sum
from live.cockpit import preview_decision
from live.events import ProgressEvent
from live.assemble import build_service
from tests.conftest import BUNDLED_DATA

DAY_MS = 86_400_000
MARCH_1_2023 = 1_677_628_800_000


def _replay(tmp_path, listener, days: int = 2):
    return build_service(load_settings(), listener, mode="replay", replay_dir=BUNDLED_DATA / "sample", speed=0,
                         state_dir=tmp_path / "state", start_ms=MARCH_1_2023, end_ms=MARCH_1_2023 + days * DAY_MS)


quantities = st.one_of(st.integers(0, 10**9).map(float),  # whole numbers (the fast path)
                       st.decimals(0, 10**6, places=3).map(float),  # step multiples such as 0.001
                       st.floats(0, 1e12, allow_nan=False, allow_infinity=False))


@given(quantities, quantities)
def test_R6_exact_sum_is_the_decimal_sum_of_the_shortest_reprs(a, b):
    """The whole-number shortcut gives exactly what the decimal sum gives, and 0.1 + 0.7 is 0.8."""
    assert exact_sum(a, b) == float(Decimal(repr(a)) + Decimal(repr(b)))
    assert exact_sum(a, -a) == 0.0


def test_R6_exact_sum_of_steps_is_exact():
    assert exact_sum(0.1, 0.7) == 0.8 and exact_sum(100.0, 60.0) == 160.0 and exact_sum(2.0**53, 1.0) == 2.0**53 + 1


def test_a_preview_leaves_the_symbols_driver_exactly_as_it_was(tmp_path):
    """The cockpit's preview decides on a copy: the buffers, the incremental signal and the
    strategy's state of the real driver are untouched (the copy no longer walks every number)."""
    service = _replay(tmp_path, lambda event: None)
    service.run()
    for slot in service.slots.values():
        driver = slot.driver
        before = (list(driver.bars.times), list(driver.bars.closes), list(driver.days.times),
                  list(driver.days.closes), _signal_numbers(driver.bar_signal), copy.deepcopy(driver.strategy.state))
        for price in (slot.last_price * 0.9, slot.last_price * 1.1):  # an up and a down move
            preview_decision(driver, price, driver.bars.last_time + 300_000)
            preview_decision(driver, price, (driver.bars.last_time // DAY_MS + 1) * DAY_MS)  # a day's close
        after = (driver.bars.times, driver.bars.closes, driver.days.times, driver.days.closes,
                 _signal_numbers(driver.bar_signal), driver.strategy.state)
        assert after == before


def _signal_numbers(signal) -> str:
    """The incremental signal's numbers as text (NaN in a warm-up compares equal as text)."""
    parts = [signal.code, signal.prev_code] + [sorted(vars(line).items()) for line in (signal.rsi, signal.fast, signal.slow)
                                               if line is not None]
    return repr(parts)


def test_replay_progress_is_told_at_most_a_thousand_times_and_ends_at_the_total(tmp_path):
    events: list[ProgressEvent] = []
    service = _replay(tmp_path, lambda event: events.append(event) if isinstance(event, ProgressEvent) else None,
                      days=5)
    service.run()
    total = service.feed.total
    assert total > 1000 and events and all(event.total == total for event in events)
    done = [event.done for event in events]
    assert done == sorted(set(done)) and done[-1] == total
    assert all(later - earlier <= -(-total // 1000) for earlier, later in zip(done, done[1:]))
    assert len(events) <= 1000 + 1 < total  # not one event per candle
    feed = service.feed
    assert all(event.first_ms == feed.first_ms and event.last_ms == feed.last_ms for event in events)
    assert feed.last_ms - feed.first_ms == 5 * 86_400_000  # the 5 days replayed, for "day 3 of 5"
    clocks = [event.now_ms for event in events]
    assert clocks == sorted(clocks) and clocks[0] > feed.first_ms and clocks[-1] == feed.last_ms
