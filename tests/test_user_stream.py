"""The user-data stream's parsing and address (adapters/binance_user_stream.py)."""
from __future__ import annotations

import json
from decimal import Decimal

from adapters.binance_user_stream import parse_user_event, private_url
from core.model import Side
from core.ports import PositionUpdate, TradeUpdate


def test_private_address_on_the_stream_host_whatever_the_market_path():
    for base in ("wss://fstream.binance.com/", "wss://fstream.binance.com/market/stream?streams=dogeusdt@kline_5m"):
        assert private_url(base, "KEY") == ("wss://fstream.binance.com/private/ws?listenKey=KEY"
                                            "&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/listenKeyExpired/"
                                            "MARGIN_CALL/ACCOUNT_CONFIG_UPDATE")


def test_an_execution_carries_its_commission_and_asset():
    event = {"e": "ORDER_TRADE_UPDATE", "E": 5, "o": {"s": "DOGEUSDT", "c": "ah-1", "x": "TRADE", "X": "PARTIALLY_FILLED",
                                                      "l": "40", "z": "40", "L": "0.1", "n": "0.0016", "N": "BNB", "T": 4}}
    [trade] = parse_user_event(json.dumps({"stream": "KEY", "data": event}))
    assert trade == TradeUpdate("DOGEUSDT", "ah-1", Decimal(40), Decimal(40), Decimal("0.1"), Decimal("0.0016"),
                                "BNB", "PARTIALLY_FILLED", 4)
    event["o"]["x"] = "NEW"
    assert parse_user_event(json.dumps(event)) == []


def test_position_changes_and_key_expiry():
    event = {"e": "ACCOUNT_UPDATE", "E": 9, "a": {"m": "ORDER", "P": [
        {"s": "DOGEUSDT", "pa": "-100", "ep": "0.2", "ps": "SHORT"},
        {"s": "DOGEUSDT", "pa": "0", "ep": "0", "ps": "BOTH"}]}}
    assert parse_user_event(json.dumps(event)) == [
        PositionUpdate("DOGEUSDT", Side.SHORT, Decimal(100), Decimal("0.2"), "ORDER", 9)]
    assert parse_user_event(json.dumps({"e": "listenKeyExpired", "E": 1, "listenKey": "K"})) == ["expired"]


def test_margin_calls_and_config_changes_are_kept_apart_from_the_fills_queue():
    """drain()/wait() keep the UserStream port's record types; margin calls and account
    configuration changes wait in drain_account_events() for the service to show them."""
    from adapters.binance_user_stream import UserDataStream
    from core.ports import AccountConfigUpdate, MarginCall

    class OneConnection:
        def __init__(self, stream, frames):
            self.stream, self.frames = stream, list(frames)

        def recv(self, timeout):
            if not self.frames:
                self.stream._stop.set()  # noqa: SLF001 - end the read loop after the frames
                raise TimeoutError
            return self.frames.pop(0)

    stream = UserDataStream(listen_keys=None, stream_base_url="wss://fstream.binance.com/")
    margin = {"e": "MARGIN_CALL", "E": 3, "cw": "1", "p": []}
    config = {"e": "ACCOUNT_CONFIG_UPDATE", "E": 4, "ac": {"s": "DOGEUSDT", "l": 7}}
    fill = {"e": "ORDER_TRADE_UPDATE", "E": 5, "o": {"s": "DOGEUSDT", "c": "ah-1", "x": "TRADE", "X": "FILLED",
                                                     "l": "1", "z": "1", "L": "0.1", "n": "0", "N": "USDT", "T": 5}}
    stream._read(OneConnection(stream, [json.dumps(margin), json.dumps(config), json.dumps(fill)]), "KEY")  # noqa: SLF001
    assert [type(record) for record in stream.drain()] == [TradeUpdate]
    assert stream.drain_account_events() == [MarginCall(Decimal(1), (), 3),
                                             AccountConfigUpdate("DOGEUSDT", 7, None, 4)]
    assert stream.received == 3
