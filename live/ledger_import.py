"""Start-up import: what happened on the account while the bot was off, into the ledger.

Reads the income history (every type: REALIZED_PNL, FUNDING_FEE, COMMISSION, TRANSFER,
INSURANCE_CLEAR, ...) and each symbol's trades from a cursor kept in the ledger, page by
page; the cursor is saved after every page, so an interrupted import resumes where it
stopped. Income pages go on from the last row's time (that millisecond is read again: rows of
one millisecond can be cut by a page's limit), or with the endpoint's ``page`` when a whole page
is one millisecond; trade pages go on by ``fromId``. The ledger's inserts are idempotent on
``incomeType + tranId`` and ``tradeId``, so nothing read twice is counted twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from adapters.binance_history import INCOME_KEPT_MS, PAGE_LIMIT, TRADES_WINDOW_MS
from live.ledger import Ledger

TRADES_KEPT_MS = 180 * 24 * 3_600_000  # userTrades: "Only support querying trade in the past 6 months"


class History(Protocol):
    def income(self, start_ms: int, end_ms: int, limit: int = PAGE_LIMIT, page: int = 1) -> list[dict]: ...

    def user_trades(self, symbol: str, start_ms: int, end_ms: int, limit: int = PAGE_LIMIT,
                    from_id: int | None = None) -> list[dict]: ...


@dataclass
class ImportResult:
    income_added: int = 0
    trades_added: int = 0
    pages: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.by_type.items()))
        return (f"ledger: imported {self.trades_added} trades and {self.income_added} income rows"
                + (f" ({kinds})" if kinds else "") + f" in {self.pages} requests")


class HistoryImporter:
    def __init__(self, history: History, ledger: Ledger, symbols: list[str], page_limit: int = PAGE_LIMIT):
        self.history = history
        self.ledger = ledger
        self.symbols = list(symbols)
        self.page_limit = page_limit

    def run(self, now_ms: int, since_ms: int | None = None) -> ImportResult:
        """Import up to ``now_ms``. A first import starts at ``since_ms`` (default: as far back as
        the exchange keeps: 3 months of income, 6 months of trades, at most one of each)."""
        result = ImportResult()
        self._income(now_ms, since_ms, result)
        for symbol in self.symbols:
            self._trades(symbol, now_ms, since_ms, result)
        self.ledger.rebuild_round_trips()
        return result

    def _income(self, now_ms: int, since_ms: int | None, result: ImportResult) -> None:
        cursor = self.ledger.cursor("income")
        start = max(cursor if cursor is not None else (since_ms or 0), now_ms - INCOME_KEPT_MS + 1)
        page = 1
        while start <= now_ms:
            rows = self.history.income(start, now_ms, self.page_limit, page)
            result.pages += 1
            for row in rows:
                if self.ledger.record_income(row):
                    result.income_added += 1
                    result.by_type[row["incomeType"]] = result.by_type.get(row["incomeType"], 0) + 1
            if len(rows) < self.page_limit:
                self.ledger.set_cursor("income", now_ms)
                return
            last = int(rows[-1]["time"])
            start, page = (last, 1) if last > start else (start, page + 1)  # a full page of one millisecond
            self.ledger.set_cursor("income", start)

    def _trades(self, symbol: str, now_ms: int, since_ms: int | None, result: ImportResult) -> None:
        name = f"trades:{symbol}"
        cursor = self.ledger.cursor(name)
        start = max(cursor if cursor is not None else (since_ms or 0), now_ms - TRADES_KEPT_MS + 1)
        while start <= now_ms:
            end = min(now_ms, start + TRADES_WINDOW_MS - 1)
            rows = self.history.user_trades(symbol, start, end, self.page_limit)
            result.pages += 1
            while True:
                result.trades_added += sum(1 for row in rows if int(row["time"]) <= end and self.ledger.record_trade(row))
                if len(rows) < self.page_limit or int(rows[-1]["time"]) > end:
                    break
                rows = self.history.user_trades(symbol, start, end, self.page_limit, from_id=int(rows[-1]["id"]) + 1)
                result.pages += 1
            start = end + 1
            self.ledger.set_cursor(name, min(start, now_ms))
