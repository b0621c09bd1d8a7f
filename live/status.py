"""Status rows and figures for the window and the log: pure functions of a symbol's state.

Nothing here can raise: a value that cannot be shown (a broken state, a missing price) gives a
placeholder row or line and one line in the file log, never an exception, so drawing a status
row can never stop trading. Owns no trading rule; it shows the figures of [R], [X] and [G]
(PnL by core.rules.pnl / pnl_pct).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.model import Side
from core.rules import pnl, pnl_pct
from core.state import SymbolState
from live.events import StatusRow, roe_percent

if TYPE_CHECKING:  # a type only: live/context.py imports this module
    from live.context import SymbolSlot

log = logging.getLogger("autohedge")

_NO_POSITION: tuple[str | None, float, float | None, float | None, float | None] = (None, 0.0, None, None, None)


def status_row(slot: SymbolSlot, call_sizes: dict[str, float], leverage: dict[str, float] | None = None) -> StatusRow:
    """The status table's row for ``slot``; a placeholder row (no figures) if one cannot be computed.

    ROE per position as Binance shows it (:func:`live.events.roe_percent`), with the leverage the
    exchange last told (``slot.leverage``), else the settings' (``leverage``), as the account strip."""
    try:
        state = slot.strategy.state if slot.driver is not None else None
        price = slot.last_price
        regime = state.regime if state is not None else None
        main_side = regime.main_side if regime is not None else None
        main = _side_figures(state, main_side, price)
        hedge = _side_figures(state, main_side.opposite if main_side is not None else None, price)
        # Positional (a third faster than keywords, once per bar): main_side ... main_pnl_pct,
        # then hedge_side ... hedge_pnl, in StatusRow's field order.
        lever = symbol_leverage(slot, leverage)
        return StatusRow(slot.symbol, regime.value if regime else "", slot.run_state, slot.detail, price,
                         *main, *hedge[:4], call_sizes.get(slot.symbol, 0.0), getattr(slot, "leverage", None),
                         roe_percent(main[3], main[1], price, lever), roe_percent(hedge[3], hedge[1], price, lever),
                         _unmanaged(state, main_side), _unmanaged(state, main_side.opposite if main_side else None))
    except Exception:  # noqa: BLE001 - a figure that cannot be shown must not stop trading
        log.exception("status row of %s could not be computed", getattr(slot, "symbol", "?"))
        return _placeholder_row(slot, call_sizes)


def symbol_leverage(slot, leverage: dict[str, float] | None, symbol: str | None = None) -> float | None:
    """The leverage a symbol's margin is counted with: the exchange's once it told one, else the settings'."""
    told = getattr(slot, "leverage", None)
    if told:
        return told
    return (leverage or {}).get(symbol or getattr(slot, "symbol", ""))


def _placeholder_row(slot, call_sizes) -> StatusRow:
    symbol = str(getattr(slot, "symbol", "?"))
    try:
        call_size = float(call_sizes.get(symbol, 0.0))
    except Exception:  # noqa: BLE001
        call_size = 0.0
    return StatusRow(symbol, "", getattr(slot, "run_state", None), str(getattr(slot, "detail", "")), None,
                     *_NO_POSITION, *_NO_POSITION[:4], call_size)


def position_summary(slot: SymbolSlot) -> str:
    """One line: the symbol's regime and open positions (logged when a symbol is ready)."""
    try:
        state = slot.strategy.state
        parts = [f"{slot.symbol} ready: regime {state.regime.value if state.regime else 'unknown (warming up)'}"]
        for side in Side:
            position = state.positions[side]
            if position.is_open:
                parts.append(f"{side.value} {position.qty:g} @ {position.entry_price:g}")
        return ", ".join(parts)
    except Exception:  # noqa: BLE001 - a summary line must not stop a symbol from starting
        log.exception("position summary of %s could not be computed", getattr(slot, "symbol", "?"))
        return f"{getattr(slot, 'symbol', '?')} ready"


def _unmanaged(state: SymbolState | None, side: Side | None) -> float:
    """[C3] The excess the trader keeps on ``side``, left unmanaged (0 when none)."""
    if state is None or side is None:
        return 0.0
    return state.unmanaged_long if side is Side.LONG else state.unmanaged_short


def _side_figures(state: SymbolState | None, side: Side | None,
                  price: float | None) -> tuple[str | None, float, float | None, float | None, float | None]:
    """(side, quantity, entry, PnL, PnL %) of one side's open position for the status table."""
    if side is None or state is None:
        return _NO_POSITION
    position = state.positions[side]
    if not position.is_open:
        return _NO_POSITION
    if price is None:
        return side.value, position.qty, position.entry_price, None, None
    return (side.value, position.qty, position.entry_price, pnl(side, position.entry_price, price, position.qty),
            pnl_pct(side, position.entry_price, price))
