"""WebSocket side of the fake: ``<symbol>@kline_<interval>`` streams and the user data stream.

python-binance connects to ``{FSTREAM_URL}[market|private/]ws/<stream>`` (raw events),
``.../stream?streams=a/b`` (events wrapped as ``{"stream": name, "data": event}``) or
``.../ws?listenKey=<key>`` for the user data stream. Kline events are published
when the simulated clock passes a candle's close, with ``k.x = true``.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import numpy as np
from aiohttp import WSMsgType, web

from tests.fake_binance.market import INTERVAL_MS


@dataclass(eq=False)
class Subscriber:
    ws: web.WebSocketResponse
    streams: set[str] = field(default_factory=set)
    wrapped: bool = False
    listen_key: str | None = None


def kline_event(symbol: str, interval: str, open_time: int, row: np.ndarray, event_time: int) -> dict:
    o, h, low, c, v = (float(x) for x in row)
    return {"e": "kline", "E": event_time, "s": symbol, "k": {
        "t": open_time, "T": open_time + INTERVAL_MS[interval] - 1, "s": symbol, "i": interval,
        "f": 0, "L": 0, "o": repr(o), "c": repr(c), "h": repr(h), "l": repr(low), "v": repr(v),
        "n": 0, "x": True, "q": repr(v * c), "V": "0", "Q": "0", "B": "0"}}


class StreamHub:
    """Connected WebSocket clients; everything runs on the server's event loop."""

    def __init__(self, listen_keys: set[str]):
        self.subscribers: set[Subscriber] = set()
        self.listen_keys = listen_keys

    def streams_wanted(self) -> set[str]:
        return {name for sub in self.subscribers for name in sub.streams}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        sub = Subscriber(ws)
        path = request.path.rstrip("/")
        if "streams" in request.query:
            sub.wrapped = True
            sub.streams = {name for name in request.query["streams"].split("/") if name}
        elif "listenKey" in request.query:
            sub.listen_key = request.query["listenKey"]
        elif "/ws/" in path + "/":
            name = path.rsplit("/ws/", 1)[-1] if "/ws/" in path else ""
            if name in self.listen_keys:
                sub.listen_key = name
            elif name:
                sub.streams = {name}
        if sub.listen_key is not None and sub.listen_key not in self.listen_keys:
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
            if stream in sub.streams:
                await self._send(sub, {"stream": stream, "data": event} if sub.wrapped else event)

    async def publish_user(self, event: dict) -> None:
        for sub in list(self.subscribers):
            if sub.listen_key is not None:
                await self._send(sub, event)

    async def drop_all(self) -> int:
        """Fault: close every connection abruptly (python-binance reconnects)."""
        subs = list(self.subscribers)
        for sub in subs:
            await sub.ws.close(code=1011, message=b"dropped by fault injection")
        return len(subs)

    async def _send(self, sub: Subscriber, payload: dict) -> None:
        try:
            await sub.ws.send_str(json.dumps(payload))
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            self.subscribers.discard(sub)
