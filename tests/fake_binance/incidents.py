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
"""
from __future__ import annotations

import secrets
from decimal import Decimal

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
