"""Bars per second of the backtester and of the indicator pass, on the bundled sample.

    python -m tools.bench [--data DIR] [--repeat N]

Prints the best of N runs (default 3) for: loading the files, the indicator
pass (signal_codes over every 5m series), and the full backtest of all symbols
in the settings with the default fill model (report writing not included).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

from adapters import kline_files
from config.settings import load_settings
from core import indicators
from core.backtest import BacktestConfig, run_backtest

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "data" / "sample"


def best_of(repeat: int, job: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - began)
    return best


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

    print(f"data: {args.data} ({', '.join(symbols)}), {bars:,} 5m bars; best of {args.repeat}")
    print(f"load files    {load_seconds:7.2f} s  {bars / load_seconds:12,.0f} bars/s")
    print(f"indicators    {indicator_seconds:7.2f} s  {bars / indicator_seconds:12,.0f} bars/s")
    print(f"backtest      {backtest_seconds:7.2f} s  {bars / backtest_seconds:12,.0f} bars/s "
          f"({config.fill}, {results[-1].total.fills:,} fills)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
