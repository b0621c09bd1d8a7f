"""What the trading service tells its listeners (console logger, GUI).

The service calls ``listener(event)`` from its own thread with one of the
records below. The GUI wraps the listener in a Qt signal; the service itself
never imports Qt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Protocol, Union

from core.model import Candle, Fill


class SymbolRunState(str, Enum):
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"  # no new entries or hedges; positions kept and tracked
    ERROR = "error"  # refused or paused by an error the user must act on (see detail)
    STOPPED = "stopped"


@dataclass(frozen=True)
class LogEvent:
    """One trader-facing line: a decision, an order, a fill, a warning or an error."""

    time_ms: int
    level: str  # INFO | WARNING | ERROR
    message: str
    symbol: str | None = None
    rule: str | None = None  # SPEC rule id when the line is a decision


@dataclass(frozen=True)
class StatusRow:
    """One row of the live status table."""

    symbol: str
    regime: str  # UP | DOWN | "" before the first daily signal
    state: SymbolRunState
    detail: str  # why, when state is ERROR or PAUSED
    price: float | None
    main_side: str | None  # LONG | SHORT | None
    main_qty: float
    main_entry: float | None
    main_pnl: float | None
    main_pnl_pct: float | None
    hedge_side: str | None
    hedge_qty: float
    hedge_entry: float | None
    hedge_pnl: float | None
    call_size: float
    leverage: int | None = None  # the exchange's, once it told a change (ACCOUNT_CONFIG_UPDATE)
    main_roe_pct: float | None = None  # Binance's ROE (unrealised PnL / initial margin), see roe_percent
    hedge_roe_pct: float | None = None
    # [C3] Of main_qty / hedge_qty, the excess the trader chose to keep, left unmanaged by the bot.
    main_unmanaged: float = 0.0
    hedge_unmanaged: float = 0.0


@dataclass(frozen=True)
class FillEvent:
    fill: Fill


@dataclass(frozen=True)
class ServiceStateEvent:
    running: bool
    detail: str = ""


@dataclass(frozen=True)
class ProgressEvent:
    """Replay progress (candles processed of total), for progress bars; with the replay's clock
    (``now_ms``, the close time of the last candle handed out) and the span it plays
    (``first_ms`` .. ``last_ms``), so the window can show the replayed day passing (0 = unknown)."""

    done: int
    total: int
    now_ms: int = 0
    first_ms: int = 0
    last_ms: int = 0


def roe_percent(unrealized_pnl: float | None, qty: float, mark_price: float | None,
                leverage: float | None) -> float | None:
    """Binance's ROE in percent: unrealised PnL / initial margin, the margin being the notional at
    the mark price / leverage ("How to Calculate PnL for Futures", Binance Support). None when a
    figure is missing or not a number (no leverage known: no ROE, never a guess)."""
    try:
        if unrealized_pnl is None or mark_price is None or not leverage:
            return None
        margin = float(qty) * float(mark_price) / float(leverage)
        roe = float(unrealized_pnl) / margin * 100.0 if margin > 0 else None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return roe if roe is not None and math.isfinite(roe) else None


@dataclass(frozen=True)
class PositionRisk:
    """One open position as the exchange (or the paper broker) sees it."""

    symbol: str
    side: str  # LONG | SHORT
    qty: float
    entry_price: float
    mark_price: float
    unrealized_pnl: float
    liquidation_price: float | None  # None when the exchange reports none (0)
    leverage: float | None = None  # the symbol's leverage as the bot set it (settings), for the ROE

    @property
    def move_pct(self) -> float:
        """The price move from entry to mark, signed for the side (LONG gains when it rises)."""
        if self.entry_price <= 0:
            return 0.0
        move = (self.mark_price - self.entry_price) / self.entry_price * 100.0
        return move if self.side == "LONG" else -move

    @property
    def roe_pct(self) -> float | None:
        """Binance's ROE: unrealised PnL / initial margin (notional at mark / leverage), in percent."""
        return roe_percent(self.unrealized_pnl, self.qty, self.mark_price, self.leverage)

    @property
    def liquidation_distance_pct(self) -> float | None:
        """How far the mark may move against the position before liquidation, in percent of the mark."""
        if not self.liquidation_price or self.mark_price <= 0:
            return None
        return abs(self.mark_price - self.liquidation_price) / self.mark_price * 100.0


@dataclass(frozen=True)
class AccountUpdate:
    """The account strip's figures (USDT). ``realized_today`` and ``fees_today`` are this
    bot's fills of the current UTC day (by the service's clock)."""

    time_ms: int
    wallet: float
    equity: float  # wallet + unrealised PnL (Binance's margin balance)
    unrealized_pnl: float
    realized_today: float
    fees_today: float
    margin_ratio: float | None  # maintenance margin / margin balance, in percent
    positions: tuple[PositionRisk, ...] = ()
    # funding paid (-) or received (+) today, from the account's ledger; None where funding is not
    # modelled (the paper broker, in paper trading and replays, charges none)
    funding_today: float | None = 0.0
    asset: str = "USDT"  # the wallet's asset (USDC / BNFCR on such accounts): shown, never assumed

    @property
    def realized_after_fees(self) -> float:
        return self.realized_today - self.fees_today


@dataclass(frozen=True)
class StreamState:
    """How closed candles arrive: ``connected`` (the kline stream), ``reconnecting``,
    ``rest`` (a REST fallback fetched closes the stream did not deliver) or ``replay``."""

    state: str
    detail: str = ""
    time_ms: int = 0


@dataclass(frozen=True)
class DecisionPreview:
    """What the rules would do if the current candle closed at ``price`` [R1-R5, X1-X3].

    Computed by the strategy itself on a copy of the symbol's driver, never by a second
    implementation of the rules."""

    price: float
    signal: str  # UP | DOWN | NONE: the signal such a close would give
    actions: tuple[str, ...]  # e.g. "OPEN LONG 100 [R2]"; empty: the rules would do nothing
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Heartbeat:
    """Per symbol: the last close processed, the signal now, the next-decision preview
    and the main position's exit levels (take profit, trailing activation and stop)."""

    symbol: str
    now_ms: int  # the service's clock (the replay's time in a replay)
    last_close_ms: int
    signal: str  # the signal of the last closed candle
    preview: DecisionPreview | None
    levels: tuple[tuple[str, float], ...] = ()  # (name, price): take_profit, activation, trailing_stop
    clock_offset_ms: int | None = None  # Binance's clock minus this computer's [W1]; None: not measured (paper)


@dataclass(frozen=True)
class CandleUpdate:
    """A 5m candle for the live chart: ``closed`` False for the candle still forming.
    ``regime`` is the daily regime at that candle ("" before it is known)."""

    symbol: str
    candle: Candle
    closed: bool
    regime: str = ""


@dataclass(frozen=True)
class SymbolFormat:
    """How to print a symbol's prices and quantities: its tick and step sizes (None: unknown)."""

    symbol: str
    tick_size: float | None
    step_size: float | None


@dataclass(frozen=True)
class StartRetry:
    """The service could not start (network); it tries again after ``delay_s``."""

    message: str
    attempt: int
    delay_s: float


@dataclass(frozen=True)
class ForcedCloseEvent:
    """The exchange closed (part of) a position by itself, as its user-data stream said:
    ``kind`` ``liquidation`` (order type LIQUIDATION, client id ``autoclose-…``) or ``adl``
    (auto-deleverage, client id ``adl_autoclose``)."""

    symbol: str
    side: str  # LONG | SHORT
    qty: float
    price: float
    kind: str
    time_ms: int


# How each kind of forced close (core.ports.ForcedClose.kind) is worded in the log, the window and
# alerts. A settlement is Binance closing a position of a delisted or delivered contract, not an ADL.
FORCED_CLOSE_WORDS = {"liquidation": "liquidated", "adl": "auto-deleveraged",
                      "settlement": "closed by a delisting/delivery settlement"}


def forced_close_words(kind: str) -> str:
    return FORCED_CLOSE_WORDS.get(kind, f"closed by the exchange ({kind})")


@dataclass(frozen=True)
class MarginCallEvent:
    """Binance MARGIN_CALL: these positions risk liquidation. ``positions``: (symbol, side, qty,
    mark price, maintenance margin) each; ``text`` is the one sentence shown and alerted."""

    positions: tuple[tuple[str, str, float, float, float], ...]
    text: str
    time_ms: int


@dataclass(frozen=True)
class AccountConfigEvent:
    """Binance ACCOUNT_CONFIG_UPDATE: a symbol's leverage changed (by hand) or Multi-Assets mode was
    switched. ``text`` is the one sentence shown."""

    symbol: str | None
    leverage: int | None
    multi_assets: bool | None
    text: str
    time_ms: int


@dataclass(frozen=True)
class PositionDifference:
    """[O7] Reconciliation found the exchange's position different from the state's (the exchange
    wins): a liquidation, an auto-deleverage, a trade made by hand, or an order executed late."""

    symbol: str
    side: str  # LONG | SHORT
    state_qty: float
    exchange_qty: float
    time_ms: int


@dataclass(frozen=True)
class ExcessQuestion:
    """[C3] A side the exchange holds above CALL_SIZE not by the bot's hand (a trade by hand): the
    window asks the trader to keep the excess (left unmanaged) or close it. Until the answer, the
    bot's hedge covers CALL_SIZE only [R6]. ``excess`` = ``held`` - unmanaged - ``call_size``."""

    symbol: str
    side: str  # LONG | SHORT
    held: float
    call_size: float
    excess: float
    time_ms: int


Event = Union[LogEvent, StatusRow, FillEvent, ServiceStateEvent, ProgressEvent, AccountUpdate, StreamState,
              Heartbeat, CandleUpdate, SymbolFormat, StartRetry, ForcedCloseEvent, PositionDifference,
              MarginCallEvent, AccountConfigEvent, ExcessQuestion]
EventListener = Callable[[Event], None]


class TradingControl(Protocol):
    """What a user interface may ask of the running service. Thread-safe."""

    def stop(self) -> None: ...
    def pause(self, symbol: str | None = None) -> None: ...
    def resume(self, symbol: str | None = None) -> None: ...
    def flatten(self, symbol: str | None = None) -> None: ...
    def set_call_size(self, symbol: str, qty: float) -> None: ...
    def answer_excess(self, symbol: str, side: str, keep: bool) -> None: ...
