"""Never above CALL_SIZE by the bot's own hand [L0, L1] (issue 19, item 7, live half)."""
from __future__ import annotations

from core.model import Action, OrderIntent, Side
from live.limits import open_breach, side_excess
from tests.test_live_guard_room import CALL, SYMBOL, Bot, fake, fake_server  # noqa: F401
from live.orders import OrderRoom


def test_L0_an_open_within_call_size_passes_and_one_above_is_named():
    assert open_breach("DOGEUSDT", Side.LONG, 0.1, 0.2, 0.3) is None  # decimal: 0.1 + 0.2 == 0.3
    assert open_breach("DOGEUSDT", Side.SHORT, 0, 100, 100) is None
    sentence = open_breach("DOGEUSDT", Side.SHORT, 100, 100, 100)
    assert sentence is not None and sentence.startswith("[C0] DOGEUSDT OPEN SHORT 100 not sent")
    assert "would hold 200" in sentence and "CALL_SIZE 100" in sentence


def test_L1_a_side_above_call_size_is_an_excess_of_the_difference():
    assert side_excess("DOGEUSDT", Side.SHORT, 100, 100) is None
    excess = side_excess("DOGEUSDT", Side.SHORT, 130, 100)
    assert excess is not None and excess.excess == 30 and excess.sentence().startswith("[C3] DOGEUSDT SHORT holds 130")


class _Cockpit:
    def on_fill(self, *args) -> None:  # noqa: ANN002
        pass


def test_L0_the_order_room_does_not_send_an_open_above_call_size_and_pauses_entries(fake, tmp_path):
    """A side already at CALL_SIZE (the bot's late execution taken from the exchange): the next
    OPEN on it is not sent, one ERROR line, entries pause; nothing reaches the exchange."""
    bot = Bot(fake, tmp_path)
    bot.trade(Side.SHORT, Action.OPEN, int(CALL), "ah-l-1")
    room = OrderRoom(bot.ctx, bot.reconciler, _Cockpit())
    strategy = bot.slot.strategy
    intent = OrderIntent(SYMBOL, Side.SHORT, Action.OPEN, 50.0, "R5", 0, "ah-l-2")
    before = len(fake.state()["orders"])
    room.execute(bot.slot, [intent], 0.3, 0)
    assert len(fake.state()["orders"]) == before, "nothing was sent"
    [line] = [event.message for event in bot.logs if event.rule == "C0"]
    assert line.startswith("[C0] DOGEUSDT OPEN SHORT 50 not sent")
    assert strategy.opens_allowed is False and strategy.state.pause_reason == line
    assert strategy.state.positions[Side.SHORT].qty == CALL and not strategy.state.pending


def test_L1_a_trade_by_hand_that_enlarges_the_main_is_told_once_with_its_excess(fake, tmp_path):
    bot = Bot(fake, tmp_path)
    bot.trade(Side.SHORT, Action.OPEN, int(CALL), "ah-h-1")
    bot.adapter.submit_market_order(SYMBOL, Side.SHORT, Action.OPEN, __import__("decimal").Decimal(30), "by-hand-1")
    bot.reconciler.check_positions(bot.slot)
    bot.reconciler.check_positions(bot.slot)  # the same excess again: no second line
    [line] = [event.message for event in bot.logs if event.rule == "C3"]
    assert line.startswith(f"[C3] DOGEUSDT SHORT holds 230, 30 above CALL_SIZE {CALL:g}")
