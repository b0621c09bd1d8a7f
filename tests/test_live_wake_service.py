"""The sleep watch inside the trading service [W1] (issue 19, item 4), on the in-process fake
exchange: the process clocks are injected and suspended by the test (no wall-clock threshold),
the market is stepped by the fake. On waking: exactly one "asleep" line, every symbol's
positions read from the exchange before the next decision, positions equal to the exchange's."""
from __future__ import annotations

import threading
from decimal import Decimal as D

from adapters.secrets import ApiCredentials
from config.settings import load_settings
from core.model import Side
from live.assemble import build_service
from live.events import LogEvent
from live.wake import WakeWatch
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET
from tests.test_runner_disconnect import _started, _wait, fake  # noqa: F401


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.mono = 1000.0
        self.lock = threading.Lock()

    def suspend(self, seconds: float) -> None:
        """The machine sleeps: the wall clock runs on, the monotonic clock (Linux) stops."""
        with self.lock:
            self.wall += seconds


def test_asleep_across_two_closes_one_line_reconciliation_first_positions_equal(fake, tmp_path):
    logs: list[LogEvent] = []
    service = build_service(
        load_settings(), lambda event: logs.append(event) if isinstance(event, LogEvent) else None,
        mode="testnet", credentials=ApiCredentials(TEST_API_KEY, TEST_API_SECRET), state_dir=tmp_path,
        base_url=fake.base_url, stream_url=fake.ws_url)
    clocks = Clocks()
    service.wake = WakeWatch(lambda: clocks.wall, lambda: clocks.mono, max_turn_s=30,
                             close_clock=lambda: service.ctx.clock() / 1000)
    order: list[tuple[str, str]] = []
    check, on_bar = service.reconciler.check_positions, service._on_bar  # noqa: SLF001

    def recording_check(slot, skip=None):  # noqa: ANN001
        order.append(("check", slot.symbol))
        return check(slot, skip)

    def recording_bar(slot, candle):  # noqa: ANN001
        order.append(("bar", slot.symbol))
        return on_bar(slot, candle)

    told: list = []
    tick = service.wake.tick

    def recording_tick():  # noqa: ANN202
        event = tick()
        if event is not None:
            told.append(event)
        return event

    service.wake.tick = recording_tick
    service.reconciler.check_positions = recording_check
    service._on_bar = recording_bar  # noqa: SLF001
    runner = threading.Thread(target=service.run)
    runner.start()
    try:
        _wait(lambda: _started(service))
        now = fake.step(candles=1)
        _wait(lambda: all(s.strategy.state.last_bar_close >= now for s in service.slots.values()))
        mark = len(order)
        clocks.suspend(1200)  # asleep across the next two closes
        _wait(lambda: told)  # the loop turned once: it noticed (the market moves while it sleeps)
        now = fake.step(candles=2)
        _wait(lambda: all(s.strategy.state.last_bar_close >= now for s in service.slots.values()))
        asleep = [event.message for event in logs if event.rule == "W1"]
        assert len(asleep) == 1 and asleep[0].startswith("[W1] asleep from "), asleep
        after = order[mark:]
        first_bar = next(k for k, item in enumerate(after) if item[0] == "bar")
        assert {symbol for kind, symbol in after[:first_bar] if kind == "check"} == set(service.slots), after
        assert service.guards is not None  # demo mode: the guard room is wired [E1]
        open_guards = service.guards.algo.open_guards()
        for symbol, slot in service.slots.items():
            exchange = service.broker.positions(symbol)
            for side in Side:
                assert D(repr(slot.strategy.state.positions[side].qty)) == exchange[side].qty
            held = [side for side in Side if exchange[side].qty > 0]
            mine = [guard for guard in open_guards if guard.symbol == symbol]
            if len(held) == 1:  # a main held alone has exactly its guard after the checks on waking
                assert [(guard.main, guard.kind) for guard in mine] == [(held[0], "hedge")], (symbol, mine)
            elif not held:
                assert mine == []
    finally:
        service.stop()
        runner.join(30)
    assert not runner.is_alive()
