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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from core import csv_text
from core.model import Action, Fill, Side, frozen_record

TRADES_HEADER = ("time", "symbol", "side", "action", "qty", "price", "fee", "reason", "fee_asset", "realized_pnl",
                 "funding")


def iso_utc(ms: int) -> str:
    """ISO-8601 UTC, e.g. 2025-01-01T00:05:00Z."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc_many(times_ms: Sequence[int]) -> list[str]:
    """:func:`iso_utc` of each time, in whole-array calls (the same text: seconds truncated, 'Z')."""
    times = np.asarray(times_ms, dtype=np.int64)
    text = csv_text.iso_seconds(times)  # 1970-9999: a third of datetime_as_string's time
    if text is not None:
        return csv_text.csv_rows([text]).decode("ascii").split("\n")[:-1]
    stamps = np.datetime_as_string(times.astype("datetime64[ms]"), unit="s")
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


@dataclass
class FillColumns:
    """Fills as columns, one list per field, in the order of a trade list (decision time, then symbol).

    What a backtest keeps of its fills: a year's 37k :class:`Fill` and :class:`TradeRecord`
    objects cost more than its simulation, and the backtest command only writes them to
    trades.csv (:meth:`write_csv`); :meth:`records` and :func:`trade_records` build them when
    something reads them. ``client_ids``: each fill's client id, or None for the kernel's,
    numbered ``ah-<SYMBOL[:12]>-<decision seconds>-<seq>`` as HedgeStrategy numbers its orders."""

    symbol: list[str] = field(default_factory=list)
    side: list[Side] = field(default_factory=list)
    action: list[Action] = field(default_factory=list)
    reason: list[str] = field(default_factory=list)
    decision_time: list[int] = field(default_factory=list)
    time: list[int] = field(default_factory=list)
    qty: list[float] = field(default_factory=list)
    price: list[float] = field(default_factory=list)
    fee: list[float] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)  # the kernel's order numbers (client_ids is None)
    client_ids: list[str] | None = None
    order_ids: list[str] | None = None

    def __len__(self) -> int:
        return len(self.qty)

    @classmethod
    def from_records(cls, fills: Sequence[Fill]) -> "FillColumns":
        return cls(
            [f.symbol for f in fills], [f.side for f in fills], [f.action for f in fills],
            [f.reason for f in fills], [f.decision_time for f in fills], [f.time for f in fills],
            [f.qty for f in fills], [f.price for f in fills], [f.fee for f in fills], [0] * len(fills),
            [f.client_id for f in fills], [f.order_id for f in fills])

    def taken(self, order: Sequence[int]) -> "FillColumns":
        """The fills at the indices ``order``, in that order."""
        def pick(column):
            return None if column is None else [column[i] for i in order]
        return FillColumns(*(pick(getattr(self, name)) for name in _FILL_COLUMNS))

    @staticmethod
    def joined(tables: Sequence["FillColumns"]) -> "FillColumns":
        """One table after another."""
        if len(tables) == 1:
            return tables[0]
        if any(table.client_ids is None for table in tables) and any(table.client_ids is not None for table in tables):
            tables = [table if table.client_ids is not None else FillColumns.from_records(table.records())
                      for table in tables]  # the kernel's ids spelled out beside the executor's
        joined = FillColumns()
        for name in _FILL_COLUMNS:
            columns = [getattr(table, name) for table in tables]
            setattr(joined, name, None if any(c is None for c in columns) else [v for c in columns for v in c])
        return joined

    def records(self) -> list[Fill]:
        """The :class:`Fill` records, as the executor reports them."""
        client_ids = self.client_ids
        if client_ids is None:
            prefixes = {symbol: f"ah-{symbol[:12]}-" for symbol in set(self.symbol)}
            client_ids = [f"{prefixes[symbol]}{decision_time // 1000}-{seq}"
                          for symbol, decision_time, seq in zip(self.symbol, self.decision_time, self.seq)]
        order_ids = client_ids if self.order_ids is None else self.order_ids
        return [frozen_record(Fill, values) for values in zip(
            client_ids, self.symbol, self.side, self.action, self.qty, self.price, self.fee, self.time, self.reason,
            self.decision_time, order_ids)]

    def write_csv(self, path: Path | str, charges: Mapping[str, Sequence[FundingCharge]] | None = None) -> None:
        """trades.csv of these fills: what ``write_trades_csv(trade_records(self.records(), charges), path)``
        writes, byte for byte, without building a record per fill."""
        realized, funding = realized_and_funding(self, charges)
        texts = {value for column in (self.symbol, self.reason) for value in column}
        if any(any(mark in text for mark in ',"\r\n') for text in texts):  # csv would quote it: let csv write it
            write_trades_csv(_trade_records(self, realized, funding, None), path)
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        stamps = iso_utc_many(self.decision_time)
        sides = {side: side.value for side in Side}
        actions = {action: action.value for action in Action}
        opening = Action.OPEN
        realized_texts = ["0" if action is opening else _number(value)  # an OPEN's is 0.0 exactly
                          for action, value in zip(self.action, realized)]
        funding_texts = [""] * len(self) if funding is None else list(map(_number, funding))
        with open(path, "w", newline="", encoding="utf-8") as handle:
            handle.write(",".join(TRADES_HEADER) + "\n")
            handle.write("".join([
                f"{stamp},{symbol},{sides[side]},{actions[action]},{qty},{price},{fee},{reason},USDT,{pnl},{paid}\n"
                for stamp, symbol, side, action, qty, price, fee, reason, pnl, paid in zip(
                    stamps, self.symbol, self.side, self.action, _numbers(self.qty), _numbers(self.price),
                    _numbers(self.fee), self.reason, realized_texts, funding_texts)]))


def _numbers(values: Sequence[float]) -> list[str]:
    """``_number`` of each value; each distinct value formatted once when they repeat (a year's 37k
    fills have one quantity and some 5,000 prices). Zeros (0.0 and -0.0 are one key) and NaN
    (never equal to itself) are formatted one by one."""
    distinct = set(values)
    if len(distinct) * 2 > len(values) or 0.0 in distinct or any(value != value for value in distinct):
        return list(map(_number, values))
    texts = {value: _number(value) for value in distinct}
    return [texts[value] for value in values]


_FILL_COLUMNS = tuple(name for name in FillColumns.__dataclass_fields__)


def trade_records(fills: Sequence[Fill] | FillColumns, charges: Mapping[str, Sequence[FundingCharge]] | None = None,
                  fee_assets: Mapping[str, str] | None = None) -> list[TradeRecord]:
    """The rows of ``fills`` (each symbol's in execution order), with realised PnL and funding.

    ``charges``: per symbol, the funding charges in time order (None: funding not modelled);
    a charge at time T applies to what is held before the fills at T or later (the backtest
    charges funding at a bar's close before that bar's decisions are filled). ``fee_assets``:
    the asset of a fill's fee by its journal key (default USDT)."""
    columns = fills if isinstance(fills, FillColumns) else FillColumns.from_records(fills)
    realized, funding = realized_and_funding(columns, charges)
    keys = None
    if fee_assets:
        keys = [order_id or client_id for order_id, client_id in zip(columns.order_ids, columns.client_ids)] \
            if columns.client_ids is not None else [fill.journal_key for fill in columns.records()]
    return _trade_records(columns, realized, funding, [fee_assets.get(key, "USDT") for key in keys] if keys else None)


def _trade_records(columns: FillColumns, realized: list[float], funding: list[float] | None,
                   fee_assets: list[str] | None) -> list[TradeRecord]:
    stamps = iso_utc_many(columns.decision_time)  # TradeRecord.from_fill's fields, built faster
    assets = fee_assets or ["USDT"] * len(columns)
    funding_texts = [""] * len(columns) if funding is None else [_number(value) for value in funding]
    return [frozen_record(TradeRecord, (stamp, symbol, side.value, action.value, _number(qty), _number(price),
                                        _number(fee), reason, asset, _number(pnl), funding_text))
            for stamp, symbol, side, action, qty, price, fee, reason, asset, pnl, funding_text in zip(
                stamps, columns.symbol, columns.side, columns.action, columns.qty, columns.price, columns.fee,
                columns.reason, assets, realized, funding_texts)]


def realized_and_funding(columns: FillColumns, charges: Mapping[str, Sequence[FundingCharge]] | None = None
                         ) -> tuple[list[float], list[float] | None]:
    """Each fill's realised PnL (of a CLOSE, before fees [R7]; 0 for an OPEN) and the funding paid on its
    side since that side's previous fill (None when ``charges`` is None: not modelled)."""
    if charges is None:
        return _realized(columns), None
    held: dict[tuple[str, Side], tuple[float, float, float]] = {}  # -> (qty, average entry, funding since last fill)
    next_charge: dict[str, int] = {}
    realized_column: list[float] = []
    funding_column: list[float] = []
    directions = {side: side.direction for side in Side}
    for symbol, side, action, time_ms, fill_qty, price in zip(columns.symbol, columns.side, columns.action,
                                                              columns.time, columns.qty, columns.price):
        if charges is not None:
            _apply_charges(symbol, time_ms, charges.get(symbol, ()), next_charge, held)
        qty, entry, funding = held.get((symbol, side), (0.0, 0.0, 0.0))
        realized = 0.0
        if action is Action.OPEN:
            entry = (entry * qty + price * fill_qty) / (qty + fill_qty)
            qty += fill_qty
        else:
            realized = (price - entry) * fill_qty * directions[side]  # [R7]
            qty = max(0.0, qty - fill_qty)
            if qty <= 1e-12:
                qty, entry = 0.0, 0.0
        held[(symbol, side)] = (qty, entry, 0.0)
        realized_column.append(realized)
        funding_column.append(funding)
    return realized_column, (funding_column if charges is not None else None)


def _realized(columns: FillColumns) -> list[float]:
    """:func:`realized_and_funding`'s PnL when funding is not modelled, the same operations in the same
    order: each side's quantity and average entry kept in a list that is updated, not rebuilt."""
    held: dict[tuple[str, Side], list[float]] = {}  # -> [qty, average entry]
    realized_column: list[float] = []
    append = realized_column.append
    directions = {side: side.direction for side in Side}
    opening = Action.OPEN
    for symbol, side, action, fill_qty, price in zip(columns.symbol, columns.side, columns.action, columns.qty,
                                                     columns.price):
        state = held.get((symbol, side))
        if state is None:
            state = held[(symbol, side)] = [0.0, 0.0]
        qty, entry = state
        if action is opening:
            state[1] = (entry * qty + price * fill_qty) / (qty + fill_qty)
            state[0] = qty + fill_qty
            append(0.0)
        else:
            append((price - entry) * fill_qty * directions[side])  # [R7]
            qty = max(0.0, qty - fill_qty)
            if qty <= 1e-12:
                state[0], state[1] = 0.0, 0.0
            else:
                state[0] = qty
    return realized_column


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
