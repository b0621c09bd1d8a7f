"""Set-up shared by the window tests that run against the local fake Binance.

Import the fixtures by name into a test module (``from tests.ui_helpers import fake, home,
settings  # noqa: F401``), as for ``tests.fake_binance.fixtures``; they are not in conftest
because other modules use the names ``fake`` and ``settings`` for other things.
"""
from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

from adapters.secrets import ApiCredentials
from config.settings import AppSettings, SymbolSettings, load_settings
from tests.conftest import FUTURES_DATA
from tests.fake_binance import FakeBinance

START_MS = 1_740_787_200_000  # 2025-03-01 00:00 UTC: where the fake's DOGEUSDT market starts


class MemoryKeyring:
    """Stands in for the OS keyring (tests must not touch the real one)."""

    def __init__(self):
        self.saved: dict[bool, ApiCredentials] = {}

    def load_credentials(self, testnet: bool) -> ApiCredentials | None:
        return self.saved.get(testnet)

    def save_credentials(self, credentials: ApiCredentials, testnet: bool) -> None:
        self.saved[testnet] = credentials

    def delete_credentials(self, testnet: bool) -> bool:
        return self.saved.pop(testnet, None) is not None


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh AUTOHEDGE_HOME and no API keys in the environment."""
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    monkeypatch.delenv("BINANCE_API_SECRET", raising=False)
    return tmp_path / "home"


@pytest.fixture
def settings(tmp_path) -> AppSettings:
    loaded = load_settings(overrides=[f"paths.state_dir={tmp_path / 'state'}", f"paths.log_dir={tmp_path / 'logs'}"])
    return replace(loaded, symbols={"DOGEUSDT": SymbolSettings(call_size=100)})  # the fake trades DOGEUSDT


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    with FakeBinance(data_dir=FUTURES_DATA, symbols=["DOGEUSDT"], start_ms=START_MS) as server:
        yield server


def free_port() -> int:
    """A 127.0.0.1 port free at the moment of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
