"""Issue 18, service side: an execution without a price, account events, and no single answer
stopping the bot. The real service, adapter and user-data stream on the fake exchange (its New
Order answers in Binance's 2026-07 schema: no avgPrice, no cumQuote)."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from decimal import Decimal

import pytest

from adapters.binance_user_stream import UserDataStream
from core.model import Side
from core.ports import AccountConfigUpdate
from core.state import StateStore
from live.account_events import handle_account_events
from live.alerts import alert_for
from live.events import AccountConfigEvent, ForcedCloseEvent, MarginCallEvent, StatusRow, SymbolRunState
from tests.fake_binance.fixtures import fake, fake_server  # noqa: F401
from tests.test_runner_money_safety import BAR, IDLE, SYMBOL, Bot, assert_bot_equals_exchange, wait_until


@pytest.fixture(autouse=True)
def settled(fake_server):  # noqa: F811
    yield
    fake_server.settle()


def unpriced_look_ups(adapter) -> None:
    """GET order answers without a price too (avgPrice "0.00", no cumQuote): only the stream can price it."""
    query = adapter.query_order

    def without_price(symbol, client_id):
        report = query(symbol, client_id)
        if report is None or report.executed_qty == 0:
            return report
        return replace(report, avg_price=Decimal(0), price_known=False)
    adapter.query_order = without_price


def journal(bot) -> list[dict]:
    return [json.loads(line) for line in (bot.state_dir / "fills.jsonl").read_text().splitlines() if line]


def test_an_execution_no_answer_prices_is_priced_from_the_user_stream_fills(fake, tmp_path):  # noqa: F811
    bot = Bot(fake, tmp_path, [], user_stream=True)
    unpriced_look_ups(bot.adapter)
    bot.feed.script.extend([
        lambda: wait_until(bot.user_stream.connected.is_set), BAR,
        lambda: wait_until(lambda: bot.user_stream.received >= 2), IDLE, BAR, BAR])
    bot.run()
    entry = next(row for row in fake.state()["positions"] if row["symbol"] == SYMBOL and row["positionSide"] == "LONG")
    state = bot.state()
    assert state.positions[Side.LONG].qty == 100
    assert state.positions[Side.LONG].entry_price == pytest.approx(float(entry["entryPrice"]))
    assert all(fill["price"] > 0 and math.isfinite(fill["price"]) for fill in journal(bot))
    assert journal(bot)[0]["price"] == pytest.approx(float(entry["entryPrice"]))
    assert any("gave no price" in line for line in bot.lines)  # the REST answers had none
    assert not any(event.state is SymbolRunState.ERROR for event in bot.events if isinstance(event, StatusRow))
    assert_bot_equals_exchange(bot)


def test_without_the_stream_an_unpriced_execution_stays_pending_never_at_price_0(fake, tmp_path):  # noqa: F811
    bot = Bot(fake, tmp_path, [BAR, BAR])
    unpriced_look_ups(bot.adapter)
    bot.run()
    state = bot.state()
    assert state.pending and state.positions[Side.LONG].qty == 0  # waits; nothing recorded at 0
    assert not (bot.state_dir / "fills.jsonl").exists() or all(f["price"] > 0 for f in journal(bot))
    assert any("still unknown" in line for line in bot.lines)


def test_a_restart_repairs_a_best_price_of_0_to_the_entry(fake, tmp_path):  # noqa: F811
    Bot(fake, tmp_path, [BAR]).run()
    store = StateStore(tmp_path / "state")
    state = store.load(SYMBOL)
    assert state.positions[Side.LONG].qty == 100
    state.positions[Side.LONG].best_price = 0.0  # what a fill recorded without a price left behind
    store.save(state)
    bot = Bot(fake, tmp_path, [BAR, BAR])
    bot.run()
    position = bot.state().positions[Side.LONG]
    assert position.best_price >= position.entry_price > 0
    assert any("best price 0.0 in state is not a price" in line for line in bot.lines)
    assert not any(event.state is SymbolRunState.ERROR for event in bot.events if isinstance(event, StatusRow))


# ----- account events -------------------------------------------------------------------------------------


def test_a_margin_call_is_one_line_one_event_and_an_alert(fake, tmp_path):  # noqa: F811
    bot = Bot(fake, tmp_path, [], user_stream=True)
    bot.feed.script.extend([
        lambda: wait_until(bot.user_stream.connected.is_set), BAR,
        lambda: wait_until(lambda: bot.user_stream.received >= 2),
        lambda: fake.margin_call(SYMBOL), lambda: wait_until(lambda: bot.user_stream.received >= 3), IDLE, BAR])
    bot.run()
    [event] = [e for e in bot.events if isinstance(e, MarginCallEvent)]
    [(symbol, side, qty, mark, maintenance)] = event.positions
    assert (symbol, side, qty) == (SYMBOL, "LONG", 100) and mark > 0 and maintenance > 0
    assert sum("MARGIN CALL" in line for line in bot.lines) == 1
    alert = alert_for(event)
    assert alert.kind == "liquidations" and "DOGEUSDT LONG 100" in alert.body and "maintenance margin" in alert.body


def test_a_settlement_is_worded_as_a_delisting_or_delivery_not_an_adl(fake, tmp_path):  # noqa: F811
    bot = Bot(fake, tmp_path, [], user_stream=True)
    bot.feed.script.extend([
        lambda: wait_until(bot.user_stream.connected.is_set), BAR,
        lambda: wait_until(lambda: bot.user_stream.received >= 2),
        lambda: fake.settle_position(SYMBOL, "LONG"), lambda: wait_until(lambda: bot.user_stream.received >= 4),
        IDLE, BAR])
    bot.run()
    [event] = [e for e in bot.events if isinstance(e, ForcedCloseEvent)]
    assert event.kind == "settlement"
    line = next(line for line in bot.lines if "settlement_autoclose" in line)
    assert "delisting/delivery settlement" in line and "auto-deleveraged" not in line
    assert "delisting/delivery settlement" in alert_for(event).title
    assert_bot_equals_exchange(bot)


class StubStream:
    def __init__(self, records):
        self.records = list(records)

    def drain_account_events(self):
        records, self.records = self.records, []
        return records


def test_a_leverage_changed_by_hand_is_told_and_shown_in_the_status(fake, tmp_path):  # noqa: F811
    bot = Bot(fake, tmp_path, [BAR])
    bot.run()
    ctx = bot.service.ctx
    ctx.user_stream = StubStream([AccountConfigUpdate(SYMBOL, 20, None, 1), AccountConfigUpdate(None, None, True, 2),
                                  "not an account event"])
    handle_account_events(ctx)
    events = [e for e in bot.events if isinstance(e, AccountConfigEvent)]
    assert [e.leverage for e in events] == [20, None] and "Multi-Assets" in events[1].text
    assert any("leverage is now 20x" in line for line in bot.lines)
    assert [e for e in bot.events if isinstance(e, StatusRow)][-1].leverage == 20


def test_an_expired_listen_key_makes_a_new_one_and_the_stream_reconnects(fake, tmp_path):  # noqa: F811
    from tests.fake_binance.fixtures import fake_adapter
    stream = UserDataStream(fake_adapter(fake, [0.0], 5.0), fake.ws_url)
    stream.reconnect_delays = (0.0,)
    stream.start()
    try:
        wait_until(stream.connected.is_set)
        [first] = [sub.listen_keys for sub in fake.exchange.hub.subscribers if sub.route == "private"]
        fake.step(ms=61 * 60_000)  # no keepalive for 61 minutes: Binance expires the key
        wait_until(lambda: stream.reconnects >= 1 and stream.connected.is_set())
        fake.trade_by_hand(SYMBOL, "BUY", "LONG", "100")
        wait_until(lambda: stream.received >= 1)  # the new key's socket delivers
        [now] = [sub.listen_keys for sub in fake.exchange.hub.subscribers if sub.route == "private"]
        assert now != first  # a new key, on a new socket
    finally:
        stream.close()


# ----- no single answer can stop the bot -------------------------------------------------------------------


def test_a_failure_on_one_close_is_told_once_and_the_next_close_is_handled_again(fake, tmp_path):  # noqa: F811
    bot = Bot(fake, tmp_path, [BAR, BAR, BAR])
    original = bot.service.orders.execute
    calls = []

    def execute_failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ZeroDivisionError("float division by zero")
        return original(*args, **kwargs)
    bot.service.orders.execute = execute_failing_once
    bot.run()
    failed = [line for line in bot.lines if "handling the last close failed" in line]
    assert len(failed) == 1 and "ZeroDivisionError" in failed[0] and "tried again on the next close" in failed[0]
    assert any("this close went through; trading as before" in line for line in bot.lines)
    assert len(calls) == 3 and bot.service.slots[SYMBOL].run_state is not SymbolRunState.ERROR
    assert_bot_equals_exchange(bot)


def test_run_ends_only_when_asked_even_when_status_rows_events_and_shutdown_fail(fake, tmp_path):  # noqa: F811
    bot = Bot(fake, tmp_path, [BAR, BAR])

    def listener(event):
        bot.events.append(event)
        raise RuntimeError("a broken window")
    bot.service.ctx.listener = listener
    import live.context as context
    original = context.status_row
    context.status_row = lambda slot, sizes: 1 / 0
    try:
        bot.feed.close = lambda: (_ for _ in ()).throw(OSError("feed close failed"))
        bot.run()  # returns: the replay's end, not an exception
    finally:
        context.status_row = original
    assert bot.state().positions[Side.LONG].qty == 100


# ----- the wallet's asset is shown, not assumed (issue 18, 9) ------------------------------------------------


def test_the_wallet_asset_is_read_from_the_account_and_shown_in_the_strip(qtbot):
    from adapters.binance_futures import wallet_asset
    from live.events import AccountUpdate
    from ui.account_strip import AccountStrip
    assert wallet_asset([{"asset": "USDT", "walletBalance": "0.0"}, {"asset": "BNFCR", "walletBalance": "12.5"}]) \
        == "BNFCR"
    assert wallet_asset([{"asset": "USDC", "walletBalance": "40"}, {"asset": "USDT", "walletBalance": "2"}]) == "USDC"
    assert wallet_asset(None) == "USDT"
    strip = AccountStrip()
    qtbot.addWidget(strip)
    strip.update_account(AccountUpdate(1, 12.5, 12.5, 0.0, 0.0, 0.0, None, (), asset="BNFCR"))
    assert "BNFCR" in strip.text_of("wallet") and "USDT" not in strip.text_of("wallet")


def test_the_window_is_offered_only_perpetual_trading_symbols():
    from live.accounts import tradable_symbols
    lots = [{"filterType": "LOT_SIZE", "stepSize": "1", "minQty": "1", "maxQty": "1000000"},
            {"filterType": "MARKET_LOT_SIZE", "stepSize": "1", "minQty": "1", "maxQty": "100000"},
            {"filterType": "MIN_NOTIONAL", "notional": "5"}]

    class Exchange:
        def exchange_info(self):
            return {"symbols": [
                {"symbol": "DOGEUSDT", "status": "TRADING", "contractType": "PERPETUAL", "quoteAsset": "USDT",
                 "filters": lots},
                {"symbol": "BTCUSDT_261225", "status": "TRADING", "contractType": "CURRENT_QUARTER",
                 "quoteAsset": "USDT", "filters": lots},
                {"symbol": "XUSDT", "status": "SETTLING", "contractType": "PERPETUAL", "quoteAsset": "USDT",
                 "filters": lots}]}
    assert tradable_symbols(Exchange()) == {"DOGEUSDT": 5.0}
