"""``python main.py backtest``: a multi-symbol backtest from the command line, with reports.

Defaults: the bundled sample (data/sample) and the settings ``run`` would use
(config/sources.py: --config, else the window's saved file, else config/settings.yaml). Any
settings key can be overridden with ``--set KEY=VALUE``; ``--fill``,
``--fee-pct`` and ``--slippage-bps`` are shortcuts for the ``backtest.*`` keys.
Bad input raises :class:`core.errors.UserError` (main.py prints its one sentence).
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from adapters import kline_files
from research.backtest_data import load_backtest_inputs
from config.paths import ensure_writable
from config.sources import settings_source, source_line
from config.settings import FILL_MODELS, SYMBOL_PATTERN, AppSettings, load_settings, settings_to_dict
from core.backtest import DEFAULT_ENGINE, ENGINES, BacktestConfig, BacktestResult, run_backtest
from core.errors import UserError
from core.model import ONE_DAY_MS
from research.backtest_report import ReportInfo, format_table, header_lines, write_report
from cli.console_progress import ProgressBar

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT / "data" / "sample"
DEFAULT_OUT = Path("backtest_out")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder of <SYMBOL>-5m.csv[.gz|.zip] (and optional <SYMBOL>-1d...) files "
                             "(default: the bundled sample)")
    parser.add_argument("--symbols", nargs="+", metavar="SYMBOL", type=symbol_name,
                        help="symbols to backtest, e.g. DOGEUSDT (default: every symbol in the settings)")
    parser.add_argument("--start", help="first day (UTC), YYYY-MM-DD or YYYY-MM-DDTHH:MM; earlier data only warms up")
    parser.add_argument("--end", help="last day (UTC, inclusive), YYYY-MM-DD; or an exclusive YYYY-MM-DDTHH:MM")
    parser.add_argument("--config", type=Path,
                        help="settings file (default: the one the window saved, else config/settings.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a settings key, e.g. strategy.signal.reference=macd (repeatable)")
    parser.add_argument("--fill", choices=FILL_MODELS, help="fill model [B1] (default: backtest.fill)")
    parser.add_argument("--fee-pct", type=float, help="taker fee, percent of notional per fill")
    parser.add_argument("--slippage-bps", type=float, help="slippage against the trader, bps per fill")
    parser.add_argument("--funding", type=Path, help="CSV of funding rates (symbol, funding_time, funding_rate)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: backtest_out)")
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                        help="kernel: compiled loop, same fills as exact (default); exact: bar by bar "
                             "through the order executor")


def symbol_name(text: str) -> str:
    """A --symbols entry, upper-cased as the exchange writes it ('dogeusdt' -> 'DOGEUSDT')."""
    return text.strip().upper()


def check_symbols(symbols: list[str]) -> None:
    bad = [s for s in symbols if not SYMBOL_PATTERN.match(s)]
    if bad:
        raise UserError(f"--symbols {bad[0]} is not a USDT-M futures symbol (expected e.g. DOGEUSDT)")


def parse_time(text: str, option: str, end: bool = False) -> int:
    """'2023-01-31' -> ms UTC at 00:00 (for --end: the next day's 00:00, so the day is included)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r} is not a date; use YYYY-MM-DD (UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    ms = int(moment.timestamp() * 1000)
    date_only = len(text.strip()) == 10
    return ms + ONE_DAY_MS if end and date_only else ms


def settings_with_shortcuts(args: argparse.Namespace) -> AppSettings:
    overrides = list(args.overrides)
    for key, value in (("fill", args.fill), ("fee_pct", args.fee_pct), ("slippage_bps", args.slippage_bps)):
        if value is not None:
            overrides.append(f"backtest.{key}={value}")
    source = settings_source(args.config)  # the same file `run` would trade with
    settings = load_settings(source, overrides)
    print(source_line(source, bool(args.config)))
    return settings


def _period(start_ms: int | None, end_ms: int | None, result: BacktestResult) -> str:
    times = result.combined.times
    first = start_ms if start_ms is not None else int(times[0]) - 5 * 60_000
    last = int(times[-1])
    fmt = "%Y-%m-%d %H:%M"
    as_text = [datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime(fmt) for ms in (first, last)]
    return f"{as_text[0]} to {as_text[1]} UTC"


def run(args: argparse.Namespace) -> int:
    settings = settings_with_shortcuts(args)
    symbols = list(args.symbols or settings.symbols)
    check_symbols(symbols)
    unsized = [s for s in symbols if s not in settings.symbols]
    if unsized:
        raise UserError(f"{', '.join(unsized)} has no call_size in the settings; add "
                        f"--set symbols.{unsized[0]}.call_size=N (base-asset units)")
    start_ms = parse_time(args.start, "--start") if args.start else None
    end_ms = parse_time(args.end, "--end", end=True) if args.end else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise UserError(f"the date range is empty: --end {args.end} is not after --start {args.start}")

    ensure_writable(args.out, "report")  # before minutes of work, not after
    inputs = load_backtest_inputs(args.data, symbols, columns=True)
    candles_5m, candles_1d, notes = inputs.candles_5m, inputs.candles_1d, inputs.notes
    for symbol, frame in candles_5m.items():
        kline_files.check_range(symbol, args.data, frame["open_time"], start_ms, end_ms)
    funding = kline_files.load_funding_csv(args.funding) if args.funding else inputs.funding
    # One line on funding: the header says when it is not modelled; the file given wins over the folder's.
    notes = [note for note in notes if not (note.startswith("funding ") and (args.funding or funding is None))]
    config = BacktestConfig(
        fill=settings.backtest.fill,
        fee_pct=settings.backtest.fee_pct,
        slippage_bps=settings.backtest.slippage_bps,
        initial_capital=settings.backtest.initial_capital,
        funding=funding,
        start_ms=start_ms,
        end_ms=end_ms,
    )
    bar = ProgressBar("backtest", unit="bars")
    began = time.monotonic()
    result = run_backtest(candles_5m, settings.strategy, {s: settings.symbols[s].call_size for s in symbols},
                          config, candles_1d, bar.update, engine=args.engine,
                          log=lambda line: print(line, file=sys.stderr))
    bar.finish()
    elapsed = time.monotonic() - began
    info = ReportInfo(str(args.data), _period(start_ms, end_ms, result), settings_to_dict(settings), notes)
    paths = write_report(result, args.out, info)

    out = sys.stdout
    for line in [*header_lines(result, info), *notes]:
        print(line, file=out)
    for warning in result.warnings:
        print(f"WARNING {warning}", file=out)
    print(file=out)
    print(format_table(result), file=out)
    print(file=out)
    print(f"{result.total.bars:,} bars in {elapsed:.1f} s; reports in {args.out}/ "
          f"({', '.join(p.name for k, p in paths.items() if not k.startswith('chart'))}, charts)", file=out)
    return 0

