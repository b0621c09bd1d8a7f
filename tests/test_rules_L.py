"""[L4] cool-down and [L5] entries per day, on hand-made candles, both regimes.

Written out: main opened by R2 at E on bar 1; bar 2 has the adverse signal with the main
1 % in profit, so R3 closes it; then favourable bars follow.
"""
from __future__ import annotations

from dataclasses import replace

from core.params import ProtectParams
from tests.strategy_helpers import (
    CALL_SIZE,
    CLOSE,
    E,
    NO_EXITS,
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
