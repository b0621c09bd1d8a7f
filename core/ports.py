"""The broker interface (a port) that the executor talks to, and the errors it may raise.

Three adapters implement it: the Binance USDT-M adapter (live/testnet), the
paper broker, and the backtest's simulated broker. The executor above it
(core/executor.py) owns retries, idempotency and partial fills [SPEC O2-O6], so
each broker only has to do one request and say honestly what happened.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

from core.model import Action, Side


class OrderStatus(str, Enum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"  # self-trade prevention expired it
    REJECTED = "REJECTED"

    @property
    def is_final(self) -> bool:
        return self not in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True)
class OrderReport:
    """The exchange's word on one order (by client id).

    ``executed_qty`` and ``avg_price`` are what was really filled [O3];
    ``fee`` is in quote currency (an estimate at the taker rate when the
    exchange's response does not carry it).
    """

    client_id: str
    status: OrderStatus
    executed_qty: Decimal
    avg_price: Decimal
    fee: Decimal
    update_time: int
    # False when the exchange executed something but no price could be read (no avgPrice, no
    # cumQuote, no look-up answer): the executed quantity is real, its price is not known yet,
    # so no fill may be recorded from this report (a position is never given a price of 0).
    price_known: bool = True

    @property
    def has_unpriced_fill(self) -> bool:
        return self.executed_qty > 0 and not (self.price_known and self.avg_price > 0)


@dataclass(frozen=True)
class SymbolRules:
    """Exchange filters for one symbol [O6]: LOT_SIZE / MARKET_LOT_SIZE and MIN_NOTIONAL."""

    symbol: str
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    max_qty: Decimal | None = None
    tick_size: Decimal | None = None  # PRICE_FILTER: for showing prices, not for orders (MARKET only)


@dataclass(frozen=True)
class ExchangePosition:
    """One side of one symbol's position on the exchange [O7]."""

    symbol: str
    side: Side
    qty: Decimal
    entry_price: Decimal


@dataclass(frozen=True)
class PositionSnapshot:
    """One open position with its risk figures, for the account view (display only)."""

    symbol: str
    side: Side
    qty: float
    entry_price: float
    mark_price: float
    unrealized_pnl: float
    liquidation_price: float | None  # None when unknown (Binance answers 0)


@dataclass(frozen=True)
class AccountSnapshot:
    """The futures account in USDT, as the exchange (or the paper broker) reports it.

    ``margin_balance`` is wallet + unrealised PnL; the margin ratio Binance shows is
    ``maint_margin / margin_balance``.
    """

    wallet: float
    unrealized_pnl: float
    margin_balance: float
    maint_margin: float
    positions: tuple[PositionSnapshot, ...] = ()
    asset: str = "USDT"  # the wallet's asset: USDT, or USDC / BNFCR (EU) on such accounts (issue 18)

    @property
    def margin_ratio_pct(self) -> float | None:
        return self.maint_margin / self.margin_balance * 100.0 if self.margin_balance > 0 else None


class BrokerError(Exception):
    """Base class. ``code`` is Binance's error code when there is one."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message


class RetryableError(BrokerError):
    """The request did not reach a decision on the exchange (network, 5xx, -1003/429,
    -1021). ``retry_after`` (seconds) is the wait the exchange asked for, if any."""

    def __init__(self, message: str, code: int | None = None, retry_after: float | None = None,
                 resync_time: bool = False):
        super().__init__(message, code)
        self.retry_after = retry_after
        self.resync_time = resync_time


class OutcomeUnknownError(RetryableError):
    """The order may or may not have been executed (timeout, 503 'Unknown error',
    -1006, -1007). The executor must look it up by client id before re-sending [O4]."""


# Binance codes of refusals that pass by themselves: -2022 (the bot's position differs from the
# exchange's: reconcile) and -4131 (the book is too thin right now). Never a pause [O4].
PASSING_REFUSAL_CODES = frozenset({-2022, -4131})


class OrderRejectedError(BrokerError):
    """The exchange said no: the request was not executed and the same request gets the
    same answer now (-2019 margin, -4164 notional, -1111 precision, -2015 key, ...).
    ``advice`` is what the user should do about it.

    ``definitive`` is False for a refusal that passes by itself (-2022: the position
    differs, reconcile; -4131: the book is thin right now): the symbol is not paused for
    it, the decision is made again on a later bar [O4].
    """

    def __init__(self, message: str, code: int | None = None, advice: str = "", definitive: bool = True):
        super().__init__(message, code)
        self.advice = advice
        self.definitive = definitive


class Broker(Protocol):
    """What the executor needs from an exchange. Quantities and prices are Decimals.

    A broker whose orders may have an unknown outcome (a real exchange) also has
    ``recv_window_ms``: an order request is refused by the exchange when it arrives more
    than this after the moment it was sent (Binance's ``recvWindow``). Brokers without it
    (simulated) never leave an outcome unknown.
    """

    def symbol_rules(self, symbol: str) -> SymbolRules: ...

    def submit_market_order(
        self, symbol: str, side: Side, action: Action, qty: Decimal, client_id: str
    ) -> OrderReport:
        """Send one MARKET order in hedge mode [O1] and return the exchange's report.
        Raises a :class:`BrokerError` subclass on failure."""
        ...

    def query_order(self, symbol: str, client_id: str) -> OrderReport | None:
        """The order with this client id, or None when the exchange has no such order."""
        ...

    def positions(self, symbol: str) -> dict[Side, ExchangePosition]:
        """LONG and SHORT positions of the symbol (qty 0 when flat)."""
        ...


@dataclass(frozen=True)
class TradeUpdate:
    """One execution of one of our orders, pushed by the exchange (Binance ORDER_TRADE_UPDATE,
    ``x == TRADE``): what the REST answer does not carry, the real commission and its asset."""

    symbol: str
    order_id: str  # the client order id
    last_qty: Decimal  # this execution
    cumulative_qty: Decimal  # the order's executed quantity after it
    last_price: Decimal
    commission: Decimal  # of this execution
    commission_asset: str
    status: str
    time: int


@dataclass(frozen=True)
class PositionUpdate:
    """A position changed on the exchange (Binance ACCOUNT_UPDATE): our order, a liquidation, an
    auto-deleverage or a trade made by hand. ``reason`` is the exchange's (ORDER, FUNDING_FEE...)."""

    symbol: str
    side: Side
    qty: Decimal
    entry_price: Decimal
    reason: str
    time: int


@dataclass(frozen=True)
class ForcedClose:
    """The exchange closed a position by itself (Binance ORDER_TRADE_UPDATE of a liquidation:
    order type LIQUIDATION, client id ``autoclose-…``, execution CALCULATED; or an
    auto-deleverage: client id ``adl_autoclose``; or a delisting/delivery settlement: client id
    ``settlement_autoclose-``). ``kind`` is ``liquidation``, ``adl`` or ``settlement``.
    ``qty`` and ``price`` are always above 0 (a frame without them yields no record)."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    client_id: str
    kind: str
    time: int
    trade_id: int | None = None  # the exchange's trade id (``t``): the ledger's key, so the import adds it once
    realized_pnl: Decimal | None = None  # ``rp``: what the close realised (before fees)
    commission: Decimal = Decimal(0)  # ``n``: for a liquidation, Binance's liquidation clearance fee
    commission_asset: str = "USDT"


@dataclass(frozen=True)
class FundingFee:
    """A funding payment as it happens (Binance ACCOUNT_UPDATE with ``m`` FUNDING_FEE: ``bc`` of the
    balance ``B`` is the payment, negative = paid). A cross position's frame names no symbol
    (``symbol`` ""), an isolated one's carries its position in ``P``. The income history's
    FUNDING_FEE rows replace it in the ledger (live/ledger.py), so it is counted once."""

    symbol: str
    asset: str
    amount: Decimal
    time: int
    balance: Decimal | None = None  # ``wb``, the wallet after it: tells two equal payments of one moment apart


@dataclass(frozen=True)
class MarginCallPosition:
    """One position named by a margin call (Binance MARGIN_CALL ``p`` row)."""

    symbol: str
    side: Side
    qty: Decimal
    margin_type: str  # CROSSED / ISOLATED
    mark_price: Decimal
    unrealized_pnl: Decimal
    maintenance_margin: Decimal


@dataclass(frozen=True)
class MarginCall:
    """Binance MARGIN_CALL: the account's margin ratio is high; these positions risk liquidation.
    ``cross_wallet`` is the cross wallet balance (None when the frame has none)."""

    cross_wallet: Decimal | None
    positions: tuple[MarginCallPosition, ...]
    time: int


@dataclass(frozen=True)
class AccountConfigUpdate:
    """Binance ACCOUNT_CONFIG_UPDATE: a symbol's leverage changed (``symbol``/``leverage``, e.g. by
    hand in the app) or Multi-Assets mode was switched (``multi_assets``)."""

    symbol: str | None
    leverage: int | None
    multi_assets: bool | None
    time: int


class UserStream(Protocol):
    """Pushed account events (optional). REST stays the authority; this only makes things show
    earlier and carries the real commission of each fill."""

    connected: Any  # a threading.Event: set while connected

    def start(self) -> None: ...

    def drain(self) -> list[TradeUpdate | PositionUpdate | ForcedClose]:
        """Everything received so far."""
        ...

    def wait(self, timeout: float) -> list[TradeUpdate | PositionUpdate]:
        """Like drain, waiting up to ``timeout`` seconds for the first record."""
        ...

    def close(self) -> None: ...


class AccountView(Protocol):
    """Optional for a broker: the account's figures for the window's account strip."""

    def account_snapshot(self, symbols: list[str], marks: dict[str, float]) -> AccountSnapshot:
        """Wallet, unrealised PnL, margin and the open positions of ``symbols`` with their
        liquidation prices. ``marks``: the latest prices, for brokers without a market of their own."""
        ...
