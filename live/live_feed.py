"""Closed 5m candles from Binance: the kline WebSocket stream, with REST backfill.

The stream thread reads ``<symbol>@kline_5m`` events from the combined stream
(``<base>market/stream?streams=a/b``: klines are on Binance's /market route since the
2026 URL split; the legacy ``<base>stream`` address no longer carries them) and queues a
candle only when its ``k.x`` (closed) flag is set. The service thread takes
candles through :meth:`BinanceKlineFeed.next_candle`, which guarantees, per
symbol, that every close is handed out once and in order:

- a candle at or before the last one handed out is dropped (no close twice);
- a candle that leaves a hole after the last one first pulls the hole's
  candles over REST (none skipped);
- after a reconnect, and when a close is overdue on the clock, the missing
  candles are pulled over REST.
"""
from __future__ import annotations

import collections
import json
import logging
import queue
import threading
import time
from typing import Callable

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from adapters.binance_futures import DEMO_STREAM_URL, LIVE_STREAM_URL  # noqa: F401 - re-exported
from core.model import FIVE_MINUTES_MS, Candle
from live.feeds import ClosedCandle

log = logging.getLogger("autohedge.feed")

KlineSource = Callable[..., list[Candle]]  # (symbol, interval, start_ms, end_ms=None, limit=...) -> closed candles
_RECONNECTED = object()
OVERDUE_GRACE_MS = 15_000  # a close not seen this long after it is due is fetched over REST
OVERDUE_CHECK_EVERY_S = 10.0


def parse_kline_message(text: str) -> tuple[str, Candle] | None:
    """(symbol, candle) from a combined- or raw-stream kline event when the candle is closed."""
    parsed = parse_any_kline(text)
    if parsed is None or not parsed[2]:
        return None  # still open: never act on an unfinished candle [I3]
    return parsed[0], parsed[1]


def parse_any_kline(text: str) -> tuple[str, Candle, bool] | None:
    """(symbol, candle, closed) from a kline event, open (``x: false``) or closed."""
    message = json.loads(text)
    data = message.get("data", message) if isinstance(message, dict) else None
    if not isinstance(data, dict) or data.get("e") != "kline":
        return None
    k = data["k"]
    candle = Candle(int(k["t"]), float(k["o"]), float(k["h"]), float(k["l"]), float(k["c"]), float(k["v"]),
                    int(k["T"]) + 1)
    return str(k.get("s") or data["s"]).upper(), candle, bool(k.get("x"))


class BinanceKlineFeed:
    def __init__(
        self,
        symbols: list[str],
        kline_source: KlineSource,
        latest_source: Callable[[str, str, int], list[Candle]],
        stream_base_url: str,
        clock: Callable[[], int],
        reconnect_delays: tuple[float, ...] = (0.5, 1, 2, 5, 10),
    ):
        self.symbols = list(symbols)
        self.kline_source = kline_source
        self.latest_source = latest_source
        self.stream_url = stream_base_url.rstrip("/") + "/market/stream?streams=" + "/".join(
            f"{symbol.lower()}@kline_5m" for symbol in self.symbols)
        self.clock = clock
        self.reconnect_delays = reconnect_delays
        self._incoming: queue.Queue = queue.Queue()
        self._ready: collections.deque[ClosedCandle] = collections.deque()
        self._last: dict[str, int] = {symbol: 0 for symbol in self.symbols}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_overdue_check = 0.0
        self.reconnects = 0
        self.connected = threading.Event()
        # For the window's heartbeat only: (state, detail) on connect / disconnect / REST fallback,
        # and the candle still forming per symbol (never traded on [I3]).
        self.on_state: Callable[[str, str], None] | None = None
        self._open_candles: dict[str, Candle] = {}
        self.stream_state = "starting"

    def _report(self, state: str, detail: str = "") -> None:
        self.stream_state = state
        if self.on_state is not None:
            try:
                self.on_state(state, detail)
            except Exception:  # noqa: BLE001 - the display must never stop the stream
                log.exception("stream state listener failed")

    def open_candle(self, symbol: str) -> Candle | None:
        """The latest ``x: false`` candle of ``symbol`` from the stream (display only)."""
        return self._open_candles.get(symbol)

    # ----- the stream thread ------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._stream_loop, name="kline-stream", daemon=True)
            self._thread.start()

    def _stream_loop(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                with connect(self.stream_url, open_timeout=10, close_timeout=2) as socket:
                    self.connected.set()
                    self._report("connected")
                    # On every (re)connect: fetch what closed while not connected.
                    self._incoming.put(_RECONNECTED)
                    attempt = 0
                    while not self._stop.is_set():
                        try:
                            text = socket.recv(timeout=1.0)
                        except TimeoutError:
                            continue
                        parsed = parse_any_kline(text)
                        if parsed is not None and parsed[2]:
                            self._incoming.put(parsed[:2])
                            if self.stream_state != "connected":  # the stream delivers again after a REST fallback
                                self._report("connected")
                        elif parsed is not None:
                            self._open_candles[parsed[0]] = parsed[1]
            except (OSError, WebSocketException, TimeoutError) as exc:
                self.connected.clear()
                if self._stop.is_set():
                    return
                delay = self.reconnect_delays[min(attempt, len(self.reconnect_delays) - 1)]
                log.warning("kline stream disconnected (%s); reconnecting in %gs", type(exc).__name__, delay)
                self._report("reconnecting", f"{type(exc).__name__}; next try in {delay:g} s")
                attempt += 1
                self.reconnects += 1
                self._stop.wait(delay)
        self.connected.clear()

    # ----- the service side -------------------------------------------------------------------

    def history(self, symbol: str, interval: str, limit: int) -> list[Candle]:
        """The latest ``limit`` closed candles (the exchange's newest page, open candle dropped)."""
        return self.latest_source(symbol, interval, limit)

    def resume_after(self, symbol: str, close_time: int) -> None:
        """Candles up to ``close_time`` are already processed (by start-up / catch-up)."""
        self._last[symbol] = max(self._last[symbol], close_time)

    def next_candle(self, timeout: float) -> ClosedCandle | None:
        self.start()
        if self._ready:
            return self._ready.popleft()
        try:
            item = self._incoming.get(timeout=timeout)
        except queue.Empty:
            self._check_overdue()
        else:
            if item is _RECONNECTED:
                log.info("kline stream connected: backfilling closes missed while disconnected over REST")
                before = len(self._ready)
                for symbol in self.symbols:
                    self._backfill(symbol, until=None)
                if len(self._ready) > before:
                    self._report("rest", f"{len(self._ready) - before} closes missed while disconnected, "
                                         "fetched over REST")
            else:
                symbol, candle = item
                self._accept(symbol, candle)
        return self._ready.popleft() if self._ready else None

    def _accept(self, symbol: str, candle: Candle) -> None:
        last = self._last.get(symbol)
        if last is None or candle.close_time <= last:
            return  # unknown symbol, or already handed out
        if last and candle.close_time > last + FIVE_MINUTES_MS:
            self._backfill(symbol, until=candle.open_time)
            if candle.close_time <= self._last[symbol]:
                return
            if self._last[symbol] != candle.open_time:
                # The hole could not be filled (REST failed): never hand out a close past a
                # hole. This candle is fetched again with the hole by the overdue check.
                self._next_overdue_check = 0.0
                return
        self._ready.append(ClosedCandle(symbol, candle))
        self._last[symbol] = candle.close_time

    def _backfill(self, symbol: str, until: int | None) -> None:
        """Hand out, in order, the closed candles after the last one (and before ``until``)."""
        last = self._last[symbol]
        if not last:
            return
        try:
            candles = self.kline_source(symbol, "5m", last, None if until is None else until - 1)
        except Exception as exc:  # noqa: BLE001 - the next reconnect or overdue check retries
            log.warning("%s: REST backfill failed (%s); will retry", symbol, exc)
            return
        for candle in candles:
            if candle.close_time > self._last[symbol] and (until is None or candle.open_time < until):
                self._ready.append(ClosedCandle(symbol, candle))
                self._last[symbol] = candle.close_time

    def _check_overdue(self) -> None:
        if time.monotonic() < self._next_overdue_check:
            return
        self._next_overdue_check = time.monotonic() + OVERDUE_CHECK_EVERY_S
        now = self.clock()
        for symbol, last in self._last.items():
            if last and now >= last + FIVE_MINUTES_MS + OVERDUE_GRACE_MS:
                before = len(self._ready)
                self._backfill(symbol, until=None)
                if len(self._ready) > before:  # REST delivered closes the stream did not
                    self._report("rest", f"{symbol}: close overdue on the stream, fetched over REST")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


# The hosts live with the adapter (adapters.binance_futures, with their sources); the practice
# mode's stream is demo trading's (issue 18). TESTNET_STREAM_URL is its old name, kept for callers.
TESTNET_STREAM_URL = DEMO_STREAM_URL
