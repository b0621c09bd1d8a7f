"""The fake Binance USDT-M futures HTTP server: REST routes, request security, control API.

``ROUTES`` is the list of every Binance endpoint the fake implements (tests
enumerate it). Security types follow the Binance docs: NONE (public),
USER_STREAM (API key only), SIGNED (API key + HMAC signature + timestamp inside
recvWindow). The request clock for the timestamp check is the machine's clock
plus an injectable skew; the *market* clock that decides which candles have
closed is the simulated one in :class:`Market` (stepped through ``/_fake/clock``).
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fake_binance import algo, incidents
from tests.fake_binance.income import ROUTES as HISTORY_ROUTES, IncomeBook
from tests.fake_binance.engine import Engine, Order
from tests.fake_binance.errors import SERVICE_UNAVAILABLE, UNKNOWN_ERROR_CODE, ApiError, banned, signature_valid
from tests.fake_binance.faults import ORDER_KINDS, Fault, FaultBook
from tests.fake_binance.limits import OrderCounter, RateLimiter, weight_of
from tests.fake_binance.market import INTERVAL_MS
from tests.fake_binance.streams import ListenKeys, StreamHub, kline_event

Params = dict[str, str]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    security: str  # NONE / USER_STREAM / SIGNED
    handler: Callable[["FakeExchange", Params], object]


class FakeExchange:
    """Engine + faults + streams + request security, independent of how the server is run."""

    def __init__(self, engine: Engine, api_key: str, api_secret: str, weight_limit: int | None = 2400,
                 order_schema: str = "2026-07"):
        """``weight_limit``: the IP's REQUEST_WEIGHT per minute (Binance: 2400); None = no limit,
        only for tests that name it. ``order_schema``: the shape of New Order answers (see
        :data:`ORDER_SCHEMAS`); Binance's documented 2026-07 schema by default."""
        if order_schema not in ORDER_SCHEMAS:
            raise ValueError(f"unknown order schema {order_schema!r}; one of {', '.join(ORDER_SCHEMAS)}")
        self.order_schema = order_schema
        self.orders = OrderCounter()
        self.engine = engine
        self.api_key = api_key
        self._api_secret = api_secret
        self.faults = FaultBook()
        self.limiter = RateLimiter(weight_limit)
        self.listen_keys = ListenKeys()
        self.algo = algo.AlgoService(engine)  # conditional orders (algo.py)
        self.hub = StreamHub(self.listen_keys, lambda: self.engine.market.now_ms)
        self._clock_task: asyncio.Task | None = None
        self.skew_ms = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.request_log: list[tuple[str, str]] = []  # (method, path) of every REST call
        self.in_flight = 0  # REST requests being handled (tests wait for 0 before a reset)
        engine.listeners.append(self._on_user_event)
        self.income = IncomeBook(engine)  # income, userTrades, fundingRate (income.py)

    # ----- clocks -------------------------------------------------------------------------------

    def server_time(self) -> int:
        return int(time.time() * 1000) + self.skew_ms

    def _check_timestamp(self, params: Params, arrived_ms: int) -> None:
        """Binance's timing security, against the server time when the request *arrived*:
        ``timestamp < serverTime + 1000`` and ``serverTime - timestamp <= recvWindow``."""
        raw = params.get("timestamp")
        if not raw or not raw.isdigit():
            raise ApiError.of(-1102, "timestamp")
        recv_window = params.get("recvWindow", "5000")
        if not recv_window.isdigit():
            raise ApiError.of(-1102, "recvWindow")
        if not (int(raw) < arrived_ms + 1000 and arrived_ms - int(raw) <= int(recv_window)):
            raise ApiError.of(-1021)

    def step(self, candles: int = 0, to_ms: int | None = None, ms: int = 0) -> tuple[int, list[tuple[str, dict]]]:
        """Advance the market clock; returns the new time and the kline events to publish."""
        with self.engine.lock:
            market = self.engine.market
            before = market.now_ms
            target = to_ms if to_ms is not None else before + ms + candles * INTERVAL_MS["5m"]
            if target < before:
                raise ValueError(f"the clock only moves forward ({target} < {before})")
            market.now_ms = target
            self.algo.on_clock(before, target)  # conditional orders whose trigger the new candles reached
            events = []
            for stream in sorted(self.hub.streams_wanted()):
                symbol, _, interval = stream.partition("@kline_")
                symbol = symbol.upper()
                if interval not in INTERVAL_MS or symbol not in market.symbols:
                    continue
                for open_time, row in market.closed_between(symbol, interval, before, target):
                    close = open_time + INTERVAL_MS[interval]
                    events.append((close, stream, kline_event(symbol, interval, open_time, row, close)))
                forming = market.forming(symbol, interval, target) if target > before else None
                if forming is not None:
                    events.append((target, stream, kline_event(symbol, interval, forming[0], forming[1], target,
                                                               closed=False)))
            events.sort(key=lambda item: (item[0], item[1]))
            return target, [(stream, event) for _, stream, event in events]

    async def publish(self, events: list[tuple[str, dict]]) -> None:
        for stream, event in events:
            await self.hub.publish(stream, event)
        await self.hub.housekeeping()

    async def run_clock(self, speed: float, tick_ms: int) -> None:
        """The market clock runs by itself: every ``tick_ms`` of real time it moves ``tick_ms * speed``
        and the klines are published (forming ones with x=false, closed ones with x=true)."""
        while True:
            await asyncio.sleep(tick_ms / 1000)
            _, events = self.step(ms=max(1, int(tick_ms * speed)))
            await self.publish(events)

    def start_clock(self, speed: float, tick_ms: int = 250) -> None:
        """On the server loop: (re)start or, with speed 0, stop the running market clock."""
        if self._clock_task is not None:
            self._clock_task.cancel()
            self._clock_task = None
        if speed > 0:
            self._clock_task = asyncio.ensure_future(self.run_clock(speed, tick_ms))

    def reset(self) -> None:
        """A fresh account, no faults, no skew, no weight used, no listenKey (a new epoch)."""
        self.engine.reset()
        self.faults.clear()
        self.skew_ms = 0
        self.limiter.reset()
        self.orders.reset()
        self.listen_keys.clear()

    def _on_user_event(self, event: dict) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(asyncio.ensure_future, self.hub.publish_user(event))

    # ----- request handling -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        route = ROUTE_TABLE.get((request.method, request.path))
        if route is None:
            if request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket":
                return await self.hub.handle(request)
            return web.json_response({"code": -1099, "msg": "Not found, unauthenticated, or unauthorized."},
                                     status=404)
        self.in_flight += 1
        try:
            return await self._handle(route, request)
        finally:
            self.in_flight -= 1

    async def _handle(self, route: "Route", request: web.Request) -> web.StreamResponse:
        arrived_ms, arrived_at, epoch = self.server_time(), time.monotonic(), self.engine.epoch
        self.request_log.append((request.method, request.path))
        query = request.rel_url.raw_query_string
        body = await request.text() if request.can_read_body else ""
        params: Params = dict(parse_qsl(body, keep_blank_values=True))
        params.update(parse_qsl(query, keep_blank_values=True))  # the query string wins, as documented
        verdict = self.limiter.check(arrived_ms, weight_of(request.method, route.path, params))
        used = {"X-MBX-USED-WEIGHT-1M": str(verdict.used)}
        if verdict.status == 429:
            return _error_response(ApiError.of(-1003, self.limiter.limit, headers={
                **used, "Retry-After": str(verdict.retry_after_s)}))
        if verdict.status == 418:
            return _error_response(banned(verdict.banned_until_ms, {**used, "Retry-After": str(verdict.retry_after_s)}))
        response = await self._handle_allowed(route, request, params, query, body, arrived_ms, arrived_at, epoch)
        response.headers.update(used)
        return response

    async def _handle_allowed(self, route: "Route", request: web.Request, params: Params, query: str, body: str,
                              arrived_ms: int, arrived_at: float, epoch: int) -> web.Response:
        client_id = params.get("newClientOrderId") or params.get("origClientOrderId")
        try:
            # Key, signature and timestamp first, as Binance does: a refused request never uses up a
            # fault armed for the next real one (a -1021 under load once made a test flaky).
            self._check_security(route, request, params, query + body, arrived_ms)
        except ApiError as error:
            return _error_response(error)
        is_new_order = (request.method, route.path) == ("POST", "/fapi/v1/order")
        if is_new_order:
            order_headers, over = self.orders.take(arrived_ms)
            if over is not None:
                return _error_response(ApiError.of(-1015, *over, headers=order_headers))
            response = await self._handle_checked(route, request, params, arrived_ms, arrived_at, epoch, client_id)
            response.headers.update(order_headers)
            return response
        return await self._handle_checked(route, request, params, arrived_ms, arrived_at, epoch, client_id)

    async def _handle_checked(self, route: "Route", request: web.Request, params: Params, arrived_ms: int,
                              arrived_at: float, epoch: int, client_id: str | None) -> web.Response:
        fired = self.faults.take(request.method, request.path, client_id)
        for fault in fired:
            if fault.kind == "latency":
                await asyncio.sleep(fault.latency_ms / 1000)
        is_new_order = (request.method, route.path) == ("POST", "/fapi/v1/order")
        if is_new_order and _reduces_exposure(params):
            # -1008: "Close-position, reduce-only, and cancel orders are exempt" (General Info).
            fired = [fault for fault in fired if not (fault.kind == "error" and fault.code == -1008)]
        order_fault = next((f for f in fired if f.kind in ORDER_KINDS), None) if is_new_order else None
        try:
            for fault in fired:
                early = _early_answer(fault)
                if early is not None:
                    return early
            with self.engine.lock:
                if self.engine.epoch != epoch:
                    # the request straddled a reset: it must not touch the new account
                    return _error_response(ApiError.of(UNKNOWN_ERROR_CODE))
                if is_new_order:
                    since_arrival = int((time.monotonic() - arrived_at) * 1000)
                    result = _new_order(self, params, order_fault, since_arrival)
                else:
                    result = route.handler(self, params)
        except ApiError as error:
            return web.json_response(error.body(), status=error.status, headers=error.headers)
        if order_fault is not None and order_fault.kind == "execute_later":
            return await self._answer_late_order(order_fault, params, epoch)
        for fault in fired:
            if fault.kind == "unknown_after_execute":
                return _error_response(ApiError.of(UNKNOWN_ERROR_CODE))
            if fault.kind == "error" and fault.execute:
                return _error_response(ApiError.of(fault.code or -1006))
        return web.json_response(result)

    async def _answer_late_order(self, fault: Fault, params: Params, epoch: int) -> web.Response:
        """The answer to an order that executes later: held ``latency_ms``, then 503 / -1007, or for
        ``timeout`` the order as it stands by then (-1007 if it has not executed yet)."""
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.answer == "503":
            return _error_response(ApiError.of(UNKNOWN_ERROR_CODE))
        if fault.answer == "timeout" and self.engine.epoch == epoch:
            try:
                found = self.engine.find_order({"symbol": params.get("symbol", ""),
                                                "origClientOrderId": params.get("newClientOrderId", "")})
            except ApiError:
                found = None
            if found is not None:
                return web.json_response(_order_body(found, params, self.order_schema))
        return _error_response(ApiError.of(-1007))

    def _check_security(self, route: Route, request: web.Request, params: Params, total_params: str,
                        arrived_ms: int) -> None:
        if route.security == "NONE":
            return
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            raise ApiError.of(-2014)
        if key != self.api_key:
            raise ApiError.of(-2015)
        if route.security == "SIGNED":
            if "signature" not in params:
                raise ApiError.of(-1102, "signature")
            self._check_timestamp(params, arrived_ms)
            if not signature_valid(self._api_secret, total_params):
                raise ApiError.of(-1022)


def _error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers)


def _early_answer(fault: Fault) -> web.Response | None:
    """Faults that answer instead of executing the request."""
    if fault.kind == "http_error":
        return web.Response(status=fault.status, text=f"<html><body><h1>{fault.status} Server Error</h1></body></html>",
                            content_type="text/html")
    if fault.kind == "rate_limit":
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        return _error_response(ApiError.of(-1003, 2400, headers=headers))
    if fault.kind == "timestamp":
        return _error_response(ApiError.of(-1021))
    if fault.kind == "me_recv_window":  # the matching engine's late-request refusal
        return _error_response(ApiError.of(-5028))
    if fault.kind == "service_unavailable":  # General Info 503 variant B: a certain failure
        return _error_response(ApiError(*SERVICE_UNAVAILABLE, status=503))
    if fault.kind == "error" and not fault.execute:
        return _error_response(ApiError.of(fault.code or -1006))
    return None


# ----- Binance endpoints ----------------------------------------------------------------------------


def _time(ex: FakeExchange, params: Params) -> object:
    return {"serverTime": ex.server_time()}


def _ping(ex: FakeExchange, params: Params) -> object:
    return {}


def _exchange_info(ex: FakeExchange, params: Params) -> object:
    symbols = []
    for symbol, spec in ex.engine.specs.items():
        lot = {"stepSize": str(spec.step_size), "minQty": str(spec.min_qty)}
        symbols.append({
            "symbol": symbol, "pair": symbol, "contractType": "PERPETUAL", "status": "TRADING",
            "baseAsset": symbol.removesuffix("USDT"), "quoteAsset": "USDT", "marginAsset": "USDT",
            "pricePrecision": spec.price_precision, "quantityPrecision": spec.quantity_precision,
            "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
            "triggerProtect": "0.0500", "liquidationFee": "0.012500", "marketTakeBound": "0.05",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": str(spec.tick_size), "maxPrice": "30",
                 "tickSize": str(spec.tick_size)},
                {"filterType": "LOT_SIZE", **lot, "maxQty": str(spec.max_qty)},
                {"filterType": "MARKET_LOT_SIZE", **lot, "maxQty": str(spec.market_max_qty)},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": str(spec.min_notional)},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
                 "multiplierDecimal": "4"},
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                           "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        })
    return {"timezone": "UTC", "serverTime": ex.server_time(), "futuresType": "U_MARGINED",
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
                           {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200}],
            "exchangeFilters": [], "assets": [{"asset": "USDT", "marginAvailable": True}], "symbols": symbols}


def _klines(ex: FakeExchange, params: Params) -> object:
    symbol = params.get("symbol") or ""
    interval = params.get("interval") or ""
    if not symbol:
        raise ApiError.of(-1102, "symbol")
    if not interval:
        raise ApiError.of(-1102, "interval")
    if interval not in INTERVAL_MS:
        raise ApiError.of(-1120)
    ex.engine.spec(symbol)
    limit = min(int(params.get("limit", "500")), 1500)
    start = int(params["startTime"]) if params.get("startTime") else None
    end = int(params["endTime"]) if params.get("endTime") else None
    with ex.engine.lock:
        rows = ex.engine.market.klines(symbol, interval, start, end, limit)
    step = INTERVAL_MS[interval]
    return [[t, repr(float(r[0])), repr(float(r[1])), repr(float(r[2])), repr(float(r[3])), repr(float(r[4])),
             t + step - 1, repr(float(r[4] * r[3])), 0, "0", "0", "0"] for t, r in rows]


def _new_order(ex: FakeExchange, params: Params, fault: Fault | None = None, since_arrival_ms: int = 0) -> object:
    order = ex.engine.new_order(params, fault, since_arrival_ms)
    return None if order is None else _order_body(order, params, ex.order_schema)


# New Order answer shapes. "2026-07": Binance's documented schema since then (no avgPrice, no
# cumQuote; binance-connector-python usds-futures CHANGELOG 14.0.0 and its test_new_order_success).
# "2025-12": a real RESULT answer of 2025-12-22 (avgPrice, cumQuote, no cumQty). "legacy": all three.
ORDER_SCHEMAS: dict[str, tuple[str, ...]] = {"2026-07": ("avgPrice", "cumQuote"), "2025-12": ("cumQty",),
                                             "legacy": ()}
# GET /fapi/v1/order answers without cumQty (query_order docs example of 2026-08).
QUERY_DROPS = ("cumQty",)


def _reduces_exposure(params: Params) -> bool:
    """LONG+SELL, SHORT+BUY, reduceOnly or closePosition (General Info, -1008 exemption)."""
    side, position_side = params.get("side"), params.get("positionSide")
    return ((position_side, side) in (("LONG", "SELL"), ("SHORT", "BUY"))
            or params.get("reduceOnly") == "true" or params.get("closePosition") == "true")


def _order_body(order: Order, params: Params, schema: str = "2026-07") -> dict[str, object]:
    body = order.to_json()
    if params.get("newOrderRespType", "ACK") == "ACK":
        # ACK: the order is accepted; its outcome must be queried.
        body.update({"status": "NEW", "executedQty": "0", "cumQty": "0", "cumQuote": "0", "avgPrice": "0.00"})
    for name in ORDER_SCHEMAS[schema]:
        body.pop(name, None)
    return body


def _query_body(order: Order) -> dict[str, object]:
    body = order.to_json()
    for name in QUERY_DROPS:
        body.pop(name, None)
    return body


def _get_order(ex: FakeExchange, params: Params) -> object:
    return _query_body(ex.engine.find_order(params))


def _position_risk(only_open: bool, v3: bool = False) -> Callable[[FakeExchange, Params], object]:
    return lambda ex, params: ex.engine.position_rows(params.get("symbol"), only_open, v3)


def _balance(ex: FakeExchange, params: Params) -> object:
    return ex.engine.balance_rows()


def _account(ex: FakeExchange, params: Params) -> object:
    balance = ex.engine.balance_rows()[0]
    margin_balance = Decimal(balance["balance"]) + Decimal(balance["crossUnPnl"])
    return {"totalWalletBalance": balance["balance"], "totalUnrealizedProfit": balance["crossUnPnl"],
            "totalMarginBalance": str(margin_balance), "totalMaintMargin": str(ex.engine.total_maint_margin()),
            "availableBalance": balance["availableBalance"], "maxWithdrawAmount": balance["maxWithdrawAmount"],
            "assets": [{"asset": "USDT", "walletBalance": balance["balance"],
                        "unrealizedProfit": balance["crossUnPnl"], "availableBalance": balance["availableBalance"]}],
            "positions": ex.engine.position_rows(None, only_open=True)}


def _get_dual(ex: FakeExchange, params: Params) -> object:
    return {"dualSidePosition": ex.engine.account.dual_side}


def _set_dual(ex: FakeExchange, params: Params) -> object:
    value = params.get("dualSidePosition", "").lower()
    if value not in ("true", "false"):
        raise ApiError.of(-1102, "dualSidePosition")
    ex.engine.set_dual_side(value == "true")
    return {"code": 200, "msg": "success"}


def _leverage(ex: FakeExchange, params: Params) -> object:
    if not params.get("leverage", "").isdigit():
        raise ApiError.of(-1102, "leverage")
    return ex.engine.set_leverage(params.get("symbol", ""), int(params["leverage"]))


def _margin_type(ex: FakeExchange, params: Params) -> object:
    ex.engine.set_margin_type(params.get("symbol", ""), params.get("marginType", ""))
    return {"code": 200, "msg": "success"}


def _listen_key_new(ex: FakeExchange, params: Params) -> object:
    return {"listenKey": ex.listen_keys.create(ex.engine.market.now_ms)}


def _listen_key_keepalive(ex: FakeExchange, params: Params) -> object:
    key = params.get("listenKey", "")
    ex.listen_keys.keep_alive(key, ex.engine.market.now_ms)
    return {"listenKey": key}


def _listen_key_close(ex: FakeExchange, params: Params) -> object:
    ex.listen_keys.close(params.get("listenKey", ""))
    return {}


ROUTES: tuple[Route, ...] = (
    Route("GET", "/fapi/v1/ping", "NONE", _ping),
    Route("GET", "/fapi/v1/time", "NONE", _time),
    Route("GET", "/fapi/v1/exchangeInfo", "NONE", _exchange_info),
    Route("GET", "/fapi/v1/klines", "NONE", _klines),
    Route("POST", "/fapi/v1/order", "SIGNED", _new_order),
    Route("GET", "/fapi/v1/order", "SIGNED", _get_order),
    Route("GET", "/fapi/v2/positionRisk", "SIGNED", _position_risk(only_open=False)),
    Route("GET", "/fapi/v3/positionRisk", "SIGNED", _position_risk(only_open=True, v3=True)),
    Route("GET", "/fapi/v2/balance", "SIGNED", _balance),
    Route("GET", "/fapi/v3/balance", "SIGNED", _balance),
    Route("GET", "/fapi/v2/account", "SIGNED", _account),
    Route("GET", "/fapi/v3/account", "SIGNED", _account),
    Route("GET", "/fapi/v1/positionSide/dual", "SIGNED", _get_dual),
    Route("POST", "/fapi/v1/positionSide/dual", "SIGNED", _set_dual),
    Route("POST", "/fapi/v1/leverage", "SIGNED", _leverage),
    Route("POST", "/fapi/v1/marginType", "SIGNED", _margin_type),
    Route("POST", "/fapi/v1/listenKey", "USER_STREAM", _listen_key_new),
    Route("PUT", "/fapi/v1/listenKey", "USER_STREAM", _listen_key_keepalive),
    Route("DELETE", "/fapi/v1/listenKey", "USER_STREAM", _listen_key_close),
    *(Route(*route) for route in HISTORY_ROUTES),
) + tuple(Route(*endpoint) for endpoint in algo.ENDPOINTS)
ROUTE_TABLE = {(route.method, route.path): route for route in ROUTES}


# ----- control API for tests (not part of Binance) -----------------------------------------------------


def control_routes(ex: FakeExchange) -> list[web.RouteDef]:
    async def state(request: web.Request) -> web.Response:
        snapshot = ex.engine.snapshot()
        snapshot.update(faults=ex.faults.armed(), fired=ex.faults.history, skew_ms=ex.skew_ms,
                        server_time=ex.server_time(), requests=[list(item) for item in ex.request_log],
                        in_flight=ex.in_flight, timers_pending=ex.engine.timers.pending,
                        algo_orders=ex.algo.snapshot(), user_streams=ex.hub.private_connections())
        return web.json_response(snapshot)

    async def clock(request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            now, events = ex.step(int(body.get("candles", 0)), body.get("to_ms"), int(body.get("ms", 0)))
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        await ex.publish(events)
        return web.json_response({"now_ms": now, "published": len(events)})

    async def faults(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            ex.faults.clear()
            return web.json_response({"ok": True})
        try:
            ex.faults.add(Fault(**await _json(request)))
        except (TypeError, ValueError, ArithmeticError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({"armed": ex.faults.armed()})

    async def account(request: web.Request) -> web.Response:
        body = await _json(request)
        with ex.engine.lock:
            acct = ex.engine.account
            acct.dual_side = bool(body.get("dual_side", acct.dual_side))
            acct.open_orders = int(body.get("open_orders", acct.open_orders))
            if "wallet" in body:
                acct.wallet = Decimal(str(body["wallet"]))
        ex.skew_ms = int(body.get("skew_ms", ex.skew_ms))
        return web.json_response({"ok": True})

    async def reset(request: web.Request) -> web.Response:
        ex.reset()
        return web.json_response({"ok": True})

    def incident(action: Callable[[dict], object]) -> Callable:
        async def handler(request: web.Request) -> web.Response:
            body = await _json(request)
            try:
                result = action(body)
            except ApiError as error:
                return web.json_response(error.body(), status=400)
            except (KeyError, TypeError, ValueError, ArithmeticError) as error:
                return web.json_response({"error": f"bad request: {error}"}, status=400)
            return web.json_response(result.to_json() if isinstance(result, Order) else result)
        return handler

    async def limits(request: web.Request) -> web.Response:
        body = await _json(request)
        if body.get("reset"):
            ex.limiter.reset()
        if "freeze_at_ms" in body:
            ex.limiter.freeze(int(body["freeze_at_ms"]))
        if "limit" in body:
            ex.limiter.limit = None if body["limit"] is None else int(body["limit"])
        ex.limiter.advance(int(body.get("advance_ms", 0)))
        return web.json_response({"used": ex.limiter.used, "limit": ex.limiter.limit, "bans": ex.limiter.bans})

    async def run_clock(request: web.Request) -> web.Response:
        body = await _json(request)
        ex.start_clock(float(body.get("speed", 1.0)), int(body.get("tick_ms", 250)))
        return web.json_response({"running": ex._clock_task is not None})

    async def drop(request: web.Request) -> web.Response:
        return web.json_response({"dropped": await ex.hub.drop_all()})

    async def kill_listen_keys(request: web.Request) -> web.Response:
        return web.json_response({"killed": ex.listen_keys.kill_silently()})

    async def fire_timers(request: web.Request) -> web.Response:
        return web.json_response({"fired": ex.engine.timers.fire_all()})

    return [web.get("/_fake/state", state), web.post("/_fake/clock", clock), web.post("/_fake/faults", faults),
            web.delete("/_fake/faults", faults), web.post("/_fake/account", account),
            web.post("/_fake/reset", reset), web.post("/_fake/ws/drop", drop),
            web.post("/_fake/timers/fire", fire_timers), web.post("/_fake/limits", limits),
            web.post("/_fake/listen_keys/kill", kill_listen_keys),
            web.post("/_fake/clock/run", run_clock),
            web.post("/_fake/liquidate", incident(lambda b: incidents.liquidate(ex.engine, b["symbol"], b["side"]))),
            web.post("/_fake/adl", incident(lambda b: incidents.auto_deleverage(ex.engine, b["symbol"], b["side"],
                                                                                 b.get("qty")))),
            web.post("/_fake/funding", incident(lambda b: {"change": str(incidents.pay_funding(
                ex.engine, b["symbol"], str(b["rate"])))})),
            web.post("/_fake/settle", incident(lambda b: incidents.settle(ex.engine, b["symbol"], b["side"]))),
            web.post("/_fake/liquidate_empty", incident(
                lambda b: incidents.empty_liquidation(ex.engine, b["symbol"], b["side"]))),
            web.post("/_fake/margin_call", incident(lambda b: incidents.margin_call(ex.engine, b["symbol"]))),
            web.post("/_fake/commission", incident(lambda b: _commission(ex, b))),
            web.post("/_fake/trade", incident(lambda b: incidents.trade_by_hand(
                ex.engine, b["symbol"], b["side"], b["positionSide"], str(b["quantity"]))))]


def _commission(ex: FakeExchange, body: dict) -> dict:
    """Option: fills' commission asset in the user stream ("USDT", or "BNB" at ``bnb_price``)."""
    asset = str(body.get("asset", "USDT"))
    if asset not in ("USDT", "BNB"):
        raise ValueError(f"commission asset {asset!r}; use USDT or BNB")
    with ex.engine.lock:
        ex.engine.commission_asset = asset
        ex.engine.bnb_price = Decimal(str(body.get("bnb_price", ex.engine.bnb_price)))
    return {"asset": asset, "bnb_price": str(ex.engine.bnb_price)}


async def _json(request: web.Request) -> dict:
    text = await request.text()
    return json.loads(text) if text else {}


def build_app(ex: FakeExchange) -> web.Application:
    app = web.Application()
    app.add_routes(control_routes(ex))
    app.router.add_route("*", "/{tail:.*}", ex.handle)
    return app

