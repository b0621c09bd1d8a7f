"""Issue 5 acceptance: crash safety and disconnects, with real processes.

The fake exchange runs as its own process (``python -m tests.fake_binance``);
the bot runs as ``python main.py run --mode testnet`` pointed at it. The test
steps the fake's market clock one 5m candle at a time and waits until the bot
has acted on it, so no candle passes while the bot is down. In the crash run
the bot is SIGKILLed 20+ times — at random moments and right after it has
recorded an order intent (between deciding/sending and recording the fill) —
and restarted each time. At the end: the exchange's positions equal the
state's, no client order id was sent twice, every close was acted on once, and
the trade list equals an uninterrupted run's.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BUNDLED_DATA, REPO_ROOT
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeControl

pytestmark = pytest.mark.slow

SAMPLE = BUNDLED_DATA / "sample"
SYMBOLS = ("DOGEUSDT", "ALGOUSDT")
START = "2023-02-01T00:00"
FIVE_MIN = 300_000
STEPS = 44


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeProcess:
    def __init__(self, tmp: Path):
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_binance", "--data", str(SAMPLE), "--port", str(self.port),
             "--start", START],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=open(tmp / "fake.err", "w"), text=True)
        line = self.proc.stdout.readline()
        assert "listening" in line, f"fake exchange did not start: {line!r}"
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.control = FakeControl(self.base_url)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Bot:
    def __init__(self, fake: FakeProcess, home: Path):
        self.fake = fake
        self.home = home
        self.state_dir = home / "state"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        env = {**os.environ, "BINANCE_API_KEY": TEST_API_KEY, "BINANCE_API_SECRET": TEST_API_SECRET,
               "AUTOHEDGE_HOME": str(self.home), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
        self.proc = subprocess.Popen(
            [sys.executable, "main.py", "run", "--mode", "testnet", "--state-dir", str(self.state_dir),
             "--base-url", self.fake.base_url, "--stream-url", f"ws://127.0.0.1:{self.fake.port}/",
             "--set", "paths.log_dir=" + str(self.home / "logs")],
            cwd=REPO_ROOT, env=env, stdout=open(self.home / f"bot{self.starts}.out", "w"), stderr=subprocess.STDOUT)
        self.starts += 1

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(30) == 0, (self.home / f"bot{self.starts - 1}.out").read_text()[-3000:]

    def states(self) -> dict[str, dict]:
        found = {}
        for symbol in SYMBOLS:
            path = self.state_dir / f"{symbol}.json"
            if path.exists():
                found[symbol] = json.loads(path.read_text())
        return found

    def wait_done(self, close_time: int, timeout: float = 60) -> None:
        """Until every symbol acted on the candle closing at ``close_time`` and has nothing in flight."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states()
            if len(states) == len(SYMBOLS) and all(
                    s["last_bar_close"] >= close_time and not s["pending"] for s in states.values()):
                return
            assert self.proc is not None and self.proc.poll() is None, "the bot exited: " + \
                (self.home / f"bot{self.starts - 1}.out").read_text()[-3000:]
            time.sleep(0.02)
        raise AssertionError(f"bot did not act on the close {close_time} within {timeout}s: {self.states()}")

    def wait_pending(self, timeout: float) -> bool:
        """True as soon as a state file shows an order intent recorded and not finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if any(s["pending"] for s in self.states().values()):
                    return True
            except (json.JSONDecodeError, OSError):
                pass  # never happens with atomic saves; tolerate anyway to keep the kill timing
            time.sleep(0.005)
        return False

    def trades(self) -> list[str]:
        lines = [json.loads(line) for line in (self.state_dir / "fills.jsonl").read_text().splitlines() if line]
        return sorted(f"{f['decision_time']} {f['symbol']} {f['side']} {f['action']} {f['qty']} {f['price']} "
                      f"{f['reason']}" for f in lines)


def _drive(tmp: Path, crash: bool) -> dict:
    (tmp / "home").mkdir(parents=True)
    fake = FakeProcess(tmp)
    bot = Bot(fake, tmp / "home")
    rng = random.Random(20251124)
    kills = 0
    kills_with_order_in_flight = 0
    try:
        if crash:  # orders take a while to answer: widens the window between sending and recording
            fake.control.add_fault(kind="latency", path="/fapi/v1/order", method="POST", latency_ms=300, times=10_000)
        bot.start()
        now = fake.control.state()["now_ms"]
        bot.wait_done(0, timeout=90)
        for step in range(STEPS):
            now = fake.control.step(candles=1)
            if crash and step % 2 == 0:
                if step % 4 == 0 and bot.wait_pending(timeout=1.5):
                    kills_with_order_in_flight += 1
                else:
                    time.sleep(rng.uniform(0.0, 0.4))
                bot.kill()
                kills += 1
                bot.start()
            bot.wait_done(now, timeout=90)
        bot.stop()
        exchange = fake.control.state()
        return {"trades": bot.trades(), "exchange": exchange, "states": bot.states(), "kills": kills,
                "in_flight_kills": kills_with_order_in_flight, "last_close": now}
    finally:
        if bot.proc is not None and bot.proc.poll() is None:
            bot.kill()
        fake.stop()


def _exchange_positions(exchange: dict) -> dict[tuple[str, str], float]:
    return {(p["symbol"], p["positionSide"]): float(p["qty"]) for p in exchange["positions"] if float(p["qty"])}


def _state_positions(states: dict) -> dict[tuple[str, str], float]:
    return {(symbol, side): pos["qty"] for symbol, state in states.items()
            for side, pos in state["positions"].items() if pos["qty"]}


def _executed_by_decision(exchange: dict) -> dict[str, float]:
    """Executed quantity per decision: an order and its ``-r<n>`` re-sends together."""
    totals: dict[str, float] = {}
    for order in exchange["orders"]:
        decision = re.sub(r"-r\d+$", "", order["clientOrderId"])
        totals[decision] = totals.get(decision, 0.0) + float(order["executedQty"])
    return totals


def test_P_O7_kill_and_restart_20_times_loses_nothing_and_doubles_nothing(tmp_path):
    reference = _drive(tmp_path / "reference", crash=False)
    crashed = _drive(tmp_path / "crashed", crash=True)

    assert crashed["kills"] >= 20
    assert crashed["in_flight_kills"] >= 3, "too few kills landed with an order in flight to prove anything"
    assert len(reference["trades"]) >= 6, "the stretch must trade, or the comparison proves nothing"
    # The exchange and the state agree, position by position.
    assert _exchange_positions(crashed["exchange"]) == _state_positions(crashed["states"])
    # No order was placed twice, none was lost: every decision of the uninterrupted run (client ids
    # are deterministic) executed exactly its quantity. A decision whose request may have left
    # before a kill and was not found once it could no longer execute is sent again under a new
    # id (<id>-r<n>) [O4], so decisions are compared, not exchange order ids.
    crashed_ids = [order["clientOrderId"] for order in crashed["exchange"]["orders"]]
    assert len(crashed_ids) == len(set(crashed_ids))
    assert _executed_by_decision(crashed["exchange"]) == _executed_by_decision(reference["exchange"])
    assert all(order["status"] == "FILLED" for order in crashed["exchange"]["orders"])
    # Every closed candle was acted on exactly once, and the trades equal an uninterrupted run's.
    for state in crashed["states"].values():
        assert state["last_bar_close"] == crashed["last_close"]
    assert crashed["trades"] == reference["trades"]
    assert _exchange_positions(crashed["exchange"]) == _exchange_positions(reference["exchange"])
