"""A triggered guard's fill is the bot's own [E1, E2] (issue 19, item 7 with item 3): its order (client
id ``ahg-…``) is in the fills journal and the ledger with rule id E1, and the reconciliation takes the
position it changed as the bot's own -- never as a trade by hand ([C2] orphan, [C3] question)."""
from __future__ import annotations

import json
from decimal import Decimal as D

from adapters.binance_user_stream import parse_user_event
from core.model import Action, Regime, Side
from live.events import ExcessQuestion, PositionDifference
from live.excess import ExcessRoom
from live.ledger import Ledger
from live.ledger_link import LedgerLink
from live.orders import OrderRoom
from tests.test_binance_algo import next_low, position
from tests.test_live_guard_room import SYMBOL, Bot, entry, fake, fake_server  # noqa: F401


class _Cockpit:
    def on_fill(self, *args) -> None:  # noqa: ANN002
        pass


class _Commands:
    excess = None


def wired(bot: Bot, tmp_path) -> tuple[ExcessRoom, list]:  # noqa: ANN001
    """The bot's context with a real ledger, the [C1-C3] room installed, and every event kept."""
    events: list = []
    bot.ctx.listener = lambda event: (events.append(event), bot.logs.append(event) if hasattr(event, "rule") else None)
    bot.ctx.ledger = LedgerLink(Ledger(tmp_path / "ledger.sqlite"))
    room = ExcessRoom(bot.ctx, OrderRoom(bot.ctx, bot.reconciler, _Cockpit()))
    room.install(bot.reconciler, _Commands())
    return room, events


def update(fake, guard, status: str, side: str, position_side: str) -> object:  # noqa: ANN001
    frame = {"e": "ALGO_UPDATE", "T": fake.now_ms, "E": fake.now_ms, "o": {
        "caid": guard.client_id, "aid": guard.algo_id, "at": "CONDITIONAL", "o": "STOP_MARKET", "s": SYMBOL,
        "S": side, "ps": position_side, "q": "100", "X": status, "tp": str(guard.trigger_price)}}
    [parsed] = parse_user_event(json.dumps(frame), algo_updates=True)
    return parsed


def test_a_hedge_guard_s_fill_is_journaled_and_ledgered_as_E1_and_taken_as_the_bot_s_own(fake, tmp_path):
    bot = Bot(fake, tmp_path)
    room, events = wired(bot, tmp_path)
    bot.trade(Side.LONG, Action.OPEN, 100, "ah-f-1")
    bot.room.keep([SYMBOL])
    [guard] = bot.algo.open_guards()
    _, candles = next_low(fake, guard.trigger_price)
    fake.step(candles=candles)
    events.clear()
    bot.room.on_algo_update(update(fake, guard, "TRIGGERED", "SELL", "SHORT"))
    bot.room.on_algo_update(update(fake, guard, "FINISHED", "SELL", "SHORT"))  # recorded once
    [fill] = [f for f in bot.ctx.journal.fills if f.reason == "E1"]
    assert (fill.client_id, fill.side, fill.action, fill.qty) == (guard.client_id, Side.SHORT, Action.OPEN, 100.0)
    assert fill.price > 0
    [row] = [r for r in bot.ctx.ledger.ledger.fills(SYMBOL) if r.reason == "E1"]
    assert (row.side, row.action, row.qty, row.source) == ("SHORT", "OPEN", D(100), "bot")
    [taken] = [line for line in bot.lines("O7") if "taken as the bot's own" in line]
    assert "SHORT: state holds 0, the exchange 100 after the bot's guard" in taken
    assert len(bot.lines("E2")) == 1, "the trigger is told once (one alert)"
    assert not [e for e in events if isinstance(e, (PositionDifference, ExcessQuestion))], "not a trade by hand"
    assert bot.lines("C3") == [] and bot.lines("C2") == [] and room.main_gone == set()
    assert bot.slot.strategy.state.positions[Side.SHORT].qty == 100 == position(fake, Side.SHORT)


def test_a_stop_guard_closing_the_main_leaves_no_orphan_while_a_liquidation_does(fake, tmp_path):
    opener = Bot(fake, tmp_path / "opener")
    opener.trade(Side.LONG, Action.OPEN, 100, "ah-o-1")  # the main
    opener.trade(Side.SHORT, Action.OPEN, 100, "ah-o-2")  # its hedge
    price = float(entry(fake, Side.LONG))
    held = {Side.LONG: (100.0, price, 1), Side.SHORT: (100.0, price, 2)}
    bot = Bot(fake, tmp_path, held, mode="stop")
    bot.slot.strategy.state.regime = Regime.UP
    room, _ = wired(bot, tmp_path)
    bot.room.keep([SYMBOL])
    [stop] = bot.algo.open_guards()
    assert (stop.main, stop.kind) == (Side.LONG, "stop")
    _, candles = next_low(fake, stop.trigger_price)
    fake.step(candles=candles)
    assert position(fake, Side.LONG) == 0, "the exchange closed the main"
    bot.room.on_algo_update(update(fake, stop, "TRIGGERED", "SELL", "LONG"))
    [fill] = [f for f in bot.ctx.journal.fills if f.reason == "E1"]
    assert (fill.side, fill.action, fill.qty) == (Side.LONG, Action.CLOSE, 100.0)
    assert room.main_gone == set() and bot.lines("C2") == [], "closed by the bot's own guard: no orphan"
    # the same main liquidated instead: the hedge is an orphan [C2]
    opener.trade(Side.LONG, Action.OPEN, 100, "ah-o-3")
    price = float(entry(fake, Side.LONG))
    liquidated = Bot(fake, tmp_path / "liq", {Side.LONG: (100.0, price, 1), Side.SHORT: (100.0, price, 2)})
    liquidated.slot.strategy.state.regime = Regime.UP
    other, _ = wired(liquidated, tmp_path / "liq")
    fake.liquidate(SYMBOL, "LONG")
    liquidated.reconciler.check_positions(liquidated.slot)
    assert other.main_gone == {SYMBOL}
    assert any("LONG main is gone, not by the bot's hand" in line for line in liquidated.lines("C2"))


def test_in_the_running_service_a_guard_that_triggers_is_journaled_as_E1_and_no_trade_by_hand(fake, tmp_path):
    """The whole service in demo trading on the fake (python-binance, the user-data stream with
    ALGO_UPDATE): a main is held, the symbol is paused (the rules do not hedge), the market reaches
    the guard: its fill is in the journal and the ledger as E1, once, and nothing treats it as a
    trade by hand."""
    import threading
    from dataclasses import replace

    from adapters.secrets import ApiCredentials
    from config.settings import load_settings
    from live.assemble import build_service
    from live.events import LogEvent
    from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET
    from tests.test_runner_disconnect import _started, _wait

    base = load_settings()
    settings = replace(base, symbols={SYMBOL: base.symbols[SYMBOL]},
                       exchange=replace(base.exchange, guard_mode="hedge", guard_distance_pct=1.0))
    events: list = []
    service = build_service(settings, events.append, mode="testnet",
                            credentials=ApiCredentials(TEST_API_KEY, TEST_API_SECRET), state_dir=tmp_path,
                            base_url=fake.base_url, stream_url=fake.ws_url)
    runner = threading.Thread(target=service.run)
    runner.start()
    try:
        _wait(lambda: _started(service, symbols=1))
        slot = service.slots[SYMBOL]
        for _ in range(400):  # closes until the rules hold a main alone
            if any(p.is_open for p in slot.strategy.state.positions.values()) and not slot.strategy.state.pending:
                break
            now = fake.step(candles=1)
            _wait(lambda: slot.strategy.state.last_bar_close >= now)
        held = [side for side in Side if slot.strategy.state.positions[side].is_open]
        assert len(held) == 1, held
        service.pause(SYMBOL)  # no new entries or hedges: only the guard can act now
        _wait(lambda: not slot.strategy.opens_allowed)
        _wait(lambda: len([g for g in service.guards.algo.open_guards(SYMBOL)]) == 1)
        [guard] = service.guards.algo.open_guards(SYMBOL)
        if guard.main is Side.LONG:
            _, candles = next_low(fake, guard.trigger_price)
        else:
            from tests.test_binance_algo import next_high
            _, candles = next_high(fake, guard.trigger_price)
        fake.step(candles=candles)  # at once: the market reaches the guard before the rules see those closes
        _wait(lambda: any(f.reason == "E1" for f in service.journal.fills))
        first = [f for f in service.journal.fills if f.reason == "E1"][0]
        assert (first.client_id, first.side, first.action) == (guard.client_id, guard.main.opposite, Action.OPEN)
        ledger_file = service.ctx.ledger.ledger.path
        now = fake.step(candles=1)  # one close more: the stream's FINISHED and a check have both seen it
        _wait(lambda: slot.strategy.state.last_bar_close >= now)
    finally:
        service.stop()
        runner.join(30)
    assert not runner.is_alive()
    lines = [e for e in events if isinstance(e, LogEvent)]
    # Each guard that triggered is told once and its fill recorded once (the rules may drop the hedge
    # and a later guard trigger again: each is its own).
    told = [e.message.split(" guard ")[1].split(" ")[0] for e in lines if e.rule == "E2"]
    recorded = [f.order_id for f in service.journal.fills if f.reason == "E1"]
    assert guard.client_id in told and sorted(told) == sorted(recorded) and len(set(recorded)) == len(recorded)
    # Whether the close's reading or the stream's word came first (a race of two sockets), the change
    # is never a trade by hand: no question, no orphan, no excess.
    assert not [e for e in events if isinstance(e, ExcessQuestion)], "not a trade by hand"
    assert not [e for e in lines if e.rule in ("C1", "C2", "C3")]
    with Ledger(ledger_file) as ledger:
        assert sorted(r.order_id for r in ledger.fills(SYMBOL) if r.reason == "E1" and r.source == "bot") == \
            sorted(recorded)
