"""[E1] The guard held on the exchange, as the backtest models it, on hand-made candles.

Both engines (exact and kernel) and both sides: the candles are written for a LONG main
(regime UP) and mirrored around 100 for a SHORT main (regime DOWN: price 200 - p, the bar's
high and low swapped), so one body checks both. CALL_SIZE 1, fee 0.05 %, no slippage unless
said, ``fill: close`` unless said, guard distance 5 %: a main entered at 100 has its trigger at
95 (LONG) or 105 (SHORT).

The 5m signals are set by hand (``fav`` = the regime's own signal, ``adv`` = the other one,
``none``); every daily signal favours the regime. The guard acts within a bar, before that bar's
closes: its fill is dated at the bar's open (the last close the bot had seen), and the bar's
rules already see the position it changed.
"""
from __future__ import annotations

from dataclasses import replace
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from core import decide, indicators
from core.backtest import BacktestConfig, BacktestInputError, run_backtest
from core.model import FIVE_MINUTES_MS, ONE_DAY_MS, Action, Side
from core.params import ExitParams, GuardParams, StrategyParams

DAY = 1_735_689_600_000  # 2025-01-01 00:00 UTC: the one daily candle closes here
SYMBOL = "TESTUSDT"
FEE_PCT = 0.05
NO_EXITS = ExitParams(take_profit_pct=1000.0, max_hold_bars=100_000, trailing_activation_pct=1000.0)
FAV, ADV, NONE = "fav", "adv", "none"


def _mirror(price: float, long: bool) -> float:
    return price if long else 200.0 - price


def _run(bars: list[tuple[float, float, float, float, str]], long: bool, engine: str, mode: str,
         fill: str = "close", slippage_bps: float = 0.0, distance_pct: float = 5.0):
    """Backtest ``bars`` [(open, high, low, close, signal) as a LONG main sees them] for a LONG
    (regime UP) or SHORT (regime DOWN, prices mirrored) main with the guard in ``mode``."""
    opens, highs, lows, closes = (np.array([_mirror(bar[k], long) for bar in bars]) for k in range(4))
    if not long:
        highs, lows = lows, highs
    favourable = 1 if long else -1
    codes = np.array([{FAV: favourable, ADV: -favourable, NONE: 0}[bar[4]] for bar in bars], dtype=np.int8)
    frame = pd.DataFrame({"open_time": DAY + np.arange(len(bars), dtype=np.int64) * FIVE_MINUTES_MS,
                          "open": opens, "high": highs, "low": lows, "close": closes, "volume": np.ones(len(bars))})
    daily = pd.DataFrame({"open_time": [DAY - ONE_DAY_MS], "open": [100.0], "high": [100.0], "low": [100.0],
                          "close": [100.0], "volume": [1.0]})

    def hand_signals(series, params):
        return codes.copy() if len(series) == len(codes) else np.full(len(series), favourable, dtype=np.int8)

    params = StrategyParams(exit=NO_EXITS, guard=GuardParams(mode, distance_pct))
    config = BacktestConfig(fill=fill, fee_pct=FEE_PCT, slippage_bps=slippage_bps)
    with mock.patch.object(indicators, "signal_codes", hand_signals):
        return run_backtest({SYMBOL: frame}, params, {SYMBOL: 1.0}, config, {SYMBOL: daily}, engine=engine)


def _written(result, long: bool) -> list[tuple]:
    """Each fill as (fill time in bars from DAY, role, action, price as a LONG main sees it, fee, reason),
    the decision time checked against the fill time: a bar's close rules decide at its close, the
    guard at the bar's open."""
    main = Side.LONG if long else Side.SHORT
    rows = []
    for f in result.fills:
        assert f.qty == 1.0
        bar_time = (f.time - DAY) / FIVE_MINUTES_MS
        rows.append((bar_time, "main" if f.side is main else "hedge", f.action.value,
                     round(_mirror(f.price, long), 9), round(f.fee, 9), f.reason))
        assert f.decision_time == f.time  # fill: close fills at the decision, the guard at its bar's open
    return rows


def _fee(price_long_terms: float, long: bool) -> float:
    return round(_mirror(price_long_terms, long) * FEE_PCT / 100.0, 9)


ENGINES = pytest.mark.parametrize("engine", ["exact", "kernel"])
SIDES = pytest.mark.parametrize("long", [True, False], ids=["LONG-main", "SHORT-main"])

# Bar 0 (00:00-00:05) opens the main by R2 at its close, 100. Bar 1 falls through the trigger (95)
# inside the bar and closes at 96 with the adverse signal; bar 2 closes at 94 with the favourable one.
FALL = [(100, 100, 100, 100, FAV),
        (100, 100.5, 94, 96, ADV),
        (96, 97, 93, 94, FAV)]


@ENGINES
@SIDES
def test_hedge_guard_opens_the_hedge_at_the_trigger_and_the_bar_rules_see_it(engine, long):
    """Mode hedge: the guard opens the hedge at 95 inside bar 1 (dated at its open, 00:05). At bar 1's
    close the adverse signal finds the main losing and already hedged: no second hedge [R3]. Bar 2's
    favourable signal releases the hedge [R1] at 94. The main is then unhedged at 94, past its trigger:
    Binance would refuse the guard (-2021), so none stands and nothing more happens."""
    result = _run(FALL, long, engine, "hedge")
    assert _written(result, long) == [
        (1, "main", "OPEN", 100.0, _fee(100, long), "R2"),
        (1, "hedge", "OPEN", 95.0, _fee(95, long), "E1"),
        (3, "hedge", "CLOSE", 94.0, _fee(94, long), "R1"),
    ]
    assert result.total.hedges_opened == 1  # the guard's hedge counts as a hedge


@ENGINES
@SIDES
def test_stop_guard_closes_the_main_at_the_trigger_and_R2_opens_a_new_one(engine, long):
    """Mode stop: the guard closes the main at 95 inside bar 1. Bar 1's adverse signal then finds no
    main (nothing to hedge); bar 2's favourable signal opens a new main by R2 at 94."""
    result = _run(FALL, long, engine, "stop")
    assert _written(result, long) == [
        (1, "main", "OPEN", 100.0, _fee(100, long), "R2"),
        (1, "main", "CLOSE", 95.0, _fee(95, long), "E1"),
        (3, "main", "OPEN", 94.0, _fee(94, long), "R2"),
    ]
    assert result.total.trades == 1 and result.total.wins == 0


@ENGINES
@SIDES
@pytest.mark.parametrize("mode, action, role", [("hedge", "OPEN", "hedge"), ("stop", "CLOSE", "main")])
def test_a_bar_that_gaps_through_the_trigger_fills_at_its_open(engine, long, mode, action, role):
    """The guard placed after bar 0 (price 100) stands; bar 1 opens at 93, beyond 95: the stop
    order fills at the open, 93, not at the trigger."""
    bars = [(100, 100, 100, 100, FAV), (93, 94, 92, 93.5, ADV)]
    assert _written(_run(bars, long, engine, mode), long) == [
        (1, "main", "OPEN", 100.0, _fee(100, long), "R2"),
        (1, role, action, 93.0, _fee(93, long), "E1"),
    ]


@ENGINES
@SIDES
@pytest.mark.parametrize("mode", ["hedge", "stop"])
def test_no_trigger_while_the_low_stays_above_it_and_one_at_exactly_the_trigger(engine, long, mode):
    """Bars 1-2 reach 95.01 at worst (the favourable signal, so no rule acts on the losing main): the
    guard does not act. Bar 3's low touches 95 exactly: it acts at 95 (its adverse signal then finds
    the main hedged, or gone)."""
    bars = [(100, 100, 100, 100, FAV), (100, 100, 95.01, 96, FAV), (96, 97, 95.01, 97, FAV),
            (97, 97, 95.0, 96, ADV)]
    assert _written(_run(bars, long, engine, mode), long)[1:] == [
        (3, "hedge" if mode == "hedge" else "main", "OPEN" if mode == "hedge" else "CLOSE", 95.0, _fee(95, long),
         "E1")]
    above = [bar if bar[2] > 95.0 else (bar[0], bar[1], 95.000001, bar[3], bar[4]) for bar in bars]
    # 95.000001 at worst: no guard acts, the adverse close hedges the losing main by the rules [R3] at 96.
    assert _written(_run(above, long, engine, mode), long)[1:] == [(4, "hedge", "OPEN", 96.0, _fee(96, long), "R3")]


@ENGINES
@SIDES
def test_a_guard_past_its_trigger_is_not_placed_until_the_price_is_back_inside(engine, long):
    """Mode hedge. Bar 1: the guard hedges at 95; bar 1 closes at 94 with the favourable signal and
    [R1] releases the hedge at 94. The main is past its trigger: no guard for bar 2 (Binance refuses
    -2021), whose low of 90 goes unguarded. Bar 2 closes at 96, back inside: the guard is placed for
    bar 3, whose low of 94 reaches it: the hedge at 95 again."""
    bars = [(100, 100, 100, 100, FAV), (100, 100, 94, 94, FAV), (94, 96, 90, 96, FAV), (96, 96, 94, 95.5, ADV)]
    assert _written(_run(bars, long, engine, "hedge"), long) == [
        (1, "main", "OPEN", 100.0, _fee(100, long), "R2"),
        (1, "hedge", "OPEN", 95.0, _fee(95, long), "E1"),
        (2, "hedge", "CLOSE", 94.0, _fee(94, long), "R1"),
        (3, "hedge", "OPEN", 95.0, _fee(95, long), "E1"),
    ]


@ENGINES
@SIDES
def test_next_open_fills_and_slippage(engine, long):
    """fill: next_open, slippage 10 bps. R2 decided at bar 0's close fills at bar 1's open, 100,
    slipped to 100.1 (LONG buys; a SHORT sells at 99.9): the trigger is 5 % from that entry, 95.095
    (SHORT: 104.895). Bar 1 reaches it; the hedge sells (SHORT main: buys) at the trigger slipped
    10 bps against the trader: 95.095 x 0.999 = 94.999905 (SHORT: 104.895 x 1.001 = 104.999895)."""
    bars = [(100, 100, 100, 100, FAV), (100, 100, 94, 96, ADV), (96, 96, 96, 96, ADV)]
    result = _run(bars, long, engine, "hedge", fill="next_open", slippage_bps=10.0)
    entry = 100.1 if long else 99.9
    trigger = entry * (0.95 if long else 1.05)
    hedge_price = trigger * (0.999 if long else 1.001)
    main = Side.LONG if long else Side.SHORT
    fills = [(f.time - DAY, f.decision_time - DAY, f.side, f.action, f.price, f.reason) for f in result.fills]
    assert fills == [
        (FIVE_MINUTES_MS, FIVE_MINUTES_MS, main, Action.OPEN, pytest.approx(entry), "R2"),
        (FIVE_MINUTES_MS, FIVE_MINUTES_MS, main.opposite, Action.OPEN, pytest.approx(hedge_price), "E1"),
    ]
    assert hedge_price == pytest.approx(94.999905 if long else 104.999895)


@ENGINES
def test_the_guard_off_leaves_the_rules_alone(engine):
    """Mode off, the candles of the hedge test: bar 1's adverse signal hedges the losing main at its
    close, 96 [R3]; bar 2's favourable signal releases it at 94 [R1]. No E1."""
    assert _written(_run(FALL, True, engine, "off"), True) == [
        (1, "main", "OPEN", 100.0, _fee(100, True), "R2"),
        (2, "hedge", "OPEN", 96.0, _fee(96, True), "R3"),
        (3, "hedge", "CLOSE", 94.0, _fee(94, True), "R1"),
    ]
    plain = StrategyParams(exit=NO_EXITS)
    assert replace(plain, guard=GuardParams("off", 5.0)) == plain  # off is the strategy's default


def test_candles_without_high_and_low_are_refused_in_one_sentence_when_the_guard_is_on():
    frame = pd.DataFrame({"open_time": DAY + np.arange(3, dtype=np.int64) * FIVE_MINUTES_MS,
                          "open": [1.0, 1.0, 1.0], "close": [1.0, 1.0, 1.0], "volume": [1.0, 1.0, 1.0]})
    daily = {SYMBOL: pd.DataFrame({"open_time": [DAY - ONE_DAY_MS], "open": [1.0], "close": [1.0]})}
    params = StrategyParams(guard=GuardParams("stop", 5.0))
    for engine in ("exact", "kernel"):
        with pytest.raises(BacktestInputError, match="high and low"):
            run_backtest({SYMBOL: frame}, params, {SYMBOL: 1.0}, BacktestConfig(), daily, engine=engine)
        run_backtest({SYMBOL: frame}, StrategyParams(), {SYMBOL: 1.0}, BacktestConfig(), daily, engine=engine)


# ----- the pure rule, one function for both sides ---------------------------------------------------


@pytest.mark.parametrize("side", [decide.LONG, decide.SHORT])
def test_guarded_side_is_the_side_entered_first_as_live_picks_it(side):
    other = 1 - side
    qty = [0.0, 0.0]
    qty[side] = 1.0
    assert decide.guarded_side(tuple(qty), (5, 5)) == side  # the only side held
    qty[other] = 1.0
    times = [0, 0]
    times[side], times[other] = 10, 20
    assert decide.guarded_side(tuple(qty), tuple(times)) == side  # entered first
    assert decide.guarded_side((0.0, 0.0), (0, 0)) == decide.NO_SIDE


@pytest.mark.parametrize("side", [decide.LONG, decide.SHORT])
def test_trigger_price_matches_the_live_guard(side):
    from decimal import Decimal

    from core.model import Side as ModelSide
    from live.guard import trigger_price

    live = trigger_price(ModelSide.LONG if side == decide.LONG else ModelSide.SHORT, Decimal("0.31234"), 3.5)
    assert decide.guard_trigger_price(side, 0.31234, 3.5) == pytest.approx(float(live), rel=1e-12)


@pytest.mark.parametrize("side", [decide.LONG, decide.SHORT])
def test_a_hedged_main_has_no_hedge_guard_and_an_order_in_flight_none(side):
    qty = [0.0, 0.0]
    qty[side] = 1.0
    entry = (100.0, 100.0)
    flat = (False, False)
    wanted = decide.wanted_guard(decide.GUARD_HEDGE, 5.0, 1.0, tuple(qty), entry, (0, 0), flat, flat)
    assert wanted == (side, 1.0, 95.0 if side == decide.LONG else 105.0)
    qty[1 - side] = 1.0
    assert decide.wanted_guard(decide.GUARD_HEDGE, 5.0, 1.0, tuple(qty), entry, (0, 1) if side == decide.LONG
                               else (1, 0), flat, flat)[0] == decide.NO_SIDE
    assert decide.wanted_guard(decide.GUARD_STOP, 5.0, 1.0, (1.0, 0.0), entry, (0, 0), (False, True),
                               flat)[0] == decide.NO_SIDE


# ----- the settings: exchange.guard_* reach the backtest and the optimizer ----------------------------


def test_the_settings_copy_the_guard_into_the_strategy_and_read_an_unquoted_off():
    import yaml

    from config.settings import AppSettings, parse_settings

    assert AppSettings().strategy.guard == GuardParams(AppSettings().exchange.guard_mode,
                                                       AppSettings().exchange.guard_distance_pct)
    symbols = {"symbols": {"DOGEUSDT": {"call_size": 100}}}
    settings = parse_settings({**symbols, "exchange": {"guard_mode": "stop", "guard_distance_pct": 8}})
    assert settings.strategy.guard == GuardParams("stop", 8.0)
    off = parse_settings({**symbols, **yaml.safe_load("exchange:\n  guard_mode: off\n")})  # YAML 1.1 reads off as false
    assert off.exchange.guard_mode == "off" and off.strategy.guard.mode == "off"


def test_the_guard_is_searchable_with_param():
    from config.settings import parse_settings
    from research.params import apply_assignment, parse_param

    base = parse_settings({"symbols": {"DOGEUSDT": {"call_size": 100}}})
    distance = parse_param("exchange.guard_distance_pct=3,5,8", base)
    assert distance.values == (3.0, 5.0, 8.0)
    mode = parse_param("exchange.guard_mode=hedge,stop,off", base)
    assert mode.values == ("hedge", "stop", "off")
    tried = apply_assignment(base, (("exchange.guard_mode", "stop"), ("exchange.guard_distance_pct", 3.0)))
    assert tried.strategy.guard == GuardParams("stop", 3.0)
