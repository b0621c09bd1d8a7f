"""What a reopened window shows before Start: the positions the mode's saved state holds.

The trading service saves each symbol's state (core/state.py) in the mode's state folder; the
window reads those files when it opens or the mode changes, so the positions the bot held
when it stopped are in the status table before Start (state "stopped", no price or PnL until
the service runs and reconciles them with the exchange [O7])."""
from __future__ import annotations

from core.model import Side
from core.state import StateStore
from live.assemble import default_state_dir
from live.events import StatusRow, SymbolRunState


def saved_rows(settings, mode: str) -> list[StatusRow]:
    """One row per symbol with a saved position; unreadable files are left to the service."""
    folder = default_state_dir(settings, mode)
    if mode == "replay" or not folder.is_dir():
        return []  # a replay starts from nothing unless resumed
    store = StateStore(folder)
    rows = []
    for symbol, config in settings.symbols.items():
        try:
            state = store.load(symbol)
        except Exception:  # noqa: BLE001 - a damaged file is the service's to report, with its one sentence
            continue
        if state is None or not any(p.qty for p in state.positions.values()):
            continue
        regime = state.regime.value if state.regime else ""
        main = Side.LONG if regime == "UP" else Side.SHORT if regime == "DOWN" else \
            max(state.positions, key=lambda side: state.positions[side].qty)
        hedge = Side.SHORT if main is Side.LONG else Side.LONG
        held, hedged = state.positions[main], state.positions[hedge]
        rows.append(StatusRow(
            symbol, regime, SymbolRunState.STOPPED, "saved state; reconciled with the exchange at Start",
            None, main.value if held.qty else None, held.qty, held.entry_price if held.qty else None, None, None,
            hedge.value if hedged.qty else None, hedged.qty, hedged.entry_price if hedged.qty else None, None,
            config.call_size, main_unmanaged=_unmanaged(state, main), hedge_unmanaged=_unmanaged(state, hedge)))
    return rows


def _unmanaged(state, side: Side) -> float:  # noqa: ANN001
    """[C3] The excess the trader keeps on ``side``, shown as unmanaged before Start too."""
    return state.unmanaged_long if side is Side.LONG else state.unmanaged_short
