"""The trade list [SPEC B3]: one row per fill, written the same way by the
backtester and the live runner so their files can be compared byte for byte.

SPEC B3's eight columns come first, in its order; three follow (issue 20):
``fee_asset`` (the asset ``fee`` is in: USDT for simulated fills), ``realized_pnl`` (of a
CLOSE: ``(price - average entry) x qty x direction`` before fees [R7]; 0 for an OPEN) and
``funding`` (paid on that side since its previous fill, negative = paid; empty when funding
is not modelled). Funding charged after a side's last fill (a position still open at the end)
is in the summary only.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from core.model import Action, Fill, Side, frozen_record

TRADES_HEADER = ("time", "symbol", "side", "action", "qty", "price", "fee", "reason", "fee_asset", "realized_pnl",
                 "funding")


def iso_utc(ms: int) -> str:
    """ISO-8601 UTC, e.g. 2025-01-01T00:05:00Z."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc_many(times_ms: Sequence[int]) -> list[str]:
    """:func:`iso_utc` of each time, in one numpy call (the same text: seconds truncated, 'Z')."""
    stamps = np.datetime_as_string(np.asarray(times_ms, dtype=np.int64).astype("datetime64[ms]"), unit="s")
    return [stamp + "Z" for stamp in stamps.tolist()]


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
    fee_asset: str = "USDT"
    realized_pnl: str = ""
    funding: str = ""

    @classmethod
    def from_fill(cls, fill: Fill, realized_pnl: float | None = None, funding: float | None = None,
                  fee_asset: str = "USDT") -> "TradeRecord":
        return cls(
            time=iso_utc(fill.decision_time),
            symbol=fill.symbol,
            side=fill.side.value,
            action=fill.action.value,
            qty=_number(fill.qty),
            price=_number(fill.price),
            fee=_number(fill.fee),
            reason=fill.reason,
            fee_asset=fee_asset,
            realized_pnl="" if realized_pnl is None else _number(realized_pnl),
            funding="" if funding is None else _number(funding),
        )

    def row(self) -> tuple[str, ...]:
        return (self.time, self.symbol, self.side, self.action, self.qty, self.price, self.fee, self.reason,
                self.fee_asset, self.realized_pnl, self.funding)


# A funding charge on one symbol: (time it was charged, mark x rate). LONG pays qty x that,
# SHORT receives qty x that (a negative rate reverses both).
FundingCharge = tuple[int, float]


def trade_records(fills: Sequence[Fill], charges: Mapping[str, Sequence[FundingCharge]] | None = None,
                  fee_assets: Mapping[str, str] | None = None) -> list[TradeRecord]:
    """The rows of ``fills`` (each symbol's in execution order), with realised PnL and funding.

    ``charges``: per symbol, the funding charges in time order (None: funding not modelled);
    a charge at time T applies to what is held before the fills at T or later (the backtest
    charges funding at a bar's close before that bar's decisions are filled). ``fee_assets``:
    the asset of a fill's fee by its journal key (default USDT)."""
    held: dict[tuple[str, Side], tuple[float, float, float]] = {}  # -> (qty, average entry, funding since last fill)
    next_charge: dict[str, int] = {}
    records = []
    stamps = iso_utc_many([fill.decision_time for fill in fills])  # TradeRecord.from_fill's fields, built faster
    for fill, stamp in zip(fills, stamps):
        if charges is not None:
            _apply_charges(fill.symbol, fill.time, charges.get(fill.symbol, ()), next_charge, held)
        qty, entry, funding = held.get((fill.symbol, fill.side), (0.0, 0.0, 0.0))
        realized = 0.0
        if fill.action is Action.OPEN:
            entry = (entry * qty + fill.price * fill.qty) / (qty + fill.qty)
            qty += fill.qty
        else:
            realized = (fill.price - entry) * fill.qty * fill.side.direction  # [R7]
            qty = max(0.0, qty - fill.qty)
            if qty <= 1e-12:
                qty, entry = 0.0, 0.0
        held[(fill.symbol, fill.side)] = (qty, entry, 0.0)
        records.append(frozen_record(TradeRecord, (
            stamp, fill.symbol, fill.side.value, fill.action.value, _number(fill.qty), _number(fill.price),
            _number(fill.fee), fill.reason, fee_assets.get(fill.journal_key, "USDT") if fee_assets else "USDT",
            _number(realized), _number(funding) if charges is not None else "")))
    return records


def _apply_charges(symbol: str, before: int, charges: Sequence[FundingCharge], next_charge: dict[str, int],
                   held: dict[tuple[str, Side], tuple[float, float, float]]) -> None:
    index = next_charge.get(symbol, 0)
    while index < len(charges) and charges[index][0] <= before:
        per_unit = charges[index][1]
        for side in Side:
            qty, entry, funding = held.get((symbol, side), (0.0, 0.0, 0.0))
            if qty > 0:
                held[(symbol, side)] = (qty, entry, funding - qty * per_unit * side.direction)
        index += 1
    next_charge[symbol] = index


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
