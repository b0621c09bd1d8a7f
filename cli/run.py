"""``python main.py run``: the trading service, headless.

Logs to the console and a rotating file in the log folder. Ctrl-C (or SIGTERM)
stops after the current step with the state saved. On exit the fills so far
are written as trades.csv [B3] next to the state.

Everything a user can get wrong is checked before the service starts and said
in one sentence (main.py prints it, exit code 2): the settings and ``--set``,
the dates, the state, log and trades folders (each must be writable), the
exchange (reachable, keys accepted).
"""
from __future__ import annotations

import argparse
import signal
from pathlib import Path

from config.paths import ensure_writable, keep_previous, resolve_user_path
from config.sources import run_mode, settings_source, source_line
from adapters.binance_futures import HedgeModeOff
from config.settings import load_settings
from core.errors import UserError
from live.alerts import alerting_builder, apprise_sinks
from live.assemble import MODE_ALIASES, MODES, build_service, canonical_mode, default_state_dir
from live.feeds import ReplayFeed
from live.lock import account_key, hold_service_locks
from cli.backtest import parse_time
from cli.logging_setup import setup_logging, stop_logging, use_market_clock


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES + tuple(MODE_ALIASES), type=str.lower,
                        help="replay | paper | demo | live (default: paper, whatever mode the settings name); "
                             "demo is Binance's USDⓈ-M demo trading (testnet: its old name, still accepted)")
    parser.add_argument("--replay", metavar="DIR", help="kline folder to replay (implies --mode replay)")
    parser.add_argument("--speed", type=float, default=None, help="replay speed: 0 = as fast as possible, N = N x real time")
    parser.add_argument("--start", help="replay from this UTC date (YYYY-MM-DD)")
    parser.add_argument("--end", help="replay up to and including this UTC date (YYYY-MM-DD), as backtest --end")
    parser.add_argument("--resume", action="store_true", help="continue a previous replay instead of starting fresh")
    parser.add_argument("--config", metavar="FILE",
                        help="settings file (default: the one the window saved, else config/settings.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting, e.g. --set symbols.DOGEUSDT.call_size=200")
    parser.add_argument("--state-dir", help="state folder (default: <paths.state_dir>/<mode>)")
    parser.add_argument("--fee-pct", type=float, help="paper/replay taker fee in percent (default: backtest.fee_pct)")
    parser.add_argument("--trades-out", help="where to write trades.csv at the end (default: <state folder>/trades.csv)")
    parser.add_argument("--confirm-live", action="store_true", help="required with --mode live: real money")
    parser.add_argument("--switch-hedge-mode", action="store_true",
                        help="demo/live: switch a one-way account to hedge mode (account-wide: every USDⓈ-M "
                             "symbol and COIN-M futures too); without it such an account stops start-up")
    parser.add_argument("--override-limits", action="store_true",
                        help="open new mains again although a loss limit (daily loss [L1] or drawdown [L2]) was "
                             "breached earlier this UTC day and saved; without it a restart that day keeps them off")
    parser.add_argument("--base-url", help=argparse.SUPPRESS)  # tests: a local fake exchange
    parser.add_argument("--stream-url", help=argparse.SUPPRESS)


def date_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """--start/--end as ms UTC; --end includes its day, exactly as ``backtest --end``."""
    start_ms = parse_time(start, "--start") if start else None
    end_ms = parse_time(end, "--end", end=True) if end else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise UserError(f"the date range is empty: --end {end} is not after --start {start}")
    return start_ms, end_ms


def settings_file(explicit: str | None) -> Path | None:
    """--config, else the settings the window saved in the user folder, else the bundled defaults."""
    return settings_source(explicit)


def run(args: argparse.Namespace) -> int:
    source = settings_file(args.config)
    settings = load_settings(source, args.overrides)
    print(source_line(source, bool(args.config)))
    mode, note = run_mode(args.mode, args.replay, settings.mode)  # never demo/live unless --mode says so
    mode = canonical_mode(mode)
    if note:
        print(note)
    if mode == "live" and not args.confirm_live:
        raise UserError("live mode trades REAL money: add --confirm-live if you mean it")
    start_ms, end_ms = date_range(args.start, args.end)
    state_dir = resolve_user_path(args.state_dir) if args.state_dir else default_state_dir(settings, mode)
    trades_path = resolve_user_path(args.trades_out) if args.trades_out else state_dir / "trades.csv"
    ensure_writable(state_dir, "state")
    # One bot per account and per state folder [issue 19]: a second start says who holds it and exits.
    with hold_service_locks(mode, state_dir, account_key(mode)):
        log_file = setup_logging(ensure_writable(resolve_user_path(settings.paths.log_dir), "log"))
        try:
            return _run(args, settings, mode, state_dir, trades_path, log_file, start_ms, end_ms)
        finally:
            stop_logging()


def _run(args: argparse.Namespace, settings, mode: str, state_dir: Path, trades_path: Path, log_file: Path,
         start_ms: int | None, end_ms: int | None) -> int:
    ensure_writable(trades_path.parent, "trades output")
    build = alerting_builder(build_service, apprise_sinks)  # Telegram / e-mail alerts saved from the window
    try:
        service = build(
            settings, lambda event: None, mode=mode, replay_dir=args.replay, speed=args.speed, state_dir=state_dir,
            fee_pct=args.fee_pct, start_ms=start_ms, end_ms=end_ms,
            resume=args.resume, base_url=args.base_url, stream_url=args.stream_url, wait_out_rate_limits=True,
            switch_hedge_mode=args.switch_hedge_mode, override_limits=args.override_limits,
        )
    except HedgeModeOff as exc:
        raise UserError(str(exc).replace("or let the bot switch it when it asks", "or add --switch-hedge-mode to "
                                         "let the bot switch it")) from None
    for warning in settings.warnings():
        print(f"WARNING: {warning}")
    if isinstance(service.feed, ReplayFeed):
        use_market_clock(service.clock)  # a replayed line carries its candle's time, not the wall clock
    stop = lambda signum, frame: service.stop()  # noqa: E731 - stop after the current step
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"AutoHedge {mode}: symbols {', '.join(settings.symbols)}; state in {state_dir}; log in {log_file}. "
              "Ctrl-C stops cleanly.")
        service.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:
        keep_previous(trades_path)  # the previous run's file stays as trades.csv.bak
        service.journal.write_trades_csv(trades_path)
    except OSError as exc:
        raise UserError(f"stopped; state saved in {state_dir}, but {trades_path} cannot be written "
                        f"({exc.strerror or exc})") from None
    print(f"stopped; state saved in {state_dir}; {len(service.journal.fills)} fills written to {trades_path}")
    errors = [slot for slot in service.slots.values() if slot.run_state.value == "error"]
    return 1 if errors else 0
