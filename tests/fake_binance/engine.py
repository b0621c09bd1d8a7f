"""The fake exchange's matching engine and account: hedge-mode rules, fills, positions, balance.

One account (one API key). MARKET orders fill at once at the market's current
price (close of the last closed 5m candle); positions are kept per symbol and
position side with an average entry price; the wallet pays a taker fee on
every fill and receives realized PnL on every close. Every rule below answers
with Binance's own error code and message (see errors.py).
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from tests.fake_binance.errors import ApiError
from tests.fake_binance.market import Market

MAINT_RATE = Decimal("0.005")  # maintenance margin rate of the first bracket of small contracts


@dataclass(frozen=True)
class SymbolSpec:
    """Exchange filters of one symbol (DOGEUSDT's real values by default)."""

    step_size: Decimal = Decimal("1")
    min_qty: Decimal = Decimal("1")
    max_qty: Decimal = Decimal("10000000")
    market_max_qty: Decimal = Decimal("30000000")
    min_notional: Decimal = Decimal("5")
    tick_size: Decimal = Decimal("0.00001")

    @property
    def quantity_precision(self) -> int:
        return max(0, -self.step_size.normalize().as_tuple().exponent)

    @property
    def price_precision(self) -> int:
        return max(0, -self.tick_size.normalize().as_tuple().exponent)


@dataclass
class Position:
    qty: Decimal = Decimal(0)
    entry_price: Decimal = Decimal(0)
    update_time: int = 0


@dataclass
class Order:
    order_id: int
    client_id: str
    symbol: str
    side: str  # BUY / SELL
    position_side: str  # LONG / SHORT / BOTH
    orig_qty: Decimal
    executed_qty: Decimal
    avg_price: Decimal
    status: str
    time: int
    update_time: int
    commission: Decimal = Decimal(0)

    def to_json(self) -> dict[str, object]:
        """The documented fields of an order (POST /fapi/v1/order RESULT and GET /fapi/v1/order)."""
        return {
            "avgPrice": str(self.avg_price), "clientOrderId": self.client_id,
            "cumQuote": str(self.executed_qty * self.avg_price), "cumQty": str(self.executed_qty),
            "executedQty": str(self.executed_qty), "orderId": self.order_id, "origQty": str(self.orig_qty),
            "origType": "MARKET", "price": "0", "reduceOnly": False, "side": self.side,
            "positionSide": self.position_side, "status": self.status, "stopPrice": "0",
            "closePosition": False, "symbol": self.symbol, "time": self.time, "timeInForce": "GTC",
            "type": "MARKET", "updateTime": self.update_time, "workingType": "CONTRACT_PRICE",
            "priceProtect": False, "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0,
        }


@dataclass
class Account:
    wallet: Decimal = Decimal("10000")
    dual_side: bool = True
    open_orders: int = 0  # resting orders (only set by tests, to provoke -4067)
    leverage: dict[str, int] = field(default_factory=dict)
    margin_type: dict[str, str] = field(default_factory=dict)  # "cross" / "isolated"
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    realized_pnl: Decimal = Decimal(0)
    fees_paid: Decimal = Decimal(0)


def _param(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError.of(-1102, name)
    return value


class Engine:
    """Thread-safe: every public method holds the lock (the server thread and tests share it)."""

    def __init__(self, market: Market, specs: dict[str, SymbolSpec] | None = None,
                 wallet: Decimal = Decimal("10000"), taker_fee_rate: Decimal = Decimal("0.0005"),
                 default_leverage: int = 20):
        self.market = market
        self.specs = {symbol: (specs or {}).get(symbol, SymbolSpec()) for symbol in market.symbols}
        self.taker_fee_rate = taker_fee_rate
        self.default_leverage = default_leverage
        self.account = Account(wallet=wallet)
        self.initial_wallet = wallet
        self.orders: dict[str, Order] = {}  # by client id, in arrival order
        self._order_ids = itertools.count(1_000_000)
        self.lock = threading.RLock()
        self.listeners: list = []  # callables(event: dict) for the user data stream

    # ----- helpers ---------------------------------------------------------------------------

    def spec(self, symbol: str) -> SymbolSpec:
        if symbol not in self.specs:
            raise ApiError.of(-1121)
        return self.specs[symbol]

    def price(self, symbol: str) -> Decimal:
        return Decimal(repr(self.market.price(symbol))).quantize(self.spec(symbol).tick_size)

    def position(self, symbol: str, side: str) -> Position:
        return self.account.positions.setdefault((symbol, side), Position())

    def leverage(self, symbol: str) -> int:
        return self.account.leverage.get(symbol, self.default_leverage)

    def unrealized(self, symbol: str, side: str) -> Decimal:
        pos = self.position(symbol, side)
        if pos.qty == 0:
            return Decimal(0)
        sign = 1 if side in ("LONG", "BOTH") else -1
        return (self.price(symbol) - pos.entry_price) * pos.qty * sign

    def maint_margin(self, symbol: str, side: str) -> Decimal:
        """Maintenance margin: notional at the mark x MAINT_RATE (one bracket, amount 0)."""
        return self.position(symbol, side).qty * self.price(symbol) * MAINT_RATE

    def liquidation_price(self, symbol: str, side: str) -> Decimal:
        """Binance's USDT-M liquidation price in hedge mode (0 when flat).

        LP = (WB - TMM1 + UPNL1 - qty_L * EP_L + qty_S * EP_S) / (qty_L * MMR + qty_S * MMR - qty_L + qty_S)

        Cross margin: WB is the wallet, TMM1 / UPNL1 the maintenance margin and unrealised
        PnL of the other symbols, and both sides of the symbol count. Isolated: WB is the
        position's own margin (qty * entry / leverage) and only its side counts.
        """
        pos = self.position(symbol, side)
        if pos.qty == 0:
            return Decimal(0)
        if self.account.margin_type.get(symbol, "cross") == "isolated":
            sides = {side: pos}
            wallet = pos.qty * pos.entry_price / self.leverage(symbol)
            others_maint = others_upnl = Decimal(0)
        else:
            sides = {name: self.position(symbol, name) for name in ("LONG", "SHORT")}
            wallet = self.account.wallet
            others = [(sym, name) for (sym, name), held in self.account.positions.items() if sym != symbol and held.qty]
            others_maint = sum((self.maint_margin(sym, name) for sym, name in others), Decimal(0))
            others_upnl = sum((self.unrealized(sym, name) for sym, name in others), Decimal(0))
        long, short = sides.get("LONG", Position()), sides.get("SHORT", Position())
        numerator = wallet - others_maint + others_upnl - long.qty * long.entry_price + short.qty * short.entry_price
        denominator = (long.qty + short.qty) * MAINT_RATE - long.qty + short.qty
        if denominator == 0:
            return Decimal(0)
        return max(Decimal(0), numerator / denominator).quantize(self.spec(symbol).tick_size)

    def used_margin(self) -> Decimal:
        return sum((pos.qty * self.price(sym) / self.leverage(sym)
                    for (sym, _), pos in self.account.positions.items() if pos.qty), Decimal(0))

    def total_unrealized(self) -> Decimal:
        return sum((self.unrealized(sym, side) for (sym, side) in self.account.positions), Decimal(0))

    def available(self) -> Decimal:
        return self.account.wallet + self.total_unrealized() - self.used_margin()

    # ----- account settings ---------------------------------------------------------------------

    def set_dual_side(self, dual: bool) -> None:
        with self.lock:
            if dual == self.account.dual_side:
                raise ApiError.of(-4059)
            if any(pos.qty for pos in self.account.positions.values()):
                raise ApiError.of(-4068)
            if self.account.open_orders:
                raise ApiError.of(-4067)
            self.account.dual_side = dual

    def set_leverage(self, symbol: str, leverage: int) -> dict[str, object]:
        with self.lock:
            self.spec(symbol)
            if not 1 <= leverage <= 125:
                raise ApiError.of(-4028, leverage)
            self.account.leverage[symbol] = leverage
            return {"leverage": leverage, "maxNotionalValue": "5000000", "symbol": symbol}

    def set_margin_type(self, symbol: str, margin_type: str) -> None:
        with self.lock:
            self.spec(symbol)
            wanted = {"ISOLATED": "isolated", "CROSSED": "cross"}.get(margin_type.upper())
            if wanted is None:
                raise ApiError.of(-1102, "marginType")
            if self.account.margin_type.get(symbol, "cross") == wanted:
                raise ApiError.of(-4046)
            self.account.margin_type[symbol] = wanted

    # ----- orders ----------------------------------------------------------------------------------

    def new_order(self, params: dict[str, str], fill_ratio: Decimal | None = None) -> Order:
        """Validate and execute one MARKET order. ``fill_ratio`` < 1 = partial fill, then EXPIRED."""
        with self.lock:
            symbol = _param(params, "symbol")
            spec = self.spec(symbol)
            side = _param(params, "side")
            if side not in ("BUY", "SELL"):
                raise ApiError.of(-1117)
            order_type = _param(params, "type")
            if order_type != "MARKET":
                raise ApiError.of(-1116)  # the fake only trades MARKET orders
            position_side = params.get("positionSide", "BOTH")
            if self.account.dual_side:
                if "reduceOnly" in params:
                    raise ApiError.of(-1106, "reduceonly")
                if position_side not in ("LONG", "SHORT"):
                    raise ApiError.of(-4061)
            elif position_side != "BOTH":
                raise ApiError.of(-4061)
            qty = self._quantity(_param(params, "quantity"), spec)
            client_id = params.get("newClientOrderId") or f"fake-{next(self._order_ids)}"
            if client_id in self.orders:
                raise ApiError.of(-4116)
            price = self.price(symbol)
            opening = (side == "BUY") == (position_side in ("LONG", "BOTH"))
            pos = self.position(symbol, position_side)
            if opening:
                if qty * price < spec.min_notional:
                    raise ApiError.of(-4164, spec.min_notional)
                if qty * price / self.leverage(symbol) > self.available():
                    raise ApiError.of(-2019)
            elif qty > pos.qty:
                raise ApiError.of(-2022)
            executed = qty
            if fill_ratio is not None:
                executed = (qty * fill_ratio / spec.step_size).to_integral_value(ROUND_DOWN) * spec.step_size
            now = self.market.now_ms
            order = Order(next(self._order_ids), client_id, symbol, side, position_side, qty, executed,
                          price if executed else Decimal(0), "FILLED" if executed == qty else "EXPIRED", now, now)
            self.orders[client_id] = order
            if executed:
                self._fill(order, opening, pos)
            return order

    def _quantity(self, text: str, spec: SymbolSpec) -> Decimal:
        try:
            qty = Decimal(text)
        except ArithmeticError:
            raise ApiError.of(-1102, "quantity") from None
        if qty <= 0:
            raise ApiError.of(-4003)
        if qty % spec.step_size != 0:
            raise ApiError.of(-1111)
        if qty < spec.min_qty or qty > spec.market_max_qty:
            raise ApiError(-4005 if qty > spec.market_max_qty else -4004,
                           "Quantity greater than max quantity." if qty > spec.market_max_qty
                           else "Quantity less than min quantity.")
        return qty

    def _fill(self, order: Order, opening: bool, pos: Position) -> None:
        qty, price = order.executed_qty, order.avg_price
        fee = (qty * price * self.taker_fee_rate).quantize(Decimal("0.00000001"))
        order.commission = fee
        if opening:
            pos.entry_price = (pos.entry_price * pos.qty + price * qty) / (pos.qty + qty)
            pos.qty += qty
        else:
            sign = 1 if order.position_side in ("LONG", "BOTH") else -1
            realized = (price - pos.entry_price) * qty * sign
            self.account.realized_pnl += realized
            self.account.wallet += realized
            pos.qty -= qty
            if pos.qty == 0:
                pos.entry_price = Decimal(0)
        pos.update_time = order.update_time
        self.account.wallet -= fee
        self.account.fees_paid += fee
        event = {"e": "ORDER_TRADE_UPDATE", "E": order.update_time, "T": order.update_time, "o": {
            "s": order.symbol, "c": order.client_id, "S": order.side, "o": "MARKET", "q": str(order.orig_qty),
            "ap": str(price), "X": order.status, "x": "TRADE", "i": order.order_id, "l": str(qty),
            "z": str(qty), "L": str(price), "n": str(fee), "N": "USDT", "ps": order.position_side,
            "R": False}}
        for listener in list(self.listeners):
            listener(event)

    def find_order(self, params: dict[str, str]) -> Order:
        with self.lock:
            self.spec(_param(params, "symbol"))
            client_id, order_id = params.get("origClientOrderId"), params.get("orderId")
            if not client_id and not order_id:
                raise ApiError(-1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!")
            for order in self.orders.values():
                if order.client_id == client_id or (order_id and str(order.order_id) == order_id):
                    if order.symbol == params["symbol"]:
                        return order
            raise ApiError.of(-2013)

    # ----- views -------------------------------------------------------------------------------

    def position_rows(self, symbol: str | None, only_open: bool) -> list[dict[str, object]]:
        """positionRisk rows: LONG and SHORT separately in hedge mode; SHORT amounts are negative."""
        with self.lock:
            rows = []
            sides = ("LONG", "SHORT") if self.account.dual_side else ("BOTH",)
            for sym in ([symbol] if symbol else self.market.symbols):
                self.spec(sym)
                for side in sides:
                    pos = self.position(sym, side)
                    if only_open and pos.qty == 0:
                        continue
                    amount = -pos.qty if side == "SHORT" else pos.qty
                    mark = self.price(sym)
                    rows.append({
                        "symbol": sym, "positionSide": side, "positionAmt": str(amount),
                        "entryPrice": str(pos.entry_price), "breakEvenPrice": str(pos.entry_price),
                        "markPrice": str(mark), "unRealizedProfit": str(self.unrealized(sym, side)),
                        "liquidationPrice": str(self.liquidation_price(sym, side)), "isolatedMargin": "0",
                        "notional": str(amount * mark),
                        "marginAsset": "USDT", "isolatedWallet": "0",
                        "initialMargin": str(pos.qty * mark / self.leverage(sym)),
                        "maintMargin": str(self.maint_margin(sym, side)),
                        "positionInitialMargin": str(pos.qty * mark / self.leverage(sym)),
                        "openOrderInitialMargin": "0", "adl": 0, "bidNotional": "0", "askNotional": "0",
                        "leverage": str(self.leverage(sym)),
                        "marginType": self.account.margin_type.get(sym, "cross"),
                        "isolated": self.account.margin_type.get(sym, "cross") == "isolated",
                        "maxNotionalValue": "5000000", "updateTime": pos.update_time,
                    })
            return rows

    def balance_rows(self) -> list[dict[str, object]]:
        with self.lock:
            return [{
                "accountAlias": "SgsR", "asset": "USDT", "balance": str(self.account.wallet),
                "crossWalletBalance": str(self.account.wallet), "crossUnPnl": str(self.total_unrealized()),
                "availableBalance": str(self.available()), "maxWithdrawAmount": str(self.available()),
                "marginAvailable": True, "updateTime": self.market.now_ms,
            }]

    def total_maint_margin(self) -> Decimal:
        with self.lock:
            return sum((self.maint_margin(sym, side) for (sym, side), pos in self.account.positions.items() if pos.qty),
                       Decimal(0))

    def snapshot(self) -> dict[str, object]:
        """Everything a test asserts on, as JSON-friendly values."""
        with self.lock:
            return {
                "now_ms": self.market.now_ms,
                "dual_side": self.account.dual_side,
                "wallet": str(self.account.wallet),
                "realized_pnl": str(self.account.realized_pnl),
                "fees_paid": str(self.account.fees_paid),
                "positions": [
                    {"symbol": sym, "positionSide": side, "qty": str(pos.qty), "entryPrice": str(pos.entry_price)}
                    for (sym, side), pos in sorted(self.account.positions.items()) if pos.qty
                ],
                "orders": [order.to_json() for order in self.orders.values()],
            }

    def reset(self) -> None:
        with self.lock:
            self.account = Account(wallet=self.initial_wallet)
            self.orders.clear()
