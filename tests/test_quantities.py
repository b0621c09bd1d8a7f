"""[R6, O3] Quantities from partial fills add up exactly, so hedges and closes match the exchange."""
from __future__ import annotations

from core.model import Action, BarClose, Fill, Side, Signal
from core.params import StrategyParams
from core.strategy import HedgeStrategy

FIVE_MIN = 300_000


def _fill(intent, qty: float, price: float, n: int) -> Fill:
    return Fill(intent.client_id, intent.symbol, intent.side, intent.action, qty, price, 0.0, intent.decision_time,
                intent.reason, intent.decision_time, order_id=f"{intent.client_id}-r{n}" if n else intent.client_id)


def test_R6_partial_fills_of_0_1_and_0_7_make_a_main_of_0_8_and_a_hedge_of_0_8():
    strategy = HedgeStrategy("BTCUSDT", StrategyParams(), call_size=0.8)
    strategy.on_daily_close(FIVE_MIN, Signal.UP)
    [open_main] = strategy.on_bar_close(BarClose(2 * FIVE_MIN, 100.0, Signal.UP))
    strategy.apply_fill(_fill(open_main, 0.1, 100.0, 0))
    strategy.apply_fill(_fill(open_main, 0.7, 100.0, 1))
    strategy.finish_order(open_main.client_id)
    assert strategy.position(Side.LONG).qty == 0.8

    [hedge] = strategy.on_bar_close(BarClose(3 * FIVE_MIN, 99.0, Signal.DOWN))  # [R3] losing main
    assert (hedge.side, hedge.action, hedge.qty, hedge.reason) == (Side.SHORT, Action.OPEN, 0.8, "R3")


def test_O3_closing_0_8_in_fills_of_0_7_and_0_1_leaves_nothing():
    strategy = HedgeStrategy("BTCUSDT", StrategyParams(), call_size=0.8)
    strategy.on_daily_close(FIVE_MIN, Signal.UP)
    [open_main] = strategy.on_bar_close(BarClose(2 * FIVE_MIN, 100.0, Signal.UP))
    strategy.apply_fill(_fill(open_main, 0.8, 100.0, 0))
    strategy.finish_order(open_main.client_id)
    [close] = strategy.close_all("manual", 3 * FIVE_MIN)
    strategy.apply_fill(_fill(close, 0.7, 101.0, 0))
    assert strategy.position(Side.LONG).qty == 0.1
    strategy.apply_fill(_fill(close, 0.1, 101.0, 1))
    assert not strategy.position(Side.LONG).is_open
