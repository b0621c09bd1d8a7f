"""A silent dead listenKey (issue 18, item 4 and Build 7): the key stops existing with no
``listenKeyExpired`` and no close, so the socket stays open and says nothing (reported on Binance:
binance/binance-connector-js#135, binance/binance-connector-rust#74). The fake's
``kill_listen_keys()`` does exactly that (tests/fake_binance/README.md).

The bot notices when an order of its own filled and the stream brought none of its executions:
it sends the keep-alive at once, Binance answers -1125 for the dead key, and the stream makes a
new key and connects again. Meanwhile REST stays the authority: positions equal the exchange's.
"""
from __future__ import annotations

import logging

from adapters.binance_user_stream import SUSPECT_EVERY_S, UserDataStream
from tests.fake_binance.fixtures import fake, fake_adapter, fake_server  # noqa: F401
from tests.test_runner_money_safety import BAR, SYMBOL, Bot, assert_bot_equals_exchange, wait_until


def _private_keys(fake) -> list[set[str]]:  # noqa: F811
    return [sub.listen_keys for sub in fake.exchange.hub.subscribers if sub.route == "private"]


def test_a_suspected_key_that_died_silently_is_replaced_and_the_new_one_delivers(fake, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="autohedge.userstream")
    stream = UserDataStream(fake_adapter(fake, [0.0], 5.0), fake.ws_url)
    stream.reconnect_delays = (0.0,)
    stream.start()
    try:
        wait_until(stream.connected.is_set)
        [first] = _private_keys(fake)
        assert fake.kill_listen_keys() == 1
        fake.trade_by_hand(SYMBOL, "BUY", "LONG", "100")
        assert stream.received == 0  # silent: the fill's events never came
        assert stream.suspect()
        assert not stream.suspect()  # at most one check per SUSPECT_EVERY_S
        wait_until(lambda: stream.reconnects >= 1 and stream.connected.is_set() and _private_keys(fake)
                   and _private_keys(fake)[0] != first)
        fake.trade_by_hand(SYMBOL, "SELL", "LONG", "100")
        wait_until(lambda: stream.received >= 1)  # the new key's socket delivers
    finally:
        stream.close()
    assert any("keep-alive failed" in r.getMessage() and "listenKey does not exist" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert SUSPECT_EVERY_S > 0


def test_a_live_key_suspected_is_kept_alive_and_the_socket_stays(fake, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="autohedge.userstream")
    stream = UserDataStream(fake_adapter(fake, [0.0], 5.0), fake.ws_url)
    stream.start()
    try:
        wait_until(stream.connected.is_set)
        assert stream.suspect()
        wait_until(lambda: any("the listenKey is alive" in r.getMessage() for r in caplog.records))
        assert stream.reconnects == 0 and stream.connected.is_set()
    finally:
        stream.close()


def test_the_service_notices_a_silent_key_at_its_own_fill_and_stays_equal_to_the_exchange(fake, tmp_path):  # noqa: F811
    bot = Bot(fake, tmp_path, [], user_stream=True)
    bot.user_stream.reconnect_delays = (0.0,)
    bot.feed.script.extend([
        lambda: wait_until(bot.user_stream.connected.is_set),
        fake.kill_listen_keys,  # dies without a word
        BAR,  # the bot opens LONG 100: REST says FILLED, the stream says nothing
        lambda: wait_until(lambda: bot.user_stream.reconnects >= 1 and bot.user_stream.connected.is_set()),
        lambda: fake.trade_by_hand(SYMBOL, "SELL", "LONG", "100"),  # closed by hand: seen on the new key
        lambda: wait_until(lambda: bot.user_stream.received >= 1),
        BAR])  # reconciled, then the bot opens again: its executions arrive
    bot.run()
    # (the service survives a failed script step -- "no single failure stops the bot" -- so say it here)
    assert not any("the candle feed failed" in line for line in bot.lines), bot.lines
    opened = [line for line in bot.lines if "[O3]" in line and "filled OPEN LONG" in line]
    assert len(opened) == 2, bot.lines
    assert "(estimate)" in opened[0]  # the dead key brought no commission for the first open
    assert "(estimate)" not in opened[1] and " USDT (R2" in opened[1]  # the new key's executions priced it
    assert any("LONG: state holds 100, the exchange 0" in line for line in bot.lines)
    assert_bot_equals_exchange(bot)
