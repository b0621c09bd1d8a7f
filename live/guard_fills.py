"""A triggered guard's fill is the bot's own [E1, E2]: in the fills journal and the ledger.

A guard (live/guard.py) that triggers places a MARKET order on the exchange whose client order id
is the guard's ``ahg-…`` client algo id (tests/fake_binance/README.md says where this is read
from). Once its trigger is told [E2] (live/guard_room.py), the order is looked up by that id and
its execution recorded like any fill of the bot: one line of ``fills.jsonl`` and one ledger row
(source ``bot``), reason ``E1``, with Binance's commission from the user-data stream when it came
(else the REST answer's taker-rate estimate). Both records are idempotent per (order, executed
quantity), so the stream's FINISHED, a check that found the guard gone and a restart record it
once. The position itself is taken by the reconciliation [O7], which the guard room tells first
(``Reconciler.expect_own``) so the change is logged as the bot's own, never as a trade by hand
([C2], [C3] do not apply to it).
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from adapters.binance_algo import parse_guard_id
from core.model import Action, Fill, Side
from core.ports import BrokerError
from live.context import ServiceContext
from live.events import FillEvent


def changed_side(client_id: str) -> tuple[Side, Action] | None:
    """The side a guard changes and how: a hedge guard opens the other side, a stop closes the main."""
    parsed = parse_guard_id(client_id)
    if parsed is None:
        return None
    _, main, kind = parsed
    return (main.opposite, Action.OPEN) if kind == "hedge" else (main, Action.CLOSE)


def record_guard_fill(ctx: ServiceContext, trades: dict[str, list[Any]], symbol: str, client_id: str) -> Fill | None:
    """Look the guard's order up and record its execution in the journal and the ledger (once).
    ``trades``: the user-data stream's executions by client order id (live/reconcile.py)."""
    changed = changed_side(client_id)
    if changed is None:
        return None
    try:
        report = ctx.broker.query_order(symbol, client_id)
    except BrokerError as exc:
        ctx.log("WARNING", symbol, f"[E1] {symbol} guard {client_id}: its order could not be looked up "
                f"({exc.message}); its fill is not in the journal yet (the position is reconciled)")
        return None
    if report is None or report.executed_qty <= 0 or report.has_unpriced_fill:
        return None
    side, action = changed
    fill = Fill(client_id=client_id, symbol=symbol, side=side, action=action, qty=float(report.executed_qty),
                price=float(report.avg_price), fee=float(report.fee), time=report.update_time, reason="E1",
                decision_time=report.update_time, order_id=client_id)
    executions = [t for t in trades.get(client_id, []) if t.cumulative_qty <= report.executed_qty]
    commission = None
    if executions and sum((t.last_qty for t in executions), Decimal(0)) >= report.executed_qty:
        assets = {t.commission_asset for t in executions}
        amount = float(sum((t.commission for t in executions), Decimal(0)))
        commission = (amount, assets.pop() if len(assets) == 1 else "mixed")
        if commission[1] == "USDT":
            fill = replace(fill, fee=amount)
    if not ctx.journal.record(fill, fill.qty, commission):
        return fill  # recorded already (the stream and a check both saw it)
    ctx.ledger.record_bot_fill(fill, fill.qty, commission)
    ctx.emit(FillEvent(fill))
    ctx.log("INFO", symbol, f"[E1] {symbol} guard {client_id} filled {action.value} {side.value} {fill.qty:g} @ "
            f"{fill.price:g} fee {fill.fee:.4f}: the bot's own fill, in the journal and the ledger", rule="E1",
            at=fill.time)
    return fill
