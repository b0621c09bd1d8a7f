"""[B2, B6] A backtest equals a plain bar-by-bar replay of the same real candles through HedgeStrategy.

The replay below is written the way a live bot sees the market: at each bar it
computes the signal from the closes known so far (no whole-series shortcut),
tells the strategy about daily closes first [G4], and fills every intent at the
bar's close by handing a Fill straight to the strategy — no executor, no broker.
"""
from __future__ import annotations

import numpy as np
import pytest

from adapters.kline_files import load_symbol
from core import indicators
from core.backtest import BacktestConfig, run_backtest
from core.model import FIVE_MINUTES_MS, ONE_DAY_MS, BarClose, Fill
from core.params import SignalParams, StrategyParams
from core.strategy import HedgeStrategy
from core.trades import TradeRecord, trade_records
from tests.conftest import BUNDLED_DATA

SAMPLE = BUNDLED_DATA / "sample"
# 2022-11-05 .. 2022-11-12: a volatile week with daily regime changes.
WINDOW_START = 1_667_606_400_000
BARS = 2016


def replay(symbol: str, frame, daily, params: StrategyParams, call_size: float) -> list[TradeRecord]:
    strategy = HedgeStrategy(symbol, params, call_size)
    closes = frame["close"].to_numpy()
    open_times = frame["open_time"].to_numpy()
    day_closes = daily["open_time"].to_numpy() + ONE_DAY_MS
    day_prices = daily["close"].to_numpy()
    trades: list[Fill] = []
    next_day = 0
    previous = indicators.code_to_signal(0)
    for i in range(closes.size):
        close_time = int(open_times[i]) + FIVE_MINUTES_MS
        intents = []
        while next_day < day_closes.size and day_closes[next_day] <= close_time:
            signal = indicators.last_signal(day_prices[: next_day + 1], params.signal)
            intents += strategy.on_daily_close(int(day_closes[next_day]), signal)
            next_day += 1
        signal = indicators.last_signal(closes[: i + 1], params.signal)
        intents += strategy.on_bar_close(BarClose(close_time, float(closes[i]), signal, previous))
        previous = signal
        for intent in intents:
            fill = Fill(intent.client_id, symbol, intent.side, intent.action, intent.qty, float(closes[i]), 0.0,
                        close_time, intent.reason, intent.decision_time)
            strategy.apply_fill(fill)
            strategy.finish_order(intent.client_id)
            trades.append(fill)
    return trade_records(trades)  # with each close's realised PnL [B3]


@pytest.mark.parametrize("signal", [SignalParams(), SignalParams(entry="cross")], ids=["level", "cross"])
def test_b2_backtest_equals_bar_by_bar_replay_on_real_candles(signal):
    params = StrategyParams(signal=signal)
    five = load_symbol(SAMPLE, "DOGEUSDT", "5m").frame
    start = int(np.searchsorted(five["open_time"].to_numpy(), WINDOW_START))
    frame = five.iloc[start: start + BARS].reset_index(drop=True)
    daily = load_symbol(SAMPLE, "DOGEUSDT", "1d").frame
    expected = replay("DOGEUSDT", frame, daily, params, 100.0)
    config = BacktestConfig(fill="close", fee_pct=0.0, slippage_bps=0.0)
    result = run_backtest({"DOGEUSDT": frame}, params, {"DOGEUSDT": 100.0}, config, {"DOGEUSDT": daily})
    assert result.trades == expected
    reasons = {trade.reason for trade in expected}
    assert len(expected) > 100 and {"R1", "R2", "R3", "G3"} <= reasons  # the window exercises the rules
