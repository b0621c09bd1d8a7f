"""Records shared by the strategy, the executor, the brokers and the backtester.

Everything here is a plain value: no I/O, no clock. Times are integers in
milliseconds since the Unix epoch (UTC), as Binance sends them.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum

FIVE_MINUTES_MS = 5 * 60 * 1000
ONE_DAY_MS = 24 * 60 * 60 * 1000


class Side(str, Enum):
    """Position side in Binance hedge mode. LONG is a *call*, SHORT a *put*."""

    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def opposite(self) -> "Side":
        return Side.SHORT if self is Side.LONG else Side.LONG

    @property
    def direction(self) -> int:
        """+1 for LONG, -1 for SHORT: the sign of PnL per unit of price rise [R7]."""
        return 1 if self is Side.LONG else -1


class Action(str, Enum):
    OPEN = "OPEN"
    CLOSE = "CLOSE"


class Regime(str, Enum):
    UP = "UP"
    DOWN = "DOWN"

    @property
    def main_side(self) -> Side:
        """The side that matches the regime: call in UP, put in DOWN."""
        return Side.LONG if self is Regime.UP else Side.SHORT

    @property
    def favourable_signal(self) -> "Signal":
        """The signal pointing the regime's way (up in UP, down in DOWN)."""
        return Signal.UP if self is Regime.UP else Signal.DOWN


class Signal(str, Enum):
    """One timeframe's signal from its last closed candle [S2]."""

    UP = "up"
    DOWN = "down"
    NONE = "none"

    @property
    def opposite(self) -> "Signal":
        if self is Signal.UP:
            return Signal.DOWN
        if self is Signal.DOWN:
            return Signal.UP
        return Signal.NONE


# Reasons an order can carry (SPEC section 6, last paragraph).
OPEN_REASONS = frozenset({"R2", "R3", "R5", "E1"})  # E1: a hedge guard [E1]
CLOSE_REASONS = frozenset({"R1", "R3", "R4", "X1", "X2", "X3", "G3", "C1", "C2", "C3", "L1", "L2", "L3", "E1", "manual", "stop",
                           "reconcile"})  # E1: a stop guard; C3: the trader's close of an excess


@dataclass(frozen=True)
class Candle:
    """One closed candle. ``open_time`` in ms UTC; ``close_time`` is the open of the next candle."""

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    close_time: int


@dataclass(frozen=True)
class BarClose:
    """What the strategy is told when a 5-minute candle closes.

    ``signal`` is this bar's 5m signal, ``prev_signal`` the previous bar's
    (used only by the ``cross`` entry mode [S4]).
    """

    close_time: int
    close: float
    signal: Signal
    prev_signal: Signal = Signal.NONE


@dataclass(frozen=True)
class OrderIntent:
    """A decision of the strategy: open or close ``qty`` on ``side``, because of rule ``reason``.

    ``client_id`` is the exchange's ``newClientOrderId`` [O2]; ``decision_time`` is
    the close time of the candle that caused it (the trade's time in trades.csv [B3]).
    """

    symbol: str
    side: Side
    action: Action
    qty: float
    reason: str
    decision_time: int
    client_id: str


@dataclass(frozen=True)
class Fill:
    """What the exchange (or a simulated broker) confirmed for one intent [O3].

    ``qty`` is the executed quantity (may be below the intent's on a partial
    fill), ``price`` the average fill price, ``fee`` in quote currency.
    """

    client_id: str
    symbol: str
    side: Side
    action: Action
    qty: float
    price: float
    fee: float
    time: int
    reason: str
    decision_time: int
    order_id: str = ""  # the exchange order's client id (``client_id`` or a ``-r<n>`` resend of it)

    @property
    def journal_key(self) -> str:
        """One fill per exchange order: the key that makes recording a fill idempotent."""
        return self.order_id or self.client_id


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def frozen_record(cls: type, values: tuple):
    """``cls(*values)`` for a frozen dataclass without field defaults to fill or checks to run,
    built without its generated ``__init__`` (which sets each field through
    ``object.__setattr__``: about 6 us for a trade row, a third of a year's backtest report
    for its 37k fills). The instance is the same: equal, hashed and frozen alike."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in fields(cls))
    record = object.__new__(cls)
    record.__dict__.update(zip(names, values))
    return record
