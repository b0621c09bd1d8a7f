"""Paper trading broker: simulated fills with the backtest's fill model [B1].

Paper trading decides on the same closed candles as live trading and fills at
the decision bar's close (the last traded price when the decision is made),
with the configured taker fee and slippage. It is
:class:`core.sim_broker.SimulatedBroker` — the one fill model of the project —
with the exchange's filters when they are known, plus a paper wallet so the
window's account strip has figures to show: the wallet starts at the
backtest's initial capital, pays the fees and receives the realised PnL, and
each position gets an isolated-margin liquidation price.
"""
from __future__ import annotations

from decimal import Decimal

from core.model import Action, Side
from core.ports import AccountSnapshot, OrderReport, PositionSnapshot, SymbolRules
from core.sim_broker import SimulatedBroker

# Maintenance margin rate of Binance's first notional bracket for small USDT-M contracts
# (DOGEUSDT, ALGOUSDT: 0.5 %, maintenance amount 0). Paper trading has no bracket table.
PAPER_MAINT_RATE = 0.005


def isolated_liquidation_price(side: Side, qty: float, entry_price: float, leverage: int,
                               maint_rate: float = PAPER_MAINT_RATE, maint_amount: float = 0.0) -> float | None:
    """Binance's USDT-M liquidation price of ONE position in isolated margin.

    Binance's formula (hedge mode, one side of one symbol, isolated)::

        LP = (WB + cum - side * qty * EP) / (qty * MMR - side * qty)

    with WB the position's isolated wallet (its initial margin, ``qty * EP / leverage``),
    ``cum`` the bracket's maintenance amount, MMR the maintenance margin rate and
    side +1 for LONG, -1 for SHORT. For a LONG this is below the entry, for a SHORT
    above; None when flat. Example: LONG 100 @ 0.2 at 5x, MMR 0.5 % -> 0.16080402.
    """
    if qty <= 0 or entry_price <= 0:
        return None
    direction = side.direction
    wallet = qty * entry_price / max(1, leverage)
    price = (wallet + maint_amount - direction * qty * entry_price) / (qty * maint_rate - direction * qty)
    return max(0.0, price)


class PaperBroker(SimulatedBroker):
    """The simulated broker with a paper wallet (USDT) and per-position liquidation prices."""

    def __init__(self, fee_pct: float, slippage_bps: float, rules: dict[str, SymbolRules] | None = None,
                 wallet: float = 1000.0, leverage: dict[str, int] | None = None,
                 maint_rate: float = PAPER_MAINT_RATE):
        super().__init__(fee_pct=fee_pct, slippage_bps=slippage_bps, rules=rules)
        self.wallet = wallet
        self.leverage = dict(leverage or {})
        self.maint_rate = maint_rate

    def submit_market_order(self, symbol: str, side: Side, action: Action, qty: Decimal,
                            client_id: str) -> OrderReport:
        report = super().submit_market_order(symbol, side, action, qty, client_id)
        self.wallet -= float(report.fee)
        return report

    def _apply(self, symbol: str, side: Side, action: Action, qty: Decimal, price: Decimal) -> None:
        if action is Action.CLOSE:
            held = self.position(symbol, side)
            closed = min(qty, held.qty)
            self.wallet += float((price - held.entry_price) * closed) * side.direction
        super()._apply(symbol, side, action, qty, price)

    def account_snapshot(self, symbols: list[str], marks: dict[str, float]) -> AccountSnapshot:
        positions: list[PositionSnapshot] = []
        unrealized = maint = 0.0
        for symbol in symbols:
            for side, held in self.positions(symbol).items():
                qty, entry = float(held.qty), float(held.entry_price)
                if qty <= 0:
                    continue
                mark = marks.get(symbol, entry)
                pnl = (mark - entry) * qty * side.direction
                unrealized += pnl
                maint += qty * mark * self.maint_rate
                positions.append(PositionSnapshot(symbol, side, qty, entry, mark, pnl, isolated_liquidation_price(
                    side, qty, entry, self.leverage.get(symbol, 1), self.maint_rate)))
        return AccountSnapshot(self.wallet, unrealized, self.wallet + unrealized, maint, tuple(positions))


def make_paper_broker(fee_pct: float, slippage_bps: float, rules: dict[str, SymbolRules] | None = None,
                      wallet: float = 1000.0, leverage: dict[str, int] | None = None) -> PaperBroker:
    return PaperBroker(fee_pct=fee_pct, slippage_bps=slippage_bps, rules=rules, wallet=wallet, leverage=leverage)
