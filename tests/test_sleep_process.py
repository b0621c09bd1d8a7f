"""Issue 19 acceptance, the sleep test, with a real bot process [W1].

The fake exchange runs as its own process, the bot as ``python main.py run --mode demo``
against it (tools/drill.py, as the chaos campaign and the crash drills). The test stops the bot
with SIGSTOP -- a frozen process, as a sleeping PC or a hung VM leaves it -- and, while it is
stopped, a trade is made by hand on the account and the fake's market clock closes two 5m
candles. After SIGCONT:

- exactly one [W1] line, and it says "asleep from ... to ...";
- the exchange's positions are read (the hand trade is found and taken, an [O7] line) and the
  asleep line is logged before any decision the bot makes after waking;
- once the bot acted on the last close, its positions equal the exchange's.

Nothing waits on the wall clock except the pause itself: the process stays stopped longer than
the longest turn :class:`live.wake.WakeWatch` allows its loop (``max_turn_s``), which is what a
sleep *is* to the bot; every other wait is for a condition, with a generous time-out.
"""
from __future__ import annotations

import inspect
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from live.wake import WakeWatch
from tests.conftest import BUNDLED_DATA
from tools.drill import BotProcess, FakeProcess, exchange_positions, state_positions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32" or not hasattr(signal, "SIGSTOP"),
                       reason="needs SIGSTOP/SIGCONT to freeze the bot process (POSIX only; Windows has none)"),
]

SAMPLE = BUNDLED_DATA / "sample"
SYMBOLS = ("DOGEUSDT", "ALGOUSDT")
START = "2023-02-01T00:00"
HAND_QTY = {"DOGEUSDT": "80", "ALGOUSDT": "40"}  # below CALL_SIZE (100 / 50), above the 5 USDT minimum
MAX_TURN_S = inspect.signature(WakeWatch).parameters["max_turn_s"].default
ACT_TIMEOUT_S = 240.0  # a hang guard for a busy 2-core machine, not a speed limit
DECISION = re.compile(r"\] [A-Z0-9]+ (?:OPEN|CLOSE) (?:LONG|SHORT) |sending MARKET ")


class Drill:
    """The fake and the bot of one test; :meth:`close` always ends both (a stopped bot too)."""

    def __init__(self, tmp: Path):
        (tmp / "home").mkdir()
        self.fake = FakeProcess(SAMPLE, START, tmp)
        self.bot = BotProcess(self.fake, tmp / "home", SYMBOLS)

    def act_on(self, close_time: int) -> None:
        if not self.bot.wait_settled(close_time, ACT_TIMEOUT_S):
            raise AssertionError(f"the bot did not act on the close {close_time}: alive={self.bot.alive()} "
                                 f"{self.bot.output_tail(3000)}")

    def close(self) -> None:
        proc = self.bot.proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # a stopped process handles no SIGTERM
            if self.bot.stop(30) is None:
                self.bot.kill()
        self.fake.stop()


@pytest.fixture
def drill(tmp_path, request):
    made = Drill(tmp_path)
    request.addfinalizer(made.close)
    return made


def _state_letter(pid: int) -> str:
    """The process state from /proc (``T`` = stopped); "" where there is no /proc."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_W1_stopped_across_two_closes_one_asleep_line_reconciliation_first_positions_equal(drill):
    fake, bot = drill.fake, drill.bot
    bot.start()
    drill.act_on(0)
    drill.act_on(fake.control.step(candles=1))  # trading normally
    held = exchange_positions(fake.control.state())
    symbol, side = next((s, p) for s in SYMBOLS for p in ("LONG", "SHORT") if (s, p) not in held)

    mark = bot.output_path.stat().st_size  # everything before is the bot's life before the pause
    os.kill(bot.proc.pid, signal.SIGSTOP)
    if sys.platform.startswith("linux"):
        _wait(lambda: _state_letter(bot.proc.pid) == "T")
    paused_at = time.monotonic()
    # While it is frozen: a trade by hand, then two 5m closes.
    fake.control.trade_by_hand(symbol, "BUY" if side == "LONG" else "SELL", side, HAND_QTY[symbol])
    fake.control.step(candles=1)
    now = fake.control.step(candles=1)
    # The precondition of a sleep: the process did not run for longer than its loop can take.
    time.sleep(max(0.0, MAX_TURN_S + 5 - (time.monotonic() - paused_at)))
    os.kill(bot.proc.pid, signal.SIGCONT)
    drill.act_on(now)

    text = bot.output_path.read_text(errors="replace")
    told = [line for line in text.splitlines() if "[W1]" in line]
    assert len(told) == 1 and "[W1] asleep from " in told[0], told
    after = text[mark:].splitlines()
    asleep = next(k for k, line in enumerate(after) if "[W1] asleep from " in line)
    found = f"[O7] {symbol} {side}: state holds 0, the exchange {float(HAND_QTY[symbol]):g}"
    reconciled = next((k for k, line in enumerate(after) if found in line), None)
    assert reconciled is not None, "the hand trade was not found on waking:\n" + "\n".join(after)
    decisions = [k for k, line in enumerate(after) if DECISION.search(line)]
    first_decision = decisions[0] if decisions else len(after)
    assert asleep < first_decision and reconciled < first_decision, "\n".join(after)

    assert state_positions(bot.states()) == exchange_positions(fake.control.state())
