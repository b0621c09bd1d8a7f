"""The third source of a fill's price [O3, issue 18]: the user-data stream's executions.

Binance's New Order answer lost ``avgPrice`` and ``cumQuote`` in its 2026-07 schema; the adapter
prices an execution from ``cumQuote / executedQty``, else from an order look-up (GET order). When
neither gives a price, the order stays pending (UNKNOWN, never a fill at 0 or NaN) and this module
prices it from the ORDER_TRADE_UPDATE executions the stream received for its client id: the
quantity-weighted average of their prices, once they cover the executed quantity.
"""
from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from typing import Iterable

from core.ports import OrderReport, TradeUpdate


def stream_price(trades: Iterable[TradeUpdate], executed_qty: Decimal) -> Decimal | None:
    """The quantity-weighted price of the executions up to ``executed_qty``, or None when the
    stream has not delivered all of them (or any has no usable price)."""
    seen: dict[Decimal, TradeUpdate] = {}
    for trade in trades:  # one record per cumulative quantity: a repeated frame counts once
        seen.setdefault(trade.cumulative_qty, trade)
    qty = quote = Decimal(0)
    for cumulative in sorted(seen):
        if cumulative > executed_qty:
            break
        trade = seen[cumulative]
        if not _usable(trade.last_price) or not _usable(trade.last_qty):
            return None
        qty += trade.last_qty
        quote += trade.last_qty * trade.last_price
    if qty <= 0 or qty < executed_qty:
        return None
    price = quote / qty
    return price if _usable(price) else None


def priced_from_stream(report: OrderReport | None, trades: Iterable[TradeUpdate]) -> OrderReport | None:
    """``report`` with the stream's price when it executed without one; else ``report`` unchanged."""
    if report is None or not report.has_unpriced_fill:
        return report
    price = stream_price(trades, report.executed_qty)
    if price is None:
        return report
    return replace(report, avg_price=price, price_known=True)


def _usable(value: Decimal) -> bool:
    try:
        return value > 0 and math.isfinite(float(value))
    except (TypeError, ValueError, ArithmeticError):
        return False
