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
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fake_binance.engine import Engine
from tests.fake_binance.errors import UNKNOWN_ERROR_CODE, ApiError, signature_valid
from tests.fake_binance.faults import Fault, FaultBook
from tests.fake_binance.market import INTERVAL_MS
from tests.fake_binance.streams import StreamHub, kline_event

Params = dict[str, str]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    security: str  # NONE / USER_STREAM / SIGNED
    handler: Callable[["FakeExchange", Params], object]


class FakeExchange:
    """Engine + faults + streams + request security, independent of how the server is run."""

    def __init__(self, engine: Engine, api_key: str, api_secret: str):
        self.engine = engine
        self.api_key = api_key
        self._api_secret = api_secret
        self.faults = FaultBook()
        self.listen_keys: set[str] = set()
        self.hub = StreamHub(self.listen_keys)
        self.skew_ms = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.request_log: list[tuple[str, str]] = []  # (method, path) of every REST call
        engine.listeners.append(self._on_user_event)

    # ----- clocks -------------------------------------------------------------------------------

    def server_time(self) -> int:
        return int(time.time() * 1000) + self.skew_ms

    def _check_timestamp(self, params: Params) -> None:
        raw = params.get("timestamp")
        if not raw or not raw.isdigit():
            raise ApiError.of(-1102, "timestamp")
        recv_window = int(params.get("recvWindow", "5000"))
        now = self.server_time()
        if not (int(raw) < now + 1000 and now - int(raw) <= recv_window):
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
            events = []
            for stream in sorted(self.hub.streams_wanted()):
                symbol, _, interval = stream.partition("@kline_")
                symbol = symbol.upper()
                for open_time, row in market.closed_between(symbol, interval, before, target):
                    events.append((open_time, stream,
                                   kline_event(symbol, interval, open_time, row, open_time + INTERVAL_MS[interval])))
            events.sort(key=lambda item: (item[0], item[1]))
            return target, [(stream, event) for _, stream, event in events]

    async def publish(self, events: list[tuple[str, dict]]) -> None:
        for stream, event in events:
            await self.hub.publish(stream, event)

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
        self.request_log.append((request.method, request.path))
        query = request.rel_url.raw_query_string
        body = await request.text() if request.can_read_body else ""
        params: Params = dict(parse_qsl(body, keep_blank_values=True))
        params.update(parse_qsl(query, keep_blank_values=True))  # the query string wins, as documented
        client_id = params.get("newClientOrderId") or params.get("origClientOrderId")
        fired = self.faults.take(request.method, request.path, client_id)
        for fault in fired:
            if fault.kind == "latency":
                await asyncio.sleep(fault.latency_ms / 1000)
        try:
            self._check_security(route, request, params, query + body)
            for fault in fired:
                early = _early_answer(fault)
                if early is not None:
                    return early
            kwargs = {}
            partial = next((f for f in fired if f.kind == "partial_fill"), None)
            if partial is not None and route.path == "/fapi/v1/order" and request.method == "POST":
                kwargs["fill_ratio"] = Decimal(partial.fill_ratio)
            result = route.handler(self, params, **kwargs)
        except ApiError as error:
            return web.json_response(error.body(), status=error.status, headers=error.headers)
        for fault in fired:
            if fault.kind == "unknown_after_execute":
                return _error_response(ApiError.of(UNKNOWN_ERROR_CODE))
            if fault.kind == "error" and fault.execute:
                return _error_response(ApiError.of(fault.code or -1006))
        return web.json_response(result, headers={"X-MBX-USED-WEIGHT-1M": str(len(self.request_log))})

    def _check_security(self, route: Route, request: web.Request, params: Params, total_params: str) -> None:
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
            self._check_timestamp(params)
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


def _new_order(ex: FakeExchange, params: Params, fill_ratio: Decimal | None = None) -> object:
    order = ex.engine.new_order(params, fill_ratio)
    body = order.to_json()
    if params.get("newOrderRespType", "ACK") == "ACK":
        # ACK: the order is accepted; its outcome must be queried.
        body.update({"status": "NEW", "executedQty": "0", "cumQty": "0", "cumQuote": "0", "avgPrice": "0.00"})
    return body


def _get_order(ex: FakeExchange, params: Params) -> object:
    return ex.engine.find_order(params).to_json()


def _position_risk(only_open: bool) -> Callable[[FakeExchange, Params], object]:
    return lambda ex, params: ex.engine.position_rows(params.get("symbol"), only_open)


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
    key = secrets.token_hex(32)
    ex.listen_keys.add(key)
    return {"listenKey": key}


def _listen_key_keepalive(ex: FakeExchange, params: Params) -> object:
    if params.get("listenKey") not in ex.listen_keys:
        raise ApiError(-1125, "This listenKey does not exist. Please use `POST /fapi/v1/listenKey` to recreate `listenKey`")
    return {"listenKey": params["listenKey"]}


def _listen_key_close(ex: FakeExchange, params: Params) -> object:
    ex.listen_keys.discard(params.get("listenKey", ""))
    return {}


ROUTES: tuple[Route, ...] = (
    Route("GET", "/fapi/v1/ping", "NONE", _ping),
    Route("GET", "/fapi/v1/time", "NONE", _time),
    Route("GET", "/fapi/v1/exchangeInfo", "NONE", _exchange_info),
    Route("GET", "/fapi/v1/klines", "NONE", _klines),
    Route("POST", "/fapi/v1/order", "SIGNED", _new_order),
    Route("GET", "/fapi/v1/order", "SIGNED", _get_order),
    Route("GET", "/fapi/v2/positionRisk", "SIGNED", _position_risk(only_open=False)),
    Route("GET", "/fapi/v3/positionRisk", "SIGNED", _position_risk(only_open=True)),
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
)
ROUTE_TABLE = {(route.method, route.path): route for route in ROUTES}


# ----- control API for tests (not part of Binance) -----------------------------------------------------


def control_routes(ex: FakeExchange) -> list[web.RouteDef]:
    async def state(request: web.Request) -> web.Response:
        snapshot = ex.engine.snapshot()
        snapshot.update(faults=ex.faults.armed(), fired=ex.faults.history, skew_ms=ex.skew_ms,
                        server_time=ex.server_time(), requests=[list(item) for item in ex.request_log])
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
        ex.engine.reset()
        ex.faults.clear()
        ex.skew_ms = 0
        return web.json_response({"ok": True})

    async def drop(request: web.Request) -> web.Response:
        return web.json_response({"dropped": await ex.hub.drop_all()})

    return [web.get("/_fake/state", state), web.post("/_fake/clock", clock), web.post("/_fake/faults", faults),
            web.delete("/_fake/faults", faults), web.post("/_fake/account", account),
            web.post("/_fake/reset", reset), web.post("/_fake/ws/drop", drop)]


async def _json(request: web.Request) -> dict:
    text = await request.text()
    return json.loads(text) if text else {}


def build_app(ex: FakeExchange) -> web.Application:
    app = web.Application()
    app.add_routes(control_routes(ex))
    app.router.add_route("*", "/{tail:.*}", ex.handle)
    return app

