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

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BUNDLED_DATA, REPO_ROOT
from tools.drill import BotProcess, FakeProcess, exchange_positions, state_positions

pytestmark = pytest.mark.slow

SAMPLE = BUNDLED_DATA / "sample"
SYMBOLS = ("DOGEUSDT", "ALGOUSDT")
START = "2023-02-01T00:00"
FIVE_MIN = 300_000
STEPS = 44


def wait_done(bot: BotProcess, close_time: int, timeout: float = 240) -> None:
    """Until every symbol acted on the candle closing at ``close_time`` and has nothing in flight.

    A hang guard, not a speed limit: 20 starts in a minute use about 1,800 of the 2,400 request
    weight the fake allows per minute (as Binance), so a restarted bot may first sit out the rest
    of the minute [O4] before it starts; on a busy machine a start takes a while on top."""
    if not bot.wait_settled(close_time, timeout, poll_s=0.02):
        assert bot.alive(), "the bot exited: " + bot.output_tail()
        raise AssertionError(f"bot did not act on the close {close_time} within {timeout}s: {bot.states()}")


def wait_pending(bot: BotProcess, timeout: float) -> bool:
    """True as soon as a state file shows an order intent recorded and not finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(s["pending"] for s in bot.states().values()):
            return True
        time.sleep(0.005)
    return False


def trades(bot: BotProcess) -> list[str]:
    return sorted(f"{f['decision_time']} {f['symbol']} {f['side']} {f['action']} {f['qty']} {f['price']} "
                  f"{f['reason']}" for f in bot.journal())


def _drive(tmp: Path, crash: bool) -> dict:
    (tmp / "home").mkdir(parents=True)
    fake = FakeProcess(SAMPLE, START, tmp)
    bot = BotProcess(fake, tmp / "home", SYMBOLS)
    rng = random.Random(20251124)
    kills = 0
    kills_with_order_in_flight = 0
    try:
        if crash:  # orders take a while to answer: widens the window between sending and recording
            fake.control.add_fault(kind="latency", path="/fapi/v1/order", method="POST", latency_ms=300, times=10_000)
        bot.start()
        now = fake.control.state()["now_ms"]
        wait_done(bot, 0)
        for step in range(STEPS):
            now = fake.control.step(candles=1)
            if crash and step % 2 == 0:
                if step % 4 == 0 and wait_pending(bot, timeout=1.5):
                    kills_with_order_in_flight += 1
                else:
                    time.sleep(rng.uniform(0.0, 0.4))
                bot.kill()
                kills += 1
                bot.start()
            wait_done(bot, now)
        assert bot.stop() == 0, bot.output_tail()
        exchange = fake.control.state()
        return {"trades": trades(bot), "exchange": exchange, "states": bot.states(), "kills": kills,
                "in_flight_kills": kills_with_order_in_flight, "last_close": now}
    finally:
        if bot.alive():
            bot.kill()
        fake.stop()


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
    assert exchange_positions(crashed["exchange"]) == state_positions(crashed["states"])
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
    assert exchange_positions(crashed["exchange"]) == exchange_positions(reference["exchange"])


PARENT = """
import subprocess, sys, time
from tools.drill import child_options
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], **child_options())
print(child.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's prctl")
def test_a_server_or_bot_a_test_started_ends_when_the_test_run_is_killed_outright():
    """A CI timeout kills the test run with no ``finally``: the processes it started go with it."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    child_pid = 0
    try:
        child_pid = int(parent.stdout.readline())
        assert _alive(child_pid)
        parent.kill()  # SIGKILL: nothing in the parent runs any more
        parent.wait(30)
        deadline = time.monotonic() + 60  # a hang guard; the kernel signals the child at once
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child_pid), "the child outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(30)
        parent.stdout.close()
        if child_pid and _alive(child_pid):  # only when the test failed
            os.kill(child_pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped by init, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
