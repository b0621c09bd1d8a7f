"""Binance USDT-M user-data stream: this account's fills and position changes as they happen.

Since the 2026 WebSocket split, user data is on the ``/private`` route:
``wss://fstream.binance.com/private/ws?listenKey=<key>&events=<SUBSCRIBED_EVENTS joined by />``.
The listenKey comes from ``POST /fapi/v1/listenKey``, lives 60 minutes and is kept alive by
``PUT /fapi/v1/listenKey`` (here every 30 minutes); on ``listenKeyExpired`` or a dropped
connection a new key is made and the stream reconnects.

The thread only parses and queues; the trading service takes the records on its own thread
(:meth:`UserDataStream.drain`) and uses them for what REST cannot give cheaply:

- :class:`TradeUpdate` -- each execution's real commission and commission asset (``n``/``N``),
  replacing the taker-rate estimate of the order's REST answer [O3];
- :class:`PositionUpdate` -- a position changed (our order, a liquidation, an auto-deleverage,
  a trade made by hand): the service then reads the positions over REST at once [O7];
- :class:`ForcedClose` -- the exchange closed a position itself (liquidation, ADL, settlement);
- :class:`MarginCall` -- Binance's margin call (positions at risk of liquidation);
- :class:`AccountConfigUpdate` -- leverage changed by hand, or Multi-Assets mode switched.
- :class:`FundingFee` -- a funding payment as it happens (ACCOUNT_UPDATE ``m`` FUNDING_FEE), for
  the ledger and the account strip's "Funding today" (drain_account_events).
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
from core.ports import (
    AccountConfigUpdate,
    ForcedClose,
    FundingFee,
    MarginCall,
    MarginCallPosition,
    PositionUpdate,
    TradeUpdate,
)

log = logging.getLogger("autohedge.userstream")

KEEPALIVE_EVERY_S = 30 * 60.0
# A key can die without a word: no listenKeyExpired, the socket open and silent (seen on Binance:
# binance/binance-connector-js#135, binance/binance-connector-rust#74). When the service misses the
# executions of an order that filled, it asks for an early keep-alive (:meth:`UserDataStream.suspect`),
# which answers -1125 for a dead key; at most one such check per this many seconds.
SUSPECT_EVERY_S = 30.0
# The /private route's ``events=`` filter is an allow-list: an event type left out is never
# delivered, listenKeyExpired included (measured 2026-07-31, jabdori/maxt docs/providers/binance.md).
# MARGIN_CALL and ACCOUNT_CONFIG_UPDATE are parsed into records; TRADE_LITE is not subscribed
# (ORDER_TRADE_UPDATE carries all it does); ALGO_UPDATE only with ``algo_updates`` (below).
SUBSCRIBED_EVENTS = ("ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE", "listenKeyExpired", "MARGIN_CALL",
                     "ACCOUNT_CONFIG_UPDATE")
EVENTS = "/".join(SUBSCRIBED_EVENTS)
# Client ids Binance gives the orders it sends by itself (Binance, "Introducing TRADE_LITE for
# USDⓈ-M Futures Websocket", 2024-09-03): liquidation, auto-deleverage, delisting/delivery settlement.
FORCED_CLOSE_PREFIXES = (("autoclose-", "liquidation"), ("adl_autoclose", "adl"),
                         ("settlement_autoclose-", "settlement"))

# ALGO_UPDATE is asked for only by a service that handles the exchange-side guard (algo_updates=True).
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


UserRecord = (TradeUpdate | PositionUpdate | ForcedClose | MarginCall | AccountConfigUpdate | AlgoUpdate | FundingFee
              | str)



def private_url(stream_base_url: str, listen_key: str, events: str = EVENTS) -> str:
    """The ``/private`` address on the host of the market stream URL (whatever its path)."""
    parts = urlsplit(stream_base_url)
    return f"{parts.scheme}://{parts.netloc}/private/ws?listenKey={listen_key}&events={events}"


def _decimal(value: Any) -> Decimal:
    """A number from a frame; None, text, NaN and infinity read as 0 (never raised)."""
    if value is None or isinstance(value, (bool, dict, list)):
        return Decimal(0)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def _int(value: Any) -> int:
    number = _decimal(value)
    try:
        return int(number)
    except (OverflowError, ValueError):
        return 0


def _side(value: Any) -> Side | None:
    return Side(value) if value in ("LONG", "SHORT") else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _forced_close_kind(order: dict) -> str | None:
    client_id = _text(order.get("c"))
    if order.get("o") == "LIQUIDATION" or order.get("ot") == "LIQUIDATION":
        return "liquidation"
    for prefix, kind in FORCED_CLOSE_PREFIXES:
        if client_id.startswith(prefix):
            return kind
    return None


def _forced_close(order: dict, time_ms: int) -> ForcedClose | None:
    """A liquidation's execution (order type LIQUIDATION / client id ``autoclose-``, execution
    CALCULATED), an auto-deleverage's (client id ``adl_autoclose``) or a delisting/delivery
    settlement's (client id ``settlement_autoclose-``); None for any other order, and for a frame
    that closed nothing (quantity 0) or names no price (last price, else average price)."""
    side = _side(order.get("ps"))
    kind = _forced_close_kind(order)
    if order.get("x") not in ("TRADE", "CALCULATED") or side is None or kind is None:
        return None
    qty = abs(_decimal(order.get("l")))
    price = _decimal(order.get("L"))
    if price <= 0:
        price = _decimal(order.get("ap"))
    if qty <= 0 or price <= 0:
        log.info("[O7] %s %s forced-close frame without quantity or price (%s); nothing was closed by it",
                 order.get("s"), kind, _text(order.get("c")))
        return None
    trade_id = _int(order.get("t")) or None
    realized = _decimal(order.get("rp")) if order.get("rp") is not None else None
    fee = abs(_decimal(order.get("n"))) if order.get("n") is not None else Decimal(0)
    return ForcedClose(_text(order.get("s")), side, qty, price, _text(order.get("c")), kind, time_ms, trade_id,
                       realized, fee, _text(order.get("N")) or "USDT")


def _order_update(data: dict) -> list[UserRecord]:
    order = data.get("o")
    if not isinstance(order, dict):
        return []
    time_ms = _int(order.get("T")) or _int(data.get("E"))
    forced = _forced_close(order, time_ms)
    records: list[UserRecord] = [forced] if forced is not None else []
    if order.get("x") != "TRADE":
        return records
    last_qty, last_price = _decimal(order.get("l")), _decimal(order.get("L"))
    if last_qty <= 0 or last_price <= 0:
        log.warning("[O3] %s execution of %s without quantity or price in the user stream; ignored (the order "
                    "is confirmed over REST)", order.get("s"), _text(order.get("c")))
        return records
    records.append(TradeUpdate(_text(order.get("s")), _text(order.get("c")), last_qty, _decimal(order.get("z")),
                               last_price, _decimal(order.get("n")), _text(order.get("N")),
                               _text(order.get("X")), time_ms))
    return records


def _funding_fees(data: dict, account: dict) -> list[UserRecord]:
    """ACCOUNT_UPDATE ``m`` FUNDING_FEE: one :class:`FundingFee` per balance row that changed. "When
    FUNDING FEE occurs in a crossed position, ACCOUNT_UPDATE will be pushed with only the balance B
    ..., without any position P message"; an isolated one's adds that position ("Event: Balance and
    Position Update", Binance USDS-M futures user-data streams). ``bc`` is the change."""
    positions = account.get("P")
    symbols = {row.get("s") for row in positions if isinstance(row, dict)} if isinstance(positions, list) else set()
    symbol = _text(next(iter(symbols))) if len(symbols) == 1 else ""
    time_ms = _int(data.get("T")) or _int(data.get("E"))
    balances = account.get("B")
    fees: list[UserRecord] = []
    for row in balances if isinstance(balances, list) else []:
        change = _decimal(row.get("bc")) if isinstance(row, dict) else Decimal(0)
        if change != 0 and _text(row.get("a")):
            balance = _decimal(row.get("wb")) if row.get("wb") is not None else None
            fees.append(FundingFee(symbol, _text(row.get("a")), change, time_ms, balance))
    return fees


def _account_update(data: dict) -> list[UserRecord]:
    account = data.get("a")
    rows = account.get("P") if isinstance(account, dict) else None
    records: list[UserRecord] = []
    if isinstance(account, dict) and account.get("m") == "FUNDING_FEE":
        records += _funding_fees(data, account)
    for row in rows if isinstance(rows, list) else []:
        side = _side(row.get("ps")) if isinstance(row, dict) else None
        if side is None:
            continue
        qty, entry = abs(_decimal(row.get("pa"))), _decimal(row.get("ep"))
        if qty > 0 and entry <= 0:
            entry = _decimal(row.get("bep"))  # break-even price, when the entry price is missing
        if qty > 0 and entry <= 0:
            # A position without a price is never recorded; REST is read before the next decision.
            log.warning("[O7] %s %s position update without an entry price; positions are read over REST",
                        row.get("s"), side.value)
            continue
        records.append(PositionUpdate(_text(row.get("s")), side, qty, entry if qty > 0 else Decimal(0),
                                      _text(account.get("m")), _int(data.get("E"))))
    return records


def _margin_call(data: dict) -> list[UserRecord]:
    rows = data.get("p")
    positions = []
    for row in rows if isinstance(rows, list) else []:
        side = _side(row.get("ps")) if isinstance(row, dict) else None
        if side is None:
            continue
        positions.append(MarginCallPosition(_text(row.get("s")), side, abs(_decimal(row.get("pa"))),
                                            _text(row.get("mt")), _decimal(row.get("mp")), _decimal(row.get("up")),
                                            _decimal(row.get("mm"))))
    wallet = _decimal(data.get("cw")) if data.get("cw") is not None else None
    return [MarginCall(wallet, tuple(positions), _int(data.get("E")))]


def _account_config(data: dict) -> list[UserRecord]:
    """``ac`` = a symbol's leverage (``s``, ``l``); ``ai`` = Multi-Assets mode (``j``)."""
    time_ms = _int(data.get("E")) or _int(data.get("T"))
    leverage, assets = data.get("ac"), data.get("ai")
    if isinstance(leverage, dict) and _text(leverage.get("s")):
        value = _int(leverage.get("l"))
        return [AccountConfigUpdate(_text(leverage.get("s")), value if value > 0 else None, None, time_ms)]
    if isinstance(assets, dict) and isinstance(assets.get("j"), bool):
        return [AccountConfigUpdate(None, None, assets["j"], time_ms)]
    return []


PARSERS = {"ORDER_TRADE_UPDATE": _order_update, "ACCOUNT_UPDATE": _account_update, "MARGIN_CALL": _margin_call,
           "ACCOUNT_CONFIG_UPDATE": _account_config, "ALGO_UPDATE": lambda data: [parse_algo_update(data)]}


def parse_user_event(text: str | bytes, algo_updates: bool = False) -> list[UserRecord]:
    """Records from one stream message; ``"expired"`` for listenKeyExpired; ALGO_UPDATE only with
    ``algo_updates``. Never raises: a frame that is not JSON, has an unknown event type, or misses
    fields gives what can be read of it (often nothing), and no record ever carries a price of 0 or
    NaN for a quantity above 0."""
    try:
        message = json.loads(text)
    except (TypeError, ValueError):
        log.warning("user-data stream: a message that is not JSON was ignored")
        return []
    data = message.get("data", message) if isinstance(message, dict) else None
    if not isinstance(data, dict):
        return []
    kind = data.get("e")
    if kind == "listenKeyExpired":
        return ["expired"]
    if kind == "ALGO_UPDATE" and not algo_updates:
        return []
    parser = PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        return []
    try:
        return parser(data)
    except Exception as exc:  # noqa: BLE001 - one odd frame must never stop the stream thread
        log.warning("user-data stream: a %s frame could not be read (%s); ignored", kind, type(exc).__name__)
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
        # MARGIN_CALL and ACCOUNT_CONFIG_UPDATE go to a queue of their own (drain_account_events), so
        # drain()/wait() keep returning only the record types of core.ports.UserStream.
        self._account_events: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self._check_key = threading.Event()  # suspect(): keep the key alive now, to learn it is dead
        self._last_suspected = float("-inf")
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

    def drain_account_events(self) -> list[MarginCall | AccountConfigUpdate | FundingFee]:
        """Margin calls, account configuration changes and funding payments received so far (service thread)."""
        items = []
        while True:
            try:
                items.append(self._account_events.get_nowait())
            except queue.Empty:
                return items

    def wait(self, timeout: float) -> list[TradeUpdate | PositionUpdate]:
        """Like :meth:`drain`, waiting up to ``timeout`` for the first record."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        return [first] + self.drain()

    def suspect(self) -> bool:
        """Any thread: an order filled and its executions did not arrive while the socket is up --
        the key may be dead and silent. The stream thread then sends the keep-alive at once (a dead
        key answers -1125: a new key and a new connection follow). True when a check was asked
        (at most one per :data:`SUSPECT_EVERY_S`)."""
        now = self._monotonic()
        if not self.connected.is_set() or now - self._last_suspected < SUSPECT_EVERY_S:
            return False
        self._last_suspected = now
        self._check_key.set()
        return True

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
        self._check_key.clear()
        while not self._stop.is_set():
            suspected = self._check_key.is_set()
            if suspected or self._monotonic() >= next_keepalive:
                self._check_key.clear()
                try:
                    self.listen_keys.keepalive_listen_key(key)
                except Exception as exc:  # -1125 for a dead key: reconnect with a new one (_loop)
                    log.warning("user-data stream: the listenKey's keep-alive failed (%s); making a new key and "
                                "connecting again", getattr(exc, "message", exc))
                    return
                if suspected:
                    log.info("user-data stream: an order's executions did not arrive; the listenKey is alive")
                next_keepalive = self._monotonic() + KEEPALIVE_EVERY_S
            try:
                text = socket.recv(timeout=1.0)
            except TimeoutError:
                continue
            for record in parse_user_event(text, self.algo_updates):
                if record == "expired":
                    log.warning("user-data stream: listenKey expired; making a new one")
                    return
                if isinstance(record, (MarginCall, AccountConfigUpdate, FundingFee)):
                    self._account_events.put(record)
                else:
                    self._queue.put(record)
                self.received += 1
