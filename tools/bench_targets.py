"""Issue 21's speed targets, each measured in the same run as what it is compared with.

Every line ends in PASS or FAIL against its target (or says why it was skipped). The
machine may be shared: absolute times move with its load, the ratios of one run are what
the targets are about (both sides of a ratio are measured one after the other, best of
``repeat``).

- optimize: ``python main.py optimize`` over 27 settings of one symbol (121,740 bars), a
  fresh process with numba's cache warm, against the plain-Python run of the same rules
  (tools/plain_rules.py) as one process per setting, each reading its data (target >= 15x);
  the plain-Python loop over the 27 settings in one process is printed too.
- the README's 100-setting grid, warm (target <= 2.5 s on the 2-core machine).
- ``python main.py backtest``: one symbol, a year, report included, against
  ``python -m tools.plain_rules`` on the same year writing trades.csv and equity.csv
  (target: faster).
- the kernel (both signal series and the compiled loop) against tools/plain_kernel.c, the
  same state machine in C compiled now with the system's C compiler (target >= 50 % of C's
  bars/s).
- the EXE's backtest and grid against the source's (target: within 2x), when one is built.

Before anything is timed, the plain-Python and the C versions are checked to end with the
kernel's fill count and cash (bit for bit) on the bench's settings: the same rules.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from adapters import kline_files
from core import kernel
from core.params import StrategyParams
from tools import plain_rules

REPO_ROOT = Path(__file__).resolve().parent.parent
SYMBOL = "DOGEUSDT"
YEAR = ("2022-09-01", "2023-08-31")
GRID_27 = {"strategy.exit.take_profit_pct": ("0.5", "1", "2"), "strategy.exit.trailing_pct": ("0.3", "0.5", "1"),
           "strategy.signal.centerline": ("40", "50", "60")}
C_SOURCE = REPO_ROOT / "tools" / "plain_kernel.c"


# The plain-Python yardstick has no exchange-side guard [E1]: the command is timed with it off, so
# both run the same rules (and end with the same fills).
SAME_RULES = ["--set", "exchange.guard_mode=off"]

def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _command_seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command[:4])} failed: {done.stderr.strip()[-2000:]}")
    return seconds


def _best(repeat: int, job) -> float:
    return min(job() for _ in range(repeat))


def _grid_args() -> list[str]:
    return [arg for key, values in GRID_27.items() for arg in ("--param", f"{key}={','.join(values)}")]


def _settings_27() -> list[dict]:
    return plain_rules.grid([f"{key}={','.join(values)}" for key, values in GRID_27.items()])


# ----- the yardsticks compute what the kernel computes --------------------------------------------


def _kernel_arrays(data: Path):
    frame = kline_files.load_symbol(data, SYMBOL, "5m").frame
    day = kline_files.load_symbol(data, SYMBOL, "1d").frame
    return (frame["open_time"].to_numpy(np.int64), frame["open"].to_numpy(np.float64),
            frame["close"].to_numpy(np.float64), day["open_time"].to_numpy(np.int64) + 86_400_000,
            day["close"].to_numpy(np.float64))


def _params(setting: dict) -> StrategyParams:
    params = StrategyParams()
    entry = "cross" if setting.get("cross") else "level"
    return replace(params, signal=replace(params.signal, centerline=setting.get("centerline", 50.0), entry=entry),
                   exit=replace(params.exit, take_profit_pct=setting.get("take_profit_pct", 1.0),
                                trailing_pct=setting.get("trailing_pct", 0.5)))


def _kernel_run(arrays, setting: dict):
    times, opens, closes, day_closes, day_prices = arrays
    params = _params(setting)
    codes = kernel.signal_codes(closes, params.signal)
    day_codes = kernel.signal_codes(day_prices, params.signal)
    none = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
    p = dict(plain_rules.DEFAULTS, **setting)
    return kernel.run_symbol(times, opens, closes, codes, day_closes, day_codes, *none, 0, times.size,
                             p["fill_at_close"], p["call_size"], p["fee_pct"], p["slippage_bps"], p["capital"], params)


def check_plain_python(data: Path, arrays) -> str | None:
    """None when tools/plain_rules.py ends as the kernel on two settings, else what differs."""
    for setting in ({}, {"take_profit_pct": 2.0, "trailing_pct": 0.3, "centerline": 40.0}):
        plain = plain_rules.run(data, SYMBOL, None, None, [setting])[0]
        run = _kernel_run(arrays, setting)
        if (len(plain["fills"]), plain["cash"], plain["trades"]) != (int(run.fill_count), float(run.cash),
                                                                        int(run.trades)):
            return (f"plain Python differs from the kernel on {setting or 'the defaults'}: fills "
                    f"{len(plain['fills'])} vs {run.fill_count}, cash {plain['cash']!r} vs {float(run.cash)!r}")
    return None


class PlainC:
    """tools/plain_kernel.c compiled into a temporary folder and loaded with ctypes."""

    def __init__(self, folder: str):
        compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
        if compiler is None:
            raise FileNotFoundError("no C compiler (cc, gcc or clang) on PATH")
        library = Path(folder) / "plain_kernel.so"
        subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(C_SOURCE), "-lm"], check=True,
                       capture_output=True, timeout=120)
        self.compiler = Path(compiler).name
        self.lib = ctypes.CDLL(str(library))
        i64, f64, ptr = ctypes.c_int64, ctypes.c_double, ctypes.c_void_p
        self.lib.ah_run.restype = i64
        self.lib.ah_run.argtypes = [ptr, ptr, ptr, i64, ptr, ptr, i64, i64, i64, ctypes.c_int, f64, ctypes.c_int,
                                    ctypes.c_int, f64, f64, f64, f64, f64, i64, f64, f64, ptr, ptr, ptr, ptr, ptr]

    def run(self, arrays, setting: dict) -> tuple[int, float, int]:
        times, opens, closes, day_closes, day_prices = arrays
        p = dict(plain_rules.DEFAULTS, **setting)
        codes = np.empty(times.size, dtype=np.int8)
        day_codes = np.empty(day_prices.size, dtype=np.int8)
        equity = np.empty(times.size, dtype=np.float64)
        out = np.zeros(2, dtype=np.float64)
        counts = np.zeros(3, dtype=np.int64)
        fills = self.lib.ah_run(
            times.ctypes.data, opens.ctypes.data, closes.ctypes.data, times.size, day_closes.ctypes.data,
            day_prices.ctypes.data, day_prices.size, 0, times.size, p["rsi_length"], p["centerline"],
            int(p["cross"]), int(p["fill_at_close"]), p["call_size"], p["fee_pct"], p["slippage_bps"], p["capital"],
            p["take_profit_pct"], p["max_hold_bars"], p["trailing_pct"], p["trailing_activation_pct"],
            codes.ctypes.data, day_codes.ctypes.data, equity.ctypes.data, out.ctypes.data, counts.ctypes.data)
        return int(fills), float(out[0]), int(counts[0])


# ----- the targets ----------------------------------------------------------------------------------


def optimize_vs_plain(data: Path, repeat: int, bars: int) -> list[str]:
    command = [sys.executable, str(REPO_ROOT / "main.py"), "optimize", "--data", str(data), "--symbols", SYMBOL,
               *_grid_args(), *SAME_RULES]
    with tempfile.TemporaryDirectory() as out:
        _command_seconds([*command, "--out", out])  # numba's cache (beside the sources) warm, the data cache built
        whole = _best(repeat, lambda: _command_seconds([*command, "--out", out]))
    plain = [sys.executable, "-m", "tools.plain_rules", "--data", str(data), "--symbol", SYMBOL]
    settings = [[f"{key}={value}" for key, value in zip(GRID_27, combo)]
                for combo in __import__("itertools").product(*GRID_27.values())]
    per_setting = _best(repeat, lambda: sum(_command_seconds([*plain, "--grid", *grid]) for grid in settings))
    looped = _best(repeat, lambda: _command_seconds([*plain, "--grid", *(f"{key}={','.join(values)}"
                                                                         for key, values in GRID_27.items())]))
    ratio = per_setting / whole
    return [
        f"optimize 27    {whole:7.2f} s  (python main.py optimize, {len(settings)} settings, {SYMBOL}, {bars:,} bars, "
        f"default --jobs, warm)",
        f"  plain Python {per_setting:7.2f} s  one process per setting; {looped:.2f} s as one process looping over "
        f"the settings ({looped / whole:.1f}x)",
        f"  target >= 15x the plain-Python per-setting run: {ratio:.1f}x  {_verdict(ratio >= 15)}",
    ]


def grid_verdict(warm_seconds: float) -> str:
    return (f"  target README grid <= 2.5 s warm (2-core machine): {warm_seconds:.2f} s  "
            f"{_verdict(warm_seconds <= 2.5)}")


def backtest_vs_plain(data: Path, repeat: int) -> list[str]:
    start, end = YEAR
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, str(REPO_ROOT / "main.py"), "backtest", "--data", str(data), "--symbols", SYMBOL,
                   "--start", start, "--end", end, "--out", out, *SAME_RULES]
        _command_seconds(command)
        ours = _best(repeat, lambda: _command_seconds(command))
        ours_trades = (Path(out) / "trades.csv").read_text().count("\n")
    with tempfile.TemporaryDirectory() as out:
        plain_command = [sys.executable, "-m", "tools.plain_rules", "--data", str(data), "--symbol", SYMBOL,
                         "--start", start, "--end", end, "--out", out]
        plain = _best(repeat, lambda: _command_seconds(plain_command))
        plain_trades = (Path(out) / "trades.csv").read_text().count("\n")
    same = "same fill count" if ours_trades == plain_trades else f"fill rows differ: {ours_trades} vs {plain_trades}"
    return [
        f"backtest cmd   {ours:7.2f} s  (python main.py backtest --symbols {SYMBOL} --start {start} --end {end}: "
        f"trades.csv, equity.csv, summary.json, charts, report.html)",
        f"  plain Python {plain:7.2f} s  (python -m tools.plain_rules, same year: trades.csv, equity.csv; {same})",
        f"  target faster than plain Python: {plain / ours:.2f}x  {_verdict(ours < plain)}",
    ]


def kernel_vs_c(arrays, fast_repeat: int) -> list[str]:
    bars = arrays[0].size
    with tempfile.TemporaryDirectory() as folder:
        try:
            plain_c = PlainC(folder)
        except (OSError, subprocess.SubprocessError) as exc:
            return [f"kernel vs C    skipped: the C yardstick cannot be compiled ({exc}); install gcc or clang "
                    "(or set CC) to measure this target"]
        expected = _kernel_run(arrays, {})
        got = plain_c.run(arrays, {})
        if got != (int(expected.fill_count), float(expected.cash), int(expected.trades)):
            return [f"kernel vs C    FAIL: the C version differs from the kernel (fills, cash, trades {got} vs "
                    f"{(int(expected.fill_count), float(expected.cash), int(expected.trades))}); not timed"]
        c_seconds = _best(fast_repeat, lambda: _timed(lambda: plain_c.run(arrays, {})))
    kernel_seconds = _best(fast_repeat, lambda: _timed(lambda: _kernel_run(arrays, {})))
    share = c_seconds / kernel_seconds
    return [
        f"kernel 1 sym   {kernel_seconds * 1000:7.2f} ms {bars / kernel_seconds:12,.0f} bars/s (both signal series "
        f"+ compiled loop, {SYMBOL})",
        f"  plain C      {c_seconds * 1000:7.2f} ms {bars / c_seconds:12,.0f} bars/s (tools/plain_kernel.c, "
        f"{plain_c.compiler} -O2, the same signals and state machine)",
        f"  target kernel >= 50 % of C's bars/s: {share * 100:.0f} %  {_verdict(share >= 0.5)}",
    ]


def _timed(job) -> float:
    began = time.perf_counter()
    job()
    return time.perf_counter() - began


def find_exe() -> Path | None:
    """The built program's launcher: dist/AutoHedge/AutoHedge.exe (Windows) or dist/AutoHedge/AutoHedge (Linux)."""
    for name in ("AutoHedge.exe", "AutoHedge"):
        candidate = REPO_ROOT / "dist" / "AutoHedge" / name
        if candidate.is_file() and os.access(candidate, os.X_OK) and (name.endswith(".exe") == (os.name == "nt")):
            return candidate
    return None


def exe_vs_source(data: Path, repeat: int, grid_params: tuple[str, ...]) -> list[str]:
    exe = find_exe()
    if exe is None:
        return ["EXE vs source  no EXE built (dist/AutoHedge/AutoHedge[.exe] not found): build it (build_exe.bat, or "
                "pyinstaller autohedge.spec on Linux) to measure this target"]
    start, end = YEAR
    lines = []
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, AUTOHEDGE_HOME=home)
        env.pop("NUMBA_CACHE_DIR", None)
        for label, args in (("backtest", ["backtest", "--data", str(data), "--symbols", SYMBOL, "--start", start,
                                          "--end", end]),
                            ("grid", ["optimize", "--data", str(data), *grid_params, "--jobs", "2"])):
            with tempfile.TemporaryDirectory() as out:
                frozen = [str(exe), *args, "--out", out]
                source = [sys.executable, str(REPO_ROOT / "main.py"), *args, "--out", out]
                first = _command_seconds(frozen, env)  # the EXE's first run compiles into its user-folder cache
                exe_seconds = _best(repeat, lambda: _command_seconds(frozen, env))
                src_seconds = _best(repeat, lambda: _command_seconds(source))
            ratio = exe_seconds / src_seconds
            lines.append(f"EXE {label:10} {exe_seconds:7.2f} s  source {src_seconds:.2f} s ({ratio:.2f}x; the EXE's "
                         f"first run {first:.1f} s, compiling)  target within 2x: {_verdict(ratio <= 2)}")
    return lines
