"""A simulated broker: the one fill model for backtests and paper trading [SPEC B1].

Fills a MARKET order at the price the driver last set (the next bar's open for
``fill: next_open``, the decision bar's close for ``fill: close``), moved
against the trader by ``slippage_bps``, and charges ``fee_pct`` percent of the
notional. It implements :class:`core.ports.Broker`, so the order executor
drives it exactly as it drives Binance.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core import decide
from core.kernel_jit import jitable
from core.model import Action, Side
from core.ports import ExchangePosition, OrderReport, OrderStatus, SymbolRules

DEFAULT_RULES = SymbolRules(symbol="*", step_size=Decimal("0"), min_qty=Decimal("0"), min_notional=Decimal("0"))


def buys(side: Side, action: Action) -> bool:
    """[O1] open call = BUY, close call = SELL, open put = SELL, close put = BUY."""
    return buys_code(decide.LONG if side is Side.LONG else decide.SHORT,
                     decide.OPEN if action is Action.OPEN else decide.CLOSE)


@jitable
def buys_code(side: int, action: int) -> bool:
    """:func:`buys` over core.decide's side and action codes (for the backtest kernel)."""
    return (side == decide.LONG) == (action == decide.OPEN)


def slipped_price(price: float, side: Side, action: Action, slippage_bps: float) -> float:
    """Price moved against the trader: up when buying, down when selling."""
    return slipped(price, buys(side, action), slippage_bps)


@jitable
def slipped(price: float, buying: bool, slippage_bps: float) -> float:
    """:func:`slipped_price` for a buy (``buying``) or a sell: the fill model the kernel shares."""
    sign = 1.0 if buying else -1.0
    return price * (1.0 + sign * slippage_bps / 10_000.0)


@jitable
def fee_for(qty: float, price: float, fee_pct: float) -> float:
    """Taker fee: ``fee_pct`` percent of the notional."""
    return abs(qty * price) * fee_pct / 100.0


@dataclass
class _SimPosition:
    qty: Decimal = Decimal(0)
    entry_price: Decimal = Decimal(0)


class SimulatedBroker:
    def __init__(
        self,
        fee_pct: float = 0.05,
        slippage_bps: float = 0.0,
        rules: dict[str, SymbolRules] | None = None,
    ):
        self.fee_pct = fee_pct
        self.slippage_bps = slippage_bps
        self._rules = rules or {}
        self._prices: dict[str, tuple[float, int]] = {}
        self._orders: dict[str, OrderReport] = {}
        self._positions: dict[tuple[str, Side], _SimPosition] = {}

    def set_price(self, symbol: str, price: float, time_ms: int) -> None:
        """The price the next market order of ``symbol`` fills at (before slippage)."""
        self._prices[symbol] = (price, time_ms)

    def symbol_rules(self, symbol: str) -> SymbolRules:
        return self._rules.get(symbol, DEFAULT_RULES)

    def submit_market_order(
        self, symbol: str, side: Side, action: Action, qty: Decimal, client_id: str
    ) -> OrderReport:
        if symbol not in self._prices:
            raise ValueError(f"no price set for {symbol}")
        base_price, time_ms = self._prices[symbol]
        price = slipped_price(base_price, side, action, self.slippage_bps)
        fee = fee_for(float(qty), price, self.fee_pct)
        report = OrderReport(
            client_id=client_id,
            status=OrderStatus.FILLED,
            executed_qty=qty,
            avg_price=Decimal(repr(price)),
            fee=Decimal(repr(fee)),
            update_time=time_ms,
        )
        self._orders[client_id] = report
        self._apply(symbol, side, action, qty, report.avg_price)
        return report

    def query_order(self, symbol: str, client_id: str) -> OrderReport | None:
        return self._orders.get(client_id)

    def positions(self, symbol: str) -> dict[Side, ExchangePosition]:
        return {side: self.position(symbol, side) for side in Side}

    def position(self, symbol: str, side: Side) -> ExchangePosition:
        held = self._positions.get((symbol, side))
        if held is None:
            return ExchangePosition(symbol, side, Decimal(0), Decimal(0))
        return ExchangePosition(symbol, side, held.qty, held.entry_price)

    def _apply(self, symbol: str, side: Side, action: Action, qty: Decimal, price: Decimal) -> None:
        pos = self._positions.setdefault((symbol, side), _SimPosition())
        if action is Action.OPEN:
            total = pos.qty + qty
            pos.entry_price = (pos.entry_price * pos.qty + price * qty) / total
            pos.qty = total
        else:
            pos.qty = max(Decimal(0), pos.qty - qty)
            if pos.qty == 0:
                pos.entry_price = Decimal(0)
