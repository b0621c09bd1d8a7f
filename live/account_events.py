"""Account events of the user-data stream that are not positions nor fills [issue 18].

- MARGIN_CALL: one WARNING line, a :class:`MarginCallEvent` for the window, and (through
  live/alerts.py) an alert naming each position, its mark price and maintenance margin.
- ACCOUNT_UPDATE with ``m`` FUNDING_FEE: a funding payment, into the ledger at once (counted once
  when the income history brings it again, live/ledger.py) and one line; the account strip's
  "Funding today" shows it at the next account refresh, asked for at once.
- ACCOUNT_CONFIG_UPDATE: a symbol's leverage changed (by hand in Binance's app or site) or
  Multi-Assets mode was switched: one line and an :class:`AccountConfigEvent`; the symbol's status
  row shows the new leverage.

They wait in ``user_stream.drain_account_events()`` (adapters/binance_user_stream.py), apart from
the fills and position changes the reconciler reads. Nothing here can stop the service: an event
that cannot be worded is logged to the file and skipped.
"""
from __future__ import annotations

import logging
from decimal import Decimal

from core.ports import AccountConfigUpdate, FundingFee, MarginCall
from live.context import ServiceContext
from live.events import AccountConfigEvent, MarginCallEvent

log = logging.getLogger("autohedge")


def handle_account_events(ctx: ServiceContext) -> None:
    """Take the stream's account events and tell each one (called from the service loop)."""
    drain = getattr(ctx.user_stream, "drain_account_events", None)
    if drain is None:
        return
    for record in drain():
        try:
            if isinstance(record, MarginCall):
                _margin_call(ctx, record)
            elif isinstance(record, AccountConfigUpdate):
                _config_update(ctx, record)
            elif isinstance(record, FundingFee):
                _funding_fee(ctx, record)
        except Exception:  # noqa: BLE001 - an odd record is logged, never a stop
            log.exception("account event %r could not be shown", record)


def margin_call_text(call: MarginCall) -> str:
    """One sentence: which positions, at which mark price, with which maintenance margin."""
    parts = [f"{p.symbol} {p.side.value} {_num(p.qty)} (mark {_num(p.mark_price)}, maintenance margin "
             f"{_num(p.maintenance_margin)} USDT, unrealised PnL {_num(p.unrealized_pnl)})" for p in call.positions]
    wallet = f"; cross wallet {_num(call.cross_wallet)}" if call.cross_wallet is not None else ""
    named = "; ".join(parts) if parts else "no position named"
    return (f"MARGIN CALL from Binance: the account's margin ratio is high and these positions risk liquidation: "
            f"{named}{wallet}. Add margin or reduce the positions.")


def _margin_call(ctx: ServiceContext, call: MarginCall) -> None:
    text = margin_call_text(call)
    symbol = call.positions[0].symbol if len({p.symbol for p in call.positions}) == 1 else None
    ctx.log("WARNING", symbol, text)
    ctx.emit(MarginCallEvent(tuple((p.symbol, p.side.value, float(p.qty), float(p.mark_price),
                                    float(p.maintenance_margin)) for p in call.positions), text, call.time or ctx.clock()))


def config_update_text(update: AccountConfigUpdate) -> str:
    parts = []
    if update.symbol and update.leverage is not None:
        parts.append(f"{update.symbol} leverage is now {update.leverage}x on Binance (changed outside the bot); "
                     "the bot's order sizes do not change, the margin each position needs does")
    if update.multi_assets is not None:
        parts.append("Multi-Assets mode was switched " + ("on" if update.multi_assets else "off") +
                     " on Binance: the wallet's balance asset may differ (USDT, USDC or BNFCR)")
    return "; ".join(parts) or "Binance changed the account's configuration"


def _config_update(ctx: ServiceContext, update: AccountConfigUpdate) -> None:
    text = config_update_text(update)
    ctx.log("WARNING", update.symbol, text)
    ctx.emit(AccountConfigEvent(update.symbol, update.leverage, update.multi_assets, text, update.time or ctx.clock()))
    slot = ctx.slots.get(update.symbol) if update.symbol else None
    if slot is not None and update.leverage is not None:
        slot.leverage = update.leverage
        ctx.emit_status(slot)


def funding_text(fee: FundingFee) -> str:
    paid = fee.amount < 0
    whose = fee.symbol or "the account's cross positions"
    return (f"funding: {whose} {'paid' if paid else 'received'} {_num(abs(fee.amount))} {fee.asset} "
            "(Binance's funding payment)")


def _funding_fee(ctx: ServiceContext, fee: FundingFee) -> None:
    if ctx.ledger.record_streamed_funding(fee.symbol, fee.amount, fee.asset, fee.time, fee.balance):
        ctx.log("INFO", fee.symbol or None, funding_text(fee), at=fee.time or None)
    ctx.money_changed()


def _num(value: Decimal | float | None) -> str:
    try:
        return f"{Decimal(str(value)).normalize():f}"
    except Exception:  # noqa: BLE001
        return str(value)
