"""Regime rules [G1-G4] from SPEC section 4, in both regimes."""
from __future__ import annotations

import numpy as np
import pytest

from core.model import Regime
from core.strategy import HedgeStrategy, initial_regime
from tests.strategy_helpers import (
    CALL_SIZE,
    CLOSE,
    DOWN,
    E,
    NO_EXITS,
    NONE,
    OPEN,
    SYMBOL,
    UP,
    Driver,
    Roles,
    bar_time,
    brief,
    day_time,
    favour,
    make_params,
    regime,  # noqa: F401  (fixture: UP and DOWN)
    with_lone_hedge,
    with_main_and_hedge,
)

BARS_PER_DAY = 288


def other(regime: Regime) -> Regime:
    return Regime.DOWN if regime is Regime.UP else Regime.UP


# ----- G1 ----------------------------------------------------------------------------------------


def test_G1_daily_signal_sets_regime_and_none_keeps_it(regime):
    roles = Roles.of(regime)
    driver = Driver.create(regime=regime)
    assert driver.state.regime is regime
    expected = [(NONE, regime), (roles.adv, other(regime)), (NONE, other(regime)), (roles.fav, regime)]
    for day, (signal, want) in enumerate(expected, start=1):
        assert driver.daily(day, signal) == []  # nothing held: nothing to close
        assert driver.state.regime is want, f"day {day} signal {signal}"


def test_G1_new_regime_decides_which_side_R2_opens(regime):
    driver = Driver.create(regime=regime)
    driver.daily(1, Roles.of(regime).adv)
    flipped = Roles.of(other(regime))
    k = BARS_PER_DAY + 1
    assert brief(driver.bar(k, E, flipped.fav)) == [(flipped.main, OPEN, CALL_SIZE, "R2")]


def test_G1_repeated_or_older_daily_close_is_ignored(regime):
    driver = Driver.create(regime=regime)
    roles = Roles.of(regime)
    driver.daily(2, roles.adv)
    assert driver.state.regime is other(regime)
    driver.daily(2, roles.fav)  # same close again
    driver.daily(1, roles.fav)  # older
    assert driver.state.regime is other(regime)


# ----- G2 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "codes, expected",
    [
        ([1, -1, 0, 0], Regime.DOWN),
        ([-1, 1], Regime.UP),
        ([-1, 1, 0], Regime.UP),
        ([1], Regime.UP),
        ([0, -1, 0, 0, 0], Regime.DOWN),
        ([0, 0, 0], None),
        ([], None),
    ],
)
def test_G2_initial_regime_is_last_daily_signal_walking_back_over_none(codes, expected):
    assert initial_regime(np.array(codes, dtype=np.int8)) is expected


def test_G2_no_trading_before_the_first_daily_signal():
    driver = Driver(HedgeStrategy(SYMBOL, make_params(**NO_EXITS), CALL_SIZE))
    assert driver.state.regime is None
    for k, signal in enumerate([UP, DOWN, NONE, UP], start=1):
        assert driver.bar(k, E, signal) == []
    assert driver.daily(1, NONE) == []  # still warming up
    assert driver.state.regime is None
    assert driver.bar(BARS_PER_DAY + 1, E, DOWN) == []
    assert driver.daily(2, DOWN) == []  # first daily signal: DOWN, nothing to close
    assert driver.state.regime is Regime.DOWN
    k = 2 * BARS_PER_DAY + 1
    assert brief(driver.bar(k, E, DOWN)) == [(Regime.DOWN.main_side, OPEN, CALL_SIZE, "R2")]


# ----- G3 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("move", [0.5, -1.5], ids=["old_main_in_profit", "old_main_in_loss"])
def test_G3_regime_change_closes_new_hedge_side_whatever_its_pnl(regime, move):
    driver, roles = with_main_and_hedge(regime)
    hedge_entry = favour(regime, E, -1.0)
    price = favour(regime, E, move)
    assert brief(driver.daily(1, roles.adv, price=price)) == [(roles.main, CLOSE, CALL_SIZE, "G3")]
    assert driver.state.regime is other(regime)
    assert driver.held(roles.main) == (0.0, 0.0)
    assert driver.fills[-1].price == price
    # The former hedge is now the main position: untouched, same entry price and time.
    former_hedge = driver.strategy.position(roles.hedge)
    assert (former_hedge.qty, former_hedge.entry_price, former_hedge.entry_time) == (
        CALL_SIZE, hedge_entry, bar_time(2))


def test_G3_former_hedge_keeps_entry_time_for_max_hold(regime):
    params = make_params(take_profit_pct=1000.0, max_hold_bars=300, trailing_activation_pct=1000.0)
    driver, roles = with_main_and_hedge(regime, params)  # hedge entered on bar 2
    hedge_entry = favour(regime, E, -1.0)
    driver.daily(1, roles.adv, price=hedge_entry)
    new_main = roles.hedge
    # PnL 0 under no signal: R4 runs the exit rules. Held since bar 2, not since the flip (bar 288).
    assert driver.bar(BARS_PER_DAY + 1, hedge_entry, NONE) == []
    assert driver.bar(301, hedge_entry, NONE) == []  # 299 bars held
    assert brief(driver.bar(302, hedge_entry, NONE)) == [(new_main, CLOSE, CALL_SIZE, "X2")]


def test_G3_lone_hedge_becomes_main_nothing_to_close(regime):
    driver, roles = with_lone_hedge(regime)
    hedge_entry = favour(regime, E, -1.0)
    assert driver.daily(1, roles.adv) == []
    assert driver.state.regime is other(regime)
    assert driver.held(roles.hedge) == (CALL_SIZE, hedge_entry)
    # It is now examined as the main: an adverse signal (for the new regime) in profit locks it (R3).
    flipped = Roles.of(other(regime))
    assert flipped.main is roles.hedge
    price = favour(other(regime), hedge_entry, 0.2)
    assert brief(driver.bar(BARS_PER_DAY + 1, price, flipped.adv)) == [(flipped.main, CLOSE, CALL_SIZE, "R3")]


def test_G3_same_regime_again_closes_nothing(regime):
    driver, roles = with_main_and_hedge(regime)
    assert driver.daily(1, roles.fav) == []
    assert driver.daily(2, NONE) == []
    assert driver.held(roles.main)[0] == CALL_SIZE and driver.held(roles.hedge)[0] == CALL_SIZE


# ----- G4 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fill_daily", [True, False], ids=["G3_filled_at_once", "G3_fill_pending"])
def test_G4_daily_close_first_and_G3_close_gone_for_same_timestamp_5m_rules(regime, fill_daily):
    """Day 1 closes at the same instant as 5m bar 288: the daily is processed first [G4].

    The G3 close of the old main takes effect at once [B4], so under the new regime
    the 5m bar's favourable signal opens the new main (R2) and does not close the old
    main a second time through R1, even while the G3 order has not filled yet.
    """
    driver = Driver.create(regime=regime)
    roles = Roles.of(regime)
    driver.bar(1, E, roles.fav)
    k = BARS_PER_DAY
    assert day_time(1) == bar_time(k)
    price = favour(regime, E, -0.3)
    daily = driver.daily(1, roles.adv, price=price, fill=fill_daily)
    assert brief(daily) == [(roles.main, CLOSE, CALL_SIZE, "G3")]
    flipped = Roles.of(other(regime))
    bar = driver.bar(k, price, flipped.fav, fill=False)
    assert brief(bar) == [(flipped.main, OPEN, CALL_SIZE, "R2")]
    if not fill_daily:
        driver.fill(daily, price, bar_time(k))
    driver.fill(bar, price, bar_time(k))
    assert driver.held(roles.main) == (0.0, 0.0)
    assert driver.held(flipped.main) == (CALL_SIZE, price)
