"""Never above CALL_SIZE by the bot's own hand [C0, C3] (issue 19, item 7, the live half).

Pure and small, so the core rules (core/decide.py) can share them:

- [C0] :func:`open_breach`: checked before every OPEN the service sends (live/orders.py). An
  open that would take its side above that symbol's CALL_SIZE is not sent: one ERROR line, and
  the symbol's entries pause until the trader resumes it (exits keep running).
- [C3] :func:`side_excess`: a side the exchange holds above CALL_SIZE that the bot did not
  take there (a trade by hand). The service alerts once and the window asks the trader to keep
  the excess (left unmanaged, shown as such) or close it (live/excess.py, ui/excess_dialog.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.model import Side

RULE_OPEN = "C0"
RULE_EXCESS = "C3"


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def open_breach(symbol: str, side: Side, held: float, qty: float, call_size: float) -> str | None:
    """The [C0] sentence when opening ``qty`` on a ``side`` holding ``held`` would exceed
    ``call_size``; None when it stays within (decimal arithmetic: 0.1 + 0.2 is 0.3)."""
    after = _dec(held) + _dec(qty)
    if after <= _dec(call_size):
        return None
    return (f"[{RULE_OPEN}] {symbol} OPEN {side.value} {qty:g} not sent: the side holds {held:g} and would hold "
            f"{format(after.normalize(), 'f')}, above CALL_SIZE {call_size:g}; {symbol}'s entries pause "
            "(exits keep running) until you resume it")


@dataclass(frozen=True)
class SideExcess:
    """A side the exchange holds above CALL_SIZE not by the bot's hand [C3]."""

    symbol: str
    side: Side
    held: float
    call_size: float
    unmanaged: float = 0.0  # an excess the trader already chose to keep [C3]

    @property
    def excess(self) -> float:
        return float(_dec(self.held) - _dec(self.unmanaged) - _dec(self.call_size))

    def sentence(self) -> str:
        kept = f" ({self.unmanaged:g} kept unmanaged)" if self.unmanaged else ""
        return (f"[{RULE_EXCESS}] {self.symbol} {self.side.value} holds {self.held:g}{kept}, {self.excess:g} above CALL_SIZE "
                f"{self.call_size:g}, not by the bot's hand; the bot manages CALL_SIZE only and its hedge covers "
                "CALL_SIZE only until you keep the excess (left unmanaged) or close it")


def side_excess(symbol: str, side: Side, held: float, call_size: float, unmanaged: float = 0.0) -> SideExcess | None:
    """The [C3] excess of ``side`` (held less what the trader keeps unmanaged, above CALL_SIZE), or None."""
    excess = SideExcess(symbol, side, held, call_size, unmanaged)
    return excess if excess.excess > 0 else None
