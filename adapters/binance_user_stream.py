"""Binance USDT-M user-data stream: this account's fills and position changes as they happen.

Since the 2026 WebSocket split, user data is on the ``/private`` route:
``wss://fstream.binance.com/private/ws?listenKey=<key>&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE``.
The listenKey comes from ``POST /fapi/v1/listenKey``, lives 60 minutes and is kept alive by
``PUT /fapi/v1/listenKey`` (here every 30 minutes); on ``listenKeyExpired`` or a dropped
connection a new key is made and the stream reconnects.

The thread only parses and queues; the trading service takes the records on its own thread
(:meth:`UserDataStream.drain`) and uses them for what REST cannot give cheaply:

- :class:`TradeUpdate` -- each execution's real commission and commission asset (``n``/``N``),
  replacing the taker-rate estimate of the order's REST answer [O3];
- :class:`PositionUpdate` -- a position changed (our order, a liquidation, an auto-deleverage,
  a trade made by hand): the service then reads the positions over REST at once [O7];
- :class:`AlgoUpdate` -- a conditional order on the Algo Order service changed (ALGO_UPDATE: placed,
  cancelled, triggering, triggered, finished, rejected, expired): the exchange-side guard
  (adapters/binance_algo.py). Only with ``algo_updates=True`` (``UserDataStream(...,
  algo_updates=True)`` also asks the stream for the event), so a service that does not handle
  the record yet never receives it.

REST stays the authority: the stream only makes differences show earlier, and the service
re-reads positions over REST before every decision whether the stream is up or down.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable
from urllib.parse import urlsplit

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from core.model import Side
from core.ports import ForcedClose, PositionUpdate, TradeUpdate

log = logging.getLogger("autohedge.userstream")

KEEPALIVE_EVERY_S = 30 * 60.0
EVENTS = "ORDER_TRADE_UPDATE/ACCOUNT_UPDATE"
EVENTS_WITH_ALGO = EVENTS + "/ALGO_UPDATE"


@dataclass(frozen=True)
class AlgoUpdate:
    """One ALGO_UPDATE ("Event: Algo Order Update"; recorded frames in
    binance-real/ws/ws_futures_algo_update_*.json). ``status``: NEW, CANCELED, TRIGGERING,
    TRIGGERED, FINISHED, REJECTED, EXPIRED. ``order_id``: the order placed in the matching engine
    once triggered (``ai``, "" before); ``executed_qty`` / ``avg_price``: its fill (``aq`` / ``ap``,
    FINISHED only); ``reason``: why it was rejected (``rm``)."""

    symbol: str
    client_algo_id: str
    algo_id: int
    status: str
    order_type: str
    side: str
    position_side: str
    quantity: Decimal
    trigger_price: Decimal
    close_position: bool
    order_id: str
    executed_qty: Decimal
    avg_price: Decimal
    reason: str
    time: int


def parse_algo_update(data: dict) -> AlgoUpdate:
    order = data.get("o", {})
    try:
        algo_id = int(order.get("aid") or 0)
    except (TypeError, ValueError):
        algo_id = 0
    return AlgoUpdate(str(order.get("s") or ""), str(order.get("caid") or ""), algo_id, str(order.get("X") or ""),
                      str(order.get("o") or ""), str(order.get("S") or ""), str(order.get("ps") or ""),
                      _decimal(order.get("q")), _decimal(order.get("tp")), bool(order.get("cp")),
                      str(order.get("ai") or ""), _decimal(order.get("aq")), _decimal(order.get("ap")),
                      str(order.get("rm") or ""), int(data.get("T") or data.get("E") or 0))


def private_url(stream_base_url: str, listen_key: str, events: str = EVENTS) -> str:
    """The ``/private`` address on the host of the market stream URL (whatever its path)."""
    parts = urlsplit(stream_base_url)
    return f"{parts.scheme}://{parts.netloc}/private/ws?listenKey={listen_key}&events={events}"


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _forced_close(order: dict, time_ms: int) -> ForcedClose | None:
    """A liquidation's execution (order type LIQUIDATION / client id ``autoclose-``, execution
    CALCULATED) or an auto-deleverage's (client id ``adl_autoclose``); None for any other order."""
    client_id = str(order.get("c") or "")
    if order.get("x") not in ("TRADE", "CALCULATED") or order.get("ps") not in ("LONG", "SHORT"):
        return None
    if order.get("o") == "LIQUIDATION" or client_id.startswith("autoclose-"):
        kind = "liquidation"
    elif client_id.startswith("adl_autoclose"):
        kind = "adl"
    else:
        return None
    return ForcedClose(str(order.get("s")), Side(order["ps"]), _decimal(order.get("l")), _decimal(order.get("L")),
                       client_id, kind, time_ms)


def parse_user_event(text: str, algo_updates: bool = False
                     ) -> list[TradeUpdate | PositionUpdate | ForcedClose | AlgoUpdate | str]:
    """Records from one stream message; ``"expired"`` for listenKeyExpired. ALGO_UPDATE only
    with ``algo_updates``."""
    message = json.loads(text)
    data = message.get("data", message) if isinstance(message, dict) else None
    if not isinstance(data, dict):
        return []
    kind = data.get("e")
    if kind == "listenKeyExpired":
        return ["expired"]
    if kind == "ALGO_UPDATE":
        return [parse_algo_update(data)] if algo_updates else []
    if kind == "ORDER_TRADE_UPDATE":
        order = data.get("o", {})
        forced = _forced_close(order, int(order.get("T") or data.get("E") or 0))
        if order.get("x") != "TRADE":
            return [forced] if forced is not None else []
        return ([forced] if forced is not None else []) + [TradeUpdate(str(order.get("s")), str(order.get("c")), _decimal(order.get("l")),
                            _decimal(order.get("z")), _decimal(order.get("L")), _decimal(order.get("n")),
                            str(order.get("N") or ""), str(order.get("X")), int(order.get("T") or data.get("E") or 0))]
    if kind == "ACCOUNT_UPDATE":
        account = data.get("a", {})
        records: list[TradeUpdate | PositionUpdate | str] = []
        for row in account.get("P", []):
            if row.get("ps") not in ("LONG", "SHORT"):
                continue
            records.append(PositionUpdate(str(row.get("s")), Side(row["ps"]), abs(_decimal(row.get("pa"))),
                                          _decimal(row.get("ep")), str(account.get("m") or ""),
                                          int(data.get("E") or 0)))
        return records
    return []


class UserDataStream:
    """The stream thread. ``listen_keys``: an object with ``new_listen_key()`` and
    ``keepalive_listen_key(key)`` (the Binance adapter)."""

    def __init__(self, listen_keys: Any, stream_base_url: str,
                 reconnect_delays: tuple[float, ...] = (0.5, 1, 2, 5, 10),
                 monotonic: Callable[[], float] = time.monotonic, algo_updates: bool = False):
        self.listen_keys = listen_keys
        self.algo_updates = algo_updates  # also ALGO_UPDATE records (the exchange-side guard)
        self.stream_base_url = stream_base_url
        self.reconnect_delays = reconnect_delays
        self._monotonic = monotonic
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.reconnects = 0
        self.received = 0  # records queued so far (for status and tests)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="user-data-stream", daemon=True)
            self._thread.start()

    def drain(self) -> list[TradeUpdate | PositionUpdate]:
        """Everything received so far (service thread)."""
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def wait(self, timeout: float) -> list[TradeUpdate | PositionUpdate]:
        """Like :meth:`drain`, waiting up to ``timeout`` for the first record."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        return [first] + self.drain()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.connected.clear()

    def _loop(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                key = self.listen_keys.new_listen_key()
                events = EVENTS_WITH_ALGO if self.algo_updates else EVENTS
                with connect(private_url(self.stream_base_url, key, events), open_timeout=10,
                             close_timeout=2) as socket:
                    self.connected.set()
                    attempt = 0
                    log.info("[O7] user-data stream connected")
                    self._read(socket, key)
            except Exception as exc:  # noqa: BLE001 - REST errors, socket errors: reconnect later
                if not isinstance(exc, (OSError, WebSocketException, TimeoutError)):
                    log.warning("user-data stream: %s", getattr(exc, "message", exc))
            self.connected.clear()
            if self._stop.is_set():
                return
            delay = self.reconnect_delays[min(attempt, len(self.reconnect_delays) - 1)]
            log.warning("user-data stream disconnected; reconnecting in %gs (positions are read over REST "
                        "before every decision meanwhile)", delay)
            attempt += 1
            self.reconnects += 1
            self._stop.wait(delay)

    def _read(self, socket: Any, key: str) -> None:
        next_keepalive = self._monotonic() + KEEPALIVE_EVERY_S
        while not self._stop.is_set():
            if self._monotonic() >= next_keepalive:
                self.listen_keys.keepalive_listen_key(key)
                next_keepalive = self._monotonic() + KEEPALIVE_EVERY_S
            try:
                text = socket.recv(timeout=1.0)
            except TimeoutError:
                continue
            for record in parse_user_event(text, self.algo_updates):
                if record == "expired":
                    log.warning("user-data stream: listenKey expired; making a new one")
                    return
                self._queue.put(record)
                self.received += 1
