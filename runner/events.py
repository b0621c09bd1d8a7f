"""What the trading service tells its listeners (console logger, GUI).

The service calls ``listener(event)`` from its own thread with one of the
records below. The GUI wraps the listener in a Qt signal; the runner itself
never imports Qt.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Protocol, Union

from core.model import Fill


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


@dataclass(frozen=True)
class FillEvent:
    fill: Fill


@dataclass(frozen=True)
class ServiceStateEvent:
    running: bool
    detail: str = ""


@dataclass(frozen=True)
class ProgressEvent:
    """Replay progress (candles processed of total), for progress bars."""

    done: int
    total: int


Event = Union[LogEvent, StatusRow, FillEvent, ServiceStateEvent, ProgressEvent]
EventListener = Callable[[Event], None]


class TradingControl(Protocol):
    """What a user interface may ask of the running service. Thread-safe."""

    def stop(self) -> None: ...
    def pause(self, symbol: str | None = None) -> None: ...
    def resume(self, symbol: str | None = None) -> None: ...
    def flatten(self, symbol: str | None = None) -> None: ...
    def set_call_size(self, symbol: str, qty: float) -> None: ...
