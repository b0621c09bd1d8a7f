"""Bars per second of the backtester and of the indicator pass, on the bundled sample.

    python -m tools.bench [--data DIR] [--repeat N]

Prints the best of N runs (default 3) for: loading the files, the indicator
pass (signal_codes over every 5m series), and the full backtest of all symbols
in the settings with the default fill model (report writing not included);
then the live runner replaying one bundled day at top speed (paper broker,
state saved after every step, as in paper trading).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable

from adapters import kline_files
from config.settings import load_settings
from core import indicators
from core.backtest import BacktestConfig, run_backtest
from runner.factory import build_service

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "data" / "sample"


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
    args = parser.parse_args(argv)
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
    results = []
    backtest_seconds = best_of(args.repeat, lambda: results.append(
        run_backtest(frames, settings.strategy, sizes, config, daily)))

    first_day = int(max(frame["open_time"].iloc[0] for frame in frames.values())) // 86_400_000 * 86_400_000
    day_start = first_day + 30 * 86_400_000  # a month in, so the indicators and the regime are warm

    def replay_one_day() -> None:
        with tempfile.TemporaryDirectory() as state_dir:
            build_service(settings, lambda event: None, mode="replay", replay_dir=args.data, speed=0,
                          state_dir=Path(state_dir), start_ms=day_start, end_ms=day_start + 86_400_000).run()

    replay_seconds = best_of(args.repeat, replay_one_day)
    replay_bars = 288 * len(symbols)

    print(f"data: {args.data} ({', '.join(symbols)}), {bars:,} 5m bars; best of {args.repeat}")
    print(f"load files    {load_seconds:7.2f} s  {bars / load_seconds:12,.0f} bars/s")
    print(f"indicators    {indicator_seconds:7.2f} s  {bars / indicator_seconds:12,.0f} bars/s")
    print(f"backtest      {backtest_seconds:7.2f} s  {bars / backtest_seconds:12,.0f} bars/s "
          f"({config.fill}, {results[-1].total.fills:,} fills)")
    print(f"runner replay {replay_seconds:7.2f} s  {replay_bars / replay_seconds:12,.0f} bars/s "
          f"(one day, {len(symbols)} symbols, incl. loading the folder)")
    print(f"peak memory   {_peak_rss_mb():7.0f} MB (whole benchmark process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
