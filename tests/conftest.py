"""Shared test set-up: headless Qt, repository paths, the real sample data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_DATA = REPO_ROOT / "data"
# Real Binance USDT-M perpetual klines (DOGEUSDT 5m and 1d), bundled: see data/README.md.
FUTURES_DATA = BUNDLED_DATA / "futures"
# A settings file a user mistyped: ``levrage`` is no key (tests of the message and the backup).
TYPO_SETTINGS = """\
mode: paper
strategy:
  rsi_length: 2
symbols:
  DOGEUSDT:
    call_size: 250
    levrage: 3
"""


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
