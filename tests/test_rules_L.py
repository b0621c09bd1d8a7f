"""[L1-L5] loss limits and protections, on hand-made candles, both regimes.

[L4], [L5] written out: main opened by R2 at E on bar 1; bar 2 has the adverse signal with
the main 1 % in profit, so R3 closes it; then favourable bars follow.

[L1], [L2]: the driver tells the strategy the account's equity marked at each close (capital
1000 USDT; CALL_SIZE 100 at E = 0.2 is 20 USDT of notional, so 1 % is 0.2 USDT), as the
backtest does; the last tests run both backtest engines on hand-made candles with fees.
[L3]: notional = quantity x the bar's close, both sides of the symbol counted.
"""
from __future__ import annotations

from dataclasses import replace
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from core import decide, indicators
from core.backtest import BacktestConfig, run_backtest
from core.model import FIVE_MINUTES_MS, ONE_DAY_MS, Action, Side
from core.params import ProtectParams, StrategyParams
from tests.strategy_helpers import (
    CALL_SIZE,
    Driver,
    Roles,
    bar_time,
    CLOSE,
    E,
    NO_EXITS,
    NONE as NONE_SIGNAL,
    OPEN,
    brief,
    favour,
    make_params,
    regime,  # noqa: F401  (fixture: UP and DOWN)
    with_main,
)


def _params(**protect):
    return replace(make_params(**NO_EXITS), protect=ProtectParams(**protect))


def _main_closed_on_bar_2(regime, params):
    driver, roles = with_main(regime, params)
    assert brief(driver.bar(2, favour(regime, E, 1.0), roles.adv)) == [(roles.main, CLOSE, CALL_SIZE, "R3")]
    return driver, roles


def test_L4_cooldown_blocks_R2_for_n_bars_after_a_main_close(regime):
    driver, roles = _main_closed_on_bar_2(regime, _params(cooldown_bars=3))
    assert driver.bar(3, E, roles.fav) == []          # 1 bar after the close
    assert driver.bar(4, E, roles.fav) == []          # 2 bars after
    assert brief(driver.bar(5, E, roles.fav)) == [(roles.main, OPEN, CALL_SIZE, "R2")]  # 3rd bar: allowed


def test_L4_off_reopens_on_the_next_bar(regime):
    driver, roles = _main_closed_on_bar_2(regime, _params())
    assert brief(driver.bar(3, E, roles.fav)) == [(roles.main, OPEN, CALL_SIZE, "R2")]


def test_L5_one_entry_per_day_blocks_the_second_R2(regime):
    driver, roles = _main_closed_on_bar_2(regime, _params(max_entries_per_day=1))
    assert driver.bar(3, E, roles.fav) == []
    assert driver.bar(4, E, roles.fav) == []
    assert driver.state.entries_today == 1


def test_L5_does_not_block_a_hedge_of_a_losing_main(regime):
    driver, roles = with_main(regime, _params(max_entries_per_day=1, cooldown_bars=50))
    assert brief(driver.bar(2, favour(regime, E, -1.0), roles.adv)) == [(roles.hedge, OPEN, CALL_SIZE, "R3")]



# ----- [L1] daily loss -------------------------------------------------------------------------------

NEXT_DAY = 288  # bar 288 closes at T0 + 1 day: the next UTC day


def _start(regime, params):
    """Bar 1: favourable signal at E, equity 1000 (the UTC day's first mark): R2 opens the main."""
    driver = Driver.create(params, regime=regime)
    roles = Roles.of(regime)
    assert brief(driver.bar(1, E, roles.fav, equity=1000.0)) == [(roles.main, OPEN, CALL_SIZE, "R2")]
    return driver, roles


def _lose_hedge_then_lock(driver, roles, regime):
    """Bar 2: main 3 % down (equity 999.4), adverse: hedged by R3. Bar 3: main 0.5 % up, adverse:
    R3 locks its profit; the hedge stays alone."""
    hedge = driver.bar(2, favour(regime, E, -3.0), roles.adv, equity=999.4)
    assert brief(hedge) == [(roles.hedge, OPEN, CALL_SIZE, "R3")]
    lock = driver.bar(3, favour(regime, E, 0.5), roles.adv, equity=999.5)
    assert brief(lock) == [(roles.main, CLOSE, CALL_SIZE, "R3")]


def test_L1_usdt_cap_with_stop_entries_keeps_hedging_but_opens_no_main_until_the_next_utc_day(regime):
    driver, roles = _start(regime, _params(max_daily_loss_usdt=0.5))
    _lose_hedge_then_lock(driver, roles, regime)  # the loss of 0.6 at bar 2 breached L1; the hedge still opened
    assert (driver.state.breach_day, driver.state.breach_rule) == (decide.utc_day(bar_time(2)), "L1")
    assert brief(driver.bar(4, E, roles.fav, equity=999.5)) == [(roles.hedge, CLOSE, CALL_SIZE, "R1")]  # no R2
    assert driver.bar(5, E, roles.fav, equity=999.5) == []
    assert brief(driver.bar(NEXT_DAY, E, roles.fav, equity=999.5)) == [(roles.main, OPEN, CALL_SIZE, "R2")]


def test_L1_off_the_same_bars_reopen_at_once(regime):
    driver, roles = _start(regime, _params())
    _lose_hedge_then_lock(driver, roles, regime)
    assert driver.state.breach_day == -1
    assert brief(driver.bar(4, E, roles.fav, equity=999.5)) == [(roles.hedge, CLOSE, CALL_SIZE, "R1"),
                                                                 (roles.main, OPEN, CALL_SIZE, "R2")]


def test_L1_percent_cap_with_flatten_closes_both_sides_at_that_close(regime):
    driver, roles = _start(regime, _params(max_daily_loss_pct=0.05, on_breach="flatten"))  # 0.05 % of 1000 = 0.5
    assert brief(driver.bar(2, favour(regime, E, -2.45), NONE_SIGNAL, equity=999.51)) == [
        (roles.hedge, OPEN, CALL_SIZE, "R5")]  # a loss of 0.49: under the cap
    flatten = driver.bar(3, favour(regime, E, -2.5), NONE_SIGNAL, equity=999.5)  # 0.5: the cap reached
    assert set(brief(flatten)) == {(roles.main, CLOSE, CALL_SIZE, "L1"), (roles.hedge, CLOSE, CALL_SIZE, "L1")}
    assert driver.held(roles.main)[0] == driver.held(roles.hedge)[0] == 0.0
    assert driver.bar(4, E, roles.fav, equity=999.5) == []  # no new main for the rest of the UTC day
    assert brief(driver.bar(NEXT_DAY, E, roles.fav, equity=999.5)) == [(roles.main, OPEN, CALL_SIZE, "R2")]


def test_L1_without_an_equity_mark_nothing_is_tested(regime):
    """Live does not feed the equity yet: no breach can be decided (a saved one still blocks)."""
    driver, roles = _start(regime, _params(max_daily_loss_usdt=0.01, on_breach="flatten"))
    assert driver.bar(2, favour(regime, E, -10.0), roles.fav) == []
    driver.state.breach_day = decide.utc_day(bar_time(3))  # as a restart the same day would load it
    assert brief(driver.bar(3, favour(regime, E, 1.0), roles.adv)) == [(roles.main, CLOSE, CALL_SIZE, "R3")]
    assert driver.bar(4, E, roles.fav) == []


# ----- [L2] drawdown ---------------------------------------------------------------------------------


def _peak_then_fall(regime, on_breach):
    """Day 0: the peak of 1010, main closed by R3. Day 1: a new main at 1000 (0.99 % below the
    peak: no breach), then 999.8, 1.0099 % below 1010: L2."""
    driver, roles = _start(regime, _params(max_drawdown_pct=1.0, on_breach=on_breach))
    assert driver.bar(2, favour(regime, E, 5.0), roles.fav, equity=1010.0) == []  # the peak: 1010
    assert brief(driver.bar(3, favour(regime, E, 5.0), roles.adv, equity=1010.0)) == [
        (roles.main, CLOSE, CALL_SIZE, "R3")]
    assert brief(driver.bar(NEXT_DAY, E, roles.fav, equity=1000.0)) == [(roles.main, OPEN, CALL_SIZE, "R2")]
    fall = driver.bar(NEXT_DAY + 1, favour(regime, E, -0.5), roles.fav, equity=999.8)
    assert (driver.state.breach_day, driver.state.breach_rule) == (decide.utc_day(bar_time(NEXT_DAY)), "L2")
    return driver, roles, fall


def test_L2_drawdown_from_the_peak_flattens_and_stays_stopped_while_below_the_line(regime):
    driver, roles, fall = _peak_then_fall(regime, "flatten")
    assert brief(fall) == [(roles.main, CLOSE, CALL_SIZE, "L2")]
    assert driver.bar(NEXT_DAY + 2, E, roles.fav, equity=999.8) == []
    # The peak is never restarted: the next day is still 1.0099 % below 1010, breached again at its first close.
    assert driver.bar(2 * NEXT_DAY, E, roles.fav, equity=999.8) == []
    assert driver.state.breach_day == decide.utc_day(bar_time(2 * NEXT_DAY))


def test_L2_with_stop_entries_keeps_the_main_and_resumes_the_day_after_equity_recovers(regime):
    driver, roles, fall = _peak_then_fall(regime, "stop_entries")
    assert fall == []  # the main is kept (still managed by its rules)
    assert brief(driver.bar(NEXT_DAY + 2, favour(regime, E, 3.0), roles.adv, equity=1000.4)) == [
        (roles.main, CLOSE, CALL_SIZE, "R3")]  # profit locked as usual
    assert driver.bar(NEXT_DAY + 3, E, roles.fav, equity=1000.4) == []  # breached today: no new main
    # Next day: 1000.4 is 0.95 % below 1010, above the line: a new main.
    assert brief(driver.bar(2 * NEXT_DAY, E, roles.fav, equity=1000.4)) == [(roles.main, OPEN, CALL_SIZE, "R2")]


# ----- [L3] notional ---------------------------------------------------------------------------------


def test_L3_symbol_cap_blocks_R2_while_a_lone_hedge_is_held_and_never_blocks_a_hedge(regime):
    driver, roles = _start(regime, _params(max_symbol_notional=30.0))  # main 20 USDT: fits
    _lose_hedge_then_lock(driver, roles, regime)  # the hedge opened although main + hedge = 40 > 30
    # Bar 4: the lone hedge (100 x 0.2 = 20) plus a new main (20) = 40 > 30: R1 only. Counted at this
    # close, the hedge whose close R1 decides on the same bar still counts (conservative).
    assert brief(driver.bar(4, E, roles.fav, equity=999.5)) == [(roles.hedge, CLOSE, CALL_SIZE, "R1")]
    assert brief(driver.bar(5, E, roles.fav, equity=999.5)) == [(roles.main, OPEN, CALL_SIZE, "R2")]


def test_L3_symbol_cap_below_one_call_size_never_opens(regime):
    driver = Driver.create(_params(max_symbol_notional=19.99), regime=regime)
    assert driver.bar(1, E, Roles.of(regime).fav, equity=1000.0) == []


@pytest.mark.parametrize("others, opens", [(30.0, True), (30.01, False)])
def test_L3_total_cap_counts_the_other_symbols(regime, others, opens):
    driver = Driver.create(_params(max_total_notional=50.0), regime=regime)
    driver.strategy.other_notional = others  # 30 + 20 = 50: at the cap, allowed
    roles = Roles.of(regime)
    expected = [(roles.main, OPEN, CALL_SIZE, "R2")] if opens else []
    assert brief(driver.bar(1, E, roles.fav, equity=1000.0)) == expected


# ----- both backtest engines, fees included -----------------------------------------------------------

DAY = 1_735_689_600_000  # 2025-01-01 00:00 UTC
# Bars open at 00:00, 00:05, 00:10 on day 1 and 00:00 on day 2; signals are set by hand.
_OPEN_TIMES = np.array([DAY, DAY + FIVE_MINUTES_MS, DAY + 2 * FIVE_MINUTES_MS, DAY + ONE_DAY_MS], dtype=np.int64)
_CLOSES = np.array([100.0, 99.5, 100.0, 100.0])
_SIGNALS = np.array([1, 0, 1, 1], dtype=np.int8)  # up, none, up, up; every daily signal up (regime UP)


def _hand_signals(closes, params):
    return _SIGNALS.copy() if len(closes) == len(_SIGNALS) else np.ones(len(closes), dtype=np.int8)


@pytest.mark.parametrize("engine", ["exact", "kernel"])
def test_L1_in_both_engines_counts_the_fees_and_flattens_at_the_breach_close(engine):
    """Size 1 at 100, fee 0.05 % (0.05 USDT per fill), fills at the close, capital 1000.
    Bar 0 (close 00:05): the day's first mark 1000; R2 buys 1 at 100, fee 0.05.
    Bar 1 (close 00:10): marked 1000 - 100 - 0.05 + 99.5 = 999.45, a loss of 0.55 with the fee
    (0.50 without): the cap of 0.52 is breached, flatten sells 1 at 99.5 (fee 0.04975), reason L1.
    Bar 2 (00:15, up): no new main that UTC day. Bar 3 (the next day, up): R2 again."""
    frame = pd.DataFrame({"open_time": _OPEN_TIMES, "open": _CLOSES, "high": _CLOSES, "low": _CLOSES,
                          "close": _CLOSES, "volume": np.ones(4)})
    daily = pd.DataFrame({"open_time": [DAY - ONE_DAY_MS], "open": [100.0], "high": [100.0], "low": [100.0],
                          "close": [100.0], "volume": [1.0]})
    params = replace(StrategyParams(), protect=ProtectParams(max_daily_loss_usdt=0.52, on_breach="flatten"))
    config = BacktestConfig(fill="close", fee_pct=0.05, initial_capital=1000.0)
    with mock.patch.object(indicators, "signal_codes", _hand_signals):
        result = run_backtest({"TESTUSDT": frame}, params, {"TESTUSDT": 1.0}, config, {"TESTUSDT": daily},
                              engine=engine)
    written = [(fill.time - DAY, fill.side, fill.action, fill.qty, fill.price, round(fill.fee, 8), fill.reason)
               for fill in result.fills]
    assert written == [
        (FIVE_MINUTES_MS, Side.LONG, Action.OPEN, 1.0, 100.0, 0.05, "R2"),
        (2 * FIVE_MINUTES_MS, Side.LONG, Action.CLOSE, 1.0, 99.5, 0.04975, "L1"),
        (ONE_DAY_MS + FIVE_MINUTES_MS, Side.LONG, Action.OPEN, 1.0, 100.0, 0.05, "R2"),
    ]
    assert result.equity["TESTUSDT"].equity[1] == pytest.approx(1000 - 0.5 - 0.05 - 0.04975)
    loose = replace(params, protect=ProtectParams(max_daily_loss_usdt=0.56, on_breach="flatten"))
    with mock.patch.object(indicators, "signal_codes", _hand_signals):
        kept = run_backtest({"TESTUSDT": frame}, loose, {"TESTUSDT": 1.0}, config, {"TESTUSDT": daily},
                            engine=engine)
    # 0.55 < 0.56: no breach at bar 1, R5 hedges the loss (sells 1 at 99.5, fee 0.04975). Bar 2 is
    # marked 999.40025 (flat net position, three fees paid): a loss of 0.59975 >= 0.56, L1 closes both.
    assert [(fill.time - DAY, fill.side, fill.action, fill.reason) for fill in kept.fills] == [
        (FIVE_MINUTES_MS, Side.LONG, Action.OPEN, "R2"),
        (2 * FIVE_MINUTES_MS, Side.SHORT, Action.OPEN, "R5"),
        (3 * FIVE_MINUTES_MS, Side.LONG, Action.CLOSE, "L1"),
        (3 * FIVE_MINUTES_MS, Side.SHORT, Action.CLOSE, "L1"),
        (ONE_DAY_MS + FIVE_MINUTES_MS, Side.LONG, Action.OPEN, "R2"),
    ]


@pytest.mark.parametrize("engine", ["exact", "kernel"])
@pytest.mark.parametrize("limit, share, expected", [
    ({"max_daily_loss_usdt": 0.58}, {"max_daily_loss_usdt": 0.29}, ["R2", "L1", "R2"]),
    ({"max_daily_loss_pct": 0.06}, {"max_daily_loss_pct": 0.06}, ["R2", "L1", "R2"]),
    ({"max_total_notional": 150.0}, {"max_total_notional": 75.0}, []),
])
def test_with_two_symbols_each_runs_on_an_even_share_of_the_account(engine, limit, share, expected):
    """[L1-L3] A backtest runs symbols one by one: each gets half the capital for its equity marks,
    half the USDT loss cap and half the total notional cap (percent caps unchanged). So each of two
    copies of the bars trades as one symbol alone on 500 USDT with the halved caps: bar 1 loses
    0.55 with fees, over 0.29 USDT and over 0.06 % of 500 (0.30), under 0.58 and 0.06 % of 1000;
    a main of 1 at 100 (100 USDT) fits under 150, not under 75."""
    frame = pd.DataFrame({"open_time": _OPEN_TIMES, "open": _CLOSES, "high": _CLOSES, "low": _CLOSES,
                          "close": _CLOSES, "volume": np.ones(4)})
    daily = pd.DataFrame({"open_time": [DAY - ONE_DAY_MS], "open": [100.0], "high": [100.0], "low": [100.0],
                          "close": [100.0], "volume": [1.0]})
    config = BacktestConfig(fill="close", fee_pct=0.05, initial_capital=1000.0)

    def params(**values):
        return replace(StrategyParams(), protect=ProtectParams(on_breach="flatten", **values))

    def fills(result, symbol):
        return [(fill.time, fill.side, fill.action, fill.price, fill.reason) for fill in result.fills
                if fill.symbol == symbol]

    with mock.patch.object(indicators, "signal_codes", _hand_signals):
        pair = run_backtest({"AUSDT": frame, "BUSDT": frame}, params(**limit), {"AUSDT": 1.0, "BUSDT": 1.0},
                            config, {"AUSDT": daily, "BUSDT": daily}, engine=engine)
        alone = run_backtest({"AUSDT": frame}, params(**share), {"AUSDT": 1.0},
                             replace(config, initial_capital=500.0), {"AUSDT": daily}, engine=engine)
        whole = run_backtest({"AUSDT": frame}, params(**limit), {"AUSDT": 1.0}, config, {"AUSDT": daily},
                             engine=engine)
    assert [fill[-1] for fill in fills(alone, "AUSDT")] == expected
    assert fills(pair, "AUSDT") == fills(pair, "BUSDT") == fills(alone, "AUSDT")
    assert fills(whole, "AUSDT") != fills(alone, "AUSDT")  # the whole account's limit alone would differ
