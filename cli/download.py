"""``python main.py download``: Binance USDT-M futures klines into CSV files, resumable.

    python main.py download --symbols DOGEUSDT ALGOUSDT --interval 5m --start 2025-01-01 --out data/futures

Running the same command again appends only the candles that are missing. With 5m klines the
symbol's funding-rate history is fetched too, into ``<SYMBOL>-fundingRate.csv`` beside them
(``--no-funding`` skips it): the backtest and the optimizer charge funding when it is there.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adapters.funding_download import FundingDownloader
from adapters.kline_download import DEFAULT_BASE_URL, KlineDownloader
from adapters.kline_files import interval_to_ms
from config.paths import ensure_writable
from core.errors import UserError
from cli.backtest import check_symbols, parse_time, symbol_name
from cli.console_progress import ProgressBar


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", nargs="+", required=True, metavar="SYMBOL", type=symbol_name,
                        help="e.g. DOGEUSDT ALGOUSDT")
    parser.add_argument("--interval", default="5m", help="kline interval, e.g. 5m or 1d (default 5m)")
    parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--end", help="last day, YYYY-MM-DD (UTC, inclusive); default: up to the last closed candle")
    parser.add_argument("--out", type=Path, default=Path("data/download"), help="output folder (default data/download)")
    parser.add_argument("--no-funding", action="store_true",
                        help="do not fetch funding rates (fetched by default with 5m klines)")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, downloader: KlineDownloader | None = None) -> int:
    check_symbols(args.symbols)
    interval_to_ms(args.interval)
    start_ms = parse_time(args.start, "--start")
    end_ms = parse_time(args.end, "--end", end=True) if args.end else None
    if end_ms is not None and end_ms <= start_ms:
        raise UserError(f"the date range is empty: --end {args.end} is not after --start {args.start}")
    ensure_writable(args.out, "download")
    downloader = downloader or KlineDownloader(base_url=args.base_url)
    for symbol in args.symbols:
        bar = ProgressBar(f"{symbol} {args.interval}", unit="candles", delay=0.5)
        result = downloader.download(symbol, args.interval, start_ms, end_ms, args.out, bar.update)
        bar.finish()
        print(f"{symbol}: {result.added:,} candles added to {result.path}"
              + (" (already up to date)" if result.added == 0 else ""), file=sys.stdout)
        if result.note:
            print(f"{symbol}: {result.note}", file=sys.stdout)
        if args.interval == "5m" and not getattr(args, "no_funding", False):
            funding = FundingDownloader(base_url=args.base_url, fetch=downloader.fetch, now_ms=downloader.now_ms,
                                        sleep=downloader.sleep).download_funding(symbol, start_ms, end_ms, args.out)
            print(f"{symbol}: {funding.added:,} funding rates added to {funding.path}"
                  + (" (already up to date)" if funding.added == 0 else ""), file=sys.stdout)
    return 0
