"""Position arithmetic and exit_rule_hit [SPEC R7, X].

Each rule is written once with the position side as a parameter: for a put
(SHORT) ``side.direction`` is -1 and every comparison mirrors itself.
"""
from __future__ import annotations

from core.model import FIVE_MINUTES_MS, Side
from core.params import ExitParams
from core.state import PositionState

# Percent thresholds are compared with this slack so that a price exactly at
# the threshold (e.g. entry * 1.01 for a 1 % take profit) counts as reached
# despite binary floating point.
PCT_TOLERANCE = 1e-9


def pnl(side: Side, entry_price: float, price: float, qty: float) -> float:
    """[R7] call: (p - entry) * qty; put: (entry - p) * qty. Fees excluded."""
    return (price - entry_price) * qty * side.direction


def pnl_pct(side: Side, entry_price: float, price: float) -> float:
    """Profit in percent of the entry price, positive when the position gains."""
    return (price - entry_price) / entry_price * 100.0 * side.direction


def improve_best(side: Side, best: float, price: float) -> float:
    """[X3] The better of ``best`` and ``price``: higher for a call, lower for a put."""
    return price if (price - best) * side.direction > 0 else best


def bars_held(entry_time: int, bar_close_time: int) -> float:
    """[X2] (this bar's close time - the entry decision bar's close time) / 5 min."""
    return (bar_close_time - entry_time) / FIVE_MINUTES_MS


def trailing_stop_hit(side: Side, position: PositionState, price: float, params: ExitParams) -> bool:
    """[X3] Once best has been ``trailing_activation_pct`` in profit, exit when price
    has given back ``trailing_pct`` from best.

    ``position.best_price`` must already include ``price`` (the caller updates it first).
    """
    best = position.best_price
    activated = pnl_pct(side, position.entry_price, best) >= params.trailing_activation_pct - PCT_TOLERANCE
    if not activated:
        return False
    given_back_pct = (best - price) / best * 100.0 * side.direction
    return given_back_pct >= params.trailing_pct - PCT_TOLERANCE


def exit_rule_hit(
    side: Side, position: PositionState, price: float, bar_close_time: int, params: ExitParams
) -> str | None:
    """The id of the first exit rule that holds for the main position, or None.

    Only evaluated by R4, i.e. with PnL >= 0. X4 (RSI rollover) is R3's job and is
    not repeated here.
    """
    if pnl_pct(side, position.entry_price, price) >= params.take_profit_pct - PCT_TOLERANCE:
        return "X1"
    if bars_held(position.entry_time, bar_close_time) >= params.max_hold_bars:
        return "X2"
    if trailing_stop_hit(side, position, price, params):
        return "X3"
    return None
