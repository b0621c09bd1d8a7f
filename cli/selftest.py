"""``python main.py selftest`` (and ``AutoHedge.exe selftest``): does this installation work?

Runs a fixed list of checks, prints one line per check (``PASS name: detail`` or
``FAIL name: reason``) and exits 0 only when every check passed:

1. settings     the settings file loads and validates
2. data         the replay folder (the bundled sample) has 5m candles for every symbol
3. state folder the user folder (settings, window layout) and the state and log folders are
                writable, and (frozen) outside the program folder (the EXE's, replaced by an update)
4. replay       one UTC day replayed through the trading service (paper broker), no symbol stopped
5. backtest     the backtester on the same day gives the same trades as the replay [B2],
                and its reports (CSV, JSON, PNG charts, HTML) can be written
6. qt           the Qt platform plugin loads and a window can be shown (offscreen when there
                is no display)

Before the checks, one line says which backtest kernel runs (``kernel: compiled (numba
...)`` or ``kernel: interpreted (...)``), after running it once.

Qt is checked last: a missing platform plugin aborts the process (Qt's own
fatal error), and every other line is printed by then. The lines are also
saved to ``<log folder>/selftest.txt`` because a windowed EXE has no console.
Nothing here touches the user's trading state: the replay runs in a temporary
folder.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

from config.paths import (APP_ROOT, PROGRAM_FOLDER, ensure_writable, is_frozen, resolve_app_path, resolve_user_path,
                          user_home, why_not_writable)
from config.settings import AppSettings, load_settings
from core.errors import UserError
from core.model import ONE_DAY_MS

REPORT_NAME = "selftest.txt"
# The Qt check lives with the GUI layer (live/ never imports Qt); loaded by name, like main.py does.
QT_CHECK_MODULE = "ui.qt_check"


class CheckFailed(Exception):
    """A check found a problem; the message is the one-line reason."""


@dataclass
class SelftestContext:
    """What the checks share: each later check uses what an earlier one found."""

    config: str | None
    overrides: list[str]
    work_dir: Path
    settings: AppSettings | None = None
    data_dir: Path | None = None
    day_start_ms: int = 0
    replay_trades: list[tuple[str, ...]] | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.detail}"


Check = Callable[[SelftestContext], str]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="settings file to check (default: the bundled config/settings.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting, e.g. --set paper.replay_data=D:/klines")
    parser.add_argument("--report", metavar="FILE",
                        help=f"also write the result lines here (default: <log folder>/{REPORT_NAME})")


def _iso_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


def _require(value, name: str):
    if value is None:
        raise CheckFailed(f"not run: the {name} check failed")
    return value


# ----- the checks -----------------------------------------------------------------------------------


def check_settings(ctx: SelftestContext) -> str:
    ctx.settings = load_settings(ctx.config, ctx.overrides)
    if not ctx.settings.symbols:
        raise CheckFailed("no symbols are configured (symbols: in the settings)")
    source = ctx.config or "bundled config/settings.yaml"
    return f"{source}, mode {ctx.settings.mode}, symbols {', '.join(ctx.settings.symbols)}"


def check_data(ctx: SelftestContext) -> str:
    from adapters import kline_files

    settings = _require(ctx.settings, "settings")
    data_dir = resolve_app_path(settings.paper.replay_data)
    last_open = []
    for symbol in settings.symbols:
        frame = kline_files.load_symbol(data_dir, symbol, "5m").frame
        last_open.append(int(frame["open_time"].iloc[-1]))
    # The last UTC day every symbol has complete (the day before the one holding the last candle),
    # so the replay has a month and more of history before it to warm up on.
    ctx.day_start_ms = min(last_open) // ONE_DAY_MS * ONE_DAY_MS - ONE_DAY_MS
    ctx.data_dir = data_dir
    return f"{data_dir} has 5m candles for {', '.join(settings.symbols)}; test day {_iso_day(ctx.day_start_ms)}"


def _probe_writable(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".selftest-{os.getpid()}.tmp"
    payload = b"autohedge selftest\n"
    try:
        with open(probe, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if probe.read_bytes() != payload:
            raise CheckFailed(f"{folder}: a file written there did not read back the same")
    finally:
        probe.unlink(missing_ok=True)


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def check_state_folder(ctx: SelftestContext) -> str:
    settings = _require(ctx.settings, "settings")
    state_dir = resolve_user_path(settings.paths.state_dir)
    log_dir = resolve_user_path(settings.paths.log_dir)
    ensure_writable(user_home(), "user")  # the window's settings and layout go there, frozen or not
    for role, folder in (("state", state_dir), ("log", log_dir)):
        if is_frozen() and _inside(folder, PROGRAM_FOLDER):
            raise CheckFailed(f"{folder} is inside the program's folder {PROGRAM_FOLDER}; "
                              "files written there are lost when it is replaced by a new version")
        ensure_writable(folder, role)  # the same sentence as every command's start-up check
        try:
            _probe_writable(folder)  # and a file written there is durable and reads back the same
        except OSError as exc:
            raise CheckFailed(f"the {role} folder {folder} is not writable ({why_not_writable(exc)})") from None
    return f"state {state_dir}, logs {log_dir}"


def check_replay(ctx: SelftestContext) -> str:
    from live.assemble import build_service

    settings, data_dir = _require(ctx.settings, "settings"), _require(ctx.data_dir, "data")
    # Fills at the decision bar's close and no costs: the same assumptions as the backtest check, so
    # the two trade lists must be equal [B2].
    service = build_service(settings, lambda event: None, mode="replay", replay_dir=data_dir, speed=0,
                            state_dir=ctx.work_dir / "replay-state", fee_pct=0, slippage_bps=0,
                            start_ms=ctx.day_start_ms, end_ms=ctx.day_start_ms + ONE_DAY_MS)
    service.run()
    stopped = [f"{slot.symbol} ({slot.detail})" for slot in service.slots.values() if slot.run_state.value == "error"]
    if stopped:
        raise CheckFailed(f"stopped trading: {', '.join(stopped)}")
    ctx.replay_trades = [trade.row() for trade in service.journal.trades()]
    return f"{_iso_day(ctx.day_start_ms)} on {len(service.slots)} symbols, {len(ctx.replay_trades)} fills, no symbol stopped"


def check_backtest(ctx: SelftestContext) -> str:
    from adapters import kline_files
    from config.settings import settings_to_dict
    from core.backtest import BacktestConfig, run_backtest
    from core.trades import sort_key
    from research.backtest_report import ReportInfo, write_report

    settings, data_dir = _require(ctx.settings, "settings"), _require(ctx.data_dir, "data")
    symbols = list(settings.symbols)
    candles_5m = {s: kline_files.load_symbol(data_dir, s, "5m").frame for s in symbols}
    daily_sets = {s: kline_files.load_symbol(data_dir, s, "1d", required=False) for s in symbols}
    candles_1d = {s: found.frame for s, found in daily_sets.items() if found is not None}
    config = BacktestConfig(fill="close", fee_pct=0, slippage_bps=0, initial_capital=settings.backtest.initial_capital,
                            start_ms=ctx.day_start_ms, end_ms=ctx.day_start_ms + ONE_DAY_MS)
    result = run_backtest(candles_5m, settings.strategy, {s: settings.symbols[s].call_size for s in symbols},
                          config, candles_1d)
    trades = [trade.row() for trade in sorted(result.trades, key=sort_key)]
    if ctx.replay_trades is not None and trades != ctx.replay_trades:
        first = next((n for n, (a, b) in enumerate(zip(trades, ctx.replay_trades)) if a != b),
                     min(len(trades), len(ctx.replay_trades)))
        raise CheckFailed(f"the backtest's {len(trades)} fills differ from the replay's {len(ctx.replay_trades)} "
                          f"from fill {first + 1} on [B2]")
    info = ReportInfo(str(data_dir), _iso_day(ctx.day_start_ms), settings_to_dict(settings), [])
    paths = write_report(result, ctx.work_dir / "backtest", info)
    empty = [path.name for path in paths.values() if path.stat().st_size == 0]
    if empty:
        raise CheckFailed(f"empty report files: {', '.join(empty)}")
    same = "same fills as the replay [B2]" if ctx.replay_trades is not None else "replay not available to compare"
    return f"{result.total.bars} bars, {len(trades)} fills, {same}; {len(paths)} report files written"


def kernel_line() -> str:
    """'kernel: compiled (...)' or 'kernel: interpreted (...)': which backtest kernel this program runs, run once
    (the first run of a new EXE includes numba's compile)."""
    import numpy as np

    from core import kernel, kernel_jit
    from core.params import StrategyParams

    began = time.monotonic()
    times = np.arange(600, dtype=np.int64) * 300_000
    prices = 100.0 + np.sin(np.arange(600) / 7.0)
    codes = kernel.signal_codes(prices, StrategyParams().signal)
    try:
        kernel.run_symbol(times, prices, prices, codes, times[::288] + ONE_DAY_MS, codes[::288], times[:0],
                          prices[:0], 0, 600, False, 1.0, 0.05, 0.0, 1000.0, StrategyParams())
    except Exception as exc:  # noqa: BLE001 - reported in the line; the backtest check then fails too
        return f"kernel: {kernel_jit.describe()}, but it does not run: {type(exc).__name__}: {exc}"
    return f"kernel: {kernel_jit.describe()}; first run {time.monotonic() - began:.1f} s"


def check_qt(ctx: SelftestContext) -> str:
    return importlib.import_module(QT_CHECK_MODULE).check_qt_window()


CHECKS: list[tuple[str, Check]] = [
    ("settings", check_settings),
    ("data", check_data),
    ("state folder", check_state_folder),
    ("replay", check_replay),
    ("backtest", check_backtest),
    ("qt", check_qt),
]


# ----- running them ---------------------------------------------------------------------------------


def run_check(name: str, check: Check, ctx: SelftestContext) -> CheckResult:
    began = time.monotonic()
    try:
        detail = check(ctx)
        ok = True
    except (CheckFailed, UserError) as exc:
        detail, ok = str(exc), False
    except Exception as exc:  # noqa: BLE001 - a selftest reports every failure as one line, never a traceback
        detail, ok = f"{type(exc).__name__}: {exc}", False
    ctx.timings[name] = time.monotonic() - began
    return CheckResult(name, ok, f"{detail} ({ctx.timings[name]:.1f} s)")


class _Report:
    """Writes each line to the console (when there is one) and to the report file as it comes."""

    def __init__(self, path: Path | None):
        self.path = path
        self._file: TextIO | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(path, "w", encoding="utf-8")
            except OSError as exc:
                self.path = None
                self.line(f"(the report file {path} cannot be written: {exc.strerror or exc})")

    def line(self, text: str) -> None:
        if sys.stdout is not None:  # a windowed EXE has no console
            print(text, flush=True)
        if self._file is not None:
            self._file.write(text + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _report_path(args: argparse.Namespace) -> Path | None:
    if args.report:
        return Path(args.report).expanduser()
    try:
        settings = load_settings(args.config, args.overrides)
    except UserError:
        return None  # the settings check says why
    return resolve_user_path(settings.paths.log_dir) / REPORT_NAME


def run(args: argparse.Namespace) -> int:
    report = _Report(_report_path(args))
    results: list[CheckResult] = []
    try:
        frozen = "frozen" if is_frozen() else "from source"
        report.line(f"AutoHedge selftest ({frozen}, Python {sys.version.split()[0]}, {sys.platform}, program folder {APP_ROOT})")
        report.line(kernel_line())
        with tempfile.TemporaryDirectory(prefix="autohedge-selftest-", ignore_cleanup_errors=True) as work:
            ctx = SelftestContext(args.config, list(args.overrides), Path(work))
            for name, check in CHECKS:
                result = run_check(name, check, ctx)
                results.append(result)
                report.line(result.line())
        failed = [result.name for result in results if not result.ok]
        summary = f"selftest: {len(results) - len(failed)} of {len(results)} checks passed"
        report.line(summary + (f"; failed: {', '.join(failed)}" if failed else ""))
        if report.path is not None:
            report.line(f"(saved in {report.path})")
    finally:
        report.close()
    return 0 if results and all(result.ok for result in results) else 1
