"""Assembles a TradingService for a mode: which feed, which broker, which state folder.

| mode    | candles                           | orders                         |
|---------|-----------------------------------|--------------------------------|
| replay  | a kline folder (no network)       | paper broker (simulated fills) |
| paper   | ``paper.source: replay``: the     | paper broker                   |
|         | folder ``paper.replay_data``;     |                                |
|         | ``live``: Binance public klines   |                                |
| demo    | Binance demo-trading klines       | Binance demo trading (real     |
|         | stream                            | orders, test money)            |
| live    | Binance klines stream             | Binance (REAL MONEY)           |

Each mode keeps its own state folder (``<state_dir>/<mode>``) so a replay can
never touch the positions of paper, demo or live trading. ``testnet`` (the practice mode's old name) is read as ``demo``.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from adapters.paper import make_paper_broker
from config.paths import resolve_app_path, resolve_user_path
from config.settings import AppSettings
from core.errors import ExchangeStartError, UserError
from core.ports import BrokerError, RetryableError
from live.events import EventListener, LogEvent
from live.feeds import ReplayFeed
from live.ledger_link import LedgerLink, account_ledger_path
from live.paper_guard import PaperGuard
from live.service import ServiceOptions, TradingService

log = logging.getLogger(__name__)

MODES = ("replay", "paper", "demo", "live")
# Old mode names still accepted (command line, saved window state): the practice mode was "testnet"
# before Binance's USDⓈ-M demo trading replaced the futures testnet (issue 18).
MODE_ALIASES = {"testnet": "demo"}
START_WAIT_LIMIT_S = 180.0  # the longest rate-limit wait the start-up sits out before giving up
START_WAIT_ATTEMPTS = 3


def canonical_mode(mode: str) -> str:
    """``testnet`` -> ``demo``; every other name as it is."""
    return MODE_ALIASES.get(mode, mode)


def default_state_dir(settings: AppSettings, mode: str) -> Path:
    """``<state_dir>/<mode>``. Demo trading keeps using an existing ``testnet`` folder (the practice
    mode's state before issue 18 renamed it) so a restart never loses its open positions."""
    root = resolve_user_path(settings.paths.state_dir)
    mode = canonical_mode(mode)
    if mode == "demo" and not (root / "demo").exists() and (root / "testnet").is_dir():
        return root / "testnet"
    return root / mode


def clear_replay_state(state_dir: Path) -> None:
    """A replay starts from nothing unless asked to resume: remove its own files only."""
    if not state_dir.is_dir():
        return
    ledger = state_dir / "ledger-replay.sqlite"
    for path in (list(state_dir.glob("*.json")) + list(state_dir.glob("*.json.tmp")) + [state_dir / "fills.jsonl"]
                 + [ledger, ledger.with_name(ledger.name + "-wal"), ledger.with_name(ledger.name + "-shm")]):
        if path.is_file():  # its own files only: never a folder a user put there
            path.unlink()


def build_service(
    settings: AppSettings,
    listener: EventListener,
    *,
    mode: str,
    replay_dir: Path | str | None = None,
    speed: float | None = None,
    credentials=None,
    state_dir: Path | None = None,
    fee_pct: float | None = None,
    slippage_bps: float | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    resume: bool = False,
    base_url: str | None = None,
    stream_url: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    wait_out_rate_limits: bool = False,
    switch_hedge_mode: bool = False,
    override_limits: bool = False,
) -> TradingService:
    """``wait_out_rate_limits``: sit out (with ``sleep``) a short wait that Binance's request
    limit asks for at start-up instead of failing (the command line; the window has a retry
    loop of its own that Stop can interrupt). ``switch_hedge_mode``: the user agreed to switch a one-way
    account to hedge mode (account-wide, COIN-M too); without it such an account stops start-up with
    :class:`adapters.binance_futures.HedgeModeOff`. ``override_limits``: new mains resume although a
    loss limit [L1, L2] breached today is saved (live/account_limits.py)."""
    mode = canonical_mode(mode)
    if mode not in MODES:
        raise UserError(f"mode {mode!r} is not known; use one of: {', '.join(MODES)}")
    symbols = {name: cfg.call_size for name, cfg in settings.symbols.items()}
    fee = settings.backtest.fee_pct if fee_pct is None else fee_pct
    slippage = settings.backtest.slippage_bps if slippage_bps is None else slippage_bps
    state_dir = Path(state_dir) if state_dir is not None else default_state_dir(settings, mode)

    if mode == "paper" and replay_dir is None and settings.paper.source == "replay":
        replay_dir = settings.paper.replay_data
    if mode in ("replay", "paper") and replay_dir is not None:
        if mode == "replay" and not resume:
            clear_replay_state(state_dir)
        feed = ReplayFeed(resolve_app_path(replay_dir), list(symbols),
                          speed=settings.paper.replay_speed if speed is None else speed,
                          start_ms=start_ms, end_ms=end_ms, sleep=sleep)
        broker = make_paper_broker(fee, slippage, wallet=settings.backtest.initial_capital,
                                   leverage={name: settings.leverage_for(name) for name in symbols})
        options = ServiceOptions(state_dir=state_dir, reconcile=False, durable=mode != "replay",
                                 override_limits=override_limits)
        service = TradingService(symbols, settings.strategy, feed, broker, listener, options,
                                 clock=lambda: feed.now, sleep=sleep)
        service.paper_guard = PaperGuard(service.ctx, service.orders)  # [E1] the simulated exchange's guard
        open_ledger(service, account_ledger_path(state_dir, mode, None),
                    leverage={name: settings.leverage_for(name) for name in symbols})
        return service
    if mode == "replay":
        raise UserError("replay mode needs a kline folder (--replay DIR)")

    attempt = 1
    while True:
        try:
            service = build_exchange_service(settings, listener, mode=mode, symbols=symbols,
                                             credentials=credentials, state_dir=state_dir, fee_pct=fee,
                                             slippage_bps=slippage, base_url=base_url, stream_url=stream_url,
                                             sleep=sleep, switch_hedge_mode=switch_hedge_mode)
            service.options.override_limits = override_limits
            return service
        except RetryableError as exc:
            wait = _rate_limit_wait(exc, attempt) if wait_out_rate_limits else None
            if wait is None:
                raise ExchangeStartError(exchange_start_error(mode, exc), exc) from None
            line = f"[O4] start-up paused by Binance's request limit ({exc.message}); starting again in {wait:.0f}s"
            log.warning(line)
            listener(LogEvent(int(time.time() * 1000), "WARNING", line))
            sleep(wait)
            attempt += 1
        except BrokerError as exc:
            raise ExchangeStartError(exchange_start_error(mode, exc), exc) from None


def _rate_limit_wait(exc: RetryableError, attempt: int) -> float | None:
    """How long to wait before starting again, or None to give up now.

    A wait the request limit asks for (our own budget near the minute's limit, or a 429's
    Retry-After) is not a broken connection: restarting the bot a few times within a minute
    can use up the minute's weight, and the next minute serves it again. Such a wait is sat
    out (a few times, each at most START_WAIT_LIMIT_S); a network failure, or a ban longer
    than that, is told at once."""
    if exc.retry_after is None or attempt >= START_WAIT_ATTEMPTS or exc.retry_after > START_WAIT_LIMIT_S:
        return None
    return exc.retry_after + 1.0


def exchange_start_error(mode: str, exc: BrokerError) -> str:
    """The one sentence for an exchange that cannot be used at start-up (network, keys, account)."""
    mode = canonical_mode(mode)
    venue = {"demo": "Binance demo trading", "live": "Binance", "paper": "Binance's public market data"}[mode]
    if isinstance(exc, RetryableError) and exc.retry_after is not None:
        return (f"cannot start {mode} trading: {venue} asks this computer to wait {exc.retry_after:.0f}s "
                f"({exc.message}); start again after that, and keep other programs that use the same IP "
                "address from sending many requests")
    if isinstance(exc, RetryableError):
        return f"cannot start {mode} trading: {venue} cannot be reached ({exc.message}); check the internet connection"
    advice = getattr(exc, "advice", "")
    advice = advice[:1].lower() + advice[1:]
    code = f" {exc.code}" if exc.code is not None else ""
    return f"cannot start {mode} trading: {venue} refused it (error{code}: {exc.message})" + (f"; {advice}" if advice else "")


# ----- assembling a service that talks to Binance ----------------------------------------------


def attach_exchange_watch(service, adapter, settings) -> None:
    """The guard room [E1, E2] (unless the guard mode is off: then one pass cancels the bot's
    guards left open) and the sleep watch [W1], closes measured against the exchange's clock."""
    from adapters.binance_algo import BinanceAlgoOrders
    from live.guard import GuardSettings
    from live.guard_room import GuardRoom
    from live.wake import WakeWatch

    guard = GuardSettings(settings.exchange.guard_mode, min(settings.exchange.guard_distance_pct, 99.0))
    service.guards = GuardRoom(service.ctx, BinanceAlgoOrders(adapter), guard, service.reconciler)
    service.reconciler.on_algo_update = service.guards.on_algo_update
    service.wake = WakeWatch(close_clock=lambda: service.ctx.clock() / 1000)


def build_exchange_service(settings, listener, *, mode: str, symbols: dict[str, float], credentials,
                           state_dir, fee_pct: float, slippage_bps: float, base_url: str | None,
                           stream_url: str | None, sleep, switch_hedge_mode: bool = False):
    """paper (public market data, simulated fills), demo trading or live (real orders).

    Hosts: ``base_url`` / ``stream_url`` (the caller's), else the settings' ``exchange.rest_url`` /
    ``exchange.stream_url``, else Binance's own for the mode (demo trading: demo-fapi / demo-fstream)."""
    from adapters.binance_futures import DEMO_STREAM_URL, LIVE_STREAM_URL, BinanceFuturesAdapter
    from adapters.paper import make_paper_broker
    from core.errors import UserError
    from live.live_feed import BinanceKlineFeed

    mode = canonical_mode(mode)
    demo = mode == "demo"
    base_url = base_url or settings.exchange.rest_url or None
    stream_url = stream_url or settings.exchange.stream_url or (DEMO_STREAM_URL if demo else LIVE_STREAM_URL)
    if mode in ("demo", "live") and credentials is None:
        from adapters.secrets import load_credentials

        credentials = load_credentials(testnet=demo)  # the keyring entry is still named "testnet"
        if credentials is None:
            raise UserError(
                f"no Binance {'demo trading' if demo else mode} API key: enter it in the window (and tick 'remember'), or set "
                "BINANCE_API_KEY and BINANCE_API_SECRET in the environment or a .env file")
    if credentials is not None and mode != "paper":
        from adapters.secrets import install_log_redaction

        install_log_redaction(credentials)  # before any request can be logged
    adapter = BinanceFuturesAdapter(credentials if mode != "paper" else None, demo=demo, base_url=base_url,
                                    recv_window=settings.exchange.recv_window_ms)
    names = list(symbols)
    if mode == "paper":
        adapter.sync_time()
        adapter.load_exchange_filters(names)
        broker = make_paper_broker(fee_pct, slippage_bps, {name: adapter.symbol_rules(name) for name in names},
                                   wallet=settings.backtest.initial_capital,
                                   leverage={name: settings.leverage_for(name) for name in names})
        reconcile = False
    else:
        adapter.prepare_symbols(names, {name: settings.leverage_for(name) for name in names},
                                settings.exchange.margin_type, switch_hedge_mode=switch_hedge_mode)
        broker = adapter
        reconcile = True
    clock = adapter._server_now_ms  # noqa: SLF001 - the exchange's clock, offset-corrected
    feed = BinanceKlineFeed(names, adapter.klines, adapter.latest_klines,
                            stream_url, clock)
    options = ServiceOptions(state_dir=state_dir, reconcile=reconcile)
    user_stream = None
    if reconcile:  # demo trading / live: this account's fills and position changes as they happen
        from adapters.binance_user_stream import UserDataStream

        user_stream = UserDataStream(adapter, stream_url, algo_updates=True)
    service = TradingService(symbols, settings.strategy, feed, broker, listener, options, clock=clock, sleep=sleep,
                             user_stream=user_stream)
    if reconcile:  # demo / live: the guard held on the exchange [E1, E2] and the sleep watch [W1]
        attach_exchange_watch(service, adapter, settings)
    else:  # paper: the simulated exchange holds the guard [E1]
        service.paper_guard = PaperGuard(service.ctx, service.orders)
    if mode != "paper":
        # The window's account figures come over a connection of their own, so reading them
        # never holds the order connection's lock while an order waits to go out.
        # It shares the order connection's request budget: one weight limit for the whole bot.
        service.account_view = BinanceFuturesAdapter(credentials, demo=demo, base_url=base_url,
                                                     recv_window=settings.exchange.recv_window_ms,
                                                     budget=adapter.budget)
    history = None
    if mode != "paper":  # what happened while the bot was off: income and the account's trades, once each
        from adapters.binance_history import BinanceHistory

        history = BinanceHistory(adapter)
    open_ledger(service, account_ledger_path(state_dir, mode, getattr(credentials, "api_key", None)),
                history, clock, {name: settings.leverage_for(name) for name in names})
    return service


def open_ledger(service: TradingService, path: Path, history=None, clock: Callable[[], int] | None = None,
                leverage: dict[str, float] | None = None) -> None:
    """The account's money record, and with ``history`` (an exchange account) the start-up import
    of its income and trades up to ``clock()``. A ledger that cannot be opened or filled is one
    WARNING, never a stop."""
    service.ctx.ledger = LedgerLink.open(path, service.ctx.log)
    # per symbol, for the window's ROE (unrealised PnL / initial margin): the strip's and the table's
    service.leverage = service.ctx.leverage = dict(leverage or {})
    if history is not None and clock is not None:
        service.ctx.ledger.import_history(history, list(service.ctx.call_sizes), clock())
