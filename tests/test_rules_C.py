"""Never above CALL_SIZE by the bot's own hand [R6 cap, C1, C2] and the pre-order invariant.

Pure functions of core/decide.py; each case is written for both sides (one function with
the side as a parameter) and the expected orders are written out.
"""
from __future__ import annotations

import pytest

from core import decide as d

CALL = 100.0


def _orders(o):
    out = []
    if o.count >= 1:
        out.append((o.side0, o.action0, d.REASONS[o.reason0], o.qty0))
    if o.count >= 2:
        out.append((o.side1, o.action1, d.REASONS[o.reason1], o.qty1))
    return out


def test_hedge_covers_the_main_capped_at_call_size():
    assert d.hedge_qty(100.0, CALL) == 100.0
    assert d.hedge_qty(130.0, CALL) == 100.0   # main enlarged by hand: hedge stays at CALL_SIZE
    assert d.hedge_qty(200.0, CALL) == 100.0   # own late execution doubled the main
    assert d.hedge_qty(60.0, CALL) == 60.0     # a partial main is hedged by its own quantity


@pytest.mark.parametrize("regime", [d.UP, d.DOWN], ids=["UP", "DOWN"])
@pytest.mark.parametrize("signal_kind", ["adverse_R3", "none_R5"])
def test_decide_bar_hedges_an_oversized_losing_main_with_call_size_only(regime, signal_kind):
    main = d.main_side(regime)
    hedge = 1 - main
    entry = 1.0
    price = 0.98 if main == d.LONG else 1.02          # main losing 2 %
    signal = -regime if signal_kind == "adverse_R3" else d.NONE
    qty = [0.0, 0.0]
    qty[main] = 130.0                                   # 30 added by hand
    ep = [0.0, 0.0]
    ep[main] = entry
    out = d.decide_bar(regime, signal, d.NONE, price, 10 * 300_000, CALL, True, True,
                       tuple(qty), tuple(ep), (0, 0), tuple(ep), (False, False), (False, False),
                       False, 99.0, 10_000, 99.0, 99.0)
    rule = "R3" if signal_kind == "adverse_R3" else "R5"
    assert _orders(out.orders) == [(hedge, d.OPEN, rule, 100.0)]


@pytest.mark.parametrize("side", [d.LONG, d.SHORT], ids=["LONG", "SHORT"])
def test_own_late_execution_excess_is_closed_at_once_C1(side):
    # SHORT 200 for CALL_SIZE 100 after an OPEN given up and executed late: close 100.
    assert _orders(d.decide_own_excess(side, 200.0, CALL, 0.0, False)) == [(side, d.CLOSE, "C1", 100.0)]
    # Within CALL_SIZE: nothing.
    assert _orders(d.decide_own_excess(side, 100.0, CALL, 0.0, False)) == []
    # Excess the trader chose to keep unmanaged is not closed; only the rest above CALL_SIZE.
    assert _orders(d.decide_own_excess(side, 130.0, CALL, 30.0, False)) == []
    assert _orders(d.decide_own_excess(side, 150.0, CALL, 30.0, False)) == [(side, d.CLOSE, "C1", 20.0)]
    # A close already in flight on that side: not decided again.
    assert _orders(d.decide_own_excess(side, 200.0, CALL, 0.0, True)) == []


@pytest.mark.parametrize("regime", [d.UP, d.DOWN], ids=["UP", "DOWN"])
def test_orphan_hedge_is_closed_when_its_main_vanished_externally_C2(regime):
    main = d.main_side(regime)
    hedge = 1 - main
    qty = [0.0, 0.0]
    qty[hedge] = 100.0
    none = (False, False)
    assert _orders(d.decide_orphan_hedge(regime, tuple(qty), none, none, True)) == [(hedge, d.CLOSE, "C2", 100.0)]
    # A lone hedge left by the bot's own rules (R3 took the main's profit) is not an orphan.
    assert _orders(d.decide_orphan_hedge(regime, tuple(qty), none, none, False)) == []
    # The main still held: not an orphan.
    qty[main] = 100.0
    assert _orders(d.decide_orphan_hedge(regime, tuple(qty), none, none, True)) == []
    # The main being re-opened (open in flight): not an orphan.
    qty[main] = 0.0
    opening = [False, False]
    opening[main] = True
    assert _orders(d.decide_orphan_hedge(regime, tuple(qty), tuple(opening), none, True)) == []
    # No regime yet: nothing.
    assert _orders(d.decide_orphan_hedge(d.NONE, tuple(qty), none, none, True)) == []


def test_pre_order_invariant_refuses_any_open_above_call_size():
    ok = d.order_within_call_size
    assert ok(d.OPEN, 0.0, 0.0, 100.0, CALL, 0.0)
    assert not ok(d.OPEN, 100.0, 0.0, 100.0, CALL, 0.0)      # a second OPEN on a held side
    assert not ok(d.OPEN, 0.0, 100.0, 100.0, CALL, 0.0)      # an OPEN already in flight
    assert not ok(d.OPEN, 130.0, 0.0, 130.0, CALL, 0.0)      # hedge sized at an enlarged main
    assert ok(d.OPEN, 30.0, 0.0, 100.0, CALL, 30.0)          # 30 kept unmanaged by the trader
    assert ok(d.OPEN, 40.0, 0.0, 60.0, CALL, 0.0)            # top-up exactly to CALL_SIZE
    assert ok(d.CLOSE, 200.0, 0.0, 200.0, CALL, 0.0)         # closes only reduce a side


# ----- loss limits and protections [L1-L5] (pure functions; 0 = off) ------------------------------

DAY = 86_400_000
BAR = 300_000


def test_L1_daily_loss_in_usdt_or_percent_of_the_days_start():
    assert not d.daily_loss_breached(1000.0, 900.0, 0.0, 0.0)      # off
    assert not d.daily_loss_breached(1000.0, 951.0, 50.0, 0.0)
    assert d.daily_loss_breached(1000.0, 950.0, 50.0, 0.0)          # exactly 50 USDT lost
    assert d.daily_loss_breached(1000.0, 970.0, 0.0, 3.0)           # 3 % of 1000
    assert not d.daily_loss_breached(1000.0, 971.0, 0.0, 3.0)
    assert not d.daily_loss_breached(1000.0, 1100.0, 50.0, 3.0)     # a gain


def test_L2_drawdown_from_peak():
    assert not d.drawdown_breached(1200.0, 1000.0, 0.0)             # off
    assert d.drawdown_breached(1200.0, 1080.0, 10.0)                # 10 % below the peak
    assert not d.drawdown_breached(1200.0, 1081.0, 10.0)


def test_L3_notional_caps_per_symbol_and_total():
    assert d.notional_allowed(0.0, 0.0, 1e9, 0.0, 0.0)              # off
    assert d.notional_allowed(500.0, 900.0, 100.0, 600.0, 1000.0)   # exactly at both caps
    assert not d.notional_allowed(500.0, 500.0, 101.0, 600.0, 0.0)  # symbol cap
    assert not d.notional_allowed(0.0, 950.0, 100.0, 0.0, 1000.0)   # total cap


def test_L4_cooldown_counts_bars_since_the_close():
    closed = 10 * BAR
    assert not d.cooldown_active(closed, closed + BAR, 0)            # off
    assert not d.cooldown_active(0, closed, 3)                       # never closed
    assert d.cooldown_active(closed, closed + 2 * BAR, 3)
    assert not d.cooldown_active(closed, closed + 3 * BAR, 3)        # the 3rd bar after may open


def test_L5_entries_per_utc_day_reset_at_midnight():
    day = 20_000
    t = day * DAY + 5 * BAR
    assert d.entries_today_after(day, 4, t) == 4
    assert d.entries_today_after(day - 1, 4, t) == 0                 # a new UTC day
    assert d.entry_count_allowed(3, 4)
    assert not d.entry_count_allowed(4, 4)
    assert d.entry_count_allowed(1000, 0)                           # off


def test_breach_persists_for_the_day_until_override():
    day = 20_000
    assert not d.breach_blocks(-1, day * DAY, False)
    assert d.breach_blocks(day, day * DAY + BAR, False)              # restart the same day
    assert not d.breach_blocks(day, day * DAY + BAR, True)           # explicit override
    assert not d.breach_blocks(day, (day + 1) * DAY, False)          # the next UTC day


def test_state_keeps_breach_unmanaged_and_counts_across_a_save():
    from core.state import SymbolState

    st = SymbolState("DOGEUSDT", unmanaged_short=30.0, breach_day=20_000, breach_rule="L1",
                     last_main_close_time=123 * BAR, entries_day=20_000, entries_today=7)
    back = SymbolState.from_dict(st.to_dict())
    assert (back.unmanaged_short, back.breach_day, back.breach_rule) == (30.0, 20_000, "L1")
    assert (back.last_main_close_time, back.entries_day, back.entries_today) == (123 * BAR, 20_000, 7)
    old = st.to_dict()
    for key in ("unmanaged_long", "unmanaged_short", "breach_day", "breach_rule",
                "last_main_close_time", "entries_day", "entries_today"):
        del old[key]
    legacy = SymbolState.from_dict(old)           # a file written before these fields existed
    assert (legacy.breach_day, legacy.unmanaged_short, legacy.entries_today) == (-1, 0.0, 0)
