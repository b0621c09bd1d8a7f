"""Paper trading broker: simulated fills with the backtest's fill model [B1].

Paper trading decides on the same closed candles as live trading and fills at
the decision bar's close (the last traded price when the decision is made),
with the configured taker fee and slippage. It is
:class:`core.sim_broker.SimulatedBroker` — the one fill model of the project —
with the exchange's filters when they are known.
"""
from __future__ import annotations

from core.ports import SymbolRules
from core.sim_broker import SimulatedBroker


def make_paper_broker(fee_pct: float, slippage_bps: float,
                      rules: dict[str, SymbolRules] | None = None) -> SimulatedBroker:
    return SimulatedBroker(fee_pct=fee_pct, slippage_bps=slippage_bps, rules=rules)
