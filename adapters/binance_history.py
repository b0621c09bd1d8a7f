"""The account's history from Binance USDT-M futures, on python-binance through the
:class:`~adapters.binance_futures.BinanceFuturesAdapter` (its request budget, clock sync and
error classification).

Endpoints (developers.binance.com, USDS-M futures):

- ``GET /fapi/v1/income`` ("Get Income History", account/rest-api/Get-Income-History): weight
  30; ``symbol``, ``incomeType``, ``startTime`` / ``endTime`` (inclusive), ``limit`` (default
  100, max 1000). Rows ``symbol, incomeType, income, asset, info, time, tranId, tradeId``;
  "tranId is unique in the same incomeType for a user"; ``page`` for the pages after the first; only the last three months are kept;
  with more rows than ``limit`` between the two times the answer starts at ``startTime``.
- ``GET /fapi/v1/userTrades`` ("Account Trade List", trade/rest-api/Account-Trade-List):
  weight 5; ``symbol`` required, ``startTime`` / ``endTime`` at most 7 days apart, ``fromId``
  not with the times, ``limit`` default 500, max 1000; the past 6 months only. Rows ``id,
  orderId, side, positionSide, price, qty, quoteQty, realizedPnl, commission, commissionAsset,
  time, buyer, maker``. Recorded real rows (tests/data/binance-real/rest/user_trades*.json)
  carry ``commission`` positive for a fee paid.
- ``GET /fapi/v1/fundingRate`` ("Get Funding Rate History", market-data/rest-api): public,
  shares 500 requests / 5 min / IP with fundingInfo; ``symbol``, ``startTime``, ``endTime``,
  ``limit`` (default 100, max 1000); rows ``symbol, fundingRate, fundingTime, markPrice``.
"""
from __future__ import annotations

from typing import Any

from adapters.binance_futures import BinanceFuturesAdapter

PAGE_LIMIT = 1000  # the most income / userTrades / fundingRate rows per request
TRADES_WINDOW_MS = 7 * 24 * 3_600_000  # userTrades: startTime and endTime at most 7 days apart
INCOME_KEPT_MS = 90 * 24 * 3_600_000  # "Income history only contains data for the last three months"


class BinanceHistory:
    """Pages of the account's history; each call is one request."""

    def __init__(self, adapter: BinanceFuturesAdapter):
        self.adapter = adapter

    def income(self, start_ms: int, end_ms: int, limit: int = PAGE_LIMIT, page: int = 1) -> list[dict[str, Any]]:
        """Income rows with ``start_ms <= time <= end_ms``, oldest first, at most ``limit``;
        ``page`` > 1: the following pages of the same query (the endpoint's ``page``)."""
        extra = {"page": page} if page > 1 else {}
        rows = self.adapter._request(self.adapter.client.futures_income_history, startTime=start_ms,
                                     endTime=end_ms, limit=limit, **extra)
        return sorted(rows, key=lambda row: (int(row["time"]), str(row.get("tranId"))))

    def user_trades(self, symbol: str, start_ms: int, end_ms: int, limit: int = PAGE_LIMIT,
                    from_id: int | None = None) -> list[dict[str, Any]]:
        """The account's trades of ``symbol`` in [start_ms, end_ms] (at most 7 days apart); with
        ``from_id`` the trades from that id on instead (the endpoint refuses both together)."""
        where = {"fromId": from_id} if from_id is not None else {"startTime": start_ms, "endTime": end_ms}
        rows = self.adapter._request(self.adapter.client.futures_account_trades, symbol=symbol, limit=limit,
                                     **where)
        return sorted(rows, key=lambda row: (int(row["time"]), int(row["id"])))

    def funding_rates(self, symbol: str, start_ms: int, end_ms: int, limit: int = PAGE_LIMIT) -> list[dict[str, Any]]:
        rows = self.adapter._request(self.adapter.client.futures_funding_rate, symbol=symbol,
                                     startTime=start_ms, endTime=end_ms, limit=limit)
        return sorted(rows, key=lambda row: int(row["fundingTime"]))
