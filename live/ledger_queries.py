"""Questions a trader asks the ledger: today's result after fees, funding today, per-day PnL,
the equity curve, lists filtered by symbol and date, CSV export.

Days are UTC days. Realised PnL is counted per fill (the exchange's ``realizedPnl``, or
computed from the average entry for fills without it); fees per asset; funding and
liquidation clearance fees from the income history.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from config.paths import keep_previous
from core.model import ONE_DAY_MS
from live.ledger_records import ZERO, Totals, with_realized

if TYPE_CHECKING:
    from live.ledger import Ledger


@dataclass(frozen=True)
class DayResult:
    day_start: int  # ms UTC of 00:00
    totals: Totals


def day_start(ms: int) -> int:
    return ms - ms % ONE_DAY_MS


def _inside(time: int, symbol_of_row: str, symbol: str | None, start: int | None, end: int | None) -> bool:
    return ((symbol is None or symbol_of_row == symbol) and (start is None or time >= start)
            and (end is None or time < end))


class LedgerQueries:
    def __init__(self, ledger: "Ledger"):
        self.ledger = ledger

    def _rows(self, sql: str, values: tuple = ()) -> list[tuple]:
        with self.ledger._lock:
            return self.ledger.db.execute(sql, values).fetchall()

    def _others(self, table: str) -> list[tuple[str, Decimal, int]]:
        return [(r[0], Decimal(r[1]), r[2]) for r in self._rows(f"SELECT symbol, amount, time FROM {table}")]

    # ----- totals ------------------------------------------------------------------------------

    def totals(self, symbol: str | None = None, start: int | None = None, end: int | None = None) -> Totals:
        """Realised PnL, fees per asset, funding and liquidation fees of [start, end)."""
        return self._by_day(symbol, start, end, per_day=False).get(0, Totals())

    def daily(self, symbol: str | None = None, start: int | None = None, end: int | None = None) -> list[DayResult]:
        """One row per UTC day with anything in it, oldest first."""
        days = self._by_day(symbol, start, end, per_day=True)
        return [DayResult(day, days[day]) for day in sorted(days)]

    def _by_day(self, symbol: str | None, start: int | None, end: int | None, per_day: bool) -> dict[int, Totals]:
        result: dict[int, Totals] = {}

        def bucket(time: int) -> Totals:
            return result.setdefault(day_start(time) if per_day else 0, Totals())

        for fill, realized in with_realized(self.ledger.fills()):
            if _inside(fill.time, fill.symbol, symbol, start, end):
                totals = bucket(fill.time)
                totals.realized_pnl += realized
                totals.add_fee(fill.commission_asset, fill.commission)
        for row_symbol, amount, time in self._others("funding"):
            if _inside(time, row_symbol, symbol, start, end):
                bucket(time).funding += amount
        for row_symbol, amount, time in self._others("fees_other"):
            if _inside(time, row_symbol, symbol, start, end):
                bucket(time).insurance_clear += amount
        return result

    def today(self, now_ms: int) -> Totals:
        """The account strip's figures: realised today after fees, funding today."""
        return self.totals(start=day_start(now_ms), end=day_start(now_ms) + ONE_DAY_MS)

    def forced_today(self, now_ms: int) -> tuple[Decimal, Decimal]:
        """(realised PnL, USDT fees) of the UTC day holding ``now_ms`` that the bot's own fills do
        not carry: forced closes seen on the stream (liquidation, ADL, settlement: fills of source
        ``stream``) and liquidation clearance fees (INSURANCE_CLEAR, streamed or imported). The
        account strip adds them to the bot's own figures of the day."""
        start = day_start(now_ms)
        end = start + ONE_DAY_MS
        realized = fees = ZERO
        for row in self._rows("SELECT realized_pnl, commission, commission_asset FROM fills WHERE source='stream' "
                              "AND time >= ? AND time < ?", (start, end)):
            realized += Decimal(row[0]) if row[0] is not None else ZERO
            fees += Decimal(row[1]) if row[2] == "USDT" else ZERO
        for row in self._rows("SELECT amount, asset FROM fees_other WHERE time >= ? AND time < ?", (start, end)):
            fees -= Decimal(row[0]) if row[1] == "USDT" else ZERO  # booked negative (paid)
        return realized, fees

    def equity_curve(self, start_balance: Decimal = ZERO) -> list[tuple[int, Decimal]]:
        """(time, start_balance + cumulative USDT result) after every money event: realised PnL
        minus USDT fees, funding, liquidation fees. Transfers are not trading results: left out."""
        events: list[tuple[int, Decimal]] = []
        for fill, realized in with_realized(self.ledger.fills()):
            events.append((fill.time, realized - (fill.commission if fill.commission_asset == "USDT" else ZERO)))
        events += [(time, amount) for _, amount, time in self._others("funding")]
        events += [(time, amount) for _, amount, time in self._others("fees_other")]
        events.sort(key=lambda item: item[0])
        curve, level = [], start_balance
        for time, change in events:
            level += change
            curve.append((time, level))
        return curve

    # ----- lists -------------------------------------------------------------------------------

    def round_trips(self, symbol: str | None = None, start: int | None = None, end: int | None = None) -> list[dict]:
        """Round trips opened in [start, end), as the table holds them (rebuild first)."""
        rows = self._rows("SELECT symbol, side, open_time, close_time, qty, entry_price, exit_price, realized_pnl, "
                          "fees, funding, fills FROM round_trips ORDER BY open_time, id")
        keys = ("symbol", "side", "open_time", "close_time", "qty", "entry_price", "exit_price", "realized_pnl",
                "fees", "funding", "fills")
        found = []
        for row in rows:
            item = dict(zip(keys, row))
            if _inside(item["open_time"], item["symbol"], symbol, start, end):
                item["fees"] = json.loads(item["fees"])
                found.append(item)
        return found

    def fills(self, symbol: str | None = None, start: int | None = None, end: int | None = None) -> list[dict]:
        result = []
        for fill, realized in with_realized(self.ledger.fills()):
            if _inside(fill.time, fill.symbol, symbol, start, end):
                result.append({"time": fill.time, "symbol": fill.symbol, "side": fill.side, "action": fill.action,
                               "qty": str(fill.qty), "price": str(fill.price), "realized_pnl": str(realized),
                               "commission": str(fill.commission), "commission_asset": fill.commission_asset,
                               "trade_id": fill.trade_id, "order_id": fill.order_id, "reason": fill.reason,
                               "source": fill.source})
        return result

    def funding(self, symbol: str | None = None, start: int | None = None, end: int | None = None) -> list[dict]:
        return [{"time": p.time, "symbol": p.symbol, "amount": str(p.amount), "asset": p.asset}
                for p in self.ledger.funding_payments() if _inside(p.time, p.symbol, symbol, start, end)]

    def symbols(self) -> list[str]:
        rows = self._rows("SELECT DISTINCT symbol FROM fills UNION SELECT DISTINCT symbol FROM funding")
        return sorted(r[0] for r in rows if r[0])

    # ----- export ------------------------------------------------------------------------------

    def export_csv(self, rows: list[dict], path: Path | str) -> Path:
        """Write ``rows`` (from one of the lists above) as CSV; an existing file is kept as .bak."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        keep_previous(path)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            if not rows:
                return path
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for k, v in row.items()})
        return path
