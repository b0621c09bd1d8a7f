"""The trade list [SPEC B3]: one row per fill, written the same way by the
backtester and the live runner so their files can be compared byte for byte."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from core.model import Fill

TRADES_HEADER = ("time", "symbol", "side", "action", "qty", "price", "fee", "reason")


def iso_utc(ms: int) -> str:
    """ISO-8601 UTC, e.g. 2025-01-01T00:05:00Z."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float) -> str:
    return format(value, ".12g")


@dataclass(frozen=True)
class TradeRecord:
    time: str  # ISO-8601 UTC of the decision bar's close
    symbol: str
    side: str  # LONG | SHORT
    action: str  # OPEN | CLOSE
    qty: str
    price: str
    fee: str
    reason: str

    @classmethod
    def from_fill(cls, fill: Fill) -> "TradeRecord":
        return cls(
            time=iso_utc(fill.decision_time),
            symbol=fill.symbol,
            side=fill.side.value,
            action=fill.action.value,
            qty=_number(fill.qty),
            price=_number(fill.price),
            fee=_number(fill.fee),
            reason=fill.reason,
        )

    def row(self) -> tuple[str, ...]:
        return (self.time, self.symbol, self.side, self.action, self.qty, self.price, self.fee, self.reason)


def write_trades_csv(trades: Iterable[TradeRecord], path: Path | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TRADES_HEADER)
        for trade in trades:
            writer.writerow(trade.row())


def sort_key(trade: TradeRecord) -> tuple[str, str]:
    """Trades of several symbols are listed by time, then symbol; one symbol's order is kept."""
    return (trade.time, trade.symbol)
