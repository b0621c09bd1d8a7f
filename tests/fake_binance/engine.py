"""The fake exchange's matching engine and account: hedge-mode rules, fills, positions, balance.

One account (one API key). MARKET orders fill at the market's current price
(close of the last closed 5m candle) -- at once, or later when an order fault says
so (see faults.py); positions are kept per symbol and position side with an
average entry price; the wallet pays a taker fee on every fill and receives
realized PnL on every close. Every rule below answers with Binance's own error
code and message (see errors.py).

A client order id must be unique among the account's OPEN orders only (status NEW or
PARTIALLY_FILLED), as Binance documents for ``newClientOrderId``: the id of a FILLED,
CANCELED or EXPIRED order may be used again. ``lenient_client_ids=True`` restores the
old, forgiving rule (an id can never be used twice), for tests that name it.
"""
from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from tests.fake_binance import events
from tests.fake_binance.errors import ApiError
from tests.fake_binance.faults import Fault
from tests.fake_binance.market import Market
from tests.fake_binance.timers import Timers

OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
CLIENT_ID_RULE = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")  # New Order: newClientOrderId "^[\.A-Z\:/a-z0-9_-]{1,36}$"

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
    # leverage brackets (initial leverage, notional cap in USDT), highest leverage first. Illustrative
    # values in the shape of GET /fapi/v1/leverageBracket, not DOGEUSDT's real table.
    brackets: tuple[tuple[int, int], ...] = ((75, 10_000), (50, 50_000), (25, 250_000), (20, 1_000_000),
                                             (10, 5_000_000), (5, 20_000_000), (4, 50_000_000),
                                             (2, 100_000_000), (1, 200_000_000))

    @property
    def max_leverage(self) -> int:
        return self.brackets[0][0]

    def notional_cap(self, leverage: int) -> Decimal:
        """The largest position notional allowed at ``leverage`` (its bracket's cap)."""
        return Decimal(max(cap for lev, cap in self.brackets if lev >= leverage))

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
    realized: Decimal = Decimal(0)  # accumulated realized PnL ("cr" of ACCOUNT_UPDATE)


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
    hidden: bool = False  # created, but not yet visible to queries (fault "invisible")
    order_type: str = "MARKET"  # LIQUIDATION for a liquidation's order
    last_trade_id: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def opening(self) -> bool:
        return (self.side == "BUY") == (self.position_side in ("LONG", "BOTH"))

    def to_json(self) -> dict[str, object]:
        """The documented fields of an order (POST /fapi/v1/order RESULT and GET /fapi/v1/order)."""
        return {
            "avgPrice": str(self.avg_price), "clientOrderId": self.client_id,
            "cumQuote": str(self.executed_qty * self.avg_price), "cumQty": str(self.executed_qty),
            "executedQty": str(self.executed_qty), "orderId": self.order_id, "origQty": str(self.orig_qty),
            "origType": self.order_type, "price": "0", "reduceOnly": False, "side": self.side,
            "positionSide": self.position_side, "status": self.status, "stopPrice": "0",
            "closePosition": False, "symbol": self.symbol, "time": self.time, "timeInForce": "GTC",
            "type": self.order_type, "updateTime": self.update_time, "workingType": "CONTRACT_PRICE",
            "priceProtect": False, "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0,
        }


@dataclass
class Account:
    wallet: Decimal = Decimal("10000")
    dual_side: bool = True
    open_orders: int = 0  # resting orders of other kinds (set by tests, to provoke -4067 / -4048)
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
                 default_leverage: int = 20, lenient_client_ids: bool = False,
                 lenient_account_settings: bool = False):
        self.market = market
        self.specs = {symbol: (specs or {}).get(symbol, SymbolSpec()) for symbol in market.symbols}
        self.taker_fee_rate = taker_fee_rate
        self.default_leverage = default_leverage
        self.account = Account(wallet=wallet)
        self.initial_wallet = wallet
        self.lenient_client_ids = lenient_client_ids
        self.lenient_account_settings = lenient_account_settings
        self._trade_ids = itertools.count(1)
        self.orders: list[Order] = []  # every order ever created, oldest first (client ids may repeat)
        self.late_rejections: list[dict[str, object]] = []  # delayed executions refused when they ran
        self._order_ids = itertools.count(1_000_000)
        self.lock = threading.RLock()
        self.timers = Timers(self.lock)
        self.listeners: list = []  # callables(event: dict) for the user data stream
        self.funding_listeners: list = []  # callables(symbol, change, rate, time) per funding payment (income.py)
        # Option: the commission asset of user-stream fills. "BNB" (with ``bnb_price``, USDT per BNB)
        # models "pay fees with BNB": ``N`` = BNB and ``n`` in BNB; the wallet still pays in USDT.
        self.commission_asset = "USDT"
        self.bnb_price = Decimal("600")

    @property
    def epoch(self) -> int:
        """The account's generation: bumped by every reset."""
        return self.timers.epoch

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
            if self.open_order_count():
                raise ApiError.of(-4067)
            self.account.dual_side = dual

    def set_leverage(self, symbol: str, leverage: int) -> dict[str, object]:
        """POST /fapi/v1/leverage. Refused like Binance: -4028 outside 1..the symbol's maximum; -4161
        lowering the leverage of an isolated symbol with a position; -2027 when a position's notional
        is over the cap of the new leverage's bracket. ``lenient_account_settings`` skips the last two."""
        with self.lock:
            spec = self.spec(symbol)
            if not 1 <= leverage <= spec.max_leverage:
                raise ApiError.of(-4028, leverage)
            if not self.lenient_account_settings:
                holding = [self.position(symbol, side) for side in ("LONG", "SHORT", "BOTH")]
                if (self.account.margin_type.get(symbol, "cross") == "isolated" and leverage < self.leverage(symbol)
                        and any(pos.qty for pos in holding)):
                    raise ApiError.of(-4161)
                if any(pos.qty * self.price(symbol) > spec.notional_cap(leverage) for pos in holding):
                    raise ApiError.of(-2027)
            self.account.leverage[symbol] = leverage
            return {"leverage": leverage, "maxNotionalValue": str(spec.notional_cap(leverage)), "symbol": symbol}

    def set_margin_type(self, symbol: str, margin_type: str) -> None:
        """POST /fapi/v1/marginType: -4046 when unchanged, -4048 with a position on the symbol, -4047
        with an open order on it (``lenient_account_settings`` skips the last two)."""
        with self.lock:
            self.spec(symbol)
            wanted = {"ISOLATED": "isolated", "CROSSED": "cross"}.get(margin_type.upper())
            if wanted is None:
                raise ApiError.of(-1102, "marginType")
            if self.account.margin_type.get(symbol, "cross") == wanted:
                raise ApiError.of(-4046)
            if not self.lenient_account_settings:
                if any(self.position(symbol, side).qty for side in ("LONG", "SHORT", "BOTH")):
                    raise ApiError.of(-4048)
                if self.open_order_count(symbol):
                    raise ApiError.of(-4047)
            self.account.margin_type[symbol] = wanted

    # ----- orders ----------------------------------------------------------------------------------

    def new_order(self, params: dict[str, str], fault: Fault | None = None, since_arrival_ms: int = 0) -> Order | None:
        """Validate and execute one MARKET order, shaped by an order ``fault`` (faults.py).

        Returns the order, or None for ``execute_later`` (it is created ``delay_ms`` after the
        request arrived, ``since_arrival_ms`` ago).
        """
        with self.lock:
            self._validate(params)
            kind = fault.kind if fault is not None else None
            if kind == "execute_later":
                self.timers.later(fault.delay_ms - since_arrival_ms, lambda: self._execute_late(params))
                return None
            order = self._create(params)
            if kind == "partial_fill":
                self._fill(order, self._part(order, Decimal(fault.fill_ratio)), final=True)
            elif kind == "partial_then_fill":
                self._fill(order, self._part(order, Decimal(fault.fill_ratio)))
                self.timers.later(fault.delay_ms, lambda: self._fill(order, order.orig_qty - order.executed_qty))
            elif kind == "ack_only":
                self.timers.later(fault.delay_ms, lambda: self._fill(order, order.orig_qty))
            else:
                self._fill(order, order.orig_qty)
            if kind == "invisible":
                order.hidden = True
                self.timers.later(fault.delay_ms, lambda: setattr(order, "hidden", False))
            return order

    def _validate(self, params: dict[str, str]) -> None:
        """Every rule an order is checked against, in Binance's order; raises ApiError."""
        symbol = _param(params, "symbol")
        spec = self.spec(symbol)
        side = _param(params, "side")
        if side not in ("BUY", "SELL"):
            raise ApiError.of(-1117)
        order_type = _param(params, "type")
        if order_type in ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"):
            raise ApiError.of(-4120)  # conditional orders live on the Algo Order service since 2025-12-09 (algo.py)
        if order_type != "MARKET":
            raise ApiError.of(-1116)  # the fake only trades MARKET orders
        position_side = check_position_side(params, self.account.dual_side)
        qty = self._quantity(_param(params, "quantity"), spec)
        client_id = params.get("newClientOrderId")
        if client_id is not None and not CLIENT_ID_RULE.fullmatch(client_id):
            raise ApiError.of(-4015)
        if client_id and any(order.client_id == client_id and (order.is_open or self.lenient_client_ids)
                             for order in self.orders):
            raise ApiError.of(-4116)
        price = self.price(symbol)
        opening = (side == "BUY") == (position_side in ("LONG", "BOTH"))
        if opening:
            if qty * price < spec.min_notional:
                raise ApiError.of(-4164, spec.min_notional)
            if qty * price / self.leverage(symbol) > self.available():
                raise ApiError.of(-2019)
            if (self.position(symbol, position_side).qty + qty) * price > spec.notional_cap(self.leverage(symbol)):
                raise ApiError.of(-2027)
        elif qty > self.position(symbol, position_side).qty:
            raise ApiError.of(-2022)

    def _create(self, params: dict[str, str], order_type: str = "MARKET") -> Order:
        """A validated order, accepted as NEW (its fills come from ``_fill``)."""
        now = self.market.now_ms
        order_id = next(self._order_ids)
        order = Order(order_id, params.get("newClientOrderId") or f"fake-{order_id}", params["symbol"],
                      params["side"], params.get("positionSide", "BOTH"), Decimal(params["quantity"]), Decimal(0),
                      Decimal(0), "NEW", now, now, order_type=order_type)
        self.orders.append(order)
        self._order_event(order, "NEW", Decimal(0), Decimal(0), Decimal(0))
        return order

    def _execute_late(self, params: dict[str, str]) -> None:
        """A delayed execution: checked again now (the account may have changed since the request)."""
        try:
            self._validate(params)
        except ApiError as error:
            self.late_rejections.append({"clientOrderId": params.get("newClientOrderId"), "code": error.code,
                                         "msg": error.msg})
            return
        order = self._create(params)
        self._fill(order, order.orig_qty)

    def _part(self, order: Order, ratio: Decimal) -> Decimal:
        step = self.spec(order.symbol).step_size
        return (order.orig_qty * ratio / step).to_integral_value(ROUND_DOWN) * step

    def open_order_count(self, symbol: str | None = None) -> int:
        """Open orders (NEW / PARTIALLY_FILLED) of one symbol or all, plus the ones a test set by hand."""
        return self.account.open_orders + sum(
            1 for order in self.orders if order.is_open and (symbol is None or order.symbol == symbol))

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

    def _fill(self, order: Order, qty: Decimal, final: bool = False, execution: str = "TRADE") -> None:
        """Execute ``qty`` more of ``order`` at the current price.

        A close never takes more than the position holds now (it may have shrunk since the order
        was accepted); what cannot be filled then expires. ``final``: the order ends after this
        fill (EXPIRED when not all of it filled).
        """
        if not order.is_open:
            return
        pos = self.position(order.symbol, order.position_side)
        if not order.opening:
            qty = min(qty, pos.qty)
        now = self.market.now_ms
        order.update_time = now
        if qty <= 0:
            order.status = "EXPIRED"
            self._order_event(order, "EXPIRED", Decimal(0), Decimal(0), Decimal(0))
            return
        price = self.price(order.symbol)
        fee = (qty * price * self.taker_fee_rate).quantize(Decimal("0.00000001"))
        order.avg_price = (order.avg_price * order.executed_qty + price * qty) / (order.executed_qty + qty)
        order.executed_qty += qty
        order.commission += fee
        if order.executed_qty == order.orig_qty:
            order.status = "FILLED"
        else:
            order.status = "EXPIRED" if final or not order.opening and pos.qty == qty else "PARTIALLY_FILLED"
        realized = Decimal(0)
        if order.opening:
            pos.entry_price = (pos.entry_price * pos.qty + price * qty) / (pos.qty + qty)
            pos.qty += qty
        else:
            sign = 1 if order.position_side in ("LONG", "BOTH") else -1
            realized = (price - pos.entry_price) * qty * sign
            self.account.realized_pnl += realized
            self.account.wallet += realized
            pos.realized += realized
            pos.qty -= qty
            if pos.qty == 0:
                pos.entry_price = Decimal(0)
        pos.update_time = now
        order.last_trade_id = next(self._trade_ids)
        self.account.wallet -= fee
        self.account.fees_paid += fee
        self._account_event("ORDER", [(order.symbol, order.position_side)])
        self._order_event(order, execution, qty, price, fee, realized)

    def _order_event(self, order: Order, execution: str, last_qty: Decimal, last_price: Decimal, fee: Decimal,
                     realized: Decimal = Decimal(0)) -> None:
        if execution == "TRADE" and last_qty > 0:
            self._emit(events.trade_lite(order, last_qty, last_price))  # Binance sends it first
        fee_asset = self.commission_asset
        if fee_asset == "BNB":
            fee = (fee / self.bnb_price).quantize(Decimal("0.00000001"))
        self._emit(events.order_trade_update(order, execution, last_qty, last_price, fee, realized, fee_asset))

    def _account_event(self, reason: str, changed: list[tuple[str, str]], balance_change: Decimal = Decimal(0)) -> None:
        entries = []
        for symbol, side in changed:
            pos = self.position(symbol, side)
            entries.append(events.position_entry(symbol, side, pos.qty, pos.entry_price, pos.realized,
                                                 self.unrealized(symbol, side),
                                                 self.account.margin_type.get(symbol, "cross")))
        self._emit(events.account_update(self.market.now_ms, reason, self.account.wallet, balance_change, entries))

    def _emit(self, event: dict[str, object]) -> None:
        for listener in list(self.listeners):
            listener(event)

    def find_order(self, params: dict[str, str]) -> Order:
        with self.lock:
            self.spec(_param(params, "symbol"))
            client_id, order_id = params.get("origClientOrderId"), params.get("orderId")
            if not client_id and not order_id:
                raise ApiError(-1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!")
            for order in reversed(self.orders):  # a reused client id: the newest order has it
                if order.hidden or order.symbol != params["symbol"]:
                    continue
                if (order_id and str(order.order_id) == order_id) or (not order_id and order.client_id == client_id):
                    return order
            raise ApiError.of(-2013)

    # ----- views -------------------------------------------------------------------------------

    def position_rows(self, symbol: str | None, only_open: bool, v3: bool = False) -> list[dict[str, object]]:
        """positionRisk rows (v2, or v3 with ``v3``): see :func:`position_rows`."""
        return position_rows(self, symbol, only_open, v3)

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
                "orders": [order.to_json() for order in self.orders],
                "late_rejections": list(self.late_rejections),
                "epoch": self.epoch,
            }

    def reset(self) -> None:
        """A fresh account; every pending timer is cancelled and a new epoch begins (timers.py)."""
        with self.lock:
            self.timers.cancel_all()
            self.account = Account(wallet=self.initial_wallet)
            self.commission_asset, self.bnb_price = "USDT", Decimal("600")
            self.orders.clear()
            self.late_rejections.clear()


def position_rows(engine: "Engine", symbol: str | None, only_open: bool, v3: bool = False) -> list[dict[str, object]]:
    """The engine's positionRisk rows: LONG and SHORT separately in hedge mode; SHORT amounts are negative.

    ``v3`` (GET /fapi/v3/positionRisk): only symbols with a position, but then both sides of
    the symbol, the flat one as a zero-amount row; without the v2-only fields (leverage,
    marginType, isolated, maxNotionalValue: absent from the recorded v3 row)."""
    with engine.lock:
        rows = []
        sides = ("LONG", "SHORT") if engine.account.dual_side else ("BOTH",)
        for sym in ([symbol] if symbol else engine.market.symbols):
            engine.spec(sym)
            symbol_open = any(engine.position(sym, side).qty for side in sides)
            for side in sides:
                pos = engine.position(sym, side)
                if only_open and pos.qty == 0 and not (v3 and symbol_open):
                    continue
                amount = -pos.qty if side == "SHORT" else pos.qty
                mark = engine.price(sym)
                rows.append({
                    "symbol": sym, "positionSide": side, "positionAmt": str(amount),
                    "entryPrice": str(pos.entry_price), "breakEvenPrice": str(pos.entry_price),
                    "markPrice": str(mark), "unRealizedProfit": str(engine.unrealized(sym, side)),
                    "liquidationPrice": str(engine.liquidation_price(sym, side)), "isolatedMargin": "0",
                    "notional": str(amount * mark),
                    "marginAsset": "USDT", "isolatedWallet": "0",
                    "initialMargin": str(pos.qty * mark / engine.leverage(sym)),
                    "maintMargin": str(engine.maint_margin(sym, side)),
                    "positionInitialMargin": str(pos.qty * mark / engine.leverage(sym)),
                    "openOrderInitialMargin": "0", "adl": 0, "bidNotional": "0", "askNotional": "0",
                    "leverage": str(engine.leverage(sym)),
                    "marginType": engine.account.margin_type.get(sym, "cross"),
                    "isolated": engine.account.margin_type.get(sym, "cross") == "isolated",
                    "maxNotionalValue": str(engine.spec(sym).notional_cap(engine.leverage(sym))),
                    "updateTime": pos.update_time,
                })
                if v3:
                    for name in ("leverage", "marginType", "isolated", "maxNotionalValue"):
                        rows[-1].pop(name)
        return rows


def check_position_side(params: dict[str, str], dual_side: bool) -> str:
    """Hedge mode: ``positionSide`` LONG or SHORT and no ``reduceOnly`` (-1106); one-way mode: BOTH
    (-4061 otherwise). Shared by /fapi/v1/order and the Algo Order service. Returns the side."""
    position_side = params.get("positionSide", "BOTH")
    if dual_side:
        if "reduceOnly" in params:
            raise ApiError.of(-1106, "reduceonly")
        if position_side not in ("LONG", "SHORT"):
            raise ApiError.of(-4061)
    elif position_side != "BOTH":
        raise ApiError.of(-4061)
    return position_side
