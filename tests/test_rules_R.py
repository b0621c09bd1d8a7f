"""Per-bar rules [R1-R7] and the entry mode [S4], written from SPEC section 5.

Every test runs in both regimes: the body speaks of *main* and *hedge*, the
favourable signal ``fav`` (up in UP) and the adverse one ``adv``, and prices as
a percent move in the main side's favour, so the DOWN case is the mirror image
by construction [SPEC 5, first line].
"""
from __future__ import annotations

import pytest

from core.model import Fill, Regime, Side
from core.rules import pnl
from core.sim_broker import SimulatedBroker
from core.strategy import HedgeStrategy
from tests.strategy_helpers import (
    CALL_SIZE,
    CLOSE,
    E,
    NO_EXITS,
    NONE,
    OPEN,
    SYMBOL,
    Driver,
    Roles,
    bar_time,
    brief,
    favour,
    make_params,
    regime,  # noqa: F401  (fixture: UP and DOWN)
    with_lone_hedge,
    with_main,
    with_main_and_hedge,
)


# ----- R1 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("move", [-2.0, -0.5], ids=["hedge_in_profit", "hedge_in_loss"])
def test_R1_favourable_signal_closes_hedge_whatever_its_pnl(regime, move):
    driver, roles = with_main_and_hedge(regime)
    # The main is still losing (no R4); the hedge (entered at -1 %) is in profit at -2 %, in loss at -0.5 %.
    assert brief(driver.bar(3, favour(regime, E, move), roles.fav)) == [(roles.hedge, CLOSE, CALL_SIZE, "R1")]
    assert driver.held(roles.hedge) == (0.0, 0.0)
    assert driver.held(roles.main) == (CALL_SIZE, E)


def test_R1_favourable_signal_closes_a_lone_hedge_and_R2_reopens_main(regime):
    driver, roles = with_lone_hedge(regime)
    price = favour(regime, E, 0.3)
    assert brief(driver.bar(5, price, roles.fav)) == [
        (roles.hedge, CLOSE, CALL_SIZE, "R1"),
        (roles.main, OPEN, CALL_SIZE, "R2"),
    ]
    assert driver.held(roles.main) == (CALL_SIZE, price)
    assert driver.held(roles.hedge) == (0.0, 0.0)


# ----- R2 ----------------------------------------------------------------------------------------


def test_R2_favourable_signal_without_main_opens_main_of_call_size(regime):
    driver = Driver.create(regime=regime, call_size=250.0)
    roles = Roles.of(regime)
    assert brief(driver.bar(1, E, roles.fav)) == [(roles.main, OPEN, 250.0, "R2")]
    assert driver.held(roles.main) == (250.0, E)
    assert driver.strategy.position(roles.main).entry_time == bar_time(1)
    # level mode: the main exists, a lasting favourable signal opens nothing more.
    assert driver.bar(2, E, roles.fav) == []
    assert driver.held(roles.main) == (250.0, E)


def test_R2_main_opened_here_is_not_examined_again_on_this_bar(regime):
    # max_hold_bars=0 and a 0 % trailing stop: examining the new main at all would close it (X2).
    params = make_params(take_profit_pct=1000.0, max_hold_bars=0, trailing_activation_pct=0.0)
    driver = Driver.create(params, regime=regime)
    roles = Roles.of(regime)
    assert brief(driver.bar(1, E, roles.fav)) == [(roles.main, OPEN, CALL_SIZE, "R2")]
    # From the next bar on it is examined: held 1 bar >= 0 -> X2.
    assert brief(driver.bar(2, E, NONE)) == [(roles.main, CLOSE, CALL_SIZE, "X2")]


def test_R2_adverse_or_no_signal_opens_nothing(regime):
    driver = Driver.create(regime=regime)
    roles = Roles.of(regime)
    assert driver.bar(1, E, roles.adv) == []
    assert driver.bar(2, E, NONE) == []
    assert driver.fills == []


# ----- R3 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("move", [0.3, 0.0], ids=["profit", "exactly_flat"])
def test_R3_adverse_signal_locks_profit_when_main_in_profit(regime, move):
    driver, roles = with_main(regime)
    price = favour(regime, E, move)
    assert brief(driver.bar(2, price, roles.adv)) == [(roles.main, CLOSE, CALL_SIZE, "R3")]
    assert driver.held(roles.main) == (0.0, 0.0)
    assert driver.fills[-1].price == price


def test_R3_adverse_signal_hedges_main_in_loss_once(regime):
    driver, roles = with_main_and_hedge(regime)
    # Still adverse, deeper loss: a hedge is already open, nothing more.
    assert driver.bar(3, favour(regime, E, -2.0), roles.adv) == []
    assert driver.held(roles.hedge) == (CALL_SIZE, favour(regime, E, -1.0))


def test_R3_profit_lock_leaves_the_hedge_alone_until_R1(regime):
    driver, roles = with_lone_hedge(regime)
    hedge_entry = favour(regime, E, -1.0)
    # Neither an adverse nor a missing signal touches a lone hedge, in profit or loss.
    assert driver.bar(5, favour(regime, E, -3.0), roles.adv) == []
    assert driver.bar(6, favour(regime, E, 2.0), NONE) == []
    assert driver.bar(7, favour(regime, E, -3.0), NONE) == []
    assert driver.held(roles.hedge) == (CALL_SIZE, hedge_entry)


# ----- R4 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("move", [0.2, 0.0], ids=["profit", "exactly_flat"])
def test_R4_recovered_main_releases_hedge(regime, move):
    driver, roles = with_main_and_hedge(regime)
    assert brief(driver.bar(3, favour(regime, E, move), NONE)) == [(roles.hedge, CLOSE, CALL_SIZE, "R4")]
    assert driver.held(roles.hedge) == (0.0, 0.0)
    assert driver.held(roles.main) == (CALL_SIZE, E)


def test_R4_releases_hedge_then_applies_exit_rule(regime):
    driver, roles = with_main_and_hedge(regime, make_params(take_profit_pct=1.0, max_hold_bars=1000,
                                                            trailing_activation_pct=1000.0))
    assert brief(driver.bar(3, favour(regime, E, 1.5), NONE)) == [
        (roles.hedge, CLOSE, CALL_SIZE, "R4"),
        (roles.main, CLOSE, CALL_SIZE, "X1"),
    ]
    assert driver.held(roles.main) == (0.0, 0.0) and driver.held(roles.hedge) == (0.0, 0.0)


def test_R4_favourable_signal_hedge_goes_by_R1_not_twice(regime):
    driver, roles = with_main_and_hedge(regime)
    assert brief(driver.bar(3, favour(regime, E, 0.2), roles.fav)) == [(roles.hedge, CLOSE, CALL_SIZE, "R1")]


def test_R4_does_not_release_hedge_while_main_in_loss(regime):
    driver, roles = with_main_and_hedge(regime)
    assert driver.bar(3, favour(regime, E, -0.1), NONE) == []
    assert driver.held(roles.hedge)[0] == CALL_SIZE


# ----- R5 ----------------------------------------------------------------------------------------


def test_R5_no_signal_and_main_in_loss_opens_hedge(regime):
    driver, roles = with_main(regime)
    price = favour(regime, E, -0.2)
    assert brief(driver.bar(2, price, NONE)) == [(roles.hedge, OPEN, CALL_SIZE, "R5")]
    assert driver.held(roles.hedge) == (CALL_SIZE, price)
    assert driver.bar(3, favour(regime, E, -0.4), NONE) == []  # already hedged


def test_R5_is_narrow_favourable_signal_with_main_in_loss_opens_no_hedge(regime):
    driver, roles = with_main(regime)
    for k in range(2, 6):  # a lasting favourable signal must not churn hedges
        assert driver.bar(k, favour(regime, E, -0.5), roles.fav) == []
    assert driver.held(roles.hedge) == (0.0, 0.0)


def test_R5_no_signal_main_in_profit_opens_no_hedge(regime):
    driver, roles = with_main(regime)
    assert driver.bar(2, favour(regime, E, 0.0), NONE) == []
    assert driver.bar(3, favour(regime, E, 0.4), NONE) == []


# ----- R6 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("signal_kind", ["adv", "none"], ids=["R3", "R5"])
def test_R6_hedge_qty_is_mains_filled_qty_after_partial_fill(regime, signal_kind):
    driver = Driver.create(regime=regime)
    roles = Roles.of(regime)
    [intent] = driver.bar(1, E, roles.fav, fill=False)
    assert (intent.side, intent.action, intent.qty, intent.reason) == (roles.main, OPEN, CALL_SIZE, "R2")
    # The exchange filled 60 of 100 and the rest was given up [O5].
    driver.strategy.apply_fill(Fill(client_id=intent.client_id, symbol=SYMBOL, side=roles.main, action=OPEN,
                                    qty=60.0, price=E, fee=0.0, time=bar_time(1), reason="R2",
                                    decision_time=bar_time(1)))
    driver.strategy.finish_order(intent.client_id)
    signal = roles.adv if signal_kind == "adv" else NONE
    reason = "R3" if signal_kind == "adv" else "R5"
    assert brief(driver.bar(2, favour(regime, E, -0.5), signal)) == [(roles.hedge, OPEN, 60.0, reason)]
    assert driver.held(roles.hedge)[0] == 60.0


# ----- R7 ----------------------------------------------------------------------------------------


def test_R7_pnl_formula_call_and_put():
    assert pnl(Side.LONG, 100.0, 103.0, 2.0) == pytest.approx(6.0)
    assert pnl(Side.LONG, 100.0, 97.0, 2.0) == pytest.approx(-6.0)
    assert pnl(Side.SHORT, 100.0, 97.0, 2.0) == pytest.approx(6.0)
    assert pnl(Side.SHORT, 100.0, 103.0, 2.0) == pytest.approx(-6.0)


def test_R7_sign_uses_filled_entry_not_decision_close(regime):
    driver = Driver.create(regime=regime)
    roles = Roles.of(regime)
    intents = driver.bar(1, E, roles.fav, fill=False)
    filled_at = favour(regime, E, 1.0)  # filled 1 % worse for the trader than the decision close
    driver.fill(intents, filled_at, bar_time(1))
    assert driver.held(roles.main) == (CALL_SIZE, filled_at)
    # +0.5 % from the decision close is still a loss from the filled entry: hedge, no profit lock.
    assert brief(driver.bar(2, favour(regime, E, 0.5), roles.adv)) == [(roles.hedge, OPEN, CALL_SIZE, "R3")]


def test_R7_fees_are_excluded_from_the_sign_test(regime):
    driver = Driver(HedgeStrategy(SYMBOL, make_params(**NO_EXITS), CALL_SIZE), broker=SimulatedBroker(fee_pct=0.05))
    assert driver.strategy.on_daily_close(bar_time(0), regime.favourable_signal) == []
    roles = Roles.of(regime)
    driver.bar(1, E, roles.fav)
    assert driver.fills[-1].fee > 0
    # At the entry price the main loses its fee, but PnL (fees excluded) is 0 >= 0: profit lock.
    assert brief(driver.bar(2, E, roles.adv)) == [(roles.main, CLOSE, CALL_SIZE, "R3")]


# ----- S4 (read by R2 only) ---------------------------------------------------------------------------


def test_S4_cross_opens_only_on_the_bar_the_signal_turns(regime):
    driver = Driver.create(make_params(entry="cross", **NO_EXITS), regime=regime)
    roles = Roles.of(regime)
    assert driver.bar(1, E, roles.fav, prev_signal=roles.fav) == []  # already favourable before: no cross
    assert brief(driver.bar(2, E, roles.fav, prev_signal=NONE)) == [(roles.main, OPEN, CALL_SIZE, "R2")]
    assert brief(driver.bar(3, E, roles.adv)) == [(roles.main, CLOSE, CALL_SIZE, "R3")]
    assert brief(driver.bar(4, E, roles.fav, prev_signal=roles.adv)) == [(roles.main, OPEN, CALL_SIZE, "R2")]


def test_S4_level_opens_on_a_lasting_favourable_signal(regime):
    driver = Driver.create(make_params(entry="level", **NO_EXITS), regime=regime)
    roles = Roles.of(regime)
    assert brief(driver.bar(1, E, roles.fav, prev_signal=roles.fav)) == [(roles.main, OPEN, CALL_SIZE, "R2")]


def test_S4_cross_affects_R2_only_R1_still_reads_a_level(regime):
    driver = Driver.create(make_params(entry="cross", **NO_EXITS), regime=regime)
    roles = Roles.of(regime)
    driver.bar(1, E, roles.fav, prev_signal=NONE)
    assert brief(driver.bar(2, favour(regime, E, -1.0), roles.adv)) == [(roles.hedge, OPEN, CALL_SIZE, "R3")]
    # Favourable although the previous bar was favourable too: no cross, but R1 still closes the hedge.
    assert brief(driver.bar(3, favour(regime, E, -1.0), roles.fav, prev_signal=roles.fav)) == [
        (roles.hedge, CLOSE, CALL_SIZE, "R1")
    ]


# ----- paused symbol and event order -------------------------------------------------------------


def test_paused_strategy_opens_nothing_but_still_closes(regime):
    driver, roles = with_main_and_hedge(regime)
    driver.strategy.opens_allowed = False
    # R1 still closes the hedge.
    assert brief(driver.bar(3, favour(regime, E, -1.0), roles.fav)) == [(roles.hedge, CLOSE, CALL_SIZE, "R1")]
    # R5 and R3 would hedge the losing main: paused, they do not.
    assert driver.bar(4, favour(regime, E, -1.0), NONE) == []
    assert driver.bar(5, favour(regime, E, -1.0), roles.adv) == []
    # R3 profit lock still closes the main; R2 then does not reopen it.
    assert brief(driver.bar(6, favour(regime, E, 0.5), roles.adv)) == [(roles.main, CLOSE, CALL_SIZE, "R3")]
    assert driver.bar(7, E, roles.fav) == []
    assert driver.held(roles.main) == (0.0, 0.0) and driver.held(roles.hedge) == (0.0, 0.0)


def test_repeated_or_older_bar_is_ignored(regime):
    driver = Driver.create(regime=regime)
    roles = Roles.of(regime)
    assert brief(driver.bar(5, E, roles.adv)) == []
    assert driver.bar(5, E, roles.fav) == []  # same close time again
    assert driver.bar(4, E, roles.fav) == []  # older
    assert brief(driver.bar(6, E, roles.fav)) == [(roles.main, OPEN, CALL_SIZE, "R2")]
    assert driver.bar(6, favour(regime, E, 0.5), roles.adv) == []  # a repeat cannot close it either
    assert driver.held(roles.main) == (CALL_SIZE, E)


@pytest.mark.parametrize("reason", ["manual", "stop"])
def test_close_all_closes_every_open_side_with_the_users_reason(regime, reason):
    driver, roles = with_main_and_hedge(regime)
    intents = driver.strategy.close_all(reason, bar_time(3))
    assert sorted(brief(intents)) == sorted([(roles.main, CLOSE, CALL_SIZE, reason),
                                             (roles.hedge, CLOSE, CALL_SIZE, reason)])
    assert driver.strategy.close_all(reason, bar_time(3)) == []  # already closing: nothing twice
