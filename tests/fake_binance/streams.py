"""WebSocket side of the fake, routed like Binance USDS-M futures since the 2026 URL split.

Binance ("Websocket Market Streams" and "Important WebSocket Change Notice -- Base URL Split &
Migration"; legacy URLs retired on 2026-04-23):

- ``/market`` carries regular market data such as ``<symbol>@kline_<interval>``: ws mode
  ``/market/ws/<stream>[/<stream>...]`` (raw events) and stream mode
  ``/market/stream?streams=<a>/<b>`` (events wrapped as ``{"stream": name, "data": event}``);
  live ``SUBSCRIBE`` / ``UNSUBSCRIBE`` messages too;
- ``/private`` carries user data: ``/private/ws/<listenKey>``, ``/private/ws?listenKey=<k>&events=a/b``
  and ``/private/stream?listenKey=<k>&events=a/b`` (wrapped, ``stream`` = the listenKey);
- "Connections that do not include a routed path (/public, /market, or /private) will only receive
  data from the Public endpoint. Streams belonging to /market or /private will not push data on
  unrouted connections." The fake serves no public-category stream, so a legacy ``/ws/...`` or
  ``/stream?streams=...`` connection is accepted and then never receives anything -- what a bot on
  the retired address sees;
- "A single connection is only valid for 24 hours; expect to be disconnected at the 24 hour mark":
  the fake closes a connection once its *market* clock is 24 h past the connection's start.

Kline events: the closed candle with ``k.x = true`` when the market clock passes its close, and the
candle still forming with ``k.x = false`` whenever the clock stops inside a candle (see
``Market.forming``).
"""
from __future__ import annotations

import asyncio
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from aiohttp import WSMsgType, web

from tests.fake_binance import events
from tests.fake_binance.errors import ApiError
from tests.fake_binance.market import INTERVAL_MS

CONNECTION_LIFETIME_MS = 24 * 3_600_000
LISTEN_KEY_VALIDITY_MS = 60 * 60_000


@dataclass(eq=False)
class Subscriber:
    ws: web.WebSocketResponse
    route: str  # "market", "private", "public" or "unrouted" (a legacy address)
    connected_ms: int  # market time
    streams: set[str] = field(default_factory=set)
    wrapped: bool = False
    listen_keys: set[str] = field(default_factory=set)
    events: set[str] | None = None  # the private ``events=`` filter


def kline_event(symbol: str, interval: str, open_time: int, row: np.ndarray, event_time: int,
                closed: bool = True) -> dict:
    o, h, low, c, v = (float(x) for x in row)
    return {"e": "kline", "E": event_time, "s": symbol, "k": {
        "t": open_time, "T": open_time + INTERVAL_MS[interval] - 1, "s": symbol, "i": interval,
        "f": 0, "L": 0, "o": repr(o), "c": repr(c), "h": repr(h), "l": repr(low), "v": repr(v),
        "n": 0, "x": closed, "q": repr(v * c), "V": "0", "Q": "0", "B": "0"}}


class ListenKeys:
    """listenKeys of the one account ("User Data Streams -- Connect"): valid 60 minutes after creation
    or the last keep-alive; POST while one is active returns it and extends it; DELETE closes it.
    Times are the market clock's."""

    def __init__(self) -> None:
        self._expiry: dict[str, int] = {}
        self._lock = threading.Lock()

    def create(self, now_ms: int) -> str:
        with self._lock:
            key = next((k for k, until in self._expiry.items() if until > now_ms), None) or secrets.token_hex(32)
            self._expiry[key] = now_ms + LISTEN_KEY_VALIDITY_MS
            return key

    def keep_alive(self, key: str, now_ms: int) -> None:
        with self._lock:
            if self._expiry.get(key, 0) <= now_ms:
                raise ApiError.of(-1125)
            self._expiry[key] = now_ms + LISTEN_KEY_VALIDITY_MS

    def close(self, key: str) -> None:
        with self._lock:
            self._expiry.pop(key, None)

    def valid(self, key: str, now_ms: int) -> bool:
        with self._lock:
            return self._expiry.get(key, 0) > now_ms

    def expire(self, now_ms: int) -> list[str]:
        """Drop and return the keys whose 60 minutes ran out."""
        with self._lock:
            gone = [key for key, until in self._expiry.items() if until <= now_ms]
            for key in gone:
                del self._expiry[key]
            return gone

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()

    def kill_silently(self) -> int:
        """Fault: every key stops existing at once, and nobody is told -- no ``listenKeyExpired``,
        no close: a connection on a dead key stays open and receives nothing more, a keep-alive
        answers -1125, and ``POST`` makes a new key (none is active). How many keys died."""
        with self._lock:
            killed = len(self._expiry)
            self._expiry.clear()
            return killed


class StreamHub:
    """Connected WebSocket clients; everything runs on the server's event loop."""

    def __init__(self, listen_keys: ListenKeys, clock: Callable[[], int]):
        self.subscribers: set[Subscriber] = set()
        self.listen_keys = listen_keys
        self.clock = clock  # the market clock (ms)

    def streams_wanted(self) -> set[str]:
        return {name for sub in self.subscribers if sub.route == "market" for name in sub.streams}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        sub = _subscriber(ws, request, self.clock())
        if sub.route == "private" and not all(self.listen_keys.valid(k, self.clock()) for k in sub.listen_keys):
            await ws.close(code=4001, message=b"This listenKey does not exist.")
            return ws
        self.subscribers.add(sub)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._on_client_message(sub, message.data)
        finally:
            self.subscribers.discard(sub)
        return ws

    async def _on_client_message(self, sub: Subscriber, text: str) -> None:
        """Binance's live SUBSCRIBE / UNSUBSCRIBE messages."""
        try:
            request = json.loads(text)
            method, params = request.get("method"), request.get("params", [])
        except (ValueError, AttributeError):
            return
        if method == "SUBSCRIBE":
            sub.streams.update(params)
        elif method == "UNSUBSCRIBE":
            sub.streams.difference_update(params)
        await sub.ws.send_json({"result": None, "id": request.get("id")})

    async def publish(self, stream: str, event: dict) -> None:
        for sub in list(self.subscribers):
            if sub.route == "market" and stream in sub.streams:
                await self._send(sub, {"stream": stream, "data": event} if sub.wrapped else event)

    async def publish_user(self, event: dict) -> None:
        now = self.clock()
        for sub in list(self.subscribers):
            if sub.route != "private" or (sub.events is not None and event.get("e") not in sub.events):
                continue
            key = next((k for k in sub.listen_keys if self.listen_keys.valid(k, now)), None)
            if key is not None:
                await self._send(sub, {"stream": key, "data": event} if sub.wrapped else event)

    async def housekeeping(self) -> None:
        """After the market clock moved: expired listenKeys get ``listenKeyExpired`` (and no more
        events); connections older than 24 h are closed."""
        now = self.clock()
        for key in self.listen_keys.expire(now):
            for sub in list(self.subscribers):
                if sub.route == "private" and key in sub.listen_keys and (
                        sub.events is None or "listenKeyExpired" in sub.events):
                    event = events.listen_key_expired(now, key)
                    await self._send(sub, {"stream": key, "data": event} if sub.wrapped else event)
        for sub in list(self.subscribers):
            if now - sub.connected_ms >= CONNECTION_LIFETIME_MS:
                self.subscribers.discard(sub)
                await sub.ws.close(code=1000, message=b"a connection is valid for 24 hours")

    def private_connections(self) -> list[dict[str, object]]:
        """The open ``/private`` connections: whether one of their keys is alive, and their filter."""
        now = self.clock()
        return [{"valid": any(self.listen_keys.valid(k, now) for k in sub.listen_keys),
                 "events": sorted(sub.events) if sub.events is not None else None}
                for sub in list(self.subscribers) if sub.route == "private"]

    async def drop_all(self) -> int:
        """Fault: close every connection abruptly (clients reconnect)."""
        subs = list(self.subscribers)
        for sub in subs:
            await sub.ws.close(code=1011, message=b"dropped by fault injection")
        return len(subs)

    async def _send(self, sub: Subscriber, payload: dict) -> None:
        try:
            await sub.ws.send_str(json.dumps(payload))
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            self.subscribers.discard(sub)


def _subscriber(ws: web.WebSocketResponse, request: web.Request, now_ms: int) -> Subscriber:
    """The route and subscriptions a connection asked for, from its URL."""
    path = request.path.rstrip("/")
    route, _, rest = path.lstrip("/").partition("/")
    if route not in ("market", "private", "public"):
        route, rest = "unrouted", path.lstrip("/")
    sub = Subscriber(ws, route, now_ms)
    mode, _, names = rest.partition("/")
    if route == "private":
        sub.listen_keys = set(request.query.getall("listenKey", []))
        if mode == "ws" and names:
            sub.listen_keys.add(names)
        wanted = [e for value in request.query.getall("events", []) for e in value.split("/") if e]
        # An allow-list, as on Binance: an event type left out (listenKeyExpired included) is never sent
        # (measured 2026-07-31, jabdori/maxt docs/providers/binance.md lines 127-137).
        sub.events = set(wanted) if wanted else None
        sub.wrapped = mode == "stream"
    elif mode == "stream":
        sub.wrapped = True
        sub.streams = {name for name in request.query.get("streams", "").split("/") if name}
    elif mode == "ws":
        sub.streams = {name for name in names.split("/") if name}
    return sub
