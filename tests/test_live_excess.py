"""Never above CALL_SIZE by the bot's own hand [C1, C2, C3] (issue 19, item 7): the real service
(strategy, executor, Binance adapter, python-binance) against the fake exchange, with the scripted
feed of tests/test_runner_money_safety.py (warm-up sets the regime UP; the first close opens the
call, R2 LONG = CALL_SIZE 100).

- an OPEN whose outcome was unknown, given up, that executes after the next close: the bot's own
  orders never take a side above CALL_SIZE and its own excess is closed within one close [C1];
- a trade by hand that enlarges the main: one [C3] line and one question; the hedge covers
  CALL_SIZE only [R6]; then the main is liquidated: the orphan hedge is closed at the next close [C2];
- the trader's answers: keep (left unmanaged, shown as such, the bot's rules see CALL_SIZE) or close.
"""
from __future__ import annotations

from decimal import Decimal

from core.model import Action, FIVE_MINUTES_MS, Side
from live.events import ExcessQuestion, StatusRow
from tests.fake_binance.fixtures import fake, fake_server  # noqa: F401
from tests.test_runner_money_safety import (  # noqa: F401
    BAR, IDLE, ORDER_PATH, SYMBOL, Bot, ScriptFeed, assert_bot_equals_exchange, exchange_qty, orders, settled,
    trade_by_hand,
)

CALL = 100


class FallingFeed(ScriptFeed):
    """The scripted feed, whose closes from the ``fall_from``-th on drop 1 % a bar: the LONG main
    (bought at the fake's price, the warm-up's level) loses, so the rules hedge it [R3 or R5]."""

    fall_from = 3

    def _candle(self, close_time: int, step: int, interval_ms: int):  # noqa: ANN202
        candle = super()._candle(close_time, step, interval_ms)
        if interval_ms != FIVE_MINUTES_MS or step < self.fall_from:
            return candle
        close = self.base * (1 - 0.01 * (step - self.fall_from + 1))
        return type(candle)(candle.open_time, close, close, close, close, 1.0, close_time)


def falling_bot(fake, tmp_path, script: list) -> Bot:  # noqa: ANN001
    bot = Bot(fake, tmp_path, [])
    feed = FallingFeed(fake, script, bot.elapsed)
    bot.feed = feed
    bot.service.ctx.feed = feed
    bot.service.ctx.clock = lambda: bot.adapter._server_now_ms() + feed.shift_ms
    return bot


def questions(bot: Bot) -> list[ExcessQuestion]:
    return [event for event in bot.events if isinstance(event, ExcessQuestion)]


def rule_lines(bot: Bot, rule: str) -> list[str]:
    return [event.message for event in bot.events if getattr(event, "rule", None) == rule]


def bot_orders(fake) -> list[dict]:  # noqa: ANN001
    """The orders the bot sent (its client ids start with ``ah-``), in the exchange's order."""
    return [order for order in orders(fake) if order["clientOrderId"].startswith("ah-")]


def test_C1_an_open_given_up_that_executes_after_the_next_close_is_its_own_and_its_excess_is_closed(fake, tmp_path):
    # The first open is answered -1007 (outcome unknown) and executes only 3 s later; the bot's
    # clock passes its window at the next close, gives it up and decides again (R2, a new client id).
    fake.add_fault(kind="execute_later", answer="-1007", delay_ms=3000, path=ORDER_PATH, method="POST")
    bot = Bot(fake, tmp_path, [BAR, BAR], settle=False)
    bot.feed.script.extend([fake.settle, BAR, BAR])  # the late execution happens after the second close
    bot.run()
    given_up = [line for line in bot.lines if "[O5]" in line and "given up" in line]
    assert len(given_up) == 1, bot.lines
    [late] = [line for line in rule_lines(bot, "C1") if "executed" in line]
    assert "was given up but executed 100 late" in late and "the bot's own fill" in late
    # Its excess was closed at the close that found it (the third), under C1; never asked about.
    third_close = bot.feed.t0 + 3 * FIVE_MINUTES_MS
    closes = [fill for fill in bot.service.journal.fills if fill.reason == "C1"]
    assert [(f.side, f.action, f.qty, f.decision_time) for f in closes] == \
        [(Side.LONG, Action.CLOSE, 100.0, third_close)]
    assert questions(bot) == [] and rule_lines(bot, "C3") == []
    assert exchange_qty(fake, Side.LONG) == CALL and exchange_qty(fake, Side.SHORT) == 0
    # The bot's own orders: the given-up open, the open decided again, the C1 close; no hedge of 200.
    sent = [(order["side"], order["positionSide"], Decimal(order["origQty"])) for order in bot_orders(fake)]
    assert sent == [("BUY", "LONG", 100), ("BUY", "LONG", 100), ("SELL", "LONG", 100)], sent
    # Journal: both opens (R2, the late one with its own client id) and the close; equal to the exchange.
    assert sorted((f.reason, f.action.value, f.qty) for f in bot.service.journal.fills) == \
        [("C1", "CLOSE", 100.0), ("R2", "OPEN", 100.0), ("R2", "OPEN", 100.0)]
    assert_bot_equals_exchange(bot)


def test_C3_a_trade_by_hand_enlarges_the_main_then_it_is_liquidated_C2_closes_the_orphan_hedge(fake, tmp_path):
    """The main LONG 100 grows by 30 by hand: one [C3] line and one question; the price falls and the
    rules hedge it with CALL_SIZE (100), not 130; the LONG is liquidated: the SHORT hedge is an
    orphan and is closed at the next close [C2]; the bot never sends an OPEN above CALL_SIZE."""
    bot = falling_bot(fake, tmp_path, [BAR, trade_by_hand(fake, "BUY", "LONG", "30", "web_by_hand_1"), BAR])
    steps = bot.feed.script

    def liquidate_once_hedged() -> None:
        if exchange_qty(fake, Side.SHORT) > 0:  # the rules hedged the losing main: liquidate it, one close more
            fake.liquidate(SYMBOL, "LONG")
            steps.clear()
            steps.append(BAR)

    for _ in range(12):  # falling closes until the rules hedge the losing main
        steps.extend([liquidate_once_hedged, BAR])
    bot.run()
    assert exchange_qty(fake, Side.LONG) == 0 and exchange_qty(fake, Side.SHORT) == 0, bot.lines
    [c3] = rule_lines(bot, "C3")
    assert c3.startswith(f"[C3] {SYMBOL} LONG holds 130, 30 above CALL_SIZE 100")
    [question] = questions(bot)
    assert (question.symbol, question.side, question.held, question.excess) == (SYMBOL, "LONG", 130.0, 30.0)
    hedges = [o for o in bot_orders(fake) if o["positionSide"] == "SHORT" and o["side"] == "SELL"]
    assert [Decimal(o["origQty"]) for o in hedges] == [CALL], "the hedge covers CALL_SIZE only [R6]"
    [gone] = [line for line in rule_lines(bot, "C2") if "main is gone" in line]
    assert "LONG main is gone, not by the bot's hand" in gone, rule_lines(bot, "C2")
    orphan = [f for f in bot.service.journal.fills if f.reason == "C2"]
    assert [(f.side, f.action, f.qty) for f in orphan] == [(Side.SHORT, Action.CLOSE, 100.0)]
    for order in bot_orders(fake):  # no order of the bot took a side above CALL_SIZE
        assert Decimal(order["origQty"]) <= CALL
    assert_bot_equals_exchange(bot)


def test_C3_keep_leaves_the_excess_unmanaged_shown_in_the_status_and_the_rules_manage_call_size(fake, tmp_path):
    bot = Bot(fake, tmp_path, [BAR, trade_by_hand(fake, "BUY", "LONG", "30", "web_by_hand_2"), BAR])
    bot.feed.script.extend([lambda: bot.service.answer_excess(SYMBOL, "LONG", True), IDLE, BAR])
    bot.run()
    state = bot.state()
    assert state.unmanaged_long == 30 and state.positions[Side.LONG].qty == 130
    assert bot.service.slots[SYMBOL].strategy.managed(Side.LONG) == CALL
    row = [event for event in bot.events if isinstance(event, StatusRow)][-1]
    assert (row.main_qty, row.main_unmanaged) == (130.0, 30.0)
    assert any("the trader keeps 30 above CALL_SIZE 100; it is left unmanaged" in line
               for line in rule_lines(bot, "C3"))
    assert exchange_qty(fake, Side.LONG) == 130 and len(bot_orders(fake)) == 1, "nothing was sent for the excess"
    assert len(questions(bot)) == 1


def test_C3_a_kept_excess_follows_the_side_down_when_it_is_flattened(fake, tmp_path):
    """Keep, then Flatten (the user closes everything, the kept 30 included): the unmanaged amount is
    gone with the side, so the main the rules open again is managed whole."""
    bot = Bot(fake, tmp_path, [BAR, trade_by_hand(fake, "BUY", "LONG", "30", "web_by_hand_5"), BAR])
    bot.feed.script.extend([lambda: bot.service.answer_excess(SYMBOL, "LONG", True), IDLE,
                            lambda: bot.service.flatten(SYMBOL), IDLE, BAR])
    bot.run()
    flatten = [o for o in bot_orders(fake) if o["side"] == "SELL" and o["positionSide"] == "LONG"]
    assert [Decimal(o["origQty"]) for o in flatten] == [130], "flatten closes the kept excess too"
    state = bot.state()
    assert state.unmanaged_long == 0
    assert state.positions[Side.LONG].qty == bot.service.slots[SYMBOL].strategy.managed(Side.LONG) <= CALL
    assert_bot_equals_exchange(bot)


def test_C3_close_sends_one_close_of_the_excess(fake, tmp_path):
    bot = Bot(fake, tmp_path, [BAR, trade_by_hand(fake, "BUY", "LONG", "30", "web_by_hand_3"), BAR])
    bot.feed.script.extend([lambda: bot.service.answer_excess(SYMBOL, "LONG", False), IDLE, BAR])
    bot.run()
    assert exchange_qty(fake, Side.LONG) == CALL
    closes = [f for f in bot.service.journal.fills if f.reason == "C3"]
    assert [(f.side, f.action, f.qty) for f in closes] == [(Side.LONG, Action.CLOSE, 30.0)]
    assert bot.state().unmanaged_long == 0
    assert_bot_equals_exchange(bot)


def test_C3_a_question_left_unanswered_is_asked_again_after_a_restart(fake, tmp_path):
    Bot(fake, tmp_path, [BAR, trade_by_hand(fake, "BUY", "LONG", "30", "web_by_hand_4"), BAR, BAR]).run()
    restarted = Bot(fake, tmp_path, [BAR, BAR]).run()
    [question] = questions(restarted)
    assert (question.side, question.held, question.excess) == ("LONG", 130.0, 30.0)
    [line] = rule_lines(restarted, "C3")
    assert "LONG holds 130, 30 above CALL_SIZE 100, not answered yet" in line
    assert exchange_qty(fake, Side.LONG) == 130 and len(bot_orders(fake)) == 1, "nothing sent for the excess"
