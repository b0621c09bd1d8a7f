"""[C1-C3] in the strategy itself, bar by bar with the orders written out (issue 19, item 7).

A LONG main of 130 for a CALL_SIZE of 100, 30 of it kept unmanaged by the trader [C3]: the rules
see 100. Prices are hand-made; each bar's expected orders are written out.
"""
from __future__ import annotations

from core.model import Action, BarClose, Fill, Regime, Side, Signal
from core.params import StrategyParams
from core.state import PositionState, SymbolState
from core.strategy import HedgeStrategy

SYMBOL = "DOGEUSDT"
FIVE = 300_000


def strategy(long_qty: float, unmanaged_long: float = 0.0, short_qty: float = 0.0) -> HedgeStrategy:
    state = SymbolState(SYMBOL, regime=Regime.UP, unmanaged_long=unmanaged_long)
    state.positions[Side.LONG] = PositionState(long_qty, 1.00, FIVE, 1.00)
    if short_qty:
        state.positions[Side.SHORT] = PositionState(short_qty, 1.00, 2 * FIVE, 1.00)
    return HedgeStrategy(SYMBOL, StrategyParams(), 100.0, state)


def orders(intents) -> list[tuple[str, str, float, str]]:  # noqa: ANN001
    return [(i.side.value, i.action.value, i.qty, i.reason) for i in intents]


def fill(s: HedgeStrategy, intent, price: float) -> None:  # noqa: ANN001
    s.apply_fill(Fill(intent.client_id, SYMBOL, intent.side, intent.action, intent.qty, price, 0.0,
                      intent.decision_time, intent.reason, intent.decision_time))
    s.finish_order(intent.client_id)


def test_C3_kept_excess_unmanaged_the_rules_hedge_and_close_call_size_only_and_a_new_main_starts_its_own_hold():
    s = strategy(130, unmanaged_long=30)
    assert s.managed(Side.LONG) == 100
    # bar 1: close 0.98 (the main loses), adverse signal: [R3] hedges CALL_SIZE (100), not 130
    [hedge] = s.on_bar_close(BarClose(10 * FIVE, 0.98, Signal.DOWN, Signal.NONE))
    assert orders([hedge]) == [("SHORT", "OPEN", 100.0, "R3")]
    fill(s, hedge, 0.98)
    # bar 2: close 1.001 (below every exit level), favourable signal: [R1] drops the hedge
    [drop] = s.on_bar_close(BarClose(11 * FIVE, 1.001, Signal.UP, Signal.DOWN))
    assert orders([drop]) == [("SHORT", "CLOSE", 100.0, "R1")]
    fill(s, drop, 1.001)
    # bar 3: close 1.002 (the main in profit), adverse signal: [R3] closes the managed 100, the 30 stay
    [close] = s.on_bar_close(BarClose(12 * FIVE, 1.002, Signal.DOWN, Signal.UP))
    assert orders([close]) == [("LONG", "CLOSE", 100.0, "R3")]
    fill(s, close, 1.002)
    assert s.state.positions[Side.LONG].qty == 30 and s.managed(Side.LONG) == 0
    # bar 4: favourable signal, no managed main: [R2] opens 100 beside the kept 30
    [entry] = s.on_bar_close(BarClose(13 * FIVE, 1.01, Signal.UP, Signal.DOWN))
    assert orders([entry]) == [("LONG", "OPEN", 100.0, "R2")]
    fill(s, entry, 1.01)
    position = s.state.positions[Side.LONG]
    assert (position.qty, position.entry_time, position.best_price) == (130, 13 * FIVE, 1.01), "its own hold [X2, X3]"


def test_C1_and_C2_corrections_close_the_own_excess_and_the_orphan_hedge():
    own = strategy(200)
    assert orders(own.decide_corrections(20 * FIVE, own_excess=True, main_gone=False)) == \
        [("LONG", "CLOSE", 100.0, "C1")]
    kept = strategy(200, unmanaged_long=30)  # the kept 30 is not the bot's excess
    assert orders(kept.decide_corrections(20 * FIVE, own_excess=True, main_gone=False)) == \
        [("LONG", "CLOSE", 70.0, "C1")]
    orphan = strategy(0, short_qty=100)  # regime UP: the LONG main is gone, the SHORT hedge stays
    assert orders(orphan.decide_corrections(20 * FIVE, own_excess=False, main_gone=True)) == \
        [("SHORT", "CLOSE", 100.0, "C2")]
    assert strategy(100, short_qty=100).decide_corrections(20 * FIVE, False, True) == [], "the main is held"
    assert strategy(100).decide_corrections(20 * FIVE, True, False) == [], "nothing above CALL_SIZE"
