"""User-data stream payloads with Binance's field names (USDS-M futures "User Data Streams").

- ORDER_TRADE_UPDATE ("Event: Order Update"): ``o.c`` client id, ``o.X`` status, ``o.x`` execution
  type, ``o.l`` last filled qty, ``o.z`` cumulative filled qty, ``o.ap`` average price, ``o.L`` last
  price, ``o.n`` commission of this fill and ``o.N`` its asset, ``o.ps`` position side, ``o.rp``
  realized profit of this fill, ``o.o`` order type (``LIQUIDATION`` for a liquidation).
- ACCOUNT_UPDATE ("Event: Balance and Position Update"): ``a.m`` reason (ORDER, FUNDING_FEE, ...),
  ``a.B`` balances (``wb`` wallet, ``cw`` cross wallet, ``bc`` balance change except PnL and
  commission), ``a.P`` changed positions (``pa`` amount, negative for SHORT, ``ep`` entry price,
  ``bep`` break-even price, ``cr`` accumulated realized, ``up`` unrealized, ``mt`` margin type,
  ``iw`` isolated wallet, ``ps`` position side).
- listenKeyExpired ("Event: User Data Stream Expired").
- TRADE_LITE (Binance, 2024-09-03): a short form of each execution, sent before its ORDER_TRADE_UPDATE
  (recorded: tests/data/binance-real/ws/seq_BTCUSDT_LIMIT_2024-11-18.jsonl).
- MARGIN_CALL ("Event: Margin Call"): ``cw`` cross wallet, ``p`` positions at risk (``mp`` mark price,
  ``up`` unrealized, ``mm`` maintenance margin).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any


def order_trade_update(order: Any, execution: str, last_qty: Decimal, last_price: Decimal, fee: Decimal,
                       realized: Decimal = Decimal(0), fee_asset: str = "USDT") -> dict[str, object]:
    return {"e": "ORDER_TRADE_UPDATE", "E": order.update_time, "T": order.update_time, "o": {
        "s": order.symbol, "c": order.client_id, "S": order.side, "o": order.order_type, "f": "GTC",
        "q": str(order.orig_qty), "p": "0", "ap": str(order.avg_price), "sp": "0", "x": execution,
        "X": order.status, "i": order.order_id, "l": str(last_qty), "z": str(order.executed_qty),
        "L": str(last_price), "N": fee_asset, "n": str(fee), "T": order.update_time, "t": order.last_trade_id,
        "b": "0", "a": "0", "m": False, "R": False, "wt": "CONTRACT_PRICE", "ot": order.order_type,
        "ps": order.position_side, "cp": False, "rp": str(realized), "pP": False, "si": 0, "ss": 0,
        "V": "NONE", "pm": "NONE", "gtd": 0}}


def position_entry(symbol: str, side: str, qty: Decimal, entry: Decimal, realized: Decimal,
                   unrealized: Decimal, margin_type: str) -> dict[str, object]:
    return {"s": symbol, "pa": str(-qty if side == "SHORT" else qty), "ep": str(entry), "bep": str(entry),
            "cr": str(realized), "up": str(unrealized), "mt": margin_type, "iw": "0", "ps": side}


def account_update(time_ms: int, reason: str, wallet: Decimal, balance_change: Decimal,
                   positions: list[dict[str, object]]) -> dict[str, object]:
    return {"e": "ACCOUNT_UPDATE", "E": time_ms, "T": time_ms, "a": {
        "m": reason, "B": [{"a": "USDT", "wb": str(wallet), "cw": str(wallet), "bc": str(balance_change)}],
        "P": positions}}


def trade_lite(order: Any, last_qty: Decimal, last_price: Decimal) -> dict[str, object]:
    return {"e": "TRADE_LITE", "E": order.update_time, "T": order.update_time, "s": order.symbol,
            "q": str(order.orig_qty), "p": "0", "m": False, "c": order.client_id, "S": order.side,
            "L": str(last_price), "l": str(last_qty), "t": order.last_trade_id, "i": order.order_id}


def margin_call(time_ms: int, cross_wallet: Decimal, positions: list[dict[str, object]]) -> dict[str, object]:
    return {"e": "MARGIN_CALL", "E": time_ms, "cw": str(cross_wallet), "p": positions}


def listen_key_expired(time_ms: int, listen_key: str) -> dict[str, object]:
    return {"e": "listenKeyExpired", "E": time_ms, "listenKey": listen_key}
