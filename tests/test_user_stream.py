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
