"""Shared test set-up: headless Qt, repository paths, the real sample data."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The commands read the settings the window saved in the user folder: the tests never see the
# developer's own (a test that needs a user folder sets its own AUTOHEDGE_HOME).
if "AUTOHEDGE_HOME" not in os.environ:
    _TEST_HOME = tempfile.mkdtemp(prefix="autohedge-test-home-")
    os.environ["AUTOHEDGE_HOME"] = _TEST_HOME
    atexit.register(shutil.rmtree, _TEST_HOME, True)

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


@pytest.fixture(autouse=True)
def _stop_question_answered_keep(monkeypatch):
    """Stop asks as closing the window does (issue 19, item 6); a modal question in an offscreen
    test would wait forever, so a window's question is answered "Stop and keep positions"
    unless the test sets ``window.ask_close`` itself (the tests of the question do)."""
    window_module = sys.modules.get("ui.main_window")
    if window_module is not None:
        monkeypatch.setattr(window_module, "ask_close", lambda parent, positions: "keep")
