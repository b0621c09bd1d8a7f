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
from runner.events import LogEvent
from runner.service import build_service
from tests.conftest import BUNDLED_DATA
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeBinance, parse_start

FIVE_MIN = 300_000


@pytest.fixture
def fake():
    exchange = FakeBinance(BUNDLED_DATA / "sample", start_ms=parse_start("2023-03-10T00:00")).start()
    yield exchange
    exchange.stop()


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
        _wait(lambda: service.feed.connected.is_set() and len(service.slots) == 2)
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
        _wait(lambda: service.feed.connected.is_set() and len(service.slots) == 2)
        for _ in range(24):
            now = fake.step(candles=1)
            _wait(lambda: all(s.strategy.state.last_bar_close >= now for s in service.slots.values()))
    finally:
        service.stop()
        runner.join(30)
    assert fills, "two hours of real candles should trade"
    assert fake.state()["orders"] == [], "paper trading never sends an order to the exchange"
    closes = {(c.close_time): c.close for c in service.feed.history("DOGEUSDT", "5m", 50)}
    for fill in fills:
        if fill.symbol == "DOGEUSDT":
            assert fill.price == closes[fill.decision_time], "paper fills at the decision bar's close"
