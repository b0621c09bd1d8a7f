"""core.backtest on hand-made series: the trade list is SPEC's [B6], fills per [B1, B4], PnL by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.backtest import BacktestConfig, BacktestInputError, resample_daily, run_backtest
from core.model import ONE_DAY_MS
from core.params import StrategyParams, SignalParams
from core.trades import iso_utc
from tests.backtest_helpers import SCENARIO_A_CLOSES, SIZE, SYMBOL, T0, candles, close_time, daily

PARAMS = StrategyParams()
REGIME_UP = daily([1, 2, 3])  # RSI(2) of 1, 2, 3 is 100: up, closing at T0 -> regime UP [G2]


def run(closes_frame, config, daily_frame=REGIME_UP, params=PARAMS, size=SIZE):
    return run_backtest({SYMBOL: closes_frame}, params, {SYMBOL: size}, config, {SYMBOL: daily_frame})


def rows(result, first_open=T0):
    """(bar, side, action, qty, price, reason) per trade, bar counted from ``first_open``."""
    bar_of = {iso_utc(close_time(first_open, k)): k for k in range(400)}
    return [(bar_of[t.time], t.side, t.action, float(t.qty), float(t.price), t.reason) for t in result.trades]


ZERO_COST_CLOSE = BacktestConfig(fill="close", fee_pct=0.0, slippage_bps=0.0, initial_capital=1000.0)


def test_b6_close_fill_trade_list_is_specs_rules_r1_r2_r3_r5_x1():
    result = run(candles(SCENARIO_A_CLOSES), ZERO_COST_CLOSE)
    assert rows(result) == [
        (2, "LONG", "OPEN", 10.0, 102.0, "R2"),     # up, no main
        (3, "SHORT", "OPEN", 10.0, 101.0, "R5"),    # none, main losing, no hedge
        (5, "SHORT", "CLOSE", 10.0, 103.0, "R1"),   # up: drop the hedge
        (6, "LONG", "CLOSE", 10.0, 104.5, "X1"),    # +2.45 % >= 1 % take profit
        (7, "LONG", "OPEN", 10.0, 104.0, "R2"),     # up, no main
        (8, "SHORT", "OPEN", 10.0, 103.0, "R3"),    # down, main losing
        (10, "SHORT", "CLOSE", 10.0, 105.0, "R1"),  # up: drop the hedge; main stays open
    ]
    # [B4] the main still open at the end is marked at the last close (105), not closed.
    # Realised: long +25, short -20, short -20; open long (105 - 104) x 10 = +10.
    assert result.total.net_pnl == pytest.approx(-5.0, abs=1e-9)
    assert result.summaries[SYMBOL].open_positions == {"DOGEUSDT LONG": 10.0}
    expected_equity = [1000, 1000, 1000, 990, 990, 990, 1005, 1005, 995, 995, 995]
    np.testing.assert_allclose(result.equity[SYMBOL].equity, expected_equity, atol=1e-9)
    np.testing.assert_allclose(result.combined.equity, expected_equity, atol=1e-9)
    summary = result.total
    assert (summary.trades, summary.wins, summary.hedges_opened, summary.fills) == (3, 1, 2, 7)
    assert summary.max_drawdown == pytest.approx(10.0)  # 1000 -> 990 and 1005 -> 995
    assert summary.max_drawdown_pct == pytest.approx(1.0)  # 10 below the 1000 peak (10/1005 is smaller)
    assert summary.time_in_market_pct == pytest.approx(8 / 11 * 100)  # held at bars 2-5 and 7-10; flat after bar 6
    assert summary.fees == 0.0


def test_b1_fees_and_slippage_at_close_hand_computed():
    config = BacktestConfig(fill="close", fee_pct=0.1, slippage_bps=10.0)
    result = run(candles(SCENARIO_A_CLOSES), config)
    up, down = 1.001, 0.999  # 10 bps against the trader: buys up, sells down
    prices = [102 * up, 101 * down, 103 * up, 104.5 * down, 104 * up, 103 * down, 105 * up]
    assert [r[4] for r in rows(result)] == pytest.approx(prices)
    assert [r[5] for r in rows(result)] == ["R2", "R5", "R1", "X1", "R2", "R3", "R1"]
    fees = 0.001 * 10 * sum(prices)
    gross = ((104.5 * down - 102 * up) * 10      # long 1
             + (101 * down - 103 * up) * 10      # short 1
             + (103 * down - 105 * up) * 10      # short 2
             + (105 - 104 * up) * 10)            # long 2, open, marked at 105
    assert result.total.fees == pytest.approx(fees)
    assert [float(t.fee) for t in result.trades] == pytest.approx([0.001 * 10 * p for p in prices])
    assert result.total.net_pnl == pytest.approx(gross - fees)
    assert result.equity[SYMBOL].equity[-1] == pytest.approx(1000 + gross - fees)


def test_b1_b4_next_open_fills_at_next_open_and_last_bar_orders_are_dropped():
    opens = [99.8] + [c + 0.2 for c in SCENARIO_A_CLOSES[:-1]]  # every bar gaps 0.2 above the last close
    config = BacktestConfig(fill="next_open", fee_pct=0.0, slippage_bps=0.0)
    result = run(candles(SCENARIO_A_CLOSES, opens=opens), config)
    # Trade time is the decision bar [B3]; price the next bar's open.
    assert rows(result) == [
        (2, "LONG", "OPEN", 10.0, 102.2, "R2"),
        (3, "SHORT", "OPEN", 10.0, 101.2, "R5"),
        (5, "SHORT", "CLOSE", 10.0, 103.2, "R1"),
        (6, "LONG", "CLOSE", 10.0, 104.7, "X1"),
        (7, "LONG", "OPEN", 10.0, 104.2, "R2"),
        (8, "SHORT", "OPEN", 10.0, 103.2, "R3"),
        # bar 10 decides R1 (close the short) but there is no next open: dropped [B4].
    ]
    # long 1: +25, short 1: -20; open long (105 - 104.2) x 10 = +8; open short (103.2 - 105) x 10 = -18.
    assert result.total.net_pnl == pytest.approx(-5.0)
    assert result.total.open_positions == {"DOGEUSDT LONG": 10.0, "DOGEUSDT SHORT": 10.0}
    # Between decision and fill the position is not yet held: at bar 2's close equity is untouched,
    # at bar 3's close the long bought at 102.2 is worth 101.
    np.testing.assert_allclose(result.equity[SYMBOL].equity[2:4], [1000.0, 1000 + (101 - 102.2) * 10])


def test_g3_g4_daily_close_first_flips_regime_and_closes_the_new_hedge_side():
    # Daily closes 1, 2, 3 (UP) then 1 (DOWN) closing at T0 + 1 day; bar 4 closes at that same time.
    first_open = T0 + ONE_DAY_MS - 5 * 5 * 60_000
    days = daily([1, 2, 3, 1], last_close_time=T0 + ONE_DAY_MS)
    result = run(candles([100, 101, 102, 103, 104, 103, 102, 101], first_open), ZERO_COST_CLOSE, days)
    assert rows(result, first_open) == [
        (2, "LONG", "OPEN", 10.0, 102.0, "R2"),
        (4, "LONG", "CLOSE", 10.0, 104.0, "G3"),   # regime -> DOWN: the call is now the hedge side
        (6, "SHORT", "OPEN", 10.0, 102.0, "R2"),   # DOWN mirror: a down bar opens the put main
    ]
    assert result.total.net_pnl == pytest.approx(20.0 + 10.0)  # long +2 x 10; open short (102 - 101) x 10


def test_b5_daily_resampled_from_5m_when_no_daily_file_gives_the_same_trades():
    # Two full days of 5m bars plus a few: daily candles resampled vs given must agree.
    rng = np.random.default_rng(7)
    closes = list(100 + np.cumsum(rng.normal(0, 0.3, 3 * 288 + 40)))
    frame = candles(closes, T0)
    given = resample_daily(frame)
    with_file = run(frame, ZERO_COST_CLOSE, given)
    resampled = run_backtest({SYMBOL: frame}, PARAMS, {SYMBOL: SIZE}, ZERO_COST_CLOSE)
    assert len(given) == 3  # the trailing partial day is not a closed candle
    assert with_file.trades == resampled.trades
    assert len(resampled.trades) > 10


def test_start_end_bounds_trade_only_inside_and_warm_up_before():
    frame = candles(SCENARIO_A_CLOSES)
    start = T0 + 3 * 5 * 60_000  # bars 3.. only; bars 0-2 only warm up
    end = T0 + 9 * 5 * 60_000  # bars ..8
    result = run(frame, BacktestConfig(fill="close", fee_pct=0, slippage_bps=0, start_ms=start, end_ms=end))
    assert result.equity[SYMBOL].times[0] == close_time(T0, 3)
    assert result.equity[SYMBOL].times[-1] == close_time(T0, 8)
    # Bar 3's signal is none (RSI warmed up on bars 0-2), so the first entry is bar 5's up, at 103.
    assert rows(result) == [
        (5, "LONG", "OPEN", 10.0, 103.0, "R2"),
        (6, "LONG", "CLOSE", 10.0, 104.5, "X1"),  # +1.46 %
        (7, "LONG", "OPEN", 10.0, 104.0, "R2"),
        (8, "SHORT", "OPEN", 10.0, 103.0, "R3"),
    ]


def test_s3_macd_reference_warns_identically_zero():
    params = StrategyParams(signal=SignalParams(reference="macd"))
    result = run(candles(SCENARIO_A_CLOSES), ZERO_COST_CLOSE, params=params)
    assert any(w.startswith("[S3]") for w in result.warnings)
    assert not any(w.startswith("[S3]") for w in run(candles(SCENARIO_A_CLOSES), ZERO_COST_CLOSE).warnings)


def test_funding_longs_pay_positive_rate_on_the_held_position():
    frame = candles(SCENARIO_A_CLOSES)
    # Funding is charged on what is held when it falls due, before that bar's decisions.
    # Bar 4: long 10 and short 10 open -> net 0, nothing paid. Bar 6: only the long (the short
    # closed at bar 5) -> pays 0.001 x 10 x 104.5. Bar 7: the long closed at bar 6 -> flat, nothing.
    funding = {SYMBOL: pd.DataFrame({"funding_time": [close_time(T0, 4), close_time(T0, 6), close_time(T0, 7)],
                                     "funding_rate": [0.001, 0.001, 0.001]})}
    config = BacktestConfig(fill="close", fee_pct=0, slippage_bps=0, funding=funding)
    result = run(frame, config)
    assert result.total.funding == pytest.approx(0.001 * 10 * 104.5)
    assert result.total.net_pnl == pytest.approx(-5.0 - 0.001 * 10 * 104.5)
    assert result.funding_modelled


def test_empty_range_and_missing_call_size_are_user_errors():
    frame = candles(SCENARIO_A_CLOSES)
    with pytest.raises(BacktestInputError, match="no 5m candles in the chosen date range"):
        run(frame, BacktestConfig(fill="close", start_ms=T0 + 10 * ONE_DAY_MS))
    with pytest.raises(BacktestInputError, match="call_size"):
        run_backtest({SYMBOL: frame}, PARAMS, {}, ZERO_COST_CLOSE)
    with pytest.raises(BacktestInputError, match="fill model"):
        BacktestConfig(fill="later")


def test_g2_no_daily_signal_means_no_trades_and_a_warning():
    result = run(candles(SCENARIO_A_CLOSES), ZERO_COST_CLOSE, daily_frame=daily([1, 2]))  # RSI(2) still warming up
    assert result.trades == []
    assert any(w.startswith("[G2] DOGEUSDT") for w in result.warnings)
