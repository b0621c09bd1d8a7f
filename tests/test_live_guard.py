"""The guard keeper [issue 19, item 3c]: exactly one guard per held main, each transition by hand."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.binance_algo import Guard, guard_client_id, parse_guard_id
from core.model import Side
from live.guard import (GuardAction, GuardSettings, HeldMain, WantedGuard, is_guard_trigger, keep_guards,
                        trigger_price, wanted_guard)

HEDGE = GuardSettings("hedge", 5.0)
STOP = GuardSettings("stop", 5.0)
TICK = D("0.00001")


def main(qty: str = "100", entry: str = "0.10000", side: Side = Side.LONG, opposite: str = "0",
         call_size: str | None = "100", symbol: str = "DOGEUSDT") -> HeldMain:
    return HeldMain(symbol, side, D(qty), D(entry), D(opposite), D(call_size) if call_size else None, TICK)


def guard(qty: str, trigger: str, side: Side = Side.LONG, kind: str = "hedge", seq: int = 1,
          symbol: str = "DOGEUSDT") -> Guard:
    return Guard(symbol, side, kind, guard_client_id(symbol, side, kind, seq), 1000 + seq,
                 D(0) if kind == "stop" else D(qty), D(trigger), "NEW")


def test_trigger_is_the_adverse_distance_rounded_away_from_the_entry():
    assert trigger_price(Side.LONG, D("0.10000"), 5.0, TICK) == D("0.09500")
    assert trigger_price(Side.SHORT, D("0.10000"), 5.0, TICK) == D("0.10500")
    assert trigger_price(Side.LONG, D("0.123456"), 1.0, TICK) == D("0.12222")  # 0.12222144 down
    assert trigger_price(Side.SHORT, D("0.123456"), 1.0, TICK) == D("0.12470")  # 0.12469056 up


def test_open_a_main_places_one_guard():
    actions = keep_guards([main()], [], HEDGE)
    assert actions == [GuardAction("place", "DOGEUSDT", Side.LONG, "missing",
                                   wanted=WantedGuard("DOGEUSDT", Side.LONG, "hedge", D(100), D("0.09500")))]
    assert actions[0].line() == "[E1] DOGEUSDT LONG guard: place, open the hedge 100 at 0.095 (missing)"


def test_a_fitting_guard_is_kept_and_nothing_is_done():
    assert keep_guards([main()], [guard("100", "0.09500")], HEDGE) == []
    assert keep_guards([main(side=Side.SHORT)], [guard("100", "0.10500", Side.SHORT)], HEDGE) == []


def test_a_partial_fill_then_the_rest_replaces_the_guard_cancel_first():
    partial = keep_guards([main("40")], [], HEDGE)
    assert [a.action for a in partial] == ["place"] and partial[0].wanted.qty == D(40)
    # the rest fills at another price: quantity and entry changed -> the guard is replaced
    actions = keep_guards([main("100", "0.10200")], [guard("40", "0.09500")], HEDGE)
    assert [a.action for a in actions] == ["cancel", "place"]
    assert actions[0].reason == "replace: hedge 40 at 0.095 -> hedge 100 at 0.0969"
    assert actions[1].wanted == WantedGuard("DOGEUSDT", Side.LONG, "hedge", D(100), D("0.09690"))


def test_closing_the_main_cancels_its_guard_as_an_orphan():
    actions = keep_guards([], [guard("100", "0.09500")], HEDGE, symbols=["DOGEUSDT"])
    assert [(a.action, a.client_id) for a in actions] == [("cancel", "ahg-DOGEUSDT-Lh-1")]
    assert actions[0].reason.startswith("orphan")


def test_restart_with_the_guard_missing_places_it():
    assert [a.action for a in keep_guards([main(), main(side=Side.LONG, symbol="ALGOUSDT")],
                                          [guard("100", "0.09500")], HEDGE)] == ["place"]


def test_restart_with_a_double_keeps_the_fitting_one_and_cancels_the_other():
    fitting, other = guard("100", "0.09500", seq=2), guard("100", "0.09500", seq=3)
    actions = keep_guards([main()], [other, fitting], HEDGE)
    assert [(a.action, a.client_id) for a in actions] == [("cancel", other.client_id)]
    assert actions[0].reason.startswith("double")
    stale = guard("60", "0.09000", seq=4)
    actions = keep_guards([main()], [stale, fitting], HEDGE)
    assert [(a.action, a.client_id) for a in actions] == [("cancel", stale.client_id)]


def test_two_stale_guards_are_both_cancelled_before_one_is_placed():
    actions = keep_guards([main()], [guard("60", "0.09000", seq=1), guard("70", "0.09100", seq=2)], HEDGE)
    assert [a.action for a in actions] == ["cancel", "cancel", "place"]


def test_a_hedged_main_needs_no_hedge_guard_and_never_takes_the_side_above_call_size():
    assert wanted_guard(main(opposite="100"), HEDGE) is None
    assert keep_guards([main(opposite="100")], [guard("100", "0.09500")], HEDGE)[0].reason == \
        "the main is already hedged"
    # a side made larger by hand (130 for a CALL_SIZE of 100): the hedge guard covers CALL_SIZE only
    assert wanted_guard(main("130"), HEDGE).qty == D(100)
    # partly hedged: only what is missing up to CALL_SIZE
    assert wanted_guard(main("100", opposite="30"), HEDGE).qty == D(70)


def test_stop_mode_closes_the_whole_main_and_ignores_the_quantity_for_fitting():
    wanted = wanted_guard(main("100"), STOP)
    assert wanted == WantedGuard("DOGEUSDT", Side.LONG, "stop", D(100), D("0.09500"))
    # a partial close with the same entry: the closePosition stop still fits
    assert keep_guards([main("60")], [guard("0", "0.09500", kind="stop")], STOP) == []
    # switching modes replaces the guard
    assert [a.action for a in keep_guards([main()], [guard("100", "0.09500")], STOP)] == ["cancel", "place"]


def test_mode_off_cancels_every_guard_and_places_none():
    actions = keep_guards([main()], [guard("100", "0.09500")], GuardSettings("off"))
    assert [(a.action, a.reason) for a in actions] == [("cancel", "guard mode off")]


def test_guards_of_other_symbols_are_left_alone_when_the_scope_is_given():
    other = guard("5", "1.00000", symbol="BTCUSDT")
    assert keep_guards([], [other], HEDGE, symbols=["DOGEUSDT"]) == []
    assert [a.action for a in keep_guards([], [other], HEDGE)] == ["cancel"]


def test_guard_ids_name_symbol_side_and_kind_and_nothing_else_is_taken_for_a_guard():
    client_id = guard_client_id("1000SHIBUSDT", Side.SHORT, "stop", 123456789)
    assert len(client_id) <= 36 and parse_guard_id(client_id) == ("1000SHIBUSDT", Side.SHORT, "stop")
    assert is_guard_trigger(client_id)
    for other in ("ah-DOGEUSDT-1", "web_abc", "autoclose-1", "", "ahg-DOGEUSDT-Xh-1"):
        assert not is_guard_trigger(other)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        GuardSettings("sometimes", 5)
    with pytest.raises(ValueError):
        GuardSettings("hedge", 0)
