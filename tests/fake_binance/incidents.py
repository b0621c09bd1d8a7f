"""What happens to an account outside the bot's API calls, for the control API (``/_fake/...``).

Each one changes the account and sends the user-data events Binance documents for it:

- **liquidation** ("Event: Order Update", *Liquidation and ADL*): the whole position is closed by an
  order of type ``LIQUIDATION`` whose client id starts with ``autoclose-``; NEW, then the
  liquidation execution (``x`` CALCULATED, ``X`` FILLED); ACCOUNT_UPDATE with ``m`` ORDER.
- **auto-deleverage**: part or all of a position is closed by an order with client id
  ``adl_autoclose`` (NEW, then ``x`` TRADE, ``X`` FILLED); ACCOUNT_UPDATE with ``m`` ORDER.
- **funding payment** ("Event: Balance and Position Update"): every open position of the symbol pays
  (rate > 0: LONG pays, SHORT receives) ``qty * price * rate``; ACCOUNT_UPDATE with ``m``
  FUNDING_FEE and only the balance ``B`` (a cross position; an isolated one also gets its ``P``).
- **a trade by hand** (the Binance app or website): a MARKET order with a ``web_`` client id, checked
  like an API order, with the usual events.
- **settlement** (a delisting or delivery): the position is closed by Binance with client id
  ``settlement_autoclose-…`` (``x`` CALCULATED), as the recorded
  ws_futures_order_update_settlement frame; ACCOUNT_UPDATE with ``m`` ORDER.
- **an empty liquidation frame**: an ``autoclose-`` ORDER_TRADE_UPDATE with quantity 0 and price 0 that
  closes nothing (recorded: ws_futures_order_update_liquidation_zero_qty).
- **margin call** ("Event: Margin Call"): MARGIN_CALL naming the symbol's open positions; nothing changes.
"""
from __future__ import annotations

import secrets
from decimal import Decimal

from tests.fake_binance import events
from tests.fake_binance.engine import Engine, Order
from tests.fake_binance.errors import ApiError

_OPPOSITE = {"LONG": "SELL", "SHORT": "BUY", "BOTH": "SELL"}


def _close_params(engine: Engine, symbol: str, side: str, qty: Decimal | None, client_id: str) -> dict[str, str]:
    pos = engine.position(symbol, side)
    if pos.qty == 0:
        raise ApiError(-2022, f"No {side} position on {symbol} to close.")
    amount = pos.qty if qty is None else min(Decimal(qty), pos.qty)
    return {"symbol": symbol, "side": _OPPOSITE[side], "positionSide": side, "quantity": str(amount),
            "newClientOrderId": client_id}


def liquidate(engine: Engine, symbol: str, side: str) -> Order:
    with engine.lock:
        engine.spec(symbol)
        params = _close_params(engine, symbol, side, None, f"autoclose-{secrets.randbelow(10**12):012d}")
        order = engine._create(params, order_type="LIQUIDATION")
        engine._fill(order, order.orig_qty, execution="CALCULATED")
        return order


def settle(engine: Engine, symbol: str, side: str) -> Order:
    with engine.lock:
        engine.spec(symbol)
        params = _close_params(engine, symbol, side, None, f"settlement_autoclose-{secrets.randbelow(10**16):016d}")
        order = engine._create(params)
        engine._fill(order, order.orig_qty, execution="CALCULATED")
        return order


def empty_liquidation(engine: Engine, symbol: str, side: str) -> dict[str, object]:
    with engine.lock:
        engine.spec(symbol)
        order = Order(next(engine._order_ids), f"autoclose-{secrets.randbelow(10**16):016d}", symbol,
                      _OPPOSITE[side], side, Decimal(0), Decimal(0), Decimal(0), "FILLED",
                      engine.market.now_ms, engine.market.now_ms)
        event = events.order_trade_update(order, "CALCULATED", Decimal(0), Decimal(0), Decimal(0))
        event["o"].update({"N": None, "n": None})  # as recorded
        engine._emit(event)
        return event


def margin_call(engine: Engine, symbol: str) -> dict[str, object]:
    with engine.lock:
        engine.spec(symbol)
        rows = [{"s": symbol, "ps": side, "pa": str(-pos.qty if side == "SHORT" else pos.qty),
                 "mt": "CROSSED" if engine.account.margin_type.get(symbol, "cross") == "cross" else "ISOLATED",
                 "iw": "0", "mp": str(engine.price(symbol)), "up": str(engine.unrealized(symbol, side)),
                 "mm": str(engine.maint_margin(symbol, side))}
                for side in ("LONG", "SHORT", "BOTH") if (pos := engine.position(symbol, side)).qty]
        event = events.margin_call(engine.market.now_ms, engine.account.wallet, rows)
        engine._emit(event)
        return event


def auto_deleverage(engine: Engine, symbol: str, side: str, qty: str | None = None) -> Order:
    with engine.lock:
        engine.spec(symbol)
        order = engine._create(_close_params(engine, symbol, side, Decimal(qty) if qty else None, "adl_autoclose"))
        engine._fill(order, order.orig_qty)
        return order


def pay_funding(engine: Engine, symbol: str, rate: str) -> Decimal:
    """Returns the wallet's change (negative = paid)."""
    with engine.lock:
        engine.spec(symbol)
        price, change, isolated = engine.price(symbol), Decimal(0), []
        for side in ("LONG", "SHORT", "BOTH"):
            pos = engine.position(symbol, side)
            if pos.qty:
                sign = -1 if side in ("LONG", "BOTH") else 1
                change += (pos.qty * price * Decimal(rate) * sign).quantize(Decimal("0.00000001"))
                if engine.account.margin_type.get(symbol, "cross") == "isolated":
                    isolated.append((symbol, side))
        engine.account.wallet += change
        engine._account_event("FUNDING_FEE", isolated, balance_change=change)
        for listener in list(engine.funding_listeners):
            listener(symbol, change, Decimal(rate), engine.market.now_ms)
        return change


def trade_by_hand(engine: Engine, symbol: str, side: str, position_side: str, qty: str) -> Order:
    with engine.lock:
        params = {"symbol": symbol, "side": side, "positionSide": position_side, "type": "MARKET",
                  "quantity": str(qty), "newClientOrderId": f"web_{secrets.token_hex(8)}"}
        engine._validate(params)
        order = engine._create(params)
        engine._fill(order, order.orig_qty)
        return order
