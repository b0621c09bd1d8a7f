"""A local fake of Binance USDT-M futures (REST + WebSocket) for tests and crash drills.

In-process::

    fake = FakeBinance(data_dir="data/futures").start()   # binds 127.0.0.1, free port
    fake.base_url          # "http://127.0.0.1:PORT" -> client.FUTURES_URL = fake.base_url + "/fapi"
    fake.ws_url            # "ws://127.0.0.1:PORT/"   -> FSTREAM_URL for python-binance socket managers
    fake.step(candles=3)   # advance the simulated market clock, publish klines (closed and forming)
    fake.add_fault(kind="execute_later", path="/fapi/v1/order", answer="-1007", delay_ms=2000)
    fake.fire_timers()     # "the delay is over": delayed executions / fills / visibility now
    fake.liquidate("DOGEUSDT", "LONG")   # also adl, funding, trades by hand, with user-data events
    fake.state()           # positions, orders (with client ids), wallet, fired faults
    fake.reset()           # fresh account, faults and timers cancelled (a new epoch)
    fake.stop()

Binance's documented behaviour by default; every rule, the page it follows and what is not
modelled: README.md in this folder.

As its own process (so a bot can be killed and restarted against the same state)::

    python -m tests.fake_binance --data data/futures --port 18080 [--start 2025-03-01T00:00]

and drive it over HTTP with :class:`FakeControl` (``/_fake/...`` endpoints).
"""
from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from decimal import Decimal
from pathlib import Path

from aiohttp import web

from tests.fake_binance import incidents
from tests.fake_binance.engine import Engine, SymbolSpec
from tests.fake_binance.faults import Fault
from tests.fake_binance.market import Market
from tests.fake_binance.server import ROUTES, FakeExchange, build_app

# Test credentials of the fake's single account. Not secrets: they only open this fake.
TEST_API_KEY = "fake-api-key-0123456789"
TEST_API_SECRET = "fake-api-secret-9876543210"

__all__ = ["FakeBinance", "FakeControl", "ROUTES", "SymbolSpec", "TEST_API_KEY", "TEST_API_SECRET", "parse_start"]


def parse_start(text: str) -> int:
    """``--start``: milliseconds, or an ISO date/time read as UTC."""
    if text.isdigit():
        return int(text)
    from datetime import datetime, timezone
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


class FakeBinance:
    """Runs the fake on its own event loop in a daemon thread."""

    def __init__(self, data_dir: Path | str, port: int = 0, start_ms: int | None = None,
                 api_key: str = TEST_API_KEY, api_secret: str = TEST_API_SECRET,
                 specs: dict[str, SymbolSpec] | None = None, wallet: str = "10000",
                 symbols: list[str] | None = None, lenient_client_ids: bool = False,
                 lenient_account_settings: bool = False, weight_limit: int | None = 2400,
                 order_schema: str = "2026-07"):
        """Binance's rules by default. Leniencies, only for tests that name them:
        ``lenient_client_ids`` refuses any client id used before, even by a finished order (Binance
        only refuses an id an OPEN order has); ``lenient_account_settings`` lets margin type and
        leverage change whatever the positions (Binance: -4048 / -4047 / -4161 / -2027);
        ``weight_limit=None`` turns the per-minute request weight limit off. ``order_schema`` names an
        older New Order answer shape ("2025-12", "legacy"); Binance's 2026-07 shape by default."""
        market = Market(data_dir, symbols)
        if start_ms is not None:
            market.now_ms = start_ms
        engine = Engine(market, specs, Decimal(wallet), lenient_client_ids=lenient_client_ids,
                        lenient_account_settings=lenient_account_settings)
        self.exchange = FakeExchange(engine, api_key, api_secret, weight_limit, order_schema)
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ----- life cycle ---------------------------------------------------------------------------

    def start(self) -> "FakeBinance":
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="fake-binance", daemon=True)
        self._thread.start()
        if not ready.wait(10) or self._runner is None:
            raise RuntimeError("fake Binance did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self.exchange.loop = self._loop
        self.exchange.engine.timers.loop = self._loop
        self._runner = web.AppRunner(build_app(self.exchange), handle_signals=False)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        self._loop.run_forever()
        self.exchange.start_clock(0)  # a running market clock stops with the server
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> "FakeBinance":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    # ----- in-process control ------------------------------------------------------------------

    def _run(self, coroutine, timeout: float = 60) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def step(self, candles: int = 0, to_ms: int | None = None, ms: int = 0) -> int:
        """Advance the market clock and publish the klines (closed and forming), all on the server
        loop, which owns the WebSocket subscribers."""
        async def advance() -> int:
            now, events = self.exchange.step(candles, to_ms, ms)
            await self.exchange.publish(events)
            return now
        return int(self._run(advance()))  # type: ignore[arg-type]

    def add_fault(self, **fields: object) -> None:
        self.exchange.faults.add(Fault(**fields))  # type: ignore[arg-type]

    def clear_faults(self) -> None:
        self.exchange.faults.clear()

    def drop_websockets(self) -> int:
        return int(self._run(self.exchange.hub.drop_all()))  # type: ignore[arg-type]

    def state(self) -> dict:
        return self.exchange.engine.snapshot()

    @property
    def now_ms(self) -> int:
        return self.exchange.engine.market.now_ms

    def price(self, symbol: str) -> Decimal:
        with self.exchange.engine.lock:
            return self.exchange.engine.price(symbol)

    def reset(self) -> None:
        """A fresh account, no faults, no weight used; timers armed before it are cancelled (new epoch)."""
        self.exchange.reset()

    def run_market_clock(self, speed: float = 1.0, tick_ms: int = 250) -> None:
        """Let the market clock run by itself at ``speed`` x real time (0 stops it)."""
        async def start() -> None:
            self.exchange.start_clock(speed, tick_ms)
        self._run(start())

    def freeze_rate_clock(self, at_ms: int = 0) -> None:
        """The request-weight limiter stops following the wall clock (tests move it with advance_rate_clock)."""
        self.exchange.limiter.freeze(at_ms)

    def advance_rate_clock(self, ms: int) -> None:
        """Let ``ms`` pass for the request-weight limiter (a minute, a Retry-After, a ban)."""
        self.exchange.limiter.advance(ms)

    # account incidents (incidents.py), each with its user-data events

    def liquidate(self, symbol: str, side: str) -> dict:
        return incidents.liquidate(self.exchange.engine, symbol, side).to_json()

    def auto_deleverage(self, symbol: str, side: str, qty: str | None = None) -> dict:
        return incidents.auto_deleverage(self.exchange.engine, symbol, side, qty).to_json()

    def pay_funding(self, symbol: str, rate: str) -> Decimal:
        return incidents.pay_funding(self.exchange.engine, symbol, rate)

    def trade_by_hand(self, symbol: str, side: str, position_side: str, quantity: str) -> dict:
        return incidents.trade_by_hand(self.exchange.engine, symbol, side, position_side, quantity).to_json()

    def settle_position(self, symbol: str, side: str) -> dict:
        """A delisting/delivery close (client id ``settlement_autoclose-``)."""
        return incidents.settle(self.exchange.engine, symbol, side).to_json()

    def empty_liquidation(self, symbol: str, side: str) -> dict:
        """A liquidation frame with quantity 0 that closes nothing."""
        return incidents.empty_liquidation(self.exchange.engine, symbol, side)

    def margin_call(self, symbol: str) -> dict:
        return incidents.margin_call(self.exchange.engine, symbol)

    def kill_listen_keys(self) -> int:
        """Fault: a silent dead listenKey -- every key stops existing without ``listenKeyExpired`` and
        without closing the socket (README, "User data stream")."""
        return self.exchange.listen_keys.kill_silently()

    def set_commission(self, asset: str = "USDT", bnb_price: str = "600") -> None:
        """Option: user-stream commissions in BNB (``asset="BNB"``) or USDT (the default)."""
        engine = self.exchange.engine
        with engine.lock:
            engine.commission_asset, engine.bnb_price = asset, Decimal(bnb_price)

    def fire_timers(self) -> int:
        """Run every delayed execution / fill / visibility change now; returns how many ran."""
        async def fire() -> int:
            return self.exchange.engine.timers.fire_all()
        return int(self._run(fire()))  # type: ignore[arg-type]

    def wait_on_loop(self, ms: int) -> None:
        """Sleep ``ms`` on the fake's own event loop: every timer due before then has run after it."""
        self._run(asyncio.sleep(ms / 1000))

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until no REST request is being handled and every delayed execution has run.

        A wait for an event, not a timing assertion: it raises only if the fake is stuck.
        """
        import time
        deadline = time.monotonic() + timeout
        while self.exchange.in_flight or self.exchange.engine.timers.pending:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake exchange did not settle: requests or timers still pending")
            time.sleep(0.01)


class FakeControl:
    """The same controls over HTTP, for a fake running in another process."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read().decode())

    def step(self, candles: int = 0, to_ms: int | None = None, ms: int = 0) -> int:
        body: dict = {"candles": candles, "ms": ms}
        if to_ms is not None:
            body["to_ms"] = to_ms
        return int(self._call("POST", "/_fake/clock", body)["now_ms"])

    def add_fault(self, **fields: object) -> None:
        self._call("POST", "/_fake/faults", fields)

    def clear_faults(self) -> None:
        self._call("DELETE", "/_fake/faults")

    def set_account(self, **fields: object) -> None:
        """dual_side, open_orders, wallet, skew_ms."""
        self._call("POST", "/_fake/account", fields)

    def drop_websockets(self) -> int:
        return int(self._call("POST", "/_fake/ws/drop")["dropped"])

    def state(self) -> dict:
        return self._call("GET", "/_fake/state")

    def run_market_clock(self, speed: float = 1.0, tick_ms: int = 250) -> None:
        self._call("POST", "/_fake/clock/run", {"speed": speed, "tick_ms": tick_ms})

    def limits(self, **fields: object) -> dict:
        """advance_ms, limit (None = off), reset, freeze_at_ms."""
        return self._call("POST", "/_fake/limits", fields)

    def liquidate(self, symbol: str, side: str) -> dict:
        return self._call("POST", "/_fake/liquidate", {"symbol": symbol, "side": side})

    def auto_deleverage(self, symbol: str, side: str, qty: str | None = None) -> dict:
        return self._call("POST", "/_fake/adl", {"symbol": symbol, "side": side, "qty": qty})

    def pay_funding(self, symbol: str, rate: str) -> dict:
        return self._call("POST", "/_fake/funding", {"symbol": symbol, "rate": rate})

    def trade_by_hand(self, symbol: str, side: str, position_side: str, quantity: str) -> dict:
        return self._call("POST", "/_fake/trade", {"symbol": symbol, "side": side, "positionSide": position_side,
                                                   "quantity": quantity})

    def settle_position(self, symbol: str, side: str) -> dict:
        return self._call("POST", "/_fake/settle", {"symbol": symbol, "side": side})

    def empty_liquidation(self, symbol: str, side: str) -> dict:
        return self._call("POST", "/_fake/liquidate_empty", {"symbol": symbol, "side": side})

    def margin_call(self, symbol: str) -> dict:
        return self._call("POST", "/_fake/margin_call", {"symbol": symbol})

    def kill_listen_keys(self) -> int:
        return int(self._call("POST", "/_fake/listen_keys/kill")["killed"])

    def set_commission(self, asset: str = "USDT", bnb_price: str = "600") -> dict:
        return self._call("POST", "/_fake/commission", {"asset": asset, "bnb_price": bnb_price})

    def reset(self) -> None:
        self._call("POST", "/_fake/reset")

    def fire_timers(self) -> int:
        return int(self._call("POST", "/_fake/timers/fire")["fired"])

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until no request is being handled and every delayed execution has run."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if not state["in_flight"] and not state["timers_pending"]:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the fake exchange did not settle: requests or timers still pending")
            time.sleep(0.05)
