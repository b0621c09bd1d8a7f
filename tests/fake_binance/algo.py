"""The Algo Order service of the fake: conditional orders (STOP_MARKET, TAKE_PROFIT_MARKET).

Since 2025-12-09 Binance USDⓈ-M futures takes conditional orders only on the Algo Order
service; ``POST /fapi/v1/order`` answers them with -4120 "Order type not supported for this
endpoint. Please use the Algo Order API endpoints instead." (Error Codes, STOP_ORDER_SWITCH_ALGO;
the derivatives change log of 2025-11-06). Sources and what is not modelled: README.md.

- ``POST /fapi/v1/algoOrder`` (New Algo Order): ``algoType=CONDITIONAL``, ``type`` STOP_MARKET /
  TAKE_PROFIT_MARKET, ``positionSide`` (required in hedge mode, ``reduceOnly`` refused there),
  ``quantity`` or ``closePosition=true`` (not both: -4137), ``triggerPrice``, ``workingType``
  (MARK_PRICE / CONTRACT_PRICE), ``clientAlgoId`` (``^[.A-Z:/a-z0-9_-]{1,36}$``, unique among open
  algo orders). No margin check until the order triggers. -2021 "Order would immediately trigger."
  when the trigger is already reached; -4045 past 200 open conditional orders (change log 2025-12-29).
- ``DELETE /fapi/v1/algoOrder`` (``algoId`` or ``clientAlgoId``; -2011 "Unknown order sent." for one
  that is not open), ``GET /fapi/v1/algoOrder`` (-2013 for an unknown one), ``GET
  /fapi/v1/openAlgoOrders`` (``symbol`` optional), ``DELETE /fapi/v1/algoOpenOrders`` (``symbol``).
- Triggering: each time the market clock passes a 5m close, every open algo order of the symbol
  is checked against that candle's high and low (STOP_MARKET BUY: price >= trigger, SELL: price <=
  trigger; TAKE_PROFIT_MARKET the reverse). The fake has one price, so MARK_PRICE and
  CONTRACT_PRICE trigger alike. A triggered order sends ALGO_UPDATE TRIGGERING, places a MARKET
  order whose client order id is the ``clientAlgoId`` (checked like any order, margin included),
  sends ALGO_UPDATE TRIGGERED with its order id in ``ai``, the order's ORDER_TRADE_UPDATE /
  ACCOUNT_UPDATE, then ALGO_UPDATE FINISHED with ``ap``/``aq``/``act``. A refused order (no margin,
  nothing to close) ends the algo order REJECTED with the reason in ``rm``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from tests.fake_binance.engine import CLIENT_ID_RULE, Engine, check_position_side
from tests.fake_binance.errors import ApiError
from tests.fake_binance.market import INTERVAL_MS

if TYPE_CHECKING:
    from tests.fake_binance.server import FakeExchange

CONDITIONAL_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
MODELLED_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET")
OPEN_ALGO_STATUSES = ("NEW",)
MAX_OPEN_CONDITIONAL = 200  # "The conditional order limits is 200 across all symbols" (change log 2025-12-29)
Params = dict[str, str]


@dataclass
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    position_side: str
    order_type: str
    quantity: Decimal | None  # None with closePosition
    close_position: bool
    trigger_price: Decimal
    working_type: str
    price_protect: bool
    create_time: int
    update_time: int
    status: str = "NEW"
    trigger_time: int = 0
    actual_order_id: str = ""
    avg_price: Decimal = Decimal(0)
    executed_qty: Decimal = Decimal(0)
    reject_reason: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ALGO_STATUSES

    def triggered_by(self, high: Decimal, low: Decimal) -> bool:
        rises = (self.order_type == "STOP_MARKET") == (self.side == "BUY")  # needs the price to rise
        return high >= self.trigger_price if rises else low <= self.trigger_price

    def to_json(self) -> dict[str, object]:
        """New / Query / open algo order answers (New Algo Order, Query Algo Order examples)."""
        return {
            "algoId": self.algo_id, "clientAlgoId": self.client_algo_id, "algoType": "CONDITIONAL",
            "orderType": self.order_type, "symbol": self.symbol, "side": self.side,
            "positionSide": self.position_side, "timeInForce": "GTC",
            "quantity": str(self.quantity) if self.quantity is not None else "0", "algoStatus": self.status,
            "actualOrderId": self.actual_order_id, "actualPrice": str(self.avg_price),
            "triggerPrice": str(self.trigger_price), "price": "0", "icebergQuantity": None,
            "tpTriggerPrice": "0", "tpPrice": "0", "slTriggerPrice": "0", "slPrice": "0", "tpOrderType": "",
            "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": self.working_type, "priceMatch": "NONE",
            "closePosition": self.close_position, "priceProtect": self.price_protect, "reduceOnly": False,
            "createTime": self.create_time, "updateTime": self.update_time, "triggerTime": self.trigger_time,
            "goodTillDate": 0,
        }

    def event(self, time_ms: int) -> dict[str, object]:
        """ALGO_UPDATE in the recorded shape (binance-real/ws/ws_futures_algo_update_*.json)."""
        body: dict[str, object] = {
            "caid": self.client_algo_id, "aid": self.algo_id, "at": "CONDITIONAL", "o": self.order_type,
            "s": self.symbol, "S": self.side, "ps": self.position_side, "f": "GTC",
            "q": str(self.quantity) if self.quantity is not None else "0", "X": self.status,
            "ai": self.actual_order_id, "tp": str(self.trigger_price), "p": "0", "V": "EXPIRE_MAKER",
            "wt": self.working_type, "pm": "NONE", "cp": self.close_position, "pP": self.price_protect,
            "R": False, "tt": self.trigger_time, "gtd": 0,
        }
        if self.status == "FINISHED":
            body.update(ap=str(self.avg_price), aq=str(self.executed_qty), act="MARKET")
        if self.reject_reason:
            body["rm"] = self.reject_reason
        return {"e": "ALGO_UPDATE", "T": time_ms, "E": time_ms, "o": body}


class AlgoService:
    """The account's algo orders. Every method runs under the engine lock (the server holds it)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._orders: list[AlgoOrder] = []
        self._epoch = engine.epoch
        self._ids = itertools.count(2_000_000)

    @property
    def orders(self) -> list[AlgoOrder]:
        if self._epoch != self.engine.epoch:  # the account was reset: a new epoch has no algo orders
            self._orders, self._epoch = [], self.engine.epoch
        return self._orders

    def _emit(self, order: AlgoOrder) -> None:
        self.engine._emit(order.event(self.engine.market.now_ms))

    def _find(self, params: Params) -> AlgoOrder | None:
        algo_id, client_id = params.get("algoId"), params.get("clientAlgoId")
        if not algo_id and not client_id:
            raise ApiError(-1102, "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!")
        for order in reversed(self.orders):
            if (algo_id and str(order.algo_id) == algo_id) or (not algo_id and order.client_algo_id == client_id):
                return order
        return None

    # ----- endpoints ------------------------------------------------------------------------------

    def place(self, params: Params) -> dict[str, object]:
        engine = self.engine
        if params.get("algoType") != "CONDITIONAL":
            raise ApiError.of(-1102, "algoType")
        symbol = params.get("symbol") or ""
        if not symbol:
            raise ApiError.of(-1102, "symbol")
        spec = engine.spec(symbol)
        side = params.get("side")
        if side not in ("BUY", "SELL"):
            raise ApiError.of(-1117)
        order_type = params.get("type") or ""
        if order_type not in MODELLED_TYPES:
            raise ApiError.of(-1116)  # the fake models STOP_MARKET and TAKE_PROFIT_MARKET only
        position_side = check_position_side(params, engine.account.dual_side)
        close_position = params.get("closePosition", "false").lower() == "true"
        quantity = None
        if close_position:
            if params.get("quantity"):
                raise ApiError.of(-4137)
            if engine.account.dual_side and (side == "BUY") == (position_side == "LONG"):
                raise ApiError.of(-1106, "closePosition")  # it can only close: SELL LONG / BUY SHORT
        else:
            quantity = engine._quantity(params.get("quantity") or "", spec) if params.get("quantity") else None
            if quantity is None:
                raise ApiError.of(-1102, "quantity")
        trigger = _price(params.get("triggerPrice"), "triggerPrice", spec.tick_size)
        working_type = params.get("workingType", "CONTRACT_PRICE")
        if working_type not in ("MARK_PRICE", "CONTRACT_PRICE"):
            raise ApiError.of(-4031)
        client_id = params.get("clientAlgoId") or f"algo-{next(self._ids)}"
        if not CLIENT_ID_RULE.fullmatch(client_id):
            raise ApiError.of(-4015)
        if any(order.is_open and order.client_algo_id == client_id for order in self.orders):
            raise ApiError.of(-4116)
        if sum(1 for order in self.orders if order.is_open) >= MAX_OPEN_CONDITIONAL:
            raise ApiError.of(-4045)
        now = engine.market.now_ms
        order = AlgoOrder(next(self._ids), client_id, symbol, side, position_side, order_type, quantity,
                          close_position, trigger, working_type,
                          params.get("priceProtect", "false").lower() == "true", now, now)
        price = engine.price(symbol)
        if order.triggered_by(price, price):
            raise ApiError.of(-2021)
        self.orders.append(order)
        self._emit(order)
        return order.to_json()

    def cancel(self, params: Params) -> dict[str, object]:
        order = self._find(params)
        if order is None or not order.is_open:
            raise ApiError.of(-2011)
        order.status, order.update_time = "CANCELED", self.engine.market.now_ms
        self._emit(order)
        return {"algoId": order.algo_id, "clientAlgoId": order.client_algo_id, "code": "200", "msg": "success"}

    def query(self, params: Params) -> dict[str, object]:
        order = self._find(params)
        if order is None:
            raise ApiError.of(-2013)
        return order.to_json()

    def open_orders(self, params: Params) -> list[dict[str, object]]:
        symbol = params.get("symbol")
        if symbol:
            self.engine.spec(symbol)
        return [order.to_json() for order in self.orders
                if order.is_open and (not symbol or order.symbol == symbol)
                and (not params.get("algoId") or str(order.algo_id) == params["algoId"])]

    def cancel_all(self, params: Params) -> dict[str, object]:
        symbol = params.get("symbol") or ""
        if not symbol:
            raise ApiError.of(-1102, "symbol")
        self.engine.spec(symbol)
        for order in self.orders:
            if order.is_open and order.symbol == symbol:
                order.status, order.update_time = "CANCELED", self.engine.market.now_ms
                self._emit(order)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    # ----- triggering -----------------------------------------------------------------------------

    def on_clock(self, before_ms: int, target_ms: int) -> None:
        """The market clock moved from ``before_ms`` to ``target_ms``: check every 5m candle that
        closed in between, oldest first, against the open algo orders of its symbol. A triggered
        order executes at that candle's close (the fake's market price at that moment)."""
        market = self.engine.market
        if not any(order.is_open for order in self.orders):
            return
        candles = sorted((open_time, symbol, row) for symbol in market.symbols
                         for open_time, row in market.closed_between(symbol, "5m", before_ms, target_ms))
        try:
            for open_time, symbol, row in candles:
                high, low = Decimal(repr(float(row[1]))), Decimal(repr(float(row[2])))
                for order in [o for o in self.orders if o.is_open and o.symbol == symbol]:
                    if order.triggered_by(high, low):
                        market.now_ms = open_time + INTERVAL_MS["5m"]
                        self._trigger(order)
        finally:
            market.now_ms = target_ms

    def _trigger(self, order: AlgoOrder) -> None:
        engine = self.engine
        now = engine.market.now_ms
        order.status, order.trigger_time, order.update_time = "TRIGGERING", now, now
        self._emit(order)
        side_qty = engine.position(order.symbol, order.position_side).qty
        quantity = side_qty if order.close_position else order.quantity
        params = {"symbol": order.symbol, "side": order.side, "positionSide": order.position_side,
                  "type": "MARKET", "quantity": str(quantity), "newClientOrderId": order.client_algo_id}
        try:
            if not quantity:
                raise ApiError.of(-2022)  # closePosition with nothing to close
            engine._validate(params)
        except ApiError as error:
            order.status, order.reject_reason = "REJECTED", error.msg
            self._emit(order)
            return
        placed = engine._create(params)
        order.status, order.actual_order_id = "TRIGGERED", str(placed.order_id)
        self._emit(order)
        engine._fill(placed, placed.orig_qty)
        order.status, order.update_time = "FINISHED", engine.market.now_ms
        order.avg_price, order.executed_qty = placed.avg_price, placed.executed_qty
        self._emit(order)

    def snapshot(self) -> list[dict[str, object]]:
        return [order.to_json() for order in self.orders]


def _price(text: str | None, name: str, tick: Decimal) -> Decimal:
    try:
        value = Decimal(text or "")
    except ArithmeticError:
        raise ApiError.of(-1102, name) from None
    if value <= 0:
        raise ApiError.of(-1102, name)
    if value % tick != 0:
        raise ApiError.of(-1111)
    return value


# ----- routes (registered by server.py) ------------------------------------------------------------

def _place(ex: "FakeExchange", params: Params) -> object:
    return ex.algo.place(params)


def _cancel(ex: "FakeExchange", params: Params) -> object:
    return ex.algo.cancel(params)


def _query(ex: "FakeExchange", params: Params) -> object:
    return ex.algo.query(params)


def _open(ex: "FakeExchange", params: Params) -> object:
    return ex.algo.open_orders(params)


def _cancel_all(ex: "FakeExchange", params: Params) -> object:
    return ex.algo.cancel_all(params)


# (method, path, security, handler)
ENDPOINTS = (
    ("POST", "/fapi/v1/algoOrder", "SIGNED", _place),
    ("DELETE", "/fapi/v1/algoOrder", "SIGNED", _cancel),
    ("GET", "/fapi/v1/algoOrder", "SIGNED", _query),
    ("GET", "/fapi/v1/openAlgoOrders", "SIGNED", _open),
    ("DELETE", "/fapi/v1/algoOpenOrders", "SIGNED", _cancel_all),
)
