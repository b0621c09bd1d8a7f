"""[E1] Paper trading's simulated exchange holds the guard (live/paper_guard.py), on hand-made candles.

A paper service resumes a saved state holding a main of 1 entered at 100 (LONG in regime UP; the
SHORT case mirrors every price around 100: 200 - p, high and low swapped), CALL_SIZE 1, guard
distance 5 % (trigger 95 for LONG, 105 for SHORT), paper broker with fee 0.05 % and slippage
10 bps. The warm-up candles are flat at 100. Candle 1 stays inside the trigger and closes above
the entry (no rule acts); candle 2 reaches the trigger (or gaps through it). The guard acts inside
candle 2, before its close rules: its fill is dated at the candle's open, priced at the trigger
(or the open) moved 10 bps against the trader, and told as the bot's own action: the journal,
the ledger, the decision, fill and [E2] lines, the paper wallet. The rules at candle 2's close
then see the hedge (no second hedge) or the flat main.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.paper import make_paper_broker
from config.settings import load_settings
from core.model import FIVE_MINUTES_MS, ONE_DAY_MS, Action, Candle, Regime, Side
from core.state import PositionState, StateStore, SymbolState
from live.assemble import open_ledger
from live.events import FillEvent, LogEvent
from live.feeds import ClosedCandle, FeedFinished
from live.ledger import Ledger
from live.paper_guard import PaperGuard
from live.service import ServiceOptions, TradingService

SYMBOL = "TESTUSDT"
DAY = 1_735_689_600_000  # 2025-01-01 00:00 UTC
T0 = DAY + 12 * 60 * 60 * 1000  # the last close the saved state processed (midday: no daily close follows)
FEE_PCT, SLIPPAGE_BPS = 0.05, 10.0
NO_EXITS = ["strategy.exit.take_profit_pct=1000", "strategy.exit.max_hold_bars=100000",
            "strategy.exit.trailing_activation_pct=1000"]


def _p(price: float, long: bool) -> float:
    return price if long else 200.0 - price


def _candle(close_time: int, o: float, h: float, l: float, c: float, long: bool) -> Candle:
    """A candle as a LONG main sees it, mirrored for a SHORT main."""
    high, low = (h, l) if long else (l, h)
    return Candle(close_time - FIVE_MINUTES_MS, _p(o, long), _p(high, long), _p(low, long), _p(c, long), 1.0,
                  close_time)


class ListFeed:
    """Warm-up history up to T0 (and ``missed`` closes after it), then ``live`` candles one by one."""

    def __init__(self, long: bool, live: list[Candle], missed: list[Candle] = ()):
        self.warm_5m = [_candle(T0 - i * FIVE_MINUTES_MS, 100, 100, 100, 100, long) for i in range(300, -1, -1)]
        self.warm_1d = [Candle(DAY - (i + 1) * ONE_DAY_MS, 100, 100, 100, 100, 1.0, DAY - i * ONE_DAY_MS)
                        for i in range(60, -1, -1)]
        self.missed = list(missed)
        self.live = list(live)
        self.now = (self.missed[-1] if self.missed else self.warm_5m[-1]).close_time

    def start(self) -> None:
        pass

    def resume_after(self, symbol: str, close_time: int) -> None:
        pass

    def history(self, symbol: str, interval: str, limit: int) -> list[Candle]:
        return (self.warm_1d if interval == "1d" else self.warm_5m + self.missed)[-limit:]

    def next_candle(self, timeout: float) -> ClosedCandle | None:
        if not self.live:
            raise FeedFinished()
        candle = self.live.pop(0)
        self.now = candle.close_time
        return ClosedCandle(SYMBOL, candle)

    def close(self) -> None:
        pass


class Recorder(list):
    def __call__(self, event) -> None:
        self.append(event)

    def fills(self):
        return [event.fill for event in self if isinstance(event, FillEvent)]

    def lines(self, rule: str):
        return [event for event in self if isinstance(event, LogEvent) and event.rule == rule]


def _paper_service(tmp_path, long: bool, mode: str, live: list[Candle], missed: list[Candle] = ()):
    """A paper service (as live/assemble.py builds it: paper broker, paper guard, ledger) resuming
    a main of 1 @ 100; the paper broker holds it too (opened at 100 without slippage)."""
    settings = load_settings(overrides=NO_EXITS + [f"exchange.guard_mode={mode}", "exchange.guard_distance_pct=5"])
    main = Side.LONG if long else Side.SHORT
    state = SymbolState(SYMBOL, regime=Regime.UP if long else Regime.DOWN, last_bar_close=T0, last_daily_close=DAY,
                        order_seq=1)
    state.positions[main] = PositionState(qty=1.0, entry_price=100.0, entry_time=T0 - 5 * FIVE_MINUTES_MS,
                                          best_price=100.0)
    StateStore(tmp_path / "state").save(state)
    broker = make_paper_broker(FEE_PCT, 0.0, wallet=1000.0, leverage={SYMBOL: 5})
    broker.set_price(SYMBOL, 100.0, T0)
    broker.submit_market_order(SYMBOL, main, Action.OPEN, Decimal(1), "seed")  # the simulated exchange's main
    broker.slippage_bps = SLIPPAGE_BPS
    feed = ListFeed(long, live, missed)
    recorder = Recorder()
    service = TradingService({SYMBOL: 1.0}, settings.strategy, feed, broker, recorder,
                             ServiceOptions(tmp_path / "state", reconcile=False), clock=lambda: feed.now,
                             sleep=lambda seconds: None)
    service.paper_guard = PaperGuard(service.ctx, service.orders)
    open_ledger(service, tmp_path / "state" / "ledger-paper.sqlite", leverage={SYMBOL: 5})
    return service, recorder, broker, main


def _written(fills, long: bool) -> list[tuple]:
    """(fill time in bars after T0, side as main/hedge, action, price as a LONG main sees it, fee, reason)."""
    main = Side.LONG if long else Side.SHORT
    return [((f.time - T0) / FIVE_MINUTES_MS, "main" if f.side is main else "hedge", f.action.value,
             round(_p(f.price, long), 9), round(f.fee, 9), f.reason, f.qty) for f in fills]


SIDES = pytest.mark.parametrize("long", [True, False], ids=["LONG-main", "SHORT-main"])


@SIDES
def test_E1_paper_hedge_guard_fills_at_the_trigger_within_the_candle_and_is_the_bots_own(tmp_path, long):
    live = [_candle(T0 + FIVE_MINUTES_MS, 100, 101, 99, 100.5, long),  # inside the trigger, main in profit
            _candle(T0 + 2 * FIVE_MINUTES_MS, 99, 99.2, 94, 96, long)]  # the low reaches 95
    service, recorder, broker, main = _paper_service(tmp_path, long, "hedge", live)
    service.run()

    # Selling (a SHORT hedge's open) fills 10 bps below the trigger; buying (a LONG hedge's) 10 bps above.
    price = 95 * (1 - 0.001) if long else 105 * (1 + 0.001)
    fee = round(price * FEE_PCT / 100, 9)
    # Dated at candle 2's open (bar 1 after T0); the close rules of candle 2 see the hedge: nothing more.
    assert _written(recorder.fills(), long) == [(1.0, "hedge", "OPEN", round(_p(price, long), 9), fee, "E1", 1.0)]
    fill = recorder.fills()[0]
    assert fill.decision_time == T0 + FIVE_MINUTES_MS
    positions = service.slots[SYMBOL].strategy.state.positions
    assert positions[main].qty == 1.0 and positions[main.opposite].qty == 1.0
    assert positions[main.opposite].entry_price == pytest.approx(price, rel=1e-12)

    assert [(f.reason, f.side, f.action) for f in service.journal.fills] == [("E1", main.opposite, Action.OPEN)]
    with Ledger(tmp_path / "state" / "ledger-paper.sqlite") as ledger:
        assert [(r.reason, r.side, r.action, r.qty) for r in ledger.fills()] == [
            ("E1", main.opposite.value, "OPEN", Decimal(1))]
    assert broker.wallet == pytest.approx(1000.0 - 100 * FEE_PCT / 100 - price * FEE_PCT / 100, rel=1e-12)

    decision = [e.message for e in recorder.lines("E1") if e.message.startswith("[E1]")]
    assert decision == [f"[E1] {SYMBOL} OPEN {main.opposite.value} 1 @ {_p(95, long):g}: the guard held on the "
                        "exchange was triggered (the main moved its distance against the entry): equal-size hedge "
                        "opened"]
    assert [e.message.split(" fee ")[0] for e in recorder.lines("E1") if e.message.startswith("[O3]")] == [
        f"[O3] {SYMBOL} filled OPEN {main.opposite.value} 1 @ {price:g}"]
    told = recorder.lines("E2")
    assert len(told) == 1 and told[0].level == "WARNING" and told[0].symbol == SYMBOL
    assert told[0].message.startswith(f"[E2] {SYMBOL} {main.value} guard triggered at {_p(95, long):g} and opened "
                                      "the hedge 1")
    assert "the bot's own action" in told[0].message


@SIDES
def test_E1_paper_stop_guard_fills_at_the_open_of_a_candle_that_gaps_through_the_trigger(tmp_path, long):
    live = [_candle(T0 + FIVE_MINUTES_MS, 100, 101, 99, 100.5, long),
            _candle(T0 + 2 * FIVE_MINUTES_MS, 93, 93.5, 92, 93.2, long)]  # opens beyond 95
    service, recorder, broker, main = _paper_service(tmp_path, long, "stop", live)
    service.run()

    price = 93 * (1 - 0.001) if long else 107 * (1 + 0.001)  # closing a LONG sells, a SHORT buys
    fee = round(price * FEE_PCT / 100, 9)
    fills = recorder.fills()
    assert _written(fills[:1], long) == [(1.0, "main", "CLOSE", round(_p(price, long), 9), fee, "E1", 1.0)]
    # The close rules of candle 2 see no main: whatever they decide is not another close of it.
    assert not [f for f in fills[1:] if f.side is main and f.action is Action.CLOSE]
    realised = (price - 100) * (1 if long else -1)
    assert broker.wallet == pytest.approx(1000.0 - 100 * FEE_PCT / 100 - price * FEE_PCT / 100 + realised
                                          - sum(f.fee for f in fills[1:]), rel=1e-12)
    told = recorder.lines("E2")
    assert len(told) == 1 and f"at the candle's open {_p(93, long):g}, beyond its trigger {_p(95, long):g}" \
        in told[0].message and "closed the main" in told[0].message


@SIDES
def test_E1_paper_guard_off_acts_nowhere(tmp_path, long):
    live = [_candle(T0 + FIVE_MINUTES_MS, 100, 101, 99, 100.5, long),
            _candle(T0 + 2 * FIVE_MINUTES_MS, 99, 99.2, 94, 96, long)]
    service, recorder, _, _ = _paper_service(tmp_path, long, "off", live)
    service.run()
    assert not [f for f in recorder.fills() if f.reason == "E1"]
    assert not recorder.lines("E2")
    # Whatever the close rules decide comes at a close, never inside a candle.
    assert all(f.time == f.decision_time and (f.time - T0) % FIVE_MINUTES_MS == 0 and f.time > T0 + FIVE_MINUTES_MS
               for f in recorder.fills())


@SIDES
def test_E1_paper_guard_acted_in_closes_missed_while_stopped_before_the_bot_acts_on_them(tmp_path, long):
    # Five closes passed while the bot was stopped (more than the 3 a restart replays): the simulated
    # exchange's guard acted in the third (its low reaches 95), before the bot acts from the latest close on.
    missed = [_candle(T0 + k * FIVE_MINUTES_MS, 100, 100.5, 99.5, 100, long) for k in (1, 2)]
    missed += [_candle(T0 + 3 * FIVE_MINUTES_MS, 99, 99.5, 94.5, 96, long)]
    missed += [_candle(T0 + k * FIVE_MINUTES_MS, 96, 97, 95.5, 96.5, long) for k in (4, 5)]
    service, recorder, _, main = _paper_service(tmp_path, long, "hedge", [], missed)
    service.run()

    price = 95 * (1 - 0.001) if long else 105 * (1 + 0.001)
    assert _written(recorder.fills(), long) == [
        (2.0, "hedge", "OPEN", round(_p(price, long), 9), round(price * FEE_PCT / 100, 9), "E1", 1.0)]
    assert len(recorder.lines("E2")) == 1
    positions = service.slots[SYMBOL].strategy.state.positions
    assert positions[main.opposite].qty == 1.0


def test_E1_paper_guard_never_acts_twice_on_one_close(tmp_path):
    # A stream may hand a close out again (a reconnect's backfill): the second copy, even one whose low
    # reaches the trigger, decides nothing, as the close rules decide nothing on it.
    first = _candle(T0 + FIVE_MINUTES_MS, 100, 101, 99, 100.5, True)
    again = _candle(T0 + FIVE_MINUTES_MS, 100, 101, 94, 100.5, True)
    service, recorder, _, _ = _paper_service(tmp_path, True, "hedge", [first, again])
    service.run()
    assert recorder.fills() == [] and not recorder.lines("E2")
