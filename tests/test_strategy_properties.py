"""Property tests: the strategy's invariants over random price paths, signals and fill outcomes.

Each example drives one HedgeStrategy over random 5m bars (random signal and
close) with a daily close every ``DAY_BARS`` bars at the same timestamp as a 5m
bar (daily first [G4]), random exit thresholds and entry mode. Orders go into a
FIFO queue, as orders on an exchange resolve in the order they were sent; at
each step a random number of them resolve, each fully filled, partly filled, or
not at all (rejected / given up). After every step:

- at most one position per side: never a second open order on a side, and
  (while every close filled completely) never more than one CALL_SIZE held;
- a hedge (R3/R5) is only opened while a main is open on the other side, with
  the main's quantity [R6]; R2 opens only on the regime's main side;
- positions (qty, entry price, entry time) change only through fills;
- the state saved with StateStore and loaded back equals the state in memory [P].
"""
from __future__ import annotations

import copy

import hypothesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.model import Action, BarClose, Fill, OrderIntent, Regime, Side, Signal
from core.params import ExitParams, SignalParams, StrategyParams
from core.state import QTY_EPSILON, StateStore
from core.strategy import HedgeStrategy, SideStatus
from tests.strategy_helpers import CALL_SIZE, SYMBOL, bar_time

DAY_BARS = 12
SIGNALS = st.sampled_from([Signal.UP, Signal.DOWN, Signal.NONE])
OUTCOMES = st.sampled_from(["fill", "fill", "fill", "partial", "drop"])

params_strategy = st.builds(
    lambda entry, tp, hold, trail, act: StrategyParams(
        signal=SignalParams(entry=entry),
        exit=ExitParams(take_profit_pct=tp, max_hold_bars=hold, trailing_pct=trail, trailing_activation_pct=act),
    ),
    st.sampled_from(["level", "cross"]),
    st.sampled_from([0.2, 0.5, 1.0]),
    st.sampled_from([2, 5, 24]),
    st.sampled_from([0.1, 0.3, 0.5]),
    st.sampled_from([0.0, 0.2, 0.5]),
)


def held(strategy: HedgeStrategy) -> dict[Side, tuple[float, float, int]]:
    """What only fills may change: (qty, entry price, entry time) per side."""
    return {side: (p.qty, p.entry_price, p.entry_time) for side, p in strategy.state.positions.items()}


class Run:
    """One example: the strategy, its order queue, and the invariant checks."""

    def __init__(self, params: StrategyParams, store: StateStore):
        self.strategy = HedgeStrategy(SYMBOL, params, CALL_SIZE)
        self.store = store
        self.queue: list[OrderIntent] = []
        self.closes_complete = True  # every close so far filled in full

    def decide(self, event, *args) -> list[OrderIntent]:
        """Call a strategy event; check each intent against the state it was decided in."""
        before = held(self.strategy)
        status = {side: self.strategy.status(side) for side in Side}
        opens_in_flight = {side for side in Side
                           if any(o.side is side and o.action is Action.OPEN for o in self.strategy.state.pending.values())}
        intents = event(*args)
        assert held(self.strategy) == before, "a decision changed a position without a fill"
        regime = self.strategy.state.regime
        for intent in intents:
            if intent.action is Action.OPEN:
                assert intent.side not in opens_in_flight, "second open order on one side"
                assert status[intent.side] is SideStatus.FLAT
                opens_in_flight.add(intent.side)
                if intent.reason == "R2":
                    assert intent.side is regime.main_side and intent.qty == CALL_SIZE
                else:
                    assert intent.reason in ("R3", "R5")
                    main = intent.side.opposite
                    assert main is regime.main_side, "hedge opened on the main side"
                    assert status[main] is SideStatus.OPEN, "hedge opened without an open main"
                    assert intent.qty == min(self.strategy.position(main).qty, CALL_SIZE)  # [R6] capped
            else:
                assert status[intent.side] is SideStatus.OPEN, "close of a side that is not open"
                assert intent.qty == self.strategy.position(intent.side).qty
            hypothesis.event(f"{intent.action.value} {intent.reason}")
        self.queue += intents
        return intents

    def resolve(self, count: int, outcomes: list[str], price: float, at: int) -> None:
        """Resolve the ``count`` oldest orders: fill, partly fill or drop each."""
        for intent, outcome in zip(self.queue[:count], outcomes):
            if outcome != "drop":
                qty = intent.qty if outcome == "fill" else intent.qty * 0.5
                before = held(self.strategy)[intent.side]
                self.strategy.apply_fill(Fill(client_id=intent.client_id, symbol=SYMBOL, side=intent.side,
                                              action=intent.action, qty=qty, price=price, fee=0.0, time=at,
                                              reason=intent.reason, decision_time=intent.decision_time))
                self.check_fill_effect(intent, before, qty, price)
            if intent.action is Action.CLOSE and outcome != "fill":
                self.closes_complete = False
            before = held(self.strategy)
            assert self.strategy.finish_order(intent.client_id) is not None
            assert held(self.strategy) == before, "finish_order changed a position"
        del self.queue[:count]

    def check_fill_effect(self, intent: OrderIntent, before: tuple[float, float, int], qty: float,
                          price: float) -> None:
        after = held(self.strategy)[intent.side]
        if intent.action is Action.OPEN:
            assert after[0] == before[0] + qty
            if before[0] <= QTY_EPSILON:
                assert after[1:] == (price, intent.decision_time)
        else:
            assert after[0] == (before[0] - qty if before[0] - qty > QTY_EPSILON else 0.0)

    def check_state(self) -> None:
        positions = self.strategy.state.positions
        assert set(positions) == {Side.LONG, Side.SHORT}
        for position in positions.values():
            assert position.qty >= 0.0
            if self.closes_complete:
                assert position.qty <= CALL_SIZE + 1e-9, "more than one position on a side"
        self.store.save(self.strategy.state)
        assert self.store.load(SYMBOL) == self.strategy.state


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), params=params_strategy, n_bars=st.integers(1, 60))
def test_properties_over_random_paths_signals_and_fills(tmp_path, data, params, n_bars):
    run = Run(params, StateStore(tmp_path))
    price = 0.2
    prev_signal = Signal.NONE
    for k in range(1, n_bars + 1):
        price *= 1.0 + data.draw(st.integers(-40, 40), label="bps") / 10_000.0
        at = bar_time(k)
        if k % DAY_BARS == 1:  # [G4] the daily close first, at the 5m bar's timestamp
            run.decide(run.strategy.on_daily_close, at, data.draw(SIGNALS, label="daily"))
        signal = data.draw(SIGNALS, label="signal")
        run.decide(run.strategy.on_bar_close, BarClose(at, price, signal, prev_signal))
        prev_signal = signal
        if data.draw(st.booleans(), label="repeat bar"):  # a repeated bar is ignored
            assert run.decide(run.strategy.on_bar_close, BarClose(at, price * 1.05, Signal.DOWN, signal)) == []
        count = data.draw(st.integers(0, len(run.queue)), label="resolve")
        outcomes = data.draw(st.lists(OUTCOMES, min_size=count, max_size=count), label="outcomes")
        run.resolve(count, outcomes, price, at)
        run.check_state()
    assert run.strategy.state.regime in (None, Regime.UP, Regime.DOWN)


def test_repeated_bar_decides_nothing():
    strategy = HedgeStrategy(SYMBOL, StrategyParams(), CALL_SIZE)
    strategy.on_daily_close(bar_time(0), Signal.UP)
    assert len(strategy.on_bar_close(BarClose(bar_time(1), 0.2, Signal.UP))) == 1
    snapshot = copy.deepcopy(strategy.state)
    assert strategy.on_bar_close(BarClose(bar_time(1), 0.3, Signal.DOWN)) == []
    assert strategy.state == snapshot
