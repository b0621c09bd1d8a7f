"""Issue 5 acceptance: dropping the kline WebSocket loses no close and repeats none.

The service trades against the in-process fake exchange (testnet mode, real
python-binance REST client, real WebSocket). The fake drops every WebSocket
while the market moves on several candles; the feed must reconnect and fetch
the missed closes over REST, handing each close to the strategy exactly once,
in order.
"""
from __future__ import annotations

import threading
import time

import pytest

from adapters.secrets import ApiCredentials
from config.settings import load_settings
from live.events import LogEvent, SymbolRunState
from live.assemble import build_service
from tests.conftest import BUNDLED_DATA
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeBinance, parse_start

FIVE_MIN = 300_000


@pytest.fixture
def fake():
    exchange = FakeBinance(BUNDLED_DATA / "sample", start_ms=parse_start("2023-03-10T00:00")).start()
    yield exchange
    exchange.stop()


def _started(service, symbols: int = 2) -> bool:
    """Stream connected and every symbol through its start-up (history, regime) — a slot
    exists from the start of its start-up, so its presence alone is not enough."""
    return (service.feed.connected.is_set() and len(service.slots) == symbols
            and all(slot.run_state is SymbolRunState.RUNNING for slot in service.slots.values()))


def _wait(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_dropped_websocket_loses_no_close_and_repeats_none(fake, tmp_path):
    logs: list[LogEvent] = []
    service = build_service(
        load_settings(), lambda event: logs.append(event) if isinstance(event, LogEvent) else None,
        mode="testnet", credentials=ApiCredentials(TEST_API_KEY, TEST_API_SECRET), state_dir=tmp_path,
        base_url=fake.base_url, stream_url=fake.ws_url)
    handed_out: list[tuple[str, int]] = []
    take = service.feed.next_candle

    def recording_next_candle(timeout):
        closed = take(timeout)
        if closed is not None:
            handed_out.append((closed.symbol, closed.candle.close_time))
        return closed

    service.feed.next_candle = recording_next_candle
    runner = threading.Thread(target=service.run)
    runner.start()
    try:
        _wait(lambda: _started(service))
        start = fake.now_ms

        def processed_up_to(close_time: int) -> bool:
            return all(slot.strategy.state.last_bar_close >= close_time for slot in service.slots.values())

        for _ in range(3):  # connected: closes arrive over the stream
            now = fake.step(candles=1)
            _wait(lambda: processed_up_to(now))
        assert fake.drop_websockets() >= 1
        now = fake.step(candles=4)  # these closes are published while the bot is disconnected
        _wait(lambda: processed_up_to(now))
        for _ in range(2):  # and the stream works again afterwards
            now = fake.step(candles=1)
            _wait(lambda: processed_up_to(now))
    finally:
        service.stop()
        runner.join(30)

    expected = [start + FIVE_MIN * k for k in range(1, 10)]  # 3 + 4 + 2 closes
    for symbol in ("DOGEUSDT", "ALGOUSDT"):
        times = [close_time for name, close_time in handed_out if name == symbol]
        assert times == expected, f"{symbol}: every close once and in order"
    assert service.feed.reconnects >= 1
    assert not [event for event in logs if event.level == "ERROR"]


def test_paper_mode_on_live_prices_trades_simulated_fills_without_keys(fake, tmp_path):
    """paper.source=live: public klines from the exchange, fills by the paper broker, no API key."""
    settings = load_settings(overrides=["paper.source=live"])
    fills = []
    service = build_service(settings, lambda event: fills.append(event.fill) if hasattr(event, "fill") else None,
                            mode="paper", state_dir=tmp_path, base_url=fake.base_url, stream_url=fake.ws_url)
    runner = threading.Thread(target=service.run)
    runner.start()
    try:
        _wait(lambda: _started(service))
        for _ in range(24):
            now = fake.step(candles=1)
            _wait(lambda: all(s.strategy.state.last_bar_close >= now for s in service.slots.values()))
    finally:
        service.stop()
        runner.join(30)
    assert fills, "two hours of real candles should trade"
    assert fake.state()["orders"] == [], "paper trading never sends an order to the exchange"
    # [E1] its guard is the simulated exchange's (live/paper_guard.py), never one on Binance's Algo Order service
    assert service.paper_guard is not None and service.guards is None and not fake.exchange.algo.snapshot()
    closes = {(c.close_time): c.close for c in service.feed.history("DOGEUSDT", "5m", 50)}
    for fill in fills:
        if fill.symbol == "DOGEUSDT" and fill.reason != "E1":  # a guard fills inside a candle, at its trigger
            assert fill.price == closes[fill.decision_time], "paper fills at the decision bar's close"


def test_a_close_after_a_hole_waits_until_the_hole_is_fetched():
    """If REST cannot fill a hole, later closes are held back, not handed out past it [I3]."""
    from core.model import Candle
    from live.live_feed import BinanceKlineFeed

    def candle(k: int) -> Candle:
        return Candle(k * FIVE_MIN, 1.0, 1.0, 1.0, 1.0 + k, 1.0, (k + 1) * FIVE_MIN)

    rest_up = {"ok": False}

    def rest(symbol, interval, start_ms, end_ms=None, limit=1500):
        if not rest_up["ok"]:
            raise ConnectionError("no network")
        return [candle(k) for k in range(10) if start_ms <= k * FIVE_MIN and (end_ms is None or k * FIVE_MIN <= end_ms)
                and (k + 1) * FIVE_MIN <= 4 * FIVE_MIN]

    feed = BinanceKlineFeed(["DOGEUSDT"], rest, lambda *a: [], "ws://127.0.0.1:9/", clock=lambda: 4 * FIVE_MIN)
    feed.resume_after("DOGEUSDT", FIVE_MIN)  # candle 0 (closing at 5 min) was processed
    feed._accept("DOGEUSDT", candle(3))  # candles 1 and 2 are missing; REST is down
    assert list(feed._ready) == []
    rest_up["ok"] = True
    feed._next_overdue_check = 0.0
    feed._check_overdue()
    assert [c.candle.close_time for c in feed._ready] == [2 * FIVE_MIN, 3 * FIVE_MIN, 4 * FIVE_MIN]


def test_O4_order_with_unknown_outcome_stays_pending_and_is_resolved_before_any_new_decision(fake, tmp_path):
    """The order executes, but every answer and every look-up fails until the executor gives up.
    The order must stay pending (not be forgotten), no decision may be taken on that symbol
    meanwhile, and once the exchange answers again it is found by client id: one order each,
    and the state holds exactly the exchange's positions."""
    logs: list[LogEvent] = []
    service = build_service(
        load_settings(), lambda event: logs.append(event) if isinstance(event, LogEvent) else None,
        mode="testnet", credentials=ApiCredentials(TEST_API_KEY, TEST_API_SECRET), state_dir=tmp_path,
        base_url=fake.base_url, stream_url=fake.ws_url, sleep=lambda seconds: None)
    runner = threading.Thread(target=service.run)
    runner.start()

    def processed(close_time: int) -> bool:
        return all(slot.strategy.state.last_bar_close >= close_time for slot in service.slots.values())

    def stuck_orders() -> dict[str, str]:
        return {symbol: client_id for symbol, slot in service.slots.items()
                for client_id in slot.strategy.state.pending}

    try:
        _wait(lambda: _started(service))
        fake.add_fault(kind="error", path="/fapi/v1/order", method="POST", code=-1006, execute=True, times=1000)
        fake.add_fault(kind="http_error", path="/fapi/v1/order", method="GET", status=502, times=1000)
        for _ in range(60):  # until a strategy decides an order
            now = fake.step(candles=1)
            _wait(lambda: processed(now))
            if stuck_orders():
                break
        stuck = stuck_orders()
        assert stuck, "no order was decided in five hours of candles"
        # A decision is in the state [O2] a moment before its order reaches the exchange: wait for it.
        _wait(lambda: set(stuck.values()) <= {o["clientOrderId"] for o in fake.state()["orders"]})
        sent = [o["clientOrderId"] for o in fake.state()["orders"]]
        assert set(stuck.values()) <= set(sent), "the fault executes each order before failing its answer"

        now = fake.step(candles=1)  # still no answer: the close is taken in, nothing is decided
        _wait(lambda: processed(now))
        for symbol, client_id in stuck.items():
            assert list(service.slots[symbol].strategy.state.pending) == [client_id]
            assert [o["clientOrderId"] for o in fake.state()["orders"] if o["symbol"] == symbol] == \
                [c for c in sent if c.startswith(f"ah-{symbol}-")]

        fake.clear_faults()
        now = fake.step(candles=1)  # the exchange answers: each order is found, not re-sent
        _wait(lambda: processed(now) and not stuck_orders())
    finally:
        service.stop()
        runner.join(30)

    client_ids = [o["clientOrderId"] for o in fake.state()["orders"]]
    for client_id in stuck.values():
        assert client_ids.count(client_id) == 1
    exchange = {(p["symbol"], p["positionSide"]): float(p["qty"]) for p in fake.state()["positions"]}
    held = {(symbol, side.value): pos.qty for symbol, slot in service.slots.items()
            for side, pos in slot.strategy.state.positions.items() if pos.qty}
    assert held == exchange
    assert any("never re-sent" in e.message for e in logs)
    assert any("no decision on the" in e.message for e in logs)


def test_O4_a_rate_limit_wait_at_start_up_is_sat_out_not_reported_as_no_network(fake, tmp_path):
    """Restarting the bot a few times in one minute can use up the minute's request weight;
    the start-up waits for Binance's Retry-After and goes on, instead of exiting with
    'cannot be reached' (seen in the kill-and-restart drill)."""
    logs: list[LogEvent] = []
    slept: list[float] = []
    fake.add_fault(kind="rate_limit", retry_after=30, times=1)  # the very first request gets 429
    service = build_service(
        load_settings(), lambda event: logs.append(event) if isinstance(event, LogEvent) else None,
        mode="testnet", credentials=ApiCredentials(TEST_API_KEY, TEST_API_SECRET), state_dir=tmp_path,
        base_url=fake.base_url, stream_url=fake.ws_url, sleep=slept.append, wait_out_rate_limits=True)
    assert service.account_view is not None
    assert slept == [31.0]
    paused = [event.message for event in logs if "start-up paused by Binance's request limit" in event.message]
    assert len(paused) == 1 and paused[0].startswith("[O4]") and "HTTP 429" in paused[0], paused


def test_O4_a_ban_longer_than_the_start_up_waits_for_is_one_sentence_at_once(fake, tmp_path):
    from core.errors import ExchangeStartError

    slept: list[float] = []
    fake.add_fault(kind="rate_limit", retry_after=900, times=1)
    with pytest.raises(ExchangeStartError) as raised:
        build_service(load_settings(), lambda event: None, mode="testnet",
                      credentials=ApiCredentials(TEST_API_KEY, TEST_API_SECRET), state_dir=tmp_path,
                      base_url=fake.base_url, stream_url=fake.ws_url, sleep=slept.append, wait_out_rate_limits=True)
    assert slept == []
    assert str(raised.value).startswith("cannot start demo trading: Binance demo trading asks this computer to "
                                        "wait 900s (rate limited by Binance (HTTP 429)"), str(raised.value)
