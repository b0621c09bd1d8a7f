"""Real processes for crash drills: the fake exchange and the bot, each in its own process.

Used by ``python -m tools.chaos`` and by the kill/restart tests. The fake exchange
runs as ``python -m tests.fake_binance`` (so the bot can be SIGKILLed and restarted
against the same exchange state), the bot as ``python main.py run --mode demo``
pointed at it. Every process is started in its own session so that stopping it
never depends on signals the parent ignores (a background shell ignores SIGINT),
and :meth:`stop` always ends it. On Linux the kernel also ends it when the process
that started it dies in a way no ``finally`` sees (SIGTERM or SIGKILL of the test
run): see :func:`child_options`.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeControl

REPO_ROOT = Path(__file__).resolve().parent.parent

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _load_prctl():
    """libc's prctl, resolved once in the parent (the child after fork only calls it)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def _die_with_parent() -> None:
    """In the child between fork and exec: SIGKILL when the starting thread's process dies."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def child_options() -> dict:
    """Popen options for a server or bot a test starts: its own session (a Ctrl-C for the test
    run does not reach it; the test's ``finally`` stops it), and on Linux a parent-death signal,
    so a test run killed outright (a CI timeout) leaves no process behind."""
    options: dict = {"start_new_session": True}
    if _PRCTL is not None:
        options["preexec_fn"] = _die_with_parent
    return options


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _end(proc: subprocess.Popen, sig: int, wait_s: float) -> None:
    """Send ``sig`` to the process (its own session), then SIGKILL if it is still there."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class FakeProcess:
    """The fake exchange in a child process on 127.0.0.1, replaying ``data`` from ``start``."""

    def __init__(self, data: Path, start: str, log_dir: Path):
        self.port = free_port()
        self._err: IO[str] = open(log_dir / "fake.err", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_binance", "--data", str(data), "--port", str(self.port),
             "--start", start],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=self._err, text=True, **child_options())
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if "listening" not in line:
            self.stop()
            raise RuntimeError(f"the fake exchange did not start: {line!r}")
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.control = FakeControl(self.base_url)

    def stop(self) -> None:
        _end(self.proc, signal.SIGTERM, 10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._err.close()


class BotProcess:
    """``python main.py run --mode demo`` against a :class:`FakeProcess`, restartable."""

    def __init__(self, fake: FakeProcess, home: Path, symbols: tuple[str, ...], extra_args: list[str] | None = None):
        self.fake = fake
        self.home = home
        self.symbols = symbols
        self.state_dir = home / "state"
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._out: IO[str] | None = None

    @property
    def output_path(self) -> Path:
        return self.home / f"bot{self.starts - 1}.out"

    def start(self) -> None:
        env = {**os.environ, "BINANCE_API_KEY": TEST_API_KEY, "BINANCE_API_SECRET": TEST_API_SECRET,
               "AUTOHEDGE_HOME": str(self.home), "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
        self._out = open(self.home / f"bot{self.starts}.out", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "main.py", "run", "--mode", "demo", "--state-dir", str(self.state_dir),
             "--base-url", self.fake.base_url, "--stream-url", f"ws://127.0.0.1:{self.fake.port}/",
             "--set", "paths.log_dir=" + str(self.home / "logs"), *self.extra_args],
            cwd=REPO_ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT, **child_options())
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up code of the bot runs (a crash, a power cut)."""
        if self.proc is not None:
            _end(self.proc, signal.SIGKILL, 10)
        self._close_output()

    def stop(self, wait_s: float = 60) -> int | None:
        """SIGTERM (a clean stop, state saved); the exit code, or None if it had to be killed."""
        if self.proc is None:
            return None
        try:
            self.proc.send_signal(signal.SIGTERM)
            code = self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        finally:
            self._close_output()
        return code

    def _close_output(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def output_tail(self, chars: int = 3000) -> str:
        try:
            return self.output_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # ----- what the bot has written ------------------------------------------------------------

    def states(self) -> dict[str, dict]:
        """The state file of each symbol that has one (saves are atomic: never torn)."""
        found = {}
        for symbol in self.symbols:
            path = self.state_dir / f"{symbol}.json"
            try:
                found[symbol] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
        return found

    def settled(self, close_time: int, in_flight_ok: bool = False) -> bool:
        """Every symbol acted on the candle closing at ``close_time`` and (unless ``in_flight_ok``)
        has nothing in flight."""
        states = self.states()
        return len(states) == len(self.symbols) and all(
            s.get("last_bar_close", -1) >= close_time and (in_flight_ok or not s.get("pending"))
            for s in states.values())

    def wait_settled(self, close_time: int, timeout_s: float, in_flight_ok: bool = False,
                     poll_s: float = 0.05) -> bool:
        """True once :meth:`settled`; False after ``timeout_s`` or when the bot exited."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.settled(close_time, in_flight_ok):
                return True
            if not self.alive():
                return False
            time.sleep(poll_s)
        return False

    def journal(self) -> list[dict]:
        path = self.state_dir / "fills.jsonl"
        if not path.exists():
            return []
        fills = []
        for line in path.read_text().splitlines():
            try:
                fills.append(json.loads(line))
            except ValueError:
                continue  # a torn last line after a kill; the fill is found again at start-up
        return fills


def exchange_positions(snapshot: dict) -> dict[tuple[str, str], float]:
    """(symbol, LONG|SHORT) -> quantity held on the fake exchange, non-zero only."""
    return {(p["symbol"], p["positionSide"]): abs(float(p["qty"]))
            for p in snapshot["positions"] if float(p["qty"])}


def state_positions(states: dict[str, dict]) -> dict[tuple[str, str], float]:
    """(symbol, LONG|SHORT) -> quantity the bot's state believes it holds, non-zero only."""
    return {(symbol, side): float(pos["qty"]) for symbol, state in states.items()
            for side, pos in state.get("positions", {}).items() if pos and float(pos.get("qty") or 0)}
