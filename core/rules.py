"""Position arithmetic and exit_rule_hit [SPEC R7, X] for callers that hold enums and records.

The rules themselves live in :mod:`core.decide` (numbers only, shared by the
strategy and the compiled backtest kernel); these are its views with a
:class:`core.model.Side` and a :class:`core.state.PositionState`, for the runner's
status display and for tests.
"""
from __future__ import annotations

from core import decide
from core.decide import PCT_TOLERANCE, bars_held  # noqa: F401  (re-exported)
from core.model import Side
from core.params import ExitParams
from core.state import PositionState


def pnl(side: Side, entry_price: float, price: float, qty: float) -> float:
    """[R7] call: (p - entry) * qty; put: (entry - p) * qty. Fees excluded."""
    return decide.pnl(side.direction, entry_price, price, qty)


def pnl_pct(side: Side, entry_price: float, price: float) -> float:
    """Profit in percent of the entry price, positive when the position gains."""
    return decide.pnl_pct(side.direction, entry_price, price)


def improve_best(side: Side, best: float, price: float) -> float:
    """[X3] The better of ``best`` and ``price``: higher for a call, lower for a put."""
    return decide.improve_best(side.direction, best, price)


def trailing_stop_hit(side: Side, position: PositionState, price: float, params: ExitParams) -> bool:
    """[X3] ``position.best_price`` must already include ``price`` (the caller updates it first)."""
    return decide.trailing_stop_hit(side.direction, position.entry_price, position.best_price, price,
                                    params.trailing_pct, params.trailing_activation_pct)


def exit_rule_hit(
    side: Side, position: PositionState, price: float, bar_close_time: int, params: ExitParams
) -> str | None:
    """The id of the first exit rule that holds for the main position, or None (see decide.exit_rule)."""
    code = decide.exit_rule(side.direction, position.entry_price, position.entry_time, position.best_price, price,
                            bar_close_time, params.take_profit_pct, params.max_hold_bars, params.trailing_pct,
                            params.trailing_activation_pct)
    return decide.REASONS[code] or None
