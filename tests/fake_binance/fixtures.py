"""pytest fixtures for tests that talk to the fake exchange (import them into a test module)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest
from binance.client import Client

from adapters.binance_futures import BinanceFuturesAdapter
from adapters.request_budget import RequestBudget
from adapters.secrets import ApiCredentials
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeBinance

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "futures"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeBinance]:
    """One fake per test module, bound to 127.0.0.1 on a free port, stopped afterwards."""
    fake = FakeBinance(DATA_DIR, symbols=["DOGEUSDT"]).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake(fake_server: FakeBinance) -> FakeBinance:
    """The module's fake with a fresh account and no faults."""
    fake_server.reset()
    return fake_server


def binance_client(fake: FakeBinance, api_key: str = TEST_API_KEY, api_secret: str = TEST_API_SECRET) -> Client:
    """The unmodified python-binance client pointed at the fake, clock offset synced."""
    client = Client(api_key, api_secret, ping=False, testnet=True)
    client.FUTURES_TESTNET_URL = fake.base_url + "/fapi"
    client.timestamp_offset = client.futures_time()["serverTime"] - int(time.time() * 1000)
    return client


def fake_adapter(fake: FakeBinance, elapsed: list[float], timeout_seconds: float,
                 symbol: str = "DOGEUSDT") -> BinanceFuturesAdapter:
    """The real adapter on the fake, ``symbol`` prepared (leverage 5, cross margin). Its request
    budget's clock is ``elapsed[0]``, which only the test moves (e.g. when the executor sleeps),
    so a Retry-After is over exactly when it was waited for."""
    adapter = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                    base_url=fake.base_url, timeout_seconds=timeout_seconds,
                                    budget=RequestBudget(clock=lambda: elapsed[0]))
    adapter.prepare_symbols([symbol], {symbol: 5}, "cross")
    return adapter
