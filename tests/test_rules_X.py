"""exit_rule_hit [X1-X4] from SPEC section 6: boundaries exactly at the thresholds, both regimes.

Exit rules are read only by R4 (main PnL >= 0, signal not adverse), so every bar
here has no signal and a main at or above its entry.
"""
from __future__ import annotations

import pytest

from tests.strategy_helpers import (
    CALL_SIZE,
    CLOSE,
    E,
    NONE,
    Driver,
    Roles,
    bar_time,
    brief,
    favour,
    make_params,
    regime,  # noqa: F401  (fixture: UP and DOWN)
    with_main,
)

FAR = 1000.0


def exits(**values: float):
    """Only the given exit rule(s) can fire: the others are set out of reach."""
    base = {"take_profit_pct": FAR, "max_hold_bars": 100_000, "trailing_pct": 0.5, "trailing_activation_pct": FAR}
    base.update(values)
    return make_params(**base)


# ----- X1 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("take_profit", [1.0, 0.3, 2.5])
def test_X1_take_profit_exactly_at_threshold_closes_main(regime, take_profit):
    driver, roles = with_main(regime, exits(take_profit_pct=take_profit))
    assert driver.bar(2, favour(regime, E, take_profit * 0.999), NONE) == []  # just short of it
    price = favour(regime, E, take_profit)
    assert brief(driver.bar(3, price, NONE)) == [(roles.main, CLOSE, CALL_SIZE, "X1")]
    assert driver.fills[-1].price == price
    assert driver.held(roles.main) == (0.0, 0.0)


def test_X1_is_not_read_on_an_adverse_signal_R3_closes_instead(regime):
    """X4 (RSI rollover) is R3's job: an adverse bar in profit is an R3 profit lock."""
    driver, roles = with_main(regime, exits(take_profit_pct=1.0))
    assert brief(driver.bar(2, favour(regime, E, 2.0), roles.adv)) == [(roles.main, CLOSE, CALL_SIZE, "R3")]


# ----- X2 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_hold", [24, 3])
def test_X2_max_hold_counts_bars_from_entry_decision_bar(regime, max_hold):
    driver, roles = with_main(regime, exits(max_hold_bars=max_hold))  # decided on bar 1
    for k in range(2, max_hold + 1):  # held k - 1 < max_hold bars
        assert driver.bar(k, E, NONE) == [], f"bar {k}"
    assert brief(driver.bar(max_hold + 1, E, NONE)) == [(roles.main, CLOSE, CALL_SIZE, "X2")]


def test_X2_entry_time_is_decision_bar_not_fill_time(regime):
    driver = Driver.create(exits(max_hold_bars=24), regime=regime)
    roles = Roles.of(regime)
    intents = driver.bar(1, E, roles.fav, fill=False)
    driver.fill(intents, E, bar_time(2))  # filled one bar later (next_open-like)
    assert driver.strategy.position(roles.main).entry_time == bar_time(1)
    assert driver.bar(24, E, NONE) == []
    assert brief(driver.bar(25, E, NONE)) == [(roles.main, CLOSE, CALL_SIZE, "X2")]


def test_X2_not_applied_to_a_losing_main(regime):
    driver, roles = with_main(regime, exits(max_hold_bars=2))
    driver.bar(2, favour(regime, E, -0.2), NONE)  # R5 hedges it
    assert driver.bar(3, favour(regime, E, -0.2), roles.adv) == []
    assert driver.held(roles.main)[0] == CALL_SIZE


# ----- X3 ----------------------------------------------------------------------------------------


def test_X3_activation_uses_best_close_not_current_profit(regime):
    """Best reached +0.5 % (activation); the current profit +0.299 % is below it, yet the
    give-back of 0.2 % from best triggers the trailing stop."""
    driver, roles = with_main(regime, exits(trailing_activation_pct=0.5, trailing_pct=0.2))
    best = favour(regime, E, 0.5)
    assert driver.bar(2, best, NONE) == []
    assert driver.bar(3, favour(regime, best, -0.1), NONE) == []  # gave back 0.1 % < 0.2 %
    price = favour(regime, best, -0.2)  # exactly 0.2 % from best
    assert brief(driver.bar(4, price, NONE)) == [(roles.main, CLOSE, CALL_SIZE, "X3")]


def test_X3_not_active_until_best_reaches_activation(regime):
    driver, roles = with_main(regime, exits(trailing_activation_pct=0.5, trailing_pct=0.2))
    best = favour(regime, E, 0.45)
    assert driver.bar(2, best, NONE) == []
    assert driver.bar(3, favour(regime, best, -0.25), NONE) == []  # gave back 0.25 %, but never activated
    assert driver.held(roles.main)[0] == CALL_SIZE


def test_X3_trails_from_the_best_close_since_entry(regime):
    driver, roles = with_main(regime, exits(trailing_activation_pct=0.5, trailing_pct=0.5))
    best = favour(regime, E, 1.2)
    assert driver.bar(2, favour(regime, E, 0.8), NONE) == []
    assert driver.bar(3, best, roles.fav) == []  # new best, reached on a favourable bar
    assert driver.strategy.position(roles.main).best_price == best
    assert driver.bar(4, favour(regime, best, -0.4), NONE) == []  # 0.4 % back from best: not yet
    assert driver.strategy.position(roles.main).best_price == best  # a worse close keeps best
    price = favour(regime, best, -0.5)
    assert brief(driver.bar(5, price, NONE)) == [(roles.main, CLOSE, CALL_SIZE, "X3")]
