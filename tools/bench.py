"""Bars per second of the backtester and of the indicator pass, on the bundled sample.

    python -m tools.bench [--data DIR] [--repeat N]

Prints the best of N runs (default 3; at least 20 for the kernel's millisecond runs) for: loading the files, the indicator
pass (signal_codes over every 5m series), the backtest kernel (signals and the
compiled loop, one core), the kernel through ``run_backtest`` (figures only, and
with every fill record), the exact engine on the same data with the default fill
model (report writing not included) and the kernel's speed-up over it; numba's
compile time with a cold and a warm cache (fresh processes); then the live runner
replaying bundled days at top speed (paper broker): its bars per second over the
candle loop (start-up excluded; runs timed as a whole, without probes), and from
other runs with probes the latency from a candle leaving the feed to its first order
handed to the broker (p50/p99, in-process), once as a replay saves its state (not
durable) and once as live and paper trading do (fsync on every save);
then the 100-setting grid of the README run as a trader runs it (``python main.py
optimize``, a fresh process, ``--jobs 2``), wall-clock time with numba's cache cold (every
worker compiles first) and warm; last, issue 21's targets, each with PASS or FAIL
(:mod:`tools.bench_targets`: the 27-setting optimize and the backtest command against a
plain-Python run of the same rules, the kernel against a C version, the EXE against the
source). ``--targets`` runs only that last part (with the grid).

The machine this runs on may be shared: absolute times move with its load; the ratios,
each measured within one run, are what the targets are about.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from adapters import kline_files
from config.settings import load_settings
import numpy as np

from core import indicators, kernel, kernel_jit
from core.backtest import BacktestConfig, resample_daily, run_backtest
from live.assemble import build_service
from live.service import TradingService
from tools import bench_targets

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT / "data" / "sample"
# A fresh process that compiles (or loads from the cache) the kernel on a small input.
_FIRST_CALL = """
import time
began = time.perf_counter()
import numpy as np
from core import kernel
from core.params import StrategyParams
times = np.arange(600, dtype=np.int64) * 300_000
prices = 100.0 + np.sin(np.arange(600) / 7.0)
codes = kernel.signal_codes(prices, StrategyParams().signal)
kernel.run_symbol(times, prices, prices, codes, times[::288] + 86_400_000, codes[::288], times[:0], prices[:0],
                  0, 600, False, 1.0, 0.05, 0.0, 1000.0, StrategyParams())
print(time.perf_counter() - began)
"""


def first_call_seconds(cache_dir: str) -> float:
    """Seconds from import to the first kernel result in a new process, numba caching in ``cache_dir``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    done = subprocess.run([sys.executable, "-c", _FIRST_CALL], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, check=True, timeout=600)
    return float(done.stdout.strip().splitlines()[-1])


def best_of(repeat: int, job: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - began)
    return best


def _peak_rss_mb() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--targets", action="store_true", help="only the grid and issue 21's targets")
    args = parser.parse_args(argv)
    if not args.targets:
        measure_engines(args)
    return measure_targets(args)


def measure_engines(args: argparse.Namespace) -> None:
    """Everything before the targets: the engines' bars per second, compile times, the runner."""
    settings = load_settings()
    symbols = list(settings.symbols)

    frames: dict = {}
    daily: dict = {}

    def load() -> None:
        for symbol in symbols:
            frames[symbol] = kline_files.load_symbol(args.data, symbol, "5m").frame
            found = kline_files.load_symbol(args.data, symbol, "1d", required=False)
            if found is not None:
                daily[symbol] = found.frame

    load_seconds = best_of(1, load)
    bars = sum(len(frame) for frame in frames.values())
    closes = [frame["close"].to_numpy() for frame in frames.values()]
    indicator_seconds = best_of(args.repeat, lambda: [indicators.signal_codes(c, settings.strategy.signal)
                                                      for c in closes])
    config = BacktestConfig(fill=settings.backtest.fill, fee_pct=settings.backtest.fee_pct,
                            slippage_bps=settings.backtest.slippage_bps,
                            initial_capital=settings.backtest.initial_capital)
    sizes = {symbol: settings.symbols[symbol].call_size for symbol in symbols}
    if kernel_jit.NUMBA_AVAILABLE:
        with tempfile.TemporaryDirectory() as cache_dir:
            cold_seconds = first_call_seconds(cache_dir)
            warm_seconds = first_call_seconds(cache_dir)
    arrays = {}
    for symbol in symbols:
        frame = frames[symbol]
        day_frame = daily.get(symbol)
        day_frame = resample_daily(frame) if day_frame is None else day_frame
        arrays[symbol] = (frame["open_time"].to_numpy(np.int64), frame["open"].to_numpy(np.float64),
                          frame["close"].to_numpy(np.float64), day_frame["open_time"].to_numpy(np.int64) + 86_400_000,
                          day_frame["close"].to_numpy(np.float64), frame["high"].to_numpy(np.float64),
                          frame["low"].to_numpy(np.float64))
    no_funding = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))

    def kernel_with_signals() -> None:
        """What the kernel does per symbol once the files are arrays: both signal series, then the loop
        (the bundled settings: with the exchange-side guard [E1] modelled on the bars' highs and lows)."""
        for symbol, (open_times, opens, closes, day_closes, day_prices, highs, lows) in arrays.items():
            codes = kernel.signal_codes(closes, settings.strategy.signal)
            day_codes = kernel.signal_codes(day_prices, settings.strategy.signal)
            kernel.run_symbol(open_times, opens, closes, codes, day_closes, day_codes, *no_funding, 0,
                              open_times.size, config.fill == "close", sizes[symbol], config.fee_pct,
                              config.slippage_bps, config.initial_capital, settings.strategy, highs=highs, lows=lows)

    kernel_with_signals()  # compiled (or loaded from the cache) before timing
    fast_repeat = max(args.repeat, 20)  # a run takes milliseconds: more tries for a steady best on a shared machine
    kernel_seconds = best_of(fast_repeat, kernel_with_signals)
    figures_seconds = best_of(fast_repeat, lambda: run_backtest(frames, settings.strategy, sizes, config, daily,
                                                                engine="kernel", records=False))
    full_kernel_seconds = best_of(args.repeat, lambda: run_backtest(frames, settings.strategy, sizes, config, daily,
                                                                    engine="kernel"))
    results = []
    backtest_seconds = best_of(args.repeat, lambda: results.append(
        run_backtest(frames, settings.strategy, sizes, config, daily, engine="exact")))

    first_day = int(max(frame["open_time"].iloc[0] for frame in frames.values())) // 86_400_000 * 86_400_000
    day_start = first_day + 30 * 86_400_000  # a month in, so the indicators and the regime are warm

    def replay_one_day() -> None:
        with tempfile.TemporaryDirectory() as state_dir:
            build_service(settings, lambda event: None, mode="replay", replay_dir=args.data, speed=0,
                          state_dir=Path(state_dir), start_ms=day_start, end_ms=day_start + 86_400_000).run()

    replay_seconds = best_of(args.repeat, replay_one_day)
    replay_bars = 288 * len(symbols)
    replay_days = 5
    loop = {durable: runner_loop(settings, args.data, day_start, replay_days, durable, args.repeat)
            for durable in (False, True)}

    print(f"data: {args.data} ({', '.join(symbols)}), {bars:,} 5m bars; best of {args.repeat}")
    print(f"load files    {load_seconds:7.2f} s  {bars / load_seconds:12,.0f} bars/s")
    print(f"indicators    {indicator_seconds:7.2f} s  {bars / indicator_seconds:12,.0f} bars/s")
    compiled = "numba" if kernel_jit.NUMBA_AVAILABLE else "interpreted: numba is not installed"
    print(f"kernel        {kernel_seconds:7.3f} s  {bars / kernel_seconds:12,.0f} bars/s "
          f"(signals + loop, one core, {compiled}; {backtest_seconds / kernel_seconds:,.0f}x the exact engine)")
    print(f"kernel run    {figures_seconds:7.3f} s  {bars / figures_seconds:12,.0f} bars/s "
          f"(run_backtest(engine='kernel', records=False): from DataFrames to the summaries)")
    print(f"kernel+fills  {full_kernel_seconds:7.2f} s  {bars / full_kernel_seconds:12,.0f} bars/s "
          f"(run_backtest(engine='kernel'), every fill and trade record built)")
    print(f"exact engine  {backtest_seconds:7.2f} s  {bars / backtest_seconds:12,.0f} bars/s "
          f"({config.fill}, {results[-1].total.fills:,} fills)")
    if kernel_jit.NUMBA_AVAILABLE:
        print(f"numba compile {cold_seconds:7.2f} s cold cache, {warm_seconds:.2f} s warm cache "
              "(new process: import to the first kernel result)")
    print(f"runner replay {replay_seconds:7.2f} s  {replay_bars / replay_seconds:12,.0f} bars/s "
          f"(one day, {len(symbols)} symbols, incl. loading the folder)")
    for durable, figures in loop.items():
        how = "fsync'd saves, as live/paper" if durable else "replay saves, not durable"
        print(f"runner loop   {figures.seconds:7.2f} s  {figures.bars / figures.seconds:12,.0f} bars/s "
              f"({replay_days} days, {len(symbols)} symbols, start-up excluded; {how}; "
              f"{figures.decided:,} bars with orders, {figures.saves:,} state saves)")
        print(f"close->order  p50 {figures.p50_ms:6.2f} ms  p99 {figures.p99_ms:6.2f} ms  max {figures.max_ms:6.2f} ms "
              f"(candle out of the feed to its first order handed to the broker, in-process; {how})")
    print(f"peak memory   {_peak_rss_mb():7.0f} MB (whole benchmark process)")


def measure_targets(args: argparse.Namespace) -> int:
    """The README's grid (cold and warm) and issue 21's targets, each with PASS/FAIL."""
    symbols = list(load_settings().symbols)
    arrays = bench_targets._kernel_arrays(args.data)
    failed = bench_targets.check_plain_python(args.data, arrays)
    if failed:
        raise SystemExit(f"bench: {failed}; the plain-Python yardstick is not the same rules, nothing compared")
    print(f"targets (issue 21), best of {args.repeat}; the machine may be shared: absolute times move with its "
          "load, the ratios within this run are what counts")
    with tempfile.TemporaryDirectory() as cache_dir:
        cold_grid = grid_search_seconds(args.data, cache_dir)  # every worker compiles the kernel first
        warm_grid = min(grid_search_seconds(args.data, cache_dir) for _ in range(args.repeat))
    print(f"100-setting grid {warm_grid:5.2f} s warm cache, {cold_grid:.1f} s cold (python main.py optimize "
          f"{' '.join(GRID_PARAMS)} --jobs 2: {len(symbols)} symbols, from start-up to the report)")
    print(bench_targets.grid_verdict(warm_grid))
    for measure in (lambda: bench_targets.optimize_vs_plain(args.data, args.repeat, int(arrays[0].size)),
                    lambda: bench_targets.backtest_vs_plain(args.data, args.repeat),
                    lambda: bench_targets.kernel_vs_c(arrays, max(args.repeat, 20)),
                    lambda: bench_targets.exe_vs_source(args.data, args.repeat, GRID_PARAMS)):
        for line in measure():
            print(line, flush=True)
    return 0


GRID_PARAMS = ("--param", "strategy.exit.take_profit_pct=0.5:5:0.5", "--param", "strategy.signal.centerline=30:75:5")


def grid_search_seconds(data: Path, cache_dir: str) -> float:
    """Wall-clock seconds of the README's 100-setting grid, run as the command a trader types,
    numba caching its machine code in ``cache_dir``."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, str(REPO_ROOT / "main.py"), "optimize", "--data", str(data), *GRID_PARAMS,
                   "--jobs", "2", "--out", out]
        began = time.perf_counter()
        done = subprocess.run(command, cwd=REPO_ROOT, env=dict(os.environ, NUMBA_CACHE_DIR=cache_dir),
                              capture_output=True, text=True, timeout=1800)
        seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"the grid search failed: {done.stderr.strip()[-2000:]}")
    return seconds


@dataclass
class LoopFigures:
    seconds: float  # first candle out of the feed to the end of the replay (best run, no probes)
    bars: int
    decided: int  # bars that handed at least one order to the broker
    saves: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def _replay_service(settings, data: Path, state_dir: str, start_ms: int, days: int, durable: bool) -> TradingService:
    service: TradingService = build_service(
        settings, lambda event: None, mode="replay", replay_dir=data, speed=0, state_dir=Path(state_dir),
        start_ms=start_ms, end_ms=start_ms + days * 86_400_000)
    service.options = replace(service.options, durable=durable)
    service.store.durable = durable
    service.journal.durable = durable
    return service


def _loop_seconds(service: TradingService) -> float:
    """Seconds from the first candle leaving the feed (start-up done) to the end of the replay."""
    first: list[float] = []
    next_candle = service.feed.next_candle

    def marked_next_candle(timeout: float):
        if not first:
            first.append(time.perf_counter())
        return next_candle(timeout)

    service.feed.next_candle = marked_next_candle
    service.run()
    return time.perf_counter() - first[0]


def runner_loop(settings, data: Path, start_ms: int, days: int, durable: bool, repeat: int) -> LoopFigures:
    """The replay runner's per-bar cost and its close-to-order latency. Two kinds of run, each
    repeated: one timed as a whole (bars per second, nothing else measured: probes would add to
    what they measure), and one with probes around the feed's ``next_candle``, the paper broker's
    ``submit_market_order`` and the state store's ``save`` (latency, orders and saves)."""
    seconds = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as state_dir:
            seconds.append(_loop_seconds(_replay_service(settings, data, state_dir, start_ms, days, durable)))
    latencies: list[float] = []  # of every probed run
    counts = {"bars": 0, "saves": 0, "decided_at": -1.0}  # of the last one (each run is the same replay)
    for _ in range(repeat):
        counts.update(bars=0, saves=0, decided_at=-1.0)
        with tempfile.TemporaryDirectory() as state_dir:
            service = _replay_service(settings, data, state_dir, start_ms, days, durable)
            marks = {"candle": 0.0}
            next_candle, submit, save = service.feed.next_candle, service.broker.submit_market_order, service.store.save

            def timed_next_candle(timeout: float):
                closed = next_candle(timeout)
                if closed is not None:
                    marks["candle"] = time.perf_counter()
                    counts["bars"] += 1
                return closed

            def timed_submit(*args, **kwargs):
                if counts["decided_at"] != marks["candle"]:  # the bar's first order
                    counts["decided_at"] = marks["candle"]
                    latencies.append(time.perf_counter() - marks["candle"])
                return submit(*args, **kwargs)

            def counted_save(state) -> None:
                counts["saves"] += 1
                save(state)

            service.feed.next_candle = timed_next_candle
            service.broker.submit_market_order = timed_submit
            service.store.save = counted_save
            service.run()
    millis = np.array(latencies) * 1000 if latencies else np.zeros(1)
    return LoopFigures(min(seconds), counts["bars"], len(latencies) // repeat, counts["saves"],
                       float(np.percentile(millis, 50)), float(np.percentile(millis, 99)), float(millis.max()))


if __name__ == "__main__":
    raise SystemExit(main())
